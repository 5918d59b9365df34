import LookoutCore
import LookoutInference
import NIOPosix
import Synchronization

/// The dynamic batcher of one served model (Triton's `dynamic_batching`). Requests queue; one drain loop (a task)
/// takes the oldest request, waits up to `maxQueueDelay` from its arrival for more while the batch is not full (a
/// closing batcher stops waiting; a full batch of another key runs first), adds the queued requests of the same key
/// (engine input size, detection parameters) in arrival order up to `mergeRows` rows, runs them as one engine call on NIO's blocking pool and
/// answers each with its own rows. The wait holds no thread: a pool thread is taken only to run a batch, so the
/// preparation of the requests that fill it (on the same pool) never waits behind it. A merged batch that fails runs
/// again one request at a time, so an error reaches only the request that caused it.
final class ModelBatcher: Sendable {
    private struct Pending {
        var id: UInt64
        var job: InferenceJob
        var enqueued: UInt64
        var continuation: CheckedContinuation<Answer, any Error>
    }

    /// A queued job's outputs and its time in the queue and in its batch's execution.
    private struct Answer {
        var outputs: [OutputTensor]
        var queue: UInt64
        var infer: UInt64
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

    /// Checks and decodes `request` (on NIO's blocking pool), queues it and waits for its outputs; with them its
    /// rows and its time in preparation (`input`), in the queue and in its batch's execution.
    func infer(_ request: InferRequest) async throws -> (outputs: [OutputTensor], rows: Int, timing: RequestTiming) {
        let (job, prepared) = try await NIOThreadPool.singleton.runIfActive { [kind, detector, maxBatchSize] in
            let start = MonotonicClock.nanoseconds()
            let job = try ModelRunner.prepare(kind: kind, detector: detector, request: request, maxBatch: maxBatchSize)
            return (job, MonotonicClock.nanoseconds() &- start)
        }
        let answer = try await submit(job)
        return (answer.outputs, job.rows, RequestTiming(input: prepared, queue: answer.queue, infer: answer.infer))
    }

    /// Queues a prepared job and waits for its outputs. A task cancelled while its job waits leaves the queue; once
    /// its batch runs, the batch completes for the others.
    private func submit(_ job: InferenceJob) async throws -> Answer {
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

    private enum Step {
        case wait(nanoseconds: UInt64)
        case run([Pending])
        /// The queue is empty: the loop ends and the callers of `drained()` resume.
        case done(idle: [CheckedContinuation<Void, Never>])
    }

    /// The next batch; nil (and the loop ends) when the queue is empty. A key whose queued rows fill `mergeRows` runs
    /// at once, even behind an older request of another key; otherwise the oldest request's key runs once its delay
    /// has passed or the batcher closes. The wait sleeps in slices of at most 1 ms, so it ends soon after either.
    private func nextBatch() async -> [Pending]? {
        while true {
            let step: Step = state.withLock { s in
                guard let first = s.queue.first else {
                    s.draining = false
                    defer { s.idle = [] }
                    return .done(idle: s.idle)
                }
                var key = first.job.key
                if !s.closed && maxQueueDelayNanoseconds > 0 {
                    if let full = Self.fullKey(s.queue, rows: mergeRows) {
                        key = full
                    } else {
                        let due = first.enqueued &+ maxQueueDelayNanoseconds
                        let now = MonotonicClock.nanoseconds()
                        if due > now { return .wait(nanoseconds: due - now) }
                    }
                }
                return .run(Self.take(key, from: &s.queue, rows: mergeRows))
            }
            switch step {
            case .wait(let nanoseconds):
                // Not cancellable (the task is detached and never cancelled), so the sleep always runs its time.
                try? await Task.sleep(nanoseconds: min(nanoseconds, 1_000_000))
            case .run(let batch):
                return batch
            case .done(let idle):
                for continuation in idle { continuation.resume() }
                return nil
            }
        }
    }

    /// The first key, in arrival order, whose queued requests have `rows` rows in all.
    private static func fullKey(_ queue: [Pending], rows: Int) -> InferenceJob.Key? {
        var queuedRows: [InferenceJob.Key: Int] = [:]
        for pending in queue {
            let sum = queuedRows[pending.job.key, default: 0] + pending.job.rows
            if sum >= rows { return pending.job.key }
            queuedRows[pending.job.key] = sum
        }
        return nil
    }

    /// Removes the oldest request of `key` and, in arrival order, the others of `key` that fit in `rows` rows.
    private static func take(_ key: InferenceJob.Key, from queue: inout [Pending], rows limit: Int) -> [Pending] {
        var batch: [Pending] = []
        var rows = 0
        var i = 0
        while i < queue.count && rows < limit {
            let candidate = queue[i].job
            if candidate.key == key && (batch.isEmpty || rows + candidate.rows <= limit) {
                rows += candidate.rows
                batch.append(queue.remove(at: i))
            } else {
                i += 1
            }
        }
        return batch
    }

    private func run(_ batch: [Pending]) {
        let start = MonotonicClock.nanoseconds()
        do {
            let outputs = try ModelRunner.run(batch.map(\.job), detector: detector)
            let elapsed = record(batch.map(\.job), start: start)
            for (pending, outputs) in zip(batch, outputs) {
                pending.continuation.resume(
                    returning: Answer(outputs: outputs, queue: start &- pending.enqueued, infer: elapsed))
            }
        } catch {
            guard batch.count > 1 else {
                batch[0].continuation.resume(throwing: error)
                return
            }
            for pending in batch {
                let alone = MonotonicClock.nanoseconds()
                do {
                    let outputs = try ModelRunner.run([pending.job], detector: detector)
                    let elapsed = record([pending.job], start: alone)
                    pending.continuation.resume(
                        returning: Answer(outputs: outputs[0], queue: start &- pending.enqueued, infer: elapsed))
                } catch {
                    pending.continuation.resume(throwing: error)
                }
            }
        }
    }

    /// Counts the execution of `jobs` that began at `start`; its nanoseconds.
    private func record(_ jobs: [InferenceJob], start: UInt64) -> UInt64 {
        let elapsed = MonotonicClock.nanoseconds() &- start
        statistics.recordExecution(name, rows: jobs.reduce(0) { $0 + $1.rows }, nanoseconds: elapsed)
        return elapsed
    }
}
