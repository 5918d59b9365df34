import LookoutCore
import LookoutInference
import NIOPosix
import Synchronization

/// The dynamic batcher of one served model (Triton's `dynamic_batching`). Requests queue; one drain loop (a task)
/// takes the oldest request, waits up to `maxQueueDelay` from its arrival for more while the batch is not full (a
/// closing batcher stops waiting), adds the queued requests of the same key (engine input size, detection
/// parameters) in arrival order up to `mergeRows` rows, runs them as one engine call on NIO's blocking pool and
/// answers each with its own rows. The wait holds no thread: a pool thread is taken only to run a batch, so the
/// preparation of the requests that fill it (on the same pool) never waits behind it. A merged batch that fails runs
/// again one request at a time, so an error reaches only the request that caused it.
final class ModelBatcher: Sendable {
    private struct Pending {
        var id: UInt64
        var job: InferenceJob
        var enqueued: UInt64
        var continuation: CheckedContinuation<[OutputTensor], any Error>
    }

    private struct State {
        var queue: [Pending] = []
        var nextID: UInt64 = 0
        /// Submitted, not yet queued (their continuation is being made).
        var arriving: Set<UInt64> = []
        /// Cancelled while arriving: refused when they reach the queue.
        var cancelledEarly: Set<UInt64> = []
        /// A drain loop runs.
        var draining = false
        var closed = false
        var idle: [CheckedContinuation<Void, Never>] = []
    }

    let name: String
    let kind: ModelRepository.Kind
    let detector: Detector
    /// Rows one request may have at most (larger ones are refused before queueing).
    let maxBatchSize: Int
    /// Rows one engine call takes at most when it merges requests (1: never merged).
    let mergeRows: Int
    let maxQueueDelayNanoseconds: UInt64
    private let statistics: ModelStatisticsBook
    private let state = Mutex(State())

    init(
        name: String, kind: ModelRepository.Kind, detector: Detector, settings: BatchingSettings,
        statistics: ModelStatisticsBook
    ) {
        self.name = name
        self.kind = kind
        self.detector = detector
        self.statistics = statistics
        let model = detector.model
        maxBatchSize = settings.maxBatchSize
        if !settings.enabled {
            mergeRows = 1
        } else if model.isDynamic {
            mergeRows = settings.maxBatchSize
        } else {
            // A static export's batch: the raw network takes it whole; images fill its slots.
            mergeRows = kind == .detect ? (model.fixedBatch ?? 1) : 1
        }
        maxQueueDelayNanoseconds = UInt64(settings.maxQueueDelayMicroseconds) * 1000
    }

    /// Requests waiting in the queue.
    var queued: Int { state.withLock { $0.queue.count } }

    /// Whether requests share engine calls (what the model configuration's `dynamic_batching` says).
    var merges: Bool { mergeRows > 1 }

    /// Checks and decodes `request` (on NIO's blocking pool), queues it and waits for its outputs.
    func infer(_ request: InferRequest) async throws -> (outputs: [OutputTensor], rows: Int) {
        let job = try await NIOThreadPool.singleton.runIfActive { [kind, detector, maxBatchSize] in
            try ModelRunner.prepare(kind: kind, detector: detector, request: request, maxBatch: maxBatchSize)
        }
        return (try await submit(job), job.rows)
    }

