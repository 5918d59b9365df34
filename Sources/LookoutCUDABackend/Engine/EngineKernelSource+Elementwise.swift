/// Kernels over strided tensors of up to six dimensions: copies and casts (Concat slots, Split, Slice, Transpose,
/// the input conversion), unary and binary arithmetic with broadcasting, max pooling, nearest resize, softmax.
extension EngineKernelSource {
    /// `LookoutElementwiseParams.op` values.
    enum Op: Int32 {
        case copy = 0
        /// A copy of whole 16-byte groups (the innermost dimension counts groups; strides stay in elements).
        case copy16 = 100
        /// Max pooling and nearest resize of 8 fp16 channels a thread.
        case maxPool8 = 140
        case resizeNearest8 = 141
        case sigmoid = 1
        case relu = 2
        case exp = 3
        case log = 4
        case sqrt = 5
        case neg = 6
        case abs = 7
        case reciprocal = 8
        case tanh = 9
        case add = 20
        case sub = 21
        case mul = 22
        case div = 23
        case pow = 24
        case min = 25
        case max = 26
        case maxPool = 40
        case resizeNearest = 41
        /// Integer Mod (the divisor's sign) and Div (toward zero) on int32 or integral float operands.
        case integerMod = 30
        case integerDiv = 31
    }

    /// Kernels/elementwise.cuh (copies, unary and binary arithmetic), spatial.cuh (max pooling, nearest resize),
    /// softmax.cuh (softmax, SoftmaxDot) and kernel_trials.cuh (the tuner's comparison and random inputs). The
    /// op numbers there are `Op`'s raw values.
    static let elementwise = KernelFiles.text(
        PackageResources.elementwise_cuh, PackageResources.spatial_cuh, PackageResources.softmax_cuh,
        PackageResources.kernel_trials_cuh)
}

extension EngineKernelSource {
    /// Kernels/attention.cuh (MatMul, the fused attention) and selection.cuh (ReduceMax, TopK, GatherElements): the
    /// operators YOLO11 and YOLO26 added.
    static let attention = KernelFiles.text(PackageResources.attention_cuh, PackageResources.selection_cuh)
    /// The most elements one TopK may keep (selection.cuh's TOPK_MAX).
    package static let topKLimit = 1024
    /// The fused attention's limits (attention.cuh's ATT_D and ATT_DV): key dimension (a multiple of 16) and value
    /// dimension (a multiple of 8).
    package static let attentionKeyLimit = 64
    package static let attentionValueLimit = 128
}
