import CLookoutCUDA

/// A CUDA stream: an ordered queue of copies and launches. Non-blocking by default, so it never serialises
/// with the legacy default stream that other libraries in the process may use.
package final class CUDAStream: @unchecked Sendable {
    package let context: CUDAContext
    let handle: LookoutCUstream
    var api: DriverAPI { context.api }

    package init(context: CUDAContext, nonBlocking: Bool = true) throws(CUDAError) {
        self.context = context
        try context.bind()
        var stream: LookoutCUstream? = nil
        try context.api.check(context.api.cuStreamCreate(&stream, nonBlocking ? 1 : 0), "cuStreamCreate")
        self.handle = stream!
    }

    deinit {
        _ = api.cuStreamDestroy(handle)
    }

    /// Blocks until all work queued so far has completed.
    package func synchronize() throws(CUDAError) {
        try context.bind()
        try api.check(api.cuStreamSynchronize(handle), "cuStreamSynchronize")
    }

    /// Whether all queued work has completed, without blocking.
    package func isIdle() throws(CUDAError) -> Bool {
        try context.bind()
        let status = api.cuStreamQuery(handle)
        if status == CUDAError.Code.notReady.rawValue { return false }
        try api.check(status, "cuStreamQuery")
        return true
    }

    /// Makes later work on this stream wait for `event` (on the GPU; the CPU does not wait).
    package func wait(for event: CUDAEvent) throws(CUDAError) {
        try api.check(api.cuStreamWaitEvent(handle, event.handle, 0), "cuStreamWaitEvent")
    }

    /// Makes later work on this stream wait until the 32-bit word at `flag` (device-visible memory: a mapped or
    /// registered host buffer's `devicePointer`) reaches `value`, compared cyclically (`Int32(bitPattern: word &-
    /// value) >= 0`). Work queued behind it is fetched by the GPU ahead of time and starts as soon as the host
    /// stores the value, with no driver call on the host's critical path. Whoever queues a wait must store a value
    /// that satisfies it, on error paths too, or the stream never drains.
    package func wait(untilWordAt flag: DevicePointer, reaches value: UInt32) throws(CUDAError) {
        try api.check(api.cuStreamWaitValue32(handle, flag.address, value, 0), "cuStreamWaitValue32")
    }
}
