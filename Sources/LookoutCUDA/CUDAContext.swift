import CLookoutCUDA

/// A device's primary context, retained for the life of this object. The driver binds contexts per thread, so
/// every Lookout call that needs one binds it first (`bind()` costs one `cuCtxGetCurrent` when it is already
/// current); the pipeline keeps all GPU work of a context on one thread.
package final class CUDAContext: @unchecked Sendable {
    package let driver: CUDADriver
    package let device: CUDADevice
    let handle: LookoutCUcontext
    var api: DriverAPI { driver.api }

    /// Retains the primary context of device `ordinal` and makes it current on the calling thread.
    package init(driver: CUDADriver, ordinal: Int = 0) throws(CUDAError) {
        self.driver = driver
        self.device = try driver.device(ordinal)
        var context: LookoutCUcontext? = nil
        try driver.api.check(driver.api.cuDevicePrimaryCtxRetain(&context, device.handle), "cuDevicePrimaryCtxRetain")
        self.handle = context!
        try driver.api.check(driver.api.cuCtxSetCurrent(handle), "cuCtxSetCurrent")
    }

    deinit {
        _ = api.cuDevicePrimaryCtxRelease(device.handle)
    }

    /// Makes this context current on the calling thread if it is not already.
    @inline(__always)
    package func bind() throws(CUDAError) {
        var current: LookoutCUcontext? = nil
        if api.cuCtxGetCurrent(&current) == 0, current == handle { return }
        try api.check(api.cuCtxSetCurrent(handle), "cuCtxSetCurrent")
    }

    /// Waits for all work in the context.
    package func synchronize() throws(CUDAError) {
        try bind()
        try api.check(api.cuCtxSynchronize(), "cuCtxSynchronize")
    }

    /// Free and total device memory in bytes.
    package func memoryInfo() throws(CUDAError) -> (free: Int, total: Int) {
        try bind()
        var free = 0
        var total = 0
        try api.check(api.cuMemGetInfo(&free, &total), "cuMemGetInfo")
        return (free, total)
    }
}
