import CLookoutCUDA

/// The CUDA driver entry points Lookout calls, resolved once from `libcuda` through `cuGetProcAddress` (with
/// the CUDA 12.0 ABI, so every pointer matches the `_v2` declarations in CLookoutCUDA.h), or through `dlsym` of
/// the versioned names on a driver too old for that.
struct DriverAPI: @unchecked Sendable {
    /// The ABI version asked of `cuGetProcAddress`: 12.0 gives the `_v2` entry points our header declares.
    static let abiVersion: Int32 = 12000

    let cuInit: LookoutPFN_cuInit
    let cuDriverGetVersion: LookoutPFN_cuDriverGetVersion
    let cuGetErrorName: LookoutPFN_cuGetErrorName
    let cuGetErrorString: LookoutPFN_cuGetErrorString
    let cuDeviceGetCount: LookoutPFN_cuDeviceGetCount
    let cuDeviceGet: LookoutPFN_cuDeviceGet
    let cuDeviceGetName: LookoutPFN_cuDeviceGetName
    let cuDeviceTotalMem: LookoutPFN_cuDeviceTotalMem
    let cuDeviceGetAttribute: LookoutPFN_cuDeviceGetAttribute
    let cuDevicePrimaryCtxRetain: LookoutPFN_cuDevicePrimaryCtxRetain
    let cuDevicePrimaryCtxRelease: LookoutPFN_cuDevicePrimaryCtxRelease
    let cuCtxSetCurrent: LookoutPFN_cuCtxSetCurrent
    let cuCtxGetCurrent: LookoutPFN_cuCtxGetCurrent
    let cuCtxSynchronize: LookoutPFN_cuCtxSynchronize
    let cuMemGetInfo: LookoutPFN_cuMemGetInfo
    let cuMemAlloc: LookoutPFN_cuMemAlloc
    let cuMemFree: LookoutPFN_cuMemFree
    let cuMemHostAlloc: LookoutPFN_cuMemHostAlloc
    let cuMemFreeHost: LookoutPFN_cuMemFreeHost
    let cuMemHostGetDevicePointer: LookoutPFN_cuMemHostGetDevicePointer
    let cuMemHostRegister: LookoutPFN_cuMemHostRegister
    let cuMemHostUnregister: LookoutPFN_cuMemHostUnregister
    let cuMemAllocManaged: LookoutPFN_cuMemAllocManaged
    let cuMemPrefetchAsync: LookoutPFN_cuMemPrefetchAsync
    let cuMemcpyHtoD: LookoutPFN_cuMemcpyHtoD
    let cuMemcpyDtoH: LookoutPFN_cuMemcpyDtoH
    let cuMemcpyHtoDAsync: LookoutPFN_cuMemcpyHtoDAsync
    let cuMemcpyDtoHAsync: LookoutPFN_cuMemcpyDtoHAsync
    let cuMemcpyDtoDAsync: LookoutPFN_cuMemcpyDtoDAsync
    let cuMemcpy2DAsync: LookoutPFN_cuMemcpy2DAsync
    let cuMemsetD8Async: LookoutPFN_cuMemsetD8Async
    let cuStreamCreate: LookoutPFN_cuStreamCreate
    let cuStreamDestroy: LookoutPFN_cuStreamDestroy
    let cuStreamSynchronize: LookoutPFN_cuStreamSynchronize
    let cuStreamQuery: LookoutPFN_cuStreamQuery
    let cuStreamWaitEvent: LookoutPFN_cuStreamWaitEvent
    let cuStreamWaitValue32: LookoutPFN_cuStreamWaitValue32
    let cuEventCreate: LookoutPFN_cuEventCreate
    let cuEventDestroy: LookoutPFN_cuEventDestroy
    let cuEventRecord: LookoutPFN_cuEventRecord
    let cuEventRecordWithFlags: LookoutPFN_cuEventRecordWithFlags
    let cuEventSynchronize: LookoutPFN_cuEventSynchronize
    let cuEventQuery: LookoutPFN_cuEventQuery
    let cuEventElapsedTime: LookoutPFN_cuEventElapsedTime
    let cuModuleLoadData: LookoutPFN_cuModuleLoadData
    let cuModuleUnload: LookoutPFN_cuModuleUnload
    let cuModuleGetFunction: LookoutPFN_cuModuleGetFunction
    let cuFuncSetAttribute: LookoutPFN_cuFuncSetAttribute
    let cuLaunchKernel: LookoutPFN_cuLaunchKernel
    let cuStreamBeginCapture: LookoutPFN_cuStreamBeginCapture
    let cuStreamEndCapture: LookoutPFN_cuStreamEndCapture
    let cuGraphInstantiateWithFlags: LookoutPFN_cuGraphInstantiateWithFlags
    let cuGraphLaunch: LookoutPFN_cuGraphLaunch
    let cuGraphExecDestroy: LookoutPFN_cuGraphExecDestroy
    let cuGraphDestroy: LookoutPFN_cuGraphDestroy
    let cuIpcOpenMemHandle: LookoutPFN_cuIpcOpenMemHandle
    let cuIpcCloseMemHandle: LookoutPFN_cuIpcCloseMemHandle

