import BasicContainers
import LookoutCore

/// Holds each stream's decoded frames, oldest first, and closes batches: at `maxBatch` frames or when the oldest
/// waiting frame has waited `maxDelay`, taking ready frames round-robin from every stream (each stream's frames in
/// order), with at most `depth` batches in flight. A batch also closes at once when no more frames can come soon:
/// every source has ended or is blocked on its full pool.
package final class DynamicBatcher: @unchecked Sendable {
    // Everything below is only touched under `condition`.
    private let condition = ConditionLock()
    private let queues: [StreamQueue]
    private var open: [Bool]
    private var blocked: [Bool]
    private var inFlight = 0
    private var nextNumber = 0
    private var rotation = 0
    private var aborted = false
    package let maxBatch: Int
    let maxDelayNanoseconds: UInt64
    let depth: Int

    /// One stream's waiting frames, oldest first.
    final class StreamQueue {
        var frames = UniqueArray<Frame>()
    }

    package init(streams: Int, maxBatch: Int, maxDelayMilliseconds: Double, depth: Int) {
        queues = (0..<streams).map { _ in StreamQueue() }
        open = Array(repeating: true, count: streams)
        blocked = Array(repeating: false, count: streams)
        self.maxBatch = max(1, maxBatch)
        self.maxDelayNanoseconds = UInt64(max(0, maxDelayMilliseconds) * 1e6)
        self.depth = max(1, depth)
    }

    /// Frames waiting in `stream`'s queue.
    func queued(_ stream: Int) -> Int {
        condition.withLock { queues[stream].frames.count }
    }

    /// Queue depth of every stream and the batches in flight, for metrics.
    func snapshot() -> (queued: [Int], inFlight: Int) {
        condition.withLock { (queues.map { $0.frames.count }, inFlight) }
    }

    /// Appends a decoded frame to its stream's queue (after an abort the frame is dropped: its lease ends).
    func enqueue(_ frame: consuming Frame) {
        condition.lock()
        defer { condition.unlock() }
        guard !aborted else { return }
        queues[frame.info.stream].frames.append(frame)
        condition.broadcast()
    }

    /// Removes and returns `stream`'s oldest queued frame (a live stream dropping it to reuse its buffer).
    func takeOldest(_ stream: Int) -> Frame? {
        condition.withLock {
            queues[stream].frames.count > 0 ? queues[stream].frames.remove(at: 0) : nil
        }
    }

    /// A source marks itself blocked while it waits for a free pool buffer.
    func setBlocked(_ stream: Int, _ value: Bool) {
        condition.withLock {
            blocked[stream] = value
            if value { condition.broadcast() }
        }
    }

    /// The source of `stream` will publish no more frames.
    func finish(_ stream: Int) {
        condition.withLock {
            open[stream] = false
            blocked[stream] = false
            condition.broadcast()
        }
    }

    /// Stops forming batches; queued frames are dropped (their leases end). `nextBatch` returns nil from now on.
    func abort() {
        condition.withLock {
            aborted = true
            for queue in queues { queue.frames.removeAll() }
            condition.broadcast()
        }
    }

    /// A delivered batch leaves the pipeline.
    func completed() {
        condition.withLock {
            inFlight -= 1
            condition.broadcast()
        }
    }

    /// Blocks until a batch closes; nil once every source has finished and every queued frame has been batched.
    func nextBatch() -> FrameBatch? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if aborted { return nil }
            if inFlight >= depth {
                condition.wait()
                continue
            }
            // The oldest waiting frame decides the batch's letterbox size and deadline.
            var oldest: (stream: Int, decodedAt: UInt64)? = nil
            for (stream, queue) in queues.enumerated() where queue.frames.count > 0 {
                let decodedAt = queue.frames[0].info.decodedAt
                if oldest == nil || decodedAt < oldest!.decodedAt { oldest = (stream, decodedAt) }
            }
            guard let first = oldest else {
                if !open.contains(true) { return nil }
                condition.wait()
                continue
            }
            let key = queues[first.stream].frames[0].info.key
            var available = 0
            for queue in queues {
                var i = 0
                while i < queue.frames.count && queue.frames[i].info.key == key && available < maxBatch {
                    available += 1
                    i += 1
                }
            }
            let now = MonotonicClock.nanoseconds()
            let deadline = first.decodedAt &+ maxDelayNanoseconds
            // Sources that can still add a frame without the pipeline releasing one first.
            let canGrow = queues.indices.contains { open[$0] && !blocked[$0] }
            if available < maxBatch && now < deadline && canGrow {
                condition.wait(untilMonotonic: Double(deadline) / 1e9)
                continue
            }
            var frames = UniqueArray<Frame>(minimumCapacity: available)
            var progress = true
            while frames.count < available && progress {
                progress = false
                for step in queues.indices {
                    let queue = queues[(rotation + step) % queues.count]
                    guard frames.count < available, queue.frames.count > 0, queue.frames[0].info.key == key else {
                        continue
                    }
                    frames.append(queue.frames.remove(at: 0))
                    progress = true
                }
            }
            rotation = (rotation + 1) % queues.count
            inFlight += 1
            defer { nextNumber += 1 }
            condition.broadcast()
            return FrameBatch(number: nextNumber, frames: frames, closedAt: now)
        }
    }
}
