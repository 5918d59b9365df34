/// CUDA C++ shared by the engine's kernels: raw fp16 conversions and the PTX wrappers of the tensor-core path,
/// written with inline PTX so that NVRTC needs no header (no include path on the target machine).
extension EngineKernelSource {
    /// Kernels/common.cuh (fp16 bits, tensor elements as float, SiLU), then Kernels/tensor_core.cuh (cp.async,
    /// ldmatrix, mma.sync).
    static let common = KernelFiles.text(PackageResources.common_cuh, PackageResources.tensor_core_cuh)
}