    /// Queues a prepared job and waits for its outputs. A task cancelled while its job waits leaves the queue; once
    /// its batch runs, the batch completes for the others.
    func submit(_ job: InferenceJob) async throws -> [OutputTensor] {
        let id = state.withLock { s in
            s.nextID += 1
            s.arriving.insert(s.nextID)
            return s.nextID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                enqueue(Pending(id: id, job: job, enqueued: MonotonicClock.nanoseconds(), continuation: continuation))
            }
        } onCancel: {
            let removed: Pending? = state.withLock { s in
                if s.arriving.remove(id) != nil {
                    s.cancelledEarly.insert(id)
                    return nil
                }
                guard let i = s.queue.firstIndex(where: { $0.id == id }) else { return nil }
                return s.queue.remove(at: i)
            }
            removed?.continuation.resume(throwing: CancellationError())
        }
    }

    private func enqueue(_ pending: Pending) {
        enum Next {
            case refuse(ServeError)
            case cancelled, queued, start
        }
        let next: Next = state.withLock { s in
            s.arriving.remove(pending.id)
            if s.cancelledEarly.remove(pending.id) != nil { return .cancelled }
            if s.closed {
                return .refuse(
                    ServeError(400, "model '\(name)' is not ready: it is unloading or the server is stopping"))
            }
            s.queue.append(pending)
            if s.draining { return .queued }
            s.draining = true
            return .start
        }
        switch next {
        case .refuse(let error): pending.continuation.resume(throwing: error)
        case .cancelled: pending.continuation.resume(throwing: CancellationError())
        case .queued: break
        case .start: Task.detached { [self] in await drain() }
        }
    }

    /// Stops taking requests; the queued ones are still run and answered.
    func close() {
        state.withLock { $0.closed = true }
    }

    /// Returns once the queue is empty and no batch runs.
    func drained() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now: Bool = state.withLock { s in
                if !s.draining && s.queue.isEmpty { return true }
                s.idle.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    // MARK: The drain loop

    private func drain() async {
        while let batch = await nextBatch() {
            do {
                try await NIOThreadPool.singleton.runIfActive { [self] in run(batch) }
            } catch {
                for pending in batch { pending.continuation.resume(throwing: error) }
            }
        }
    }

    /// The next batch, after the queue delay; nil (and the loop ends) when the queue is empty.
    private func nextBatch() async -> [Pending]? {
        // The wait ends early when the batch fills or the batcher closes: it sleeps in slices of at most 1 ms.
        while maxQueueDelayNanoseconds > 0 {
            let wait: UInt64 = state.withLock { s in
                guard let first = s.queue.first, !s.closed,
                    s.queue.lazy.filter({ $0.job.key == first.job.key }).map(\.job.rows).reduce(0, +) < mergeRows
                else { return 0 }
                let due = first.enqueued &+ maxQueueDelayNanoseconds
                let now = MonotonicClock.nanoseconds()
                return due > now ? due - now : 0
            }
            guard wait > 0 else { break }
            // Not cancellable (the task is detached and never cancelled), so the sleep always runs its time.
            try? await Task.sleep(nanoseconds: min(wait, 1_000_000))
        }
        let (batch, idle): ([Pending]?, [CheckedContinuation<Void, Never>]) = state.withLock { s in
            guard !s.queue.isEmpty else {
                s.draining = false
                defer { s.idle = [] }
                return (nil, s.idle)
            }
            let first = s.queue.removeFirst()
            var batch = [first]
            var rows = first.job.rows
            var i = 0
            while i < s.queue.count && rows < mergeRows {
                let candidate = s.queue[i].job
                if candidate.key == first.job.key && rows + candidate.rows <= mergeRows {
                    rows += candidate.rows
                    batch.append(s.queue.remove(at: i))
                } else {
                    i += 1
                }
            }
            return (batch, [])
        }
        for continuation in idle { continuation.resume() }
        return batch
    }

    private func run(_ batch: [Pending]) {
        let start = MonotonicClock.nanoseconds()
        let queued = batch.reduce(UInt64(0)) { $0 &+ (start &- $1.enqueued) }
        do {
            let outputs = try ModelRunner.run(batch.map(\.job), detector: detector)
            record(batch.map(\.job), start: start, queued: queued)
            for (pending, outputs) in zip(batch, outputs) { pending.continuation.resume(returning: outputs) }
        } catch {
            guard batch.count > 1 else {
                batch[0].continuation.resume(throwing: error)
                return
            }
            for pending in batch {
                let alone = MonotonicClock.nanoseconds()
                do {
                    let outputs = try ModelRunner.run([pending.job], detector: detector)
                    record([pending.job], start: alone, queued: alone &- pending.enqueued)
                    pending.continuation.resume(returning: outputs[0])
                } catch {
                    pending.continuation.resume(throwing: error)
                }
            }
        }
    }

    private func record(_ jobs: [InferenceJob], start: UInt64, queued: UInt64) {
        let elapsed = MonotonicClock.nanoseconds() &- start
        let rows = jobs.reduce(0) { $0 + $1.rows }
        statistics.recordExecution(name, rows: rows, requests: jobs.count, nanoseconds: elapsed, queued: queued)
    }
}
