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
    let cudnnGetConvolutionForwardAlgorithm_v7: LookoutPFN_cudnnGetConvolutionForwardAlgorithm_v7
    let cudnnGetConvolutionForwardWorkspaceSize: LookoutPFN_cudnnGetConvolutionForwardWorkspaceSize
    let cudnnConvolutionForward: LookoutPFN_cudnnConvolutionForward

    static func load(from library: DynamicLibrary) -> Result<CUDNNAPI, DriverSymbolsMissing> {
        var missing: [String] = []
        func required<T>(_ name: String, _ type: T.Type) -> T {
            guard let pointer = library.symbol(name) else {
                missing.append(name)
                return unsafeBitCast(UnsafeMutableRawPointer(bitPattern: 0x1)!, to: type)
            }
            return unsafeBitCast(pointer, to: type)
        }
        let api = CUDNNAPI(
            cudnnGetVersion: required("cudnnGetVersion", LookoutPFN_cudnnGetVersion.self),
            cudnnGetErrorString: required("cudnnGetErrorString", LookoutPFN_cudnnGetErrorString.self),
            cudnnCreate: required("cudnnCreate", LookoutPFN_cudnnCreate.self),
            cudnnDestroy: required("cudnnDestroy", LookoutPFN_cudnnDestroy.self),
            cudnnSetStream: required("cudnnSetStream", LookoutPFN_cudnnSetStream.self),
            cudnnCreateTensorDescriptor: required(
                "cudnnCreateTensorDescriptor", LookoutPFN_cudnnCreateTensorDescriptor.self),
            cudnnDestroyTensorDescriptor: required(
                "cudnnDestroyTensorDescriptor", LookoutPFN_cudnnDestroyTensorDescriptor.self),
            cudnnSetTensor4dDescriptorEx: required(
                "cudnnSetTensor4dDescriptorEx", LookoutPFN_cudnnSetTensor4dDescriptorEx.self),
            cudnnCreateFilterDescriptor: required(
                "cudnnCreateFilterDescriptor", LookoutPFN_cudnnCreateFilterDescriptor.self),
            cudnnDestroyFilterDescriptor: required(
                "cudnnDestroyFilterDescriptor", LookoutPFN_cudnnDestroyFilterDescriptor.self),
            cudnnSetFilter4dDescriptor: required(
                "cudnnSetFilter4dDescriptor", LookoutPFN_cudnnSetFilter4dDescriptor.self),
            cudnnCreateConvolutionDescriptor: required(
                "cudnnCreateConvolutionDescriptor", LookoutPFN_cudnnCreateConvolutionDescriptor.self),
            cudnnDestroyConvolutionDescriptor: required(
                "cudnnDestroyConvolutionDescriptor", LookoutPFN_cudnnDestroyConvolutionDescriptor.self),
            cudnnSetConvolution2dDescriptor: required(
                "cudnnSetConvolution2dDescriptor", LookoutPFN_cudnnSetConvolution2dDescriptor.self),
            cudnnSetConvolutionGroupCount: required(
                "cudnnSetConvolutionGroupCount", LookoutPFN_cudnnSetConvolutionGroupCount.self),
            cudnnSetConvolutionMathType: required(
                "cudnnSetConvolutionMathType", LookoutPFN_cudnnSetConvolutionMathType.self),
            cudnnGetConvolutionForwardAlgorithm_v7: required(
                "cudnnGetConvolutionForwardAlgorithm_v7", LookoutPFN_cudnnGetConvolutionForwardAlgorithm_v7.self),
            cudnnGetConvolutionForwardWorkspaceSize: required(
                "cudnnGetConvolutionForwardWorkspaceSize", LookoutPFN_cudnnGetConvolutionForwardWorkspaceSize.self),
            cudnnConvolutionForward: required("cudnnConvolutionForward", LookoutPFN_cudnnConvolutionForward.self))
        if missing.isEmpty { return .success(api) }
        return .failure(DriverSymbolsMissing(library: library.path, symbols: missing))
    }

    /// cuDNN's own text for a status (its name, e.g. `CUDNN_STATUS_NOT_SUPPORTED`).
    func message(_ status: LookoutCUDNNStatus) -> String {
        cudnnGetErrorString(status).map { String(cString: $0) } ?? "cuDNN status \(status)"
    }
}
