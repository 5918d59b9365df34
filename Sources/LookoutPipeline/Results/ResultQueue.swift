import LookoutCore
import Synchronization

/// The queue behind a pipeline's `results` and `events`: the pipeline's threads push, one task iterates. `results`
/// applies back-pressure (the results thread waits while `capacity` results are unread, so nothing is lost and the
/// sources slow down); `events` keeps the newest `capacity` and never waits.
package final class ResultQueue<Element: Sendable>: @unchecked Sendable {
    // The buffer, the waiting consumer and the flags are under `state`; a producer blocked on a full buffer waits
    // on `space`.
    package let capacity: Int
    let blocksWhenFull: Bool
    private let state = Mutex(State())
    private let space = ConditionLock()

    private enum Outcome {
        case resumed(UnsafeContinuation<Element?, Never>)
        case queued, full
    }

    private struct State {
        /// Read elements are set to nil at once, so that the queue holds on to nothing its reader has taken (a
        /// result's detection list goes back to its stage's recycling as soon as the reader lets it go).
        var buffer: [Element?] = []
        var head = 0
        var finished = false
        /// The consumer stopped listening (its task was cancelled or the sequence dropped): producers never wait.
        var abandoned = false
        var consumer: UnsafeContinuation<Element?, Never>?
        var iterated = false
        var count: Int { buffer.count - head }

        /// The oldest unread element (there is one), its slot emptied.
        mutating func takeFirst() -> Element {
            let element = buffer[head].take()!
            head += 1
            return element
        }
    }

    package init(capacity: Int, blocksWhenFull: Bool) {
        self.capacity = max(1, capacity)
        self.blocksWhenFull = blocksWhenFull
    }

    /// Adds an element: straight to a waiting consumer, else to the buffer (waiting for room, or dropping the
    /// oldest when the queue does not block).
    package func push(_ element: Element) {
        while true {
            let outcome = state.withLock { state -> Outcome in
                if state.abandoned || state.finished { return .queued }
                if let consumer = state.consumer {
                    state.consumer = nil
                    return .resumed(consumer)
                }
                if state.count >= capacity {
                    if blocksWhenFull { return .full }
                    _ = state.takeFirst()
                }
                state.buffer.append(element)
                if state.head > 64 && state.head * 2 > state.buffer.count {
                    state.buffer.removeFirst(state.head)
                    state.head = 0
                }
                return .queued
            }
            switch outcome {
            case .resumed(let consumer):
                consumer.resume(returning: element)
                return
            case .queued:
                return
            case .full:
                space.withLock {
                    if state.withLock({ $0.count >= capacity && !$0.abandoned }) {
                        space.wait(untilMonotonic: MonotonicClock.seconds() + 0.05)
                    }
                }
            }
        }
    }

    /// No more elements: the sequence ends once the buffer is read.
    package func finish() {
        let consumer = state.withLock { state -> UnsafeContinuation<Element?, Never>? in
            state.finished = true
            defer { state.consumer = nil }
            return state.count == 0 ? state.consumer : nil
        }
        consumer?.resume(returning: nil)
    }

    package func next() async -> Element? {
        // A reader that is behind finds its result waiting: taken without a continuation.
        let buffered = state.withLock { state -> Element? in
            guard state.count > 0 else { return nil }
            return state.takeFirst()
        }
        if let buffered {
            space.withLock { space.broadcast() }
            return buffered
        }
        return await withTaskCancellationHandler {
            // Unsafe, not checked: a checked continuation is an allocation per wait, and each continuation here is
            // resumed exactly once (by the next push, by finish or abandon, or at once).
            await withUnsafeContinuation { (continuation: UnsafeContinuation<Element?, Never>) in
                let ready = state.withLock { state -> (Bool, Element?) in
                    if state.count > 0 { return (true, state.takeFirst()) }
                    if state.finished || state.abandoned || Task.isCancelled { return (true, nil) }
                    state.consumer = continuation
                    return (false, nil)
                }
                if ready.0 {
                    continuation.resume(returning: ready.1)
                    space.withLock { space.broadcast() }
                }
            }
        } onCancel: {
            abandon()
        }
    }

    /// The consumer is gone: producers stop waiting, later elements are dropped.
    func abandon() {
        let consumer = state.withLock { state -> UnsafeContinuation<Element?, Never>? in
            state.abandoned = true
            state.buffer = []
            state.head = 0
            defer { state.consumer = nil }
            return state.consumer
        }
        consumer?.resume(returning: nil)
        space.withLock { space.broadcast() }
    }

    /// Marks the one iteration a sequence allows.
    package func beginIteration() {
        let again = state.withLock { state -> Bool in
            defer { state.iterated = true }
            return state.iterated
        }
        precondition(!again, "a pipeline's results and events can be iterated once")
    }
}

/// The results of a pipeline: every frame's detections, each stream in frame order. Made with the pipeline;
/// iterate it once, while the pipeline runs (the pipeline waits for a reader that falls behind, so nothing is lost).
/// The sequence ends when the pipeline has delivered its last result.
public struct PipelineResults: AsyncSequence, Sendable {
    public typealias Element = FrameResult
    let queue: ResultQueue<FrameResult>

    public struct AsyncIterator: AsyncIteratorProtocol {
        let queue: ResultQueue<FrameResult>
        public mutating func next() async -> FrameResult? { await queue.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        queue.beginIteration()
        return AsyncIterator(queue: queue)
    }
}

/// What happens to a pipeline's streams (opened, reconnecting, failed, ended, …), as it happens. Made with the
/// pipeline; the newest events are kept for a reader that falls behind (the pipeline never waits for this one).
public struct PipelineEvents: AsyncSequence, Sendable {
    public typealias Element = StreamEvent
    let queue: ResultQueue<StreamEvent>

    public struct AsyncIterator: AsyncIteratorProtocol {
        let queue: ResultQueue<StreamEvent>
        public mutating func next() async -> StreamEvent? { await queue.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        queue.beginIteration()
        return AsyncIterator(queue: queue)
    }
}
