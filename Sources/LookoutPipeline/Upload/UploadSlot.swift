import LookoutCUDA

/// The resources of one upload in flight: staging memory and the events that say how far it has got. An uploader
/// user keeps `depth` slots and takes them in turn, reusing one only once its upload's work has completed (so
/// nothing in it is written while the GPU still reads it).
package final class UploadSlot: @unchecked Sendable {
    // The staging is touched only by the thread that calls `upload` with this slot; the events are read by whoever
    // waits for the upload.
    package let index: Int
    /// Around each frame's copy (copying modes): the copy's own duration, for its bandwidth.
    package let copyStarts: [CUDAEvent]
    package let copyEnds: [CUDAEvent]
    /// The copy stream has uploaded (or prefetched) the batch's pixels.
    let uploaded: CUDAEvent
    /// The letterbox has run (the copy stream waits on it before sending managed pages back).
    let letterboxed: CUDAEvent
    /// The first work of the upload on the compute stream (a conversion or a letterbox), and the model input being
    /// complete: its span on the compute stream, and where the input is ready (on whichever stream finishes it).
    package let computeStart: CUDAEvent
    package let ready: CUDAEvent
    /// `pinned-raw`: the raw frames on the device, `rawSlotBytes` apart.
    var raw: DeviceStaging?
    var rawSlotBytes = 0
    /// `pageable`, `pinned`: the CPU-letterboxed fp32 NCHW batch on the host and its device copy.
    var hostTensor: HostStaging?
    var deviceTensor: DeviceStaging?

    init(index: Int, context: CUDAContext, maxBatch: Int) throws(CUDAError) {
        self.index = index
        copyStarts = try (0..<maxBatch).map { _ throws(CUDAError) in try CUDAEvent(context: context) }
        copyEnds = try (0..<maxBatch).map { _ throws(CUDAError) in try CUDAEvent(context: context) }
        uploaded = try CUDAEvent(context: context, timing: false)
        letterboxed = try CUDAEvent(context: context, timing: false)
        computeStart = try CUDAEvent(context: context)
        ready = try CUDAEvent(context: context)
    }
}

/// Device memory owned by a class (so that a slot can hold it optionally and replace it when frames grow).
final class DeviceStaging: @unchecked Sendable {
    let buffer: DeviceBuffer
    let byteCount: Int

    init(context: CUDAContext, byteCount: Int) throws(CUDAError) {
        buffer = try DeviceBuffer(context: context, byteCount: byteCount)
        self.byteCount = byteCount
    }

    func pointer(offset: Int = 0) -> DevicePointer { buffer.pointer(offset: offset) }
}

/// Host memory owned by a class (pageable or pinned staging of the CPU-letterboxed modes).
final class HostStaging: @unchecked Sendable {
    let buffer: HostBuffer
    let byteCount: Int

    init(buffer: consuming HostBuffer) {
        byteCount = buffer.byteCount
        self.buffer = buffer
    }

    /// The staging as `count` floats, lent for the duration of `body`.
    func withFloats<R>(_ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
        try buffer.withUnsafeMutableBytes { try body($0.baseAddress!.assumingMemoryBound(to: Float.self)) }
    }

    func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try buffer.withUnsafeBytes(body)
    }
}
