/// The convolution kernels: an implicit-GEMM kernel on the tensor cores (fp16 in, fp32 accumulate) for
/// channels-last fp16 inputs, a direct kernel for few input channels (the first layer), and a general direct
/// kernel for any strides and types (also the reference the tuner checks the others against).
extension EngineKernelSource {
    /// In order: the epilogue every convolution shares, the implicit GEMM's gather of A, the implicit-GEMM kernel
    /// (`convMMA`, and the split-K epilogue), the few-input-channel kernel (`convSmall`), the direct kernel.
    static let conv = KernelFiles.text(
        PackageResources.conv_epilogue_cuh, PackageResources.conv_gather_cuh, PackageResources.conv_mma_cuh,
        PackageResources.conv_small_cuh, PackageResources.conv_direct_cuh)
}
