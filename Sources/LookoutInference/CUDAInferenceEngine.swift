import LookoutCUDA
import LookoutCUDABackend
import LookoutCore
import LookoutModel
import LookoutYOLO

/// The CUDA backend behind a `Detector` on a GPU: the engine (one compiled instance per input shape, CUDA graphs)
/// and GPU postprocessing; only the kept boxes come back to the host.
final class CUDAInferenceEngine: InferenceEngine, @unchecked Sendable {
    // The engine, its stream and the postprocessor are only touched under `lock`.
    let engine: CUDAEngine
    let compiler: KernelCompiler
    private var postprocessor: GPUPostprocessor?
    private var fallbackNMS = NonMaxSuppression()
    private let lock = Lock()

    init(driver: CUDADriver, ordinal: Int, model: DetectionModel, options: EngineOptions) throws {
        let context = try CUDAContext(driver: driver, ordinal: ordinal)
        let nvrtc: NVRTC
        switch NVRTC.load() {
        case .success(let loaded): nvrtc = loaded
        case .failure(let error):
            throw LookoutError(
                .deviceUnavailable, "the CUDA backend compiles its kernels with NVRTC, which was not found: \(error)",
                cause: error)
        }
        compiler = KernelCompiler(
            context: context, nvrtc: nvrtc,
            cacheDirectory: options.cacheDirectory.map { Paths.join($0, "nvrtc") }
                ?? KernelCompiler.defaultCacheDirectory())
        let kernels = try EngineKernels(compiler: compiler, wgmma: options.wgmma)
        var engineOptions = CUDAEngineOptions()
        engineOptions.precision = options.precision
        engineOptions.tune = options.tuneKernels
        engineOptions.graphs = options.graphs
        engineOptions.cudnn = options.cudnn
        engineOptions.fusedAttention = options.fusedAttention
        engineOptions.tuningDirectory = compiler.cacheDirectory.map { Paths.directory(of: $0) }
        engine = try CUDAEngine(model: model, context: context, kernels: kernels, options: engineOptions)
    }

    var backendName: String { "lookout-cuda" }
    var deviceName: String { engine.context.device.description }

    func run<R>(
        shape: [Int], fill: (UnsafeMutableBufferPointer<Float>) throws -> Void,
        read: (UnsafeBufferPointer<Float>) throws -> R
    ) throws -> R {
        try lock.withLock { try engine.instance(shape: shape).run(fill: fill, read: read) }
    }

    func gpuPostprocessor(batch: Int, maxDetections: Int) throws -> GPUPostprocessor {
        if let existing = postprocessor, existing.maxBatch >= batch, existing.maxDetections >= maxDetections {
            return existing
        }
        let made = try GPUPostprocessor(
            context: engine.context, compiler: compiler, maxBatch: max(batch, postprocessor?.maxBatch ?? 1),
            classes: engine.model.classCount, maxDetections: max(maxDetections, 300),
            endToEnd: engine.model.head != .anchors)
        postprocessor = made
        return made
    }

    func detect(
        shape: [Int], count: Int, fill: (UnsafeMutableBufferPointer<Float>) throws -> Void, options: NMSOptions,
        targets: [BoxScalingTarget]?
    ) throws -> [[Detection]]? {
        try lock.withLock {
            let instance = try engine.instance(shape: shape)
            try instance.upload(fill: fill)
            try instance.enqueue()
            let post = try gpuPostprocessor(batch: shape[0], maxDetections: options.maxDetections)
            try post.enqueue(
                output: instance.output, batch: count, options: options, targets: targets, on: engine.stream)
            try engine.stream.synchronize()
            var results: [[Detection]] = Array(repeating: [], count: count)
            var overflowed: [Int] = []
            for slot in 0..<count where !post.detections(image: slot, into: &results[slot]) { overflowed.append(slot) }
            guard !overflowed.isEmpty else { return results }
            // More candidates than the GPU scratch holds: the CPU NMS on the downloaded output for those images.
            fallbackNMS.options = options
            let classes = engine.model.classCount
            try instance.download { output in
                let perSlot = output.count / shape[0]
                for slot in overflowed {
                    fallbackNMS.run(
                        output: output.baseAddress! + slot * perSlot, anchors: perSlot / (4 + classes),
                        classes: classes,
                        into: &results[slot])
                    if let target = targets?[slot] {
                        BoxScaling.toOriginal(
                            &results[slot], ratioPad: target.ratioPad, originalWidth: target.originalWidth,
                            originalHeight: target.originalHeight)
                    }
                }
            }
            return results
        }
    }
}
