/// The epilogue of a convolution that cuDNN computed: cuDNN writes conv(x, w) alone into the output (fp16), this
/// kernel applies bias, SiLU and the residual in place, in the tensor-core kernels' order and arithmetic
/// (`convEpilogueT<true>`). The output is rounded to fp16 twice (cuDNN's result, then ours), once more than with
/// the engine's own kernels; the tuner's comparison with the direct kernel covers the difference.
extension EngineKernelSource {
    /// Kernels/cudnn_epilogue.cuh.
    static let cudnnEpilogue = KernelFiles.text(PackageResources.cudnn_epilogue_cuh)
}
