import LookoutCore
import LookoutMedia
import Synchronization

/// Frames an application pushes (from a camera SDK, its own network protocol, a renderer), as one stream of a
/// pipeline: `push` from any task, `finish()` at the end. Each frame is copied once into the pipeline's pool.
///
/// With `dropsWhenBehind` (a live camera) `push` never waits: when `capacity` frames are already waiting, the oldest
/// is dropped (and counted as the stream's drop). Otherwise `push` waits while `capacity` frames wait, so nothing is
/// lost (back-pressure, as for a file).
public final class PushedFrames: FrameSource, @unchecked Sendable {
    // The queue and the waiters are under `state`; `changed` wakes the pipeline's source thread.
    public let description: String
    public let dropsWhenBehind: Bool
    public let capacity: Int
    private let state = Mutex(State())
    private let changed = ConditionLock()

    private struct State {
        var queue: [(image: BGRImage, pts: Double?, name: String?)] = []
        var finished = false
        var dropped = 0
        var spaceWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// A stream named `name` (its `description` in events and results).
    public init(name: String, dropsWhenBehind: Bool = true, capacity: Int = 4) {
        self.description = name
        self.dropsWhenBehind = dropsWhenBehind
        self.capacity = max(1, capacity)
    }

    /// Queues a frame for the pipeline. Waits while the queue is full unless the stream drops when behind. Throws
    /// `CancellationError` when the calling task is cancelled while it waits, and a `LookoutError` after `finish()`.
    public func push(_ image: BGRImage, pts: Double? = nil, name: String? = nil) async throws {
        while true {
            try Task.checkCancellation()
            let queued = try state.withLock { (state) throws(LookoutError) -> Bool in
                if state.finished {
                    throw LookoutError(.invalidArgument, "\(description): push after finish()")
                }
                if state.queue.count < capacity {
                    state.queue.append((image, pts, name))
                    return true
                }
                if dropsWhenBehind {
                    state.queue.removeFirst()
                    state.dropped += 1
                    state.queue.append((image, pts, name))
                    return true
                }
                return false
            }
            if queued {
                changed.withLock { changed.broadcast() }
                return
            }
            await withCheckedContinuation { continuation in
                let waiting = state.withLock { state -> Bool in
                    guard state.queue.count >= capacity, !state.finished else { return false }
                    state.spaceWaiters.append(continuation)
                    return true
                }
                if !waiting { continuation.resume() }
            }
        }
    }

    /// Ends the stream: frames already pushed are still detected.
    public func finish() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.finished = true
            defer { state.spaceWaiters = [] }
            return state.spaceWaiters
        }
        for waiter in waiters { waiter.resume() }
        changed.withLock { changed.broadcast() }
    }

    public func run(into sink: FrameSink) throws {
        while !sink.isStopping {
            let (next, dropped, waiters) = state.withLock {
                state -> ((image: BGRImage, pts: Double?, name: String?)?, Int, [CheckedContinuation<Void, Never>]) in
                let dropped = state.dropped
                state.dropped = 0
                guard !state.queue.isEmpty else { return (nil, dropped, []) }
                let first = state.queue.removeFirst()
                defer { state.spaceWaiters = [] }
                return (first, dropped, state.spaceWaiters)
            }
            for waiter in waiters { waiter.resume() }
            // Frames dropped in the queue still take their indices and count as the stream's drops.
            for _ in 0..<dropped {
                _ = sink.takeFrameIndex()
                sink.stats.dropped.add(1, ordering: .relaxed)
            }
            if let next {
                try sink.write(next.image, pts: next.pts, name: next.name)
                continue
            }
            if state.withLock({ $0.finished && $0.queue.isEmpty }) { return }
            changed.withLock {
                if state.withLock({ $0.queue.isEmpty && !$0.finished && $0.dropped == 0 }) && !sink.isStopping {
                    changed.wait(untilMonotonic: MonotonicClock.seconds() + 0.1)
                }
            }
        }
    }
}
