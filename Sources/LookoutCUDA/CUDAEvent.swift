import CLookoutCUDA

/// A CUDA event: a point in a stream that the CPU can wait for or query, and another stream can wait on.
package final class CUDAEvent: @unchecked Sendable {
    package let context: CUDAContext
    let handle: LookoutCUevent
    var api: DriverAPI { context.api }

    /// `timing: false` makes record and query cheaper; `blockingSync` makes `synchronize` sleep instead of spin.
    package init(context: CUDAContext, timing: Bool = true, blockingSync: Bool = false) throws(CUDAError) {
        self.context = context
        try context.bind()
        var flags: UInt32 = 0
        if blockingSync { flags |= 0x1 }
        if !timing { flags |= 0x2 }
        var event: LookoutCUevent? = nil
        try context.api.check(context.api.cuEventCreate(&event, flags), "cuEventCreate")
        self.handle = event!
    }

    deinit {
        _ = api.cuEventDestroy(handle)
    }

    /// Captures the work queued on `stream` so far.
    package func record(on stream: CUDAStream) throws(CUDAError) {
        try api.check(api.cuEventRecord(handle, stream.handle), "cuEventRecord")
    }

    /// Records this event from inside a stream capture as a node of the graph (`CU_EVENT_RECORD_EXTERNAL`): every
    /// replay of the graph records it, for the host and other streams to wait on or time.
    package func recordInCapture(on stream: CUDAStream) throws(CUDAError) {
        try api.check(api.cuEventRecordWithFlags(handle, stream.handle, 0x1), "cuEventRecordWithFlags")
    }

    /// Blocks until the recorded work has completed.
    package func synchronize() throws(CUDAError) {
        try api.check(api.cuEventSynchronize(handle), "cuEventSynchronize")
    }

    /// Whether the recorded work has completed (an event never recorded counts as complete).
    package func isComplete() throws(CUDAError) -> Bool {
        let status = api.cuEventQuery(handle)
        if status == CUDAError.Code.notReady.rawValue { return false }
        try api.check(status, "cuEventQuery")
        return true
    }

    /// Milliseconds of GPU time from `start` to this event (both recorded and complete, both with timing).
    package func milliseconds(since start: CUDAEvent) throws(CUDAError) -> Double {
        var ms: Float = 0
        try api.check(api.cuEventElapsedTime(&ms, start.handle, handle), "cuEventElapsedTime")
        return Double(ms)
    }
}
