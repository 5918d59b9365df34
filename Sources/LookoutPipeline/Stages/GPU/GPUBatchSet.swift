import LookoutCUDA
import LookoutCUDABackend
import LookoutCore

/// The resources of one batch in flight on the GPU: its upload slot (staging, upload events), the NMS scratch and
/// pinned results, and the events that say how far the batch has got. A stage has `depth` of them and uses them in
/// turn; a set is reused only once its previous batch's results have been read (`free`), so nothing in it is
/// written while the GPU or the completion thread still reads it.
final class GPUBatchSet: @unchecked Sendable {
    // The upload slot is only touched by the inference thread while it holds `free`; the events and `post` are
    // recorded there and waited on / read by the completion thread, in that order.
    let upload: UploadSlot
    let post: GPUPostprocessor
    /// The engine's span inside the batch.
    let engineStart: CUDAEvent
    let engineEnd: CUDAEvent
    /// The results are in `post`'s pinned memory. Blocking sync: the completion thread sleeps instead of spinning.
    let end: CUDAEvent
    /// 1 while the set is free.
    private let isFree = ConditionLock()
    private var taken = false

    init(
        upload: UploadSlot, context: CUDAContext, compiler: KernelCompiler, maxBatch: Int, classes: Int,
        maxDetections: Int, endToEnd: Bool
    )
        throws
    {
        self.upload = upload
        post = try GPUPostprocessor(
            context: context, compiler: compiler, maxBatch: maxBatch, classes: classes,
            maxDetections: max(maxDetections, 300), endToEnd: endToEnd)
        engineStart = try CUDAEvent(context: context)
        engineEnd = try CUDAEvent(context: context)
        end = try CUDAEvent(context: context, blockingSync: true)
    }

    /// Waits until the set's previous batch has been read, and takes it.
    func take() {
        isFree.withLock {
            while taken { isFree.wait() }
            taken = true
        }
    }

    /// The set's batch has been read: the next batch may use it.
    func give() {
        isFree.withLock {
            taken = false
            isFree.signal()
        }
    }
}
