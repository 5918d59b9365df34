import LookoutCPU
import LookoutCUDABackend
import LookoutModel
import LookoutYOLO

/// Runs a model's plan for a given input shape: the CPU backend and the CUDA backend.
protocol InferenceEngine: AnyObject, Sendable {
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

    /// Runs the model and the NMS on the device for batch slot 0 (`fill` writes the NCHW float input), boxes scaled
    /// to `target` when given. False when the backend has no device postprocessing (the caller runs the CPU NMS).
    func detect(
        shape: [Int], fill: (UnsafeMutableBufferPointer<Float>) throws -> Void, options: NMSOptions,
        target: BoxScalingTarget?, into detections: inout [Detection]
    ) throws -> Bool
}

extension InferenceEngine {
    func detect(
        shape: [Int], fill: (UnsafeMutableBufferPointer<Float>) throws -> Void, options: NMSOptions,
        target: BoxScalingTarget?, into detections: inout [Detection]
    ) throws -> Bool { false }
}

/// The CPU backend with one compiled executor per input shape.
final class CPUEngine: InferenceEngine, @unchecked Sendable {
    // `executors` is only touched under `lock`.
    let model: DetectionModel
    private var executors: [[Int]: CPUExecutor] = [:]
    private let lock = NSLockLike()

    init(model: DetectionModel) {
        self.model = model
    }

    var backendName: String { "lookout-cpu" }
    var deviceName: String { CPUExecutor.deviceDescription }

    func executor(shape: [Int]) throws(ModelError) -> CPUExecutor {
        if let existing = lock.withLock({ executors[shape] }) { return existing }
        let plan = try model.plan(forInputShape: shape)
        let executor = try CPUExecutor(
            plan: plan, halfInput: model.inputType == .float16, halfOutput: model.outputType == .float16)
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

import Synchronization

/// A plain lock for caches (Mutex without a protected value).
final class NSLockLike: Sendable {
    private let mutex = Mutex(())
    func withLock<R>(_ body: () throws -> R) rethrows -> R {
        try mutex.withLock { _ in try body() }
    }
}
