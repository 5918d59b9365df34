import LookoutCPU
import LookoutCUDABackend

/// How a `Detector`'s engine runs: the GPU engine's choices, and the CPU backend's tuning. The defaults are the
/// measured best; the CLI also reads them from `LOOKOUT_*` environment variables (README).
public struct EngineOptions: Sendable {
    /// GPU: fp16 activations with tensor-core kernels (default), or fp32 everywhere (direct kernels: slow).
    public var precision = GPUPrecision.fp16
    /// GPU: time every candidate kernel of each convolution the first time a shape runs, keep the fastest that
    /// agrees with the reference kernel (cached on disk); off: the default kernel per layer.
    public var tuneKernels = true
    /// GPU: offer cuDNN's algorithms to the tuner (when libcudnn.so.9 loads).
    public var cudnn = true
    /// GPU: offer the Hopper `wgmma` kernels to the tuner (compute capability 9.0 only).
    public var wgmma = false
    /// GPU: replay each input shape as one CUDA graph (off: kernels launched one by one).
    public var graphs = true
    /// GPU: run the attention blocks of YOLO11 and YOLO26 as one fused tensor-core launch each (off: separate
    /// MatMul, Softmax and Transpose launches).
    public var fusedAttention = true
    /// GPU: where compiled kernels and tuning results are kept; nil: `$XDG_CACHE_HOME/lookout`, else
    /// `~/.cache/lookout`.
    public var cacheDirectory: String?
    /// The CPU backend's threads, tiles and Winograd choice.
    public var cpu = CPUTuning()

    public init() {}
}
