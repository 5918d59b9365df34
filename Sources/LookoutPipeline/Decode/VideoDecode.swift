import LookoutCUDA
import LookoutCore
import LookoutInference

/// Where a pipeline decodes its video files and live streams.
public enum VideoDecode: String, Sendable, CaseIterable {
    /// NVDEC when the detector runs on a CUDA GPU whose driver has it and the transfer mode letterboxes on the GPU;
    /// else the CPU. `Pipeline.decodeNote` says which, and why.
    case auto
    /// FFmpeg's decoders on CPU threads.
    case cpu
    /// NVDEC, or the pipeline does not start. A stream whose codec, bit depth or size NVDEC cannot decode falls back
    /// to the CPU on its own, with an event saying why.
    case nvdec

    /// Parses `auto`, `cpu` or `nvdec`.
    public init(parsing text: String) throws(LookoutError) {
        guard let value = VideoDecode(rawValue: text.lowercased()) else {
            throw LookoutError(
                .invalidArgument, "unknown decode '\(text)': use auto, cpu or nvdec", parameter: "decode")
        }
        self = value
    }
}

/// What the streams of a pipeline that decodes on NVDEC share: the library and the CUDA context the engine runs in
/// (the surfaces must be in the engine's context for its letterbox to read them).
package final class HardwareDecoding: Sendable {
    package let nvdec: NVDEC
    package let context: CUDAContext

    package init(nvdec: NVDEC, context: CUDAContext) {
        self.nvdec = nvdec
        self.context = context
    }

    /// How a pipeline with `options` and `detector` decodes: NVDEC (its library) or the CPU with the reason, or an
    /// error when `nvdec` was asked for and cannot be had.
    static func resolve(options: PipelineOptions, detector: Detector) throws(LookoutError) -> (
        nvdec: NVDEC?, note: String?
    ) {
        let asked = options.decode
        if asked == .cpu { return (nil, nil) }
        func refuse(_ why: String) throws(LookoutError) -> (nvdec: NVDEC?, note: String?) {
            if asked == .nvdec {
                throw LookoutError(.invalidArgument, "`decode` nvdec: \(why)", parameter: "decode")
            }
            return (nil, "decoding on the CPU: \(why)")
        }
        guard detector.cuda != nil else {
            return try refuse("NVDEC needs a detector on a CUDA device; this one runs on the CPU")
        }
        if let mode = options.transferMode, mode.preprocessesOnCPU {
            return try refuse(
                "NVDEC frames stay on the GPU, and the transfer mode \(mode.rawValue) letterboxes on the CPU (use device, pinned-raw, mapped or managed)"
            )
        }
        if options.deliversFrames {
            return try refuse("NVDEC frames stay on the GPU, and the results are to carry the frames' pixels")
        }
        switch NVDEC.load() {
        case .failure(let unavailable): return try refuse("\(unavailable)")
        case .success(let nvdec): return (nvdec, "decoding on NVDEC (\(nvdec.path))")
        }
    }
}
