import LookoutCPU
import LookoutCUDABackend
import LookoutCore
import LookoutModel
import LookoutYOLO

/// Runs a model's plan for a given input shape: the CPU backend and the CUDA backend.
package protocol InferenceEngine: AnyObject, Sendable {
    /// Short name for reports: `lookout-cpu`, `lookout-cuda`.
    var backendName: String { get }
    /// Human-readable device, e.g. "AMD EPYC (2 threads)".
    var deviceName: String { get }
    /// Runs the model on an input of `shape` ([batch, 3, height, width]): `fill` writes the NCHW float input,
    /// `read` sees the output `[batch][4 + classes][anchors]`.
    func run<R>(
        shape: [Int], fill: (UnsafeMutableBufferPointer<Float>) throws -> Void,
        read: (UnsafeBufferPointer<Float>) throws -> R
    ) throws -> R

    /// Runs the model and the NMS on the device for the first `count` slots (`fill` writes the NCHW float input),
    /// boxes scaled to `targets` when given (else left in input pixels). Nil when the backend has no device
    /// postprocessing (the caller runs the CPU NMS on `run`'s output).
    func detect(
        shape: [Int], count: Int, fill: (UnsafeMutableBufferPointer<Float>) throws -> Void, options: NMSOptions,
        targets: [BoxScalingTarget]?
    ) throws -> [[Detection]]?
}

extension InferenceEngine {
    package func detect(
        shape: [Int], count: Int, fill: (UnsafeMutableBufferPointer<Float>) throws -> Void, options: NMSOptions,
        targets: [BoxScalingTarget]?
    ) throws -> [[Detection]]? { nil }
}

/// The CPU backend with one compiled executor per input shape.
final class CPUEngine: InferenceEngine, @unchecked Sendable {
    // `executors` is only touched under `lock`.
    let model: DetectionModel
    let tuning: CPUTuning
    private var executors: [[Int]: CPUExecutor] = [:]
    private let lock = Lock()

    init(model: DetectionModel, tuning: CPUTuning = CPUTuning()) {
        self.model = model
        self.tuning = tuning
    }

    var backendName: String { "lookout-cpu" }
    var deviceName: String { CPUExecutor.deviceDescription }

    func executor(shape: [Int]) throws(ModelError) -> CPUExecutor {
        if let existing = lock.withLock({ executors[shape] }) { return existing }
        let plan = try model.plan(forInputShape: shape)
        let executor = try CPUExecutor(
            plan: plan, halfInput: model.inputType == .float16, halfOutput: model.outputType == .float16, tuning: tuning
        )
        lock.withLock { executors[shape] = executor }
        return executor
    }

    func run<R>(
        shape: [Int], fill: (UnsafeMutableBufferPointer<Float>) throws -> Void,
        read: (UnsafeBufferPointer<Float>) throws -> R
    ) throws -> R {
        try executor(shape: shape).run(fill: fill, read: read)
    }
}

extension Detector {
    /// The CPU executor for inputs of `shape` (nil on the GPU): `bench engine --profile` times its steps.
    package func cpuExecutor(shape: [Int]) throws(ModelError) -> CPUExecutor? {
        guard let engine = engine as? CPUEngine else { return nil }
        return try engine.executor(shape: shape)
    }
}