    /// How the entry points were found, for reports: "cuGetProcAddress_v2 (ABI 12000)" or "dlsym".
    let resolution: String

    /// Resolves every entry point; the names of those missing on failure.
    static func load(from library: DynamicLibrary) -> Result<DriverAPI, DriverSymbolsMissing> {
        var missing: [String] = []
        var resolution = "dlsym"
        let procV2 = library.symbol("cuGetProcAddress_v2").map {
            unsafeBitCast($0, to: LookoutPFN_cuGetProcAddress_v2.self)
        }
        let procV1 = library.symbol("cuGetProcAddress").map {
            unsafeBitCast($0, to: LookoutPFN_cuGetProcAddress.self)
        }
        if procV2 != nil {
            resolution = "cuGetProcAddress_v2 (ABI \(abiVersion))"
        } else if procV1 != nil {
            resolution = "cuGetProcAddress (ABI \(abiVersion))"
        }

        // `base` is the name cuGetProcAddress takes; `versioned` the exported symbol of the same ABI.
        // A missing entry point gets a non-null placeholder that is never called: `load` then fails as a whole.
        func resolve<T>(_ base: String, _ versioned: String, as type: T.Type) -> T {
            var pointer: UnsafeMutableRawPointer? = nil
            if let procV2 {
                var status: Int32 = 0
                if procV2(base, &pointer, abiVersion, 0, &status) != 0 || status != 0 { pointer = nil }
            } else if let procV1 {
                if procV1(base, &pointer, abiVersion, 0) != 0 { pointer = nil }
            }
            if pointer == nil { pointer = library.symbol(versioned) }
            guard let pointer else {
                missing.append(versioned)
                return unsafeBitCast(UnsafeMutableRawPointer(bitPattern: 0x1)!, to: type)
            }
            return unsafeBitCast(pointer, to: type)
        }

        let api = DriverAPI(
            cuInit: resolve("cuInit", "cuInit", as: LookoutPFN_cuInit.self),
            cuDriverGetVersion: resolve(
                "cuDriverGetVersion", "cuDriverGetVersion", as: LookoutPFN_cuDriverGetVersion.self),
            cuGetErrorName: resolve("cuGetErrorName", "cuGetErrorName", as: LookoutPFN_cuGetErrorName.self),
            cuGetErrorString: resolve("cuGetErrorString", "cuGetErrorString", as: LookoutPFN_cuGetErrorString.self),
            cuDeviceGetCount: resolve("cuDeviceGetCount", "cuDeviceGetCount", as: LookoutPFN_cuDeviceGetCount.self),
            cuDeviceGet: resolve("cuDeviceGet", "cuDeviceGet", as: LookoutPFN_cuDeviceGet.self),
            cuDeviceGetName: resolve("cuDeviceGetName", "cuDeviceGetName", as: LookoutPFN_cuDeviceGetName.self),
            cuDeviceTotalMem: resolve("cuDeviceTotalMem", "cuDeviceTotalMem_v2", as: LookoutPFN_cuDeviceTotalMem.self),
            cuDeviceGetAttribute: resolve(
                "cuDeviceGetAttribute", "cuDeviceGetAttribute", as: LookoutPFN_cuDeviceGetAttribute.self),
            cuDevicePrimaryCtxRetain: resolve(
                "cuDevicePrimaryCtxRetain", "cuDevicePrimaryCtxRetain", as: LookoutPFN_cuDevicePrimaryCtxRetain.self),
            cuDevicePrimaryCtxRelease: resolve(
                "cuDevicePrimaryCtxRelease", "cuDevicePrimaryCtxRelease_v2",
                as: LookoutPFN_cuDevicePrimaryCtxRelease.self),
            cuCtxSetCurrent: resolve("cuCtxSetCurrent", "cuCtxSetCurrent", as: LookoutPFN_cuCtxSetCurrent.self),
            cuCtxGetCurrent: resolve("cuCtxGetCurrent", "cuCtxGetCurrent", as: LookoutPFN_cuCtxGetCurrent.self),
            cuCtxSynchronize: resolve("cuCtxSynchronize", "cuCtxSynchronize", as: LookoutPFN_cuCtxSynchronize.self),
            cuMemGetInfo: resolve("cuMemGetInfo", "cuMemGetInfo_v2", as: LookoutPFN_cuMemGetInfo.self),
            cuMemAlloc: resolve("cuMemAlloc", "cuMemAlloc_v2", as: LookoutPFN_cuMemAlloc.self),
            cuMemFree: resolve("cuMemFree", "cuMemFree_v2", as: LookoutPFN_cuMemFree.self),
            cuMemHostAlloc: resolve("cuMemHostAlloc", "cuMemHostAlloc", as: LookoutPFN_cuMemHostAlloc.self),
            cuMemFreeHost: resolve("cuMemFreeHost", "cuMemFreeHost", as: LookoutPFN_cuMemFreeHost.self),
            cuMemHostGetDevicePointer: resolve(
                "cuMemHostGetDevicePointer", "cuMemHostGetDevicePointer_v2",
                as: LookoutPFN_cuMemHostGetDevicePointer.self),
            cuMemHostRegister: resolve(
                "cuMemHostRegister", "cuMemHostRegister_v2", as: LookoutPFN_cuMemHostRegister.self),
            cuMemHostUnregister: resolve(
                "cuMemHostUnregister", "cuMemHostUnregister", as: LookoutPFN_cuMemHostUnregister.self),
            cuMemAllocManaged: resolve("cuMemAllocManaged", "cuMemAllocManaged", as: LookoutPFN_cuMemAllocManaged.self),
            cuMemPrefetchAsync: resolve(
                "cuMemPrefetchAsync", "cuMemPrefetchAsync", as: LookoutPFN_cuMemPrefetchAsync.self),
            cuMemcpyHtoD: resolve("cuMemcpyHtoD", "cuMemcpyHtoD_v2", as: LookoutPFN_cuMemcpyHtoD.self),
            cuMemcpyDtoH: resolve("cuMemcpyDtoH", "cuMemcpyDtoH_v2", as: LookoutPFN_cuMemcpyDtoH.self),
            cuMemcpyHtoDAsync: resolve(
                "cuMemcpyHtoDAsync", "cuMemcpyHtoDAsync_v2", as: LookoutPFN_cuMemcpyHtoDAsync.self),
            cuMemcpyDtoHAsync: resolve(
                "cuMemcpyDtoHAsync", "cuMemcpyDtoHAsync_v2", as: LookoutPFN_cuMemcpyDtoHAsync.self),
            cuMemcpyDtoDAsync: resolve(
                "cuMemcpyDtoDAsync", "cuMemcpyDtoDAsync_v2", as: LookoutPFN_cuMemcpyDtoDAsync.self),
            cuMemcpy2DAsync: resolve("cuMemcpy2DAsync", "cuMemcpy2DAsync_v2", as: LookoutPFN_cuMemcpy2DAsync.self),
            cuMemsetD8Async: resolve("cuMemsetD8Async", "cuMemsetD8Async", as: LookoutPFN_cuMemsetD8Async.self),
            cuStreamCreate: resolve("cuStreamCreate", "cuStreamCreate", as: LookoutPFN_cuStreamCreate.self),
            cuStreamDestroy: resolve("cuStreamDestroy", "cuStreamDestroy_v2", as: LookoutPFN_cuStreamDestroy.self),
            cuStreamSynchronize: resolve(
                "cuStreamSynchronize", "cuStreamSynchronize", as: LookoutPFN_cuStreamSynchronize.self),
            cuStreamQuery: resolve("cuStreamQuery", "cuStreamQuery", as: LookoutPFN_cuStreamQuery.self),
            cuStreamWaitEvent: resolve("cuStreamWaitEvent", "cuStreamWaitEvent", as: LookoutPFN_cuStreamWaitEvent.self),
            cuStreamWaitValue32: resolve(
                "cuStreamWaitValue32", "cuStreamWaitValue32_v2", as: LookoutPFN_cuStreamWaitValue32.self),
            cuEventCreate: resolve("cuEventCreate", "cuEventCreate", as: LookoutPFN_cuEventCreate.self),
            cuEventDestroy: resolve("cuEventDestroy", "cuEventDestroy_v2", as: LookoutPFN_cuEventDestroy.self),
            cuEventRecord: resolve("cuEventRecord", "cuEventRecord", as: LookoutPFN_cuEventRecord.self),
            cuEventRecordWithFlags: resolve(
                "cuEventRecordWithFlags", "cuEventRecordWithFlags", as: LookoutPFN_cuEventRecordWithFlags.self),
            cuEventSynchronize: resolve(
                "cuEventSynchronize", "cuEventSynchronize", as: LookoutPFN_cuEventSynchronize.self),
            cuEventQuery: resolve("cuEventQuery", "cuEventQuery", as: LookoutPFN_cuEventQuery.self),
            cuEventElapsedTime: resolve(
                "cuEventElapsedTime", "cuEventElapsedTime", as: LookoutPFN_cuEventElapsedTime.self),
            cuModuleLoadData: resolve("cuModuleLoadData", "cuModuleLoadData", as: LookoutPFN_cuModuleLoadData.self),
            cuModuleUnload: resolve("cuModuleUnload", "cuModuleUnload", as: LookoutPFN_cuModuleUnload.self),
            cuModuleGetFunction: resolve(
                "cuModuleGetFunction", "cuModuleGetFunction", as: LookoutPFN_cuModuleGetFunction.self),
            cuFuncSetAttribute: resolve(
                "cuFuncSetAttribute", "cuFuncSetAttribute", as: LookoutPFN_cuFuncSetAttribute.self),
            cuLaunchKernel: resolve("cuLaunchKernel", "cuLaunchKernel", as: LookoutPFN_cuLaunchKernel.self),
            cuStreamBeginCapture: resolve(
                "cuStreamBeginCapture", "cuStreamBeginCapture_v2", as: LookoutPFN_cuStreamBeginCapture.self),
            cuStreamEndCapture: resolve(
                "cuStreamEndCapture", "cuStreamEndCapture", as: LookoutPFN_cuStreamEndCapture.self),
            cuGraphInstantiateWithFlags: resolve(
                "cuGraphInstantiateWithFlags", "cuGraphInstantiateWithFlags",
                as: LookoutPFN_cuGraphInstantiateWithFlags.self),
            cuGraphLaunch: resolve("cuGraphLaunch", "cuGraphLaunch", as: LookoutPFN_cuGraphLaunch.self),
            cuGraphExecDestroy: resolve(
                "cuGraphExecDestroy", "cuGraphExecDestroy", as: LookoutPFN_cuGraphExecDestroy.self),
            cuGraphDestroy: resolve("cuGraphDestroy", "cuGraphDestroy", as: LookoutPFN_cuGraphDestroy.self),
            cuIpcOpenMemHandle: resolve(
                "cuIpcOpenMemHandle", "cuIpcOpenMemHandle_v2", as: LookoutPFN_cuIpcOpenMemHandle.self),
            cuIpcCloseMemHandle: resolve(
                "cuIpcCloseMemHandle", "cuIpcCloseMemHandle", as: LookoutPFN_cuIpcCloseMemHandle.self),
            resolution: resolution
        )
        if missing.isEmpty { return .success(api) }
        return .failure(DriverSymbolsMissing(library: library.path, symbols: missing))
    }
}

/// The driver library loaded but lacks entry points Lookout needs (a driver older than CUDA 12).
package struct DriverSymbolsMissing: Error, CustomStringConvertible, Sendable {
    package let library: String
    package let symbols: [String]
    package var description: String {
        "\(library) lacks \(symbols.joined(separator: ", ")): Lookout needs a CUDA 12 or newer driver"
    }
}
