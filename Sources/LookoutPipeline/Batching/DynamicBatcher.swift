import BasicContainers
import LookoutCore

/// Holds each stream's decoded frames, oldest first, and closes batches: at `maxBatch` frames or when the oldest
/// waiting frame has waited `maxDelay`, taking ready frames round-robin from every stream (each stream's frames in
/// order), with at most `depth` batches in flight. A batch also closes at once when no more frames can come soon:
/// every source has ended or is blocked on its full pool.
package final class DynamicBatcher: @unchecked Sendable {
    // Everything below is only touched under `condition`.
    private let condition = ConditionLock()
    /// The streams that are open or still have frames waiting, by index.
    private var queues: [Int: StreamQueue] = [:]
    /// The same queues in the order streams were added (round-robin order).
    private var order: [StreamQueue] = []
    /// While true, no open stream is not the end: streams may still be added (a pipeline that serves).
    private var acceptsStreams: Bool
    private var inFlight = 0
    private var nextNumber = 0
    private var rotation = 0
    private var aborted = false
    /// Emptied frame arrays of delivered batches (`completed(returning:)`) and the batches' info arrays, reused by
    /// later batches: a steady pipeline allocates neither per batch.
    private var spareFrames = UniqueArray<UniqueArray<Frame>>()
    private var infoArrays: RecycledArrays<FrameInfo>
    package let maxBatch: Int
    let maxDelayNanoseconds: UInt64
    let depth: Int

    /// One stream's waiting frames, oldest first, and whether its source can still add some.
    final class StreamQueue {
        let stream: Int
        var frames = UniqueArray<Frame>()
        var open = true
        var blocked = false

        init(stream: Int) { self.stream = stream }
    }

    package init(streams: Int, maxBatch: Int, maxDelayMilliseconds: Double, depth: Int, acceptsStreams: Bool = false) {
        self.acceptsStreams = acceptsStreams
        self.maxBatch = max(1, maxBatch)
        self.maxDelayNanoseconds = UInt64(max(0, maxDelayMilliseconds) * 1e6)
        self.depth = max(1, depth)
        // A batch's infos live until it is delivered: at most `depth` batches are in flight.
        infoArrays = RecycledArrays(count: self.depth + 2)
        for stream in 0..<streams { addStream(stream) }
    }

    /// A new stream's queue (its index must not have been used before).
    func addStream(_ stream: Int) {
        condition.withLock {
            let queue = StreamQueue(stream: stream)
            queues[stream] = queue
            order.append(queue)
            condition.broadcast()
        }
    }

    /// No stream will be added any more: once the open ones end, `nextBatch` returns nil.
    func closeToNewStreams() {
        condition.withLock {
            acceptsStreams = false
            condition.broadcast()
        }
    }

    /// Frames waiting in `stream`'s queue.
    func queued(_ stream: Int) -> Int {
        condition.withLock { queues[stream]?.frames.count ?? 0 }
    }

    /// Queue depth of every stream and the batches in flight, for metrics.
    func snapshot() -> (queued: [Int: Int], inFlight: Int) {
        condition.withLock {
            (Dictionary(uniqueKeysWithValues: order.map { ($0.stream, $0.frames.count) }), inFlight)
        }
    }

    /// Appends a decoded frame to its stream's queue (after an abort the frame is dropped: its lease ends).
    func enqueue(_ frame: consuming Frame) {
        condition.lock()
        defer { condition.unlock() }
        guard !aborted, let queue = queues[frame.info.stream] else { return }
        queue.frames.append(frame)
        condition.broadcast()
    }

    /// Removes and returns `stream`'s oldest queued frame (a live stream dropping it to reuse its buffer).
    func takeOldest(_ stream: Int) -> Frame? {
        condition.withLock {
            guard let queue = queues[stream], queue.frames.count > 0 else { return nil }
            return queue.frames.remove(at: 0)
        }
    }

    /// A source marks itself blocked while it waits for a free pool buffer.
    func setBlocked(_ stream: Int, _ value: Bool) {
        condition.withLock {
            queues[stream]?.blocked = value
            if value { condition.broadcast() }
        }
    }

    /// The source of `stream` will publish no more frames; its queue goes once its frames are batched.
    func finish(_ stream: Int) {
        condition.withLock {
            guard let queue = queues[stream] else { return }
            queue.open = false
            queue.blocked = false
            retireIfDone(queue)
            condition.broadcast()
        }
    }

    /// Forgets an ended stream's queue once it is empty (under the lock).
    private func retireIfDone(_ queue: StreamQueue) {
        guard !queue.open, queue.frames.count == 0, let index = order.firstIndex(where: { $0 === queue }) else {
            return
        }
        order.remove(at: index)
        queues[queue.stream] = nil
        if index < rotation { rotation -= 1 }
        if rotation >= order.count { rotation = 0 }
    }

    /// Stops forming batches; queued frames are dropped (their leases end). `nextBatch` returns nil from now on.
    func abort() {
        condition.withLock {
            aborted = true
            for queue in order { queue.frames.removeAll() }
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

    /// A delivered batch leaves the pipeline; `frames`, its emptied frame array, serves a later batch.
    func completed(returning frames: consuming UniqueArray<Frame>) {
        frames.removeAll(keepingCapacity: true)
        condition.lock()
        defer { condition.unlock() }
        inFlight -= 1
        if spareFrames.count <= depth { spareFrames.append(frames) }
        condition.broadcast()
    }

    /// Blocks until a batch closes; nil once every source has finished (and no stream can be added) and every queued
    /// frame has been batched.
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
            var oldest: (queue: StreamQueue, decodedAt: UInt64)? = nil
            for queue in order where queue.frames.count > 0 {
                let decodedAt = queue.frames[0].info.decodedAt
                if oldest == nil || decodedAt < oldest!.decodedAt { oldest = (queue, decodedAt) }
            }
            guard let first = oldest else {
                if !acceptsStreams && !order.contains(where: \.open) { return nil }
                condition.wait()
                continue
            }
            let key = first.queue.frames[0].info.key
            var available = 0
            for queue in order {
                var i = 0
                while i < queue.frames.count && queue.frames[i].info.key == key && available < maxBatch {
                    available += 1
                    i += 1
                }
            }
            let now = MonotonicClock.nanoseconds()
            let deadline = first.decodedAt &+ maxDelayNanoseconds
            // Sources that can still add a frame without the pipeline releasing one first.
            let canGrow = order.contains { $0.open && !$0.blocked }
            if available < maxBatch && now < deadline && canGrow {
                condition.wait(untilMonotonic: Double(deadline) / 1e9)
                continue
            }
            var frames = spareFrames.popLast() ?? UniqueArray<Frame>(minimumCapacity: maxBatch)
            frames.reserveCapacity(available)
            var progress = true
            let streams = order
            while frames.count < available && progress {
                progress = false
                for step in streams.indices {
                    let queue = streams[(rotation + step) % streams.count]
                    guard frames.count < available, queue.frames.count > 0, queue.frames[0].info.key == key else {
                        continue
                    }
                    frames.append(queue.frames.remove(at: 0))
                    progress = true
                }
            }
            rotation = (rotation + 1) % streams.count
            for queue in streams where !queue.open && queue.frames.count == 0 { retireIfDone(queue) }
            inFlight += 1
            defer { nextNumber += 1 }
            condition.broadcast()
            let batch = FrameBatch(number: nextNumber, frames: frames, closedAt: now, infos: infoArrays.take())
            infoArrays.keep(batch.infos)
            return batch
        }
    }
}
