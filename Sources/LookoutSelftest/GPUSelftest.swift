import LookoutBench
import LookoutCUDA
import LookoutCUDABackend
import LookoutCore
import LookoutInference
import LookoutPipeline
import LookoutTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// `lookout selftest --gpu`: the GPU behaviour that CI cannot test, as named checks that print PASS/FAIL.
package final class GPUSelftest: SelftestChecks {
    /// Folder of raw frames (`NAME.WxH.bgr`, packed BGR) to letterbox on both sides, e.g. the val images.
    let rawImages: String?

    package init(rawImages: String?, log: @escaping (String) -> Void) {
        self.rawImages = rawImages
        super.init(log: log)
    }

    package func run() throws {
        let driver: CUDADriver
        switch CUDA.load() {
        case .success(let loaded): driver = loaded
        case .failure(let error):
            fail("load driver: \(error)")
            return
        }
        log("driver \(driver.path) CUDA \(driver.versionString), entry points via \(driver.resolution)")
        let context = try CUDAContext(driver: driver)
        log(
            "device \(context.device), map host \(context.device.canMapHostMemory), concurrent managed \(context.device.concurrentManagedAccess), copy engines \(context.device.asyncEngines)"
        )
        let nvrtc: NVRTC
        switch NVRTC.load() {
        case .success(let loaded): nvrtc = loaded
        case .failure(let error):
            fail("load NVRTC: \(error)")
            return
        }
        log("nvrtc \(nvrtc.path) \(nvrtc.version.major).\(nvrtc.version.minor), archs \(nvrtc.supportedArchitectures)")
        let stream = try CUDAStream(context: context)
        copies(context: context, stream: stream)
        poolFences(context: context, stream: stream)
        let cacheDir = "/tmp/lookout-selftest-\(getpid())"
        var letterbox: GPULetterbox? = nil
        check("kernel compiles from scratch, then loads from the disk cache") {
            let fresh = try GPULetterbox(
                compiler: KernelCompiler(context: context, nvrtc: nvrtc, cacheDirectory: cacheDir))
            let cached = try GPULetterbox(
                compiler: KernelCompiler(context: context, nvrtc: nvrtc, cacheDirectory: cacheDir))
            letterbox = cached
            if fresh.origin != .compiled { return "first compile came from \(fresh.origin)" }
            if cached.origin != .cache { return "second compile came from \(cached.origin)" }
            // Both modules must compute the same thing.
            let a = try letterboxOnce(
                context: context, stream: stream, letterbox: fresh, width: 97, height: 61, format: .bgr,
                element: .float32, layout: .nchw)
            let b = try letterboxOnce(
                context: context, stream: stream, letterbox: cached, width: 97, height: 61, format: .bgr,
                element: .float32, layout: .nchw)
            return a.gpu == b.gpu ? nil : "cached module computes something else"
        }
        guard let letterbox else { return }
        agreement(context: context, stream: stream, letterbox: letterbox)
        graphs(context: context, stream: stream, letterbox: letterbox)
        errors(context: context, stream: stream, letterbox: letterbox, nvrtc: nvrtc)
        allocations(context: context, stream: stream, letterbox: letterbox)
        Paths.removeItem(cacheDir)
    }
}
