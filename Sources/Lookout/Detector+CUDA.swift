import LookoutCUDA
import LookoutCUDABackend

/// The CUDA backend of a `Detector`, for stages that drive the GPU themselves (the streaming pipeline's transfer
/// modes: their own streams, frame buffers, letterbox launches into the engine's input, GPU NMS).
public struct CUDABackendAccess: @unchecked Sendable {
    /// The engine: one compiled instance per input shape. Use it from one thread at a time, and not while
    /// `Detector.detect` runs on the same detector.
    public let engine: CUDAEngine
    /// The NVRTC compiler (with its disk cache) the engine's kernels came from.
    public let compiler: KernelCompiler
    public var context: CUDAContext { engine.context }
}

extension Detector {
    /// The CUDA backend when the detector runs on a GPU; nil on the CPU.
    public var cuda: CUDABackendAccess? {
        guard let engine = engine as? CUDAInferenceEngine else { return nil }
        return CUDABackendAccess(engine: engine.engine, compiler: engine.compiler)
    }
}
