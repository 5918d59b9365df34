import LookoutCUDA
import LookoutCUDABackend
import LookoutModel
import LookoutYOLO

/// The CUDA backend behind `--device cuda`: the engine (one compiled instance per input shape, CUDA graphs) and
/// GPU postprocessing; only the kept boxes come back to the host.
final class CUDAInferenceEngine: InferenceEngine, @unchecked Sendable {
    // The engine, its stream and the postprocessor are only touched under `lock`.
    let engine: CUDAEngine
    let compiler: KernelCompiler
    private var postprocessor: GPUPostprocessor?
    private var fallbackNMS = NonMaxSuppression()
    private let lock = NSLockLike()

    init(driver: CUDADriver, ordinal: Int, model: DetectionModel, precision: GPUPrecision = .fp16) throws {
        let context = try CUDAContext(driver: driver, ordinal: ordinal)
        let nvrtc: NVRTC
        switch NVRTC.load() {
        case .success(let loaded): nvrtc = loaded
        case .failure(let error): throw LookoutError("the CUDA backend compiles its kernels with NVRTC, which was not found: \(error)")
        }
        compiler = KernelCompiler(context: context, nvrtc: nvrtc)
        let kernels = try EngineKernels(compiler: compiler)
        var options = CUDAEngineOptions()
        options.precision = precision
        options.tuningDirectory = compiler.cacheDirectory?.deletingLastPathComponent()
        engine = try CUDAEngine(model: model, context: context, kernels: kernels, options: options)
    }

    var backendName: String { "lookout-cuda" }
    var deviceName: String { engine.context.device.description }

    func run<R>(
        shape: [Int], fill: (UnsafeMutableBufferPointer<Float>) throws -> Void, read: (UnsafeBufferPointer<Float>) throws -> R
    ) throws -> R {
        try lock.withLock { try engine.instance(shape: shape).run(fill: fill, read: read) }
    }

    func gpuPostprocessor(batch: Int, maxDetections: Int) throws -> GPUPostprocessor {
        if let existing = postprocessor, existing.maxBatch >= batch, existing.maxDetections >= maxDetections { return existing }
        let made = try GPUPostprocessor(
            context: engine.context, compiler: compiler, maxBatch: max(batch, postprocessor?.maxBatch ?? 1),
            classes: engine.model.classCount, maxDetections: max(maxDetections, 300))
        postprocessor = made
        return made
    }

    func detect(
        shape: [Int], fill: (UnsafeMutableBufferPointer<Float>) throws -> Void, options: NMSOptions,
        target: BoxScalingTarget?, into detections: inout [Detection]
    ) throws -> Bool {
        try lock.withLock {
            let instance = try engine.instance(shape: shape)
            try instance.upload(fill: fill)
            try instance.enqueue()
            let post = try gpuPostprocessor(batch: 1, maxDetections: options.maxDetections)
            try post.enqueue(
                output: instance.output, batch: 1, options: options, targets: target.map { [$0] }, on: engine.stream)
            try engine.stream.synchronize()
            if post.detections(image: 0, into: &detections) { return true }
            // More candidates than the GPU scratch holds: the CPU NMS on the downloaded output.
            fallbackNMS.options = options
            let classes = engine.model.classCount
            try instance.download { output in
                let anchors = output.count / shape[0] / (4 + classes)
                fallbackNMS.run(output: output.baseAddress!, anchors: anchors, classes: classes, into: &detections)
            }
            if let target {
                BoxScaling.toOriginal(
                    &detections, ratioPad: target.ratioPad, originalWidth: target.originalWidth,
                    originalHeight: target.originalHeight)
            }
            return true
        }
    }
}
