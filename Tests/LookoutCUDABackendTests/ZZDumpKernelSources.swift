// TEMPORARY: dumps the module sources for a before/after byte comparison. Delete after use.
#if canImport(Glibc)
import Glibc
#endif
import Testing

@testable import LookoutCUDABackend

@Suite struct ZZDumpKernelSources {
    @Test func dump() {
        guard let dir = getenv("LOOKOUT_KERNEL_DUMP") else { return }
        let directory = String(cString: dir)
        let sources: [(String, String)] = [
            ("engine.cu", EngineKernelSource.source), ("engine_wgmma.cu", EngineKernelSource.wgmmaSource),
            ("letterbox.cu", LetterboxKernelSource.source), ("nms.cu", NMSKernelSource.source),
        ] + (getenv("LOOKOUT_KERNEL_DUMP_PIECES") == nil ? [] : [
            ("piece_common", EngineKernelSource.common), ("piece_conv", EngineKernelSource.conv),
            ("piece_halo", EngineKernelSource.halo), ("piece_first", EngineKernelSource.first),
            ("piece_pointwise", EngineKernelSource.pointwise), ("piece_cudnn", EngineKernelSource.cudnnEpilogue),
            ("piece_elementwise", EngineKernelSource.elementwise), ("piece_wgmma", EngineKernelSource.wgmma),
            ("piece_letterbox", LetterboxKernelSource.body),
        ])
        for (name, text) in sources {
            let file = fopen(directory + "/" + name, "wb")!
            let bytes = Array(text.utf8)
            _ = bytes.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, file) }
            fclose(file)
        }
    }
}
