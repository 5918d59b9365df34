import CLookoutCUDA

/// The cuDNN entry points Lookout calls (the legacy convolution API of cuDNN 9), resolved with `dlsym` from
/// `libcudnn.so.9`.
struct CUDNNAPI: @unchecked Sendable {
    let cudnnGetVersion: LookoutPFN_cudnnGetVersion
    let cudnnGetErrorString: LookoutPFN_cudnnGetErrorString
    let cudnnCreate: LookoutPFN_cudnnCreate
    let cudnnDestroy: LookoutPFN_cudnnDestroy
    let cudnnSetStream: LookoutPFN_cudnnSetStream
    let cudnnCreateTensorDescriptor: LookoutPFN_cudnnCreateTensorDescriptor
    let cudnnDestroyTensorDescriptor: LookoutPFN_cudnnDestroyTensorDescriptor
    let cudnnSetTensor4dDescriptorEx: LookoutPFN_cudnnSetTensor4dDescriptorEx
    let cudnnCreateFilterDescriptor: LookoutPFN_cudnnCreateFilterDescriptor
    let cudnnDestroyFilterDescriptor: LookoutPFN_cudnnDestroyFilterDescriptor
    let cudnnSetFilter4dDescriptor: LookoutPFN_cudnnSetFilter4dDescriptor
    let cudnnCreateConvolutionDescriptor: LookoutPFN_cudnnCreateConvolutionDescriptor
    let cudnnDestroyConvolutionDescriptor: LookoutPFN_cudnnDestroyConvolutionDescriptor
    let cudnnSetConvolution2dDescriptor: LookoutPFN_cudnnSetConvolution2dDescriptor
    let cudnnSetConvolutionGroupCount: LookoutPFN_cudnnSetConvolutionGroupCount
    let cudnnSetConvolutionMathType: LookoutPFN_cudnnSetConvolutionMathType
    // swift-format-ignore: AlwaysUseLowerCamelCase
    // cuDNN's own name for the entry point (the table's fields are named after what they resolve).
    let cudnnGetConvolutionForwardAlgorithm_v7: LookoutPFN_cudnnGetConvolutionForwardAlgorithm_v7
    let cudnnGetConvolutionForwardWorkspaceSize: LookoutPFN_cudnnGetConvolutionForwardWorkspaceSize
    let cudnnConvolutionForward: LookoutPFN_cudnnConvolutionForward

    static func load(from library: DynamicLibrary) -> Result<CUDNNAPI, DriverSymbolsMissing> {
        let symbols = SymbolResolver(library)
        let api = CUDNNAPI(
            cudnnGetVersion: symbols.required("cudnnGetVersion", LookoutPFN_cudnnGetVersion.self),
            cudnnGetErrorString: symbols.required("cudnnGetErrorString", LookoutPFN_cudnnGetErrorString.self),
            cudnnCreate: symbols.required("cudnnCreate", LookoutPFN_cudnnCreate.self),
            cudnnDestroy: symbols.required("cudnnDestroy", LookoutPFN_cudnnDestroy.self),
            cudnnSetStream: symbols.required("cudnnSetStream", LookoutPFN_cudnnSetStream.self),
            cudnnCreateTensorDescriptor: symbols.required(
                "cudnnCreateTensorDescriptor", LookoutPFN_cudnnCreateTensorDescriptor.self),
            cudnnDestroyTensorDescriptor: symbols.required(
                "cudnnDestroyTensorDescriptor", LookoutPFN_cudnnDestroyTensorDescriptor.self),
            cudnnSetTensor4dDescriptorEx: symbols.required(
                "cudnnSetTensor4dDescriptorEx", LookoutPFN_cudnnSetTensor4dDescriptorEx.self),
            cudnnCreateFilterDescriptor: symbols.required(
                "cudnnCreateFilterDescriptor", LookoutPFN_cudnnCreateFilterDescriptor.self),
            cudnnDestroyFilterDescriptor: symbols.required(
                "cudnnDestroyFilterDescriptor", LookoutPFN_cudnnDestroyFilterDescriptor.self),
            cudnnSetFilter4dDescriptor: symbols.required(
                "cudnnSetFilter4dDescriptor", LookoutPFN_cudnnSetFilter4dDescriptor.self),
            cudnnCreateConvolutionDescriptor: symbols.required(
                "cudnnCreateConvolutionDescriptor", LookoutPFN_cudnnCreateConvolutionDescriptor.self),
            cudnnDestroyConvolutionDescriptor: symbols.required(
                "cudnnDestroyConvolutionDescriptor", LookoutPFN_cudnnDestroyConvolutionDescriptor.self),
            cudnnSetConvolution2dDescriptor: symbols.required(
                "cudnnSetConvolution2dDescriptor", LookoutPFN_cudnnSetConvolution2dDescriptor.self),
            cudnnSetConvolutionGroupCount: symbols.required(
                "cudnnSetConvolutionGroupCount", LookoutPFN_cudnnSetConvolutionGroupCount.self),
            cudnnSetConvolutionMathType: symbols.required(
                "cudnnSetConvolutionMathType", LookoutPFN_cudnnSetConvolutionMathType.self),
            cudnnGetConvolutionForwardAlgorithm_v7: symbols.required(
                "cudnnGetConvolutionForwardAlgorithm_v7", LookoutPFN_cudnnGetConvolutionForwardAlgorithm_v7.self),
            cudnnGetConvolutionForwardWorkspaceSize: symbols.required(
                "cudnnGetConvolutionForwardWorkspaceSize", LookoutPFN_cudnnGetConvolutionForwardWorkspaceSize.self),
            cudnnConvolutionForward: symbols.required(
                "cudnnConvolutionForward", LookoutPFN_cudnnConvolutionForward.self))
        return symbols.result(api)
    }

    /// cuDNN's own text for a status (its name, e.g. `CUDNN_STATUS_NOT_SUPPORTED`).
    func message(_ status: LookoutCUDNNStatus) -> String {
        cudnnGetErrorString(status).map { String(cString: $0) } ?? "cuDNN status \(status)"
    }
}
