import Dispatch
import LookoutCUDA
import LookoutCUDABackend

/// The resources of one batch in flight on the GPU: staging memory, the NMS scratch and pinned results, and the
/// events that say how far the batch has got. A stage has `depth` of them and uses them in turn; a set is reused
/// only once its previous batch's results have been read (`free`), so nothing in it is written while the GPU or
/// the completion thread still reads it.
final class GPUBatchSet: @unchecked Sendable {
    // The staging buffers are only touched by the inference thread while it holds `free`; the events and `post`
    // are recorded there and waited on / read by the completion thread, in that order.
    let index: Int
    let post: GPUPostprocessor
    /// Compute-stream span of the batch (first preprocessing kernel → results copied), and of the engine inside it.
    let start: CUDAEvent
    let engineStart: CUDAEvent
    let engineEnd: CUDAEvent
    /// The results are in `post`'s pinned memory. Blocking sync: the completion thread sleeps instead of spinning.
    let end: CUDAEvent
    /// The copy stream has uploaded (or prefetched) the batch's pixels: the compute stream waits on it.
    let uploaded: CUDAEvent
    /// The letterbox has run (the copy stream waits on it before sending managed pages back).
    let letterboxed: CUDAEvent
    /// The frames' pool buffers have been read: the frames may be released (decoders may write them again).
    let consumed: CUDAEvent
    /// 1 while the set is free.
    let free = DispatchSemaphore(value: 1)
    /// `pinned-raw`: the raw frames on the device, `rawSlotBytes` apart.
    var raw: DeviceStaging?
    var rawSlotBytes = 0
    /// `pageable`, `pinned`: the CPU-letterboxed fp32 NCHW batch on the host and its device copy.
    var hostTensor: HostStaging?
    var deviceTensor: DeviceStaging?

    init(index: Int, context: CUDAContext, compiler: KernelCompiler, maxBatch: Int, classes: Int, maxDetections: Int)
        throws
    {
        self.index = index
        post = try GPUPostprocessor(
            context: context, compiler: compiler, maxBatch: maxBatch, classes: classes,
            maxDetections: max(maxDetections, 300))
        start = try CUDAEvent(context: context)
        engineStart = try CUDAEvent(context: context)
        engineEnd = try CUDAEvent(context: context)
        end = try CUDAEvent(context: context, blockingSync: true)
        uploaded = try CUDAEvent(context: context, timing: false)
        letterboxed = try CUDAEvent(context: context, timing: false)
        consumed = try CUDAEvent(context: context, timing: false, blockingSync: true)
    }
}

/// Device memory owned by a class (so that a set can hold it optionally and replace it when frames grow).
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
    let base: UnsafeMutableRawPointer

    init(kind: HostMemoryKind, context: CUDAContext, byteCount: Int) throws(CUDAError) {
        buffer = try HostBuffer(kind: kind, byteCount: byteCount, context: context)
        self.byteCount = byteCount
        base = buffer.withUnsafeMutableBytes { $0.baseAddress! }
    }
}
