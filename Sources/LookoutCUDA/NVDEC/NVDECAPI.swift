import CLookoutCUDA

/// The NVDEC entry points Lookout calls, resolved with `dlsym` from `libnvcuvid.so.1` (part of the NVIDIA driver):
/// the video parser, the decoder and its capabilities, each picture's decode status, 64-bit frame mapping and the
/// context lock.
struct NVDECAPI: @unchecked Sendable {
    let cuvidGetDecoderCaps: LookoutPFN_cuvidGetDecoderCaps
    let cuvidCreateDecoder: LookoutPFN_cuvidCreateDecoder
    let cuvidDestroyDecoder: LookoutPFN_cuvidDestroyDecoder
    let cuvidDecodePicture: LookoutPFN_cuvidDecodePicture
    let cuvidGetDecodeStatus: LookoutPFN_cuvidGetDecodeStatus
    let cuvidMapVideoFrame64: LookoutPFN_cuvidMapVideoFrame64
    let cuvidUnmapVideoFrame64: LookoutPFN_cuvidUnmapVideoFrame64
    let cuvidCtxLockCreate: LookoutPFN_cuvidCtxLockCreate
    let cuvidCtxLockDestroy: LookoutPFN_cuvidCtxLockDestroy
    let cuvidCreateVideoParser: LookoutPFN_cuvidCreateVideoParser
    let cuvidParseVideoData: LookoutPFN_cuvidParseVideoData
    let cuvidDestroyVideoParser: LookoutPFN_cuvidDestroyVideoParser

    static func load(from library: DynamicLibrary) -> Result<NVDECAPI, DriverSymbolsMissing> {
        let symbols = SymbolResolver(library)
        let api = NVDECAPI(
            cuvidGetDecoderCaps: symbols.required("cuvidGetDecoderCaps", LookoutPFN_cuvidGetDecoderCaps.self),
            cuvidCreateDecoder: symbols.required("cuvidCreateDecoder", LookoutPFN_cuvidCreateDecoder.self),
            cuvidDestroyDecoder: symbols.required("cuvidDestroyDecoder", LookoutPFN_cuvidDestroyDecoder.self),
            cuvidDecodePicture: symbols.required("cuvidDecodePicture", LookoutPFN_cuvidDecodePicture.self),
            cuvidGetDecodeStatus: symbols.required("cuvidGetDecodeStatus", LookoutPFN_cuvidGetDecodeStatus.self),
            cuvidMapVideoFrame64: symbols.required("cuvidMapVideoFrame64", LookoutPFN_cuvidMapVideoFrame64.self),
            cuvidUnmapVideoFrame64: symbols.required(
                "cuvidUnmapVideoFrame64", LookoutPFN_cuvidUnmapVideoFrame64.self),
            cuvidCtxLockCreate: symbols.required("cuvidCtxLockCreate", LookoutPFN_cuvidCtxLockCreate.self),
            cuvidCtxLockDestroy: symbols.required("cuvidCtxLockDestroy", LookoutPFN_cuvidCtxLockDestroy.self),
            cuvidCreateVideoParser: symbols.required(
                "cuvidCreateVideoParser", LookoutPFN_cuvidCreateVideoParser.self),
            cuvidParseVideoData: symbols.required("cuvidParseVideoData", LookoutPFN_cuvidParseVideoData.self),
            cuvidDestroyVideoParser: symbols.required(
                "cuvidDestroyVideoParser", LookoutPFN_cuvidDestroyVideoParser.self))
        return symbols.result(api)
    }
}

/// The NVML entry points `bench decode` reads, resolved with `dlsym` from `libnvidia-ml.so.1`.
struct NVMLAPI: @unchecked Sendable {
    let nvmlInit: LookoutPFN_nvmlInit_v2
    let nvmlShutdown: LookoutPFN_nvmlShutdown
    let nvmlErrorString: LookoutPFN_nvmlErrorString
    let nvmlDeviceGetHandleByIndex: LookoutPFN_nvmlDeviceGetHandleByIndex_v2
    let nvmlDeviceGetDecoderUtilization: LookoutPFN_nvmlDeviceGetDecoderUtilization
    let nvmlDeviceGetUtilizationRates: LookoutPFN_nvmlDeviceGetUtilizationRates

    static func load(from library: DynamicLibrary) -> Result<NVMLAPI, DriverSymbolsMissing> {
        let symbols = SymbolResolver(library)
        let api = NVMLAPI(
            nvmlInit: symbols.required("nvmlInit_v2", LookoutPFN_nvmlInit_v2.self),
            nvmlShutdown: symbols.required("nvmlShutdown", LookoutPFN_nvmlShutdown.self),
            nvmlErrorString: symbols.required("nvmlErrorString", LookoutPFN_nvmlErrorString.self),
            nvmlDeviceGetHandleByIndex: symbols.required(
                "nvmlDeviceGetHandleByIndex_v2", LookoutPFN_nvmlDeviceGetHandleByIndex_v2.self),
            nvmlDeviceGetDecoderUtilization: symbols.required(
                "nvmlDeviceGetDecoderUtilization", LookoutPFN_nvmlDeviceGetDecoderUtilization.self),
            nvmlDeviceGetUtilizationRates: symbols.required(
                "nvmlDeviceGetUtilizationRates", LookoutPFN_nvmlDeviceGetUtilizationRates.self))
        return symbols.result(api)
    }
}
