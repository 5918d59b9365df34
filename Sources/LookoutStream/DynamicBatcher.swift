import Dispatch
import Foundation

/// A batch of frames sharing one letterbox size, gathered from any streams.
struct FrameBatch: @unchecked Sendable {
    /// Consecutive from 0: results are delivered in this order.
    var number: Int
    var frames: [PooledFrame]
    /// When the batch closed (uptime nanoseconds).
    var closedAt: UInt64
}

/// Holds each stream's decoded frames, oldest first, and closes batches: at `maxBatch` frames or when the oldest
/// waiting frame has waited `maxDelay`, taking ready frames round-robin from every stream (each stream's frames in
/// order), with at most `depth` batches in flight. A batch also closes at once when no more frames can come soon:
/// every source has ended or is blocked on its full pool.
final class DynamicBatcher: @unchecked Sendable {
    // Everything below is only touched under `condition`.
    private let condition = NSCondition()
    private var queues: [[PooledFrame]]
    private var heads: [Int]
    private var open: [Bool]
    private var blocked: [Bool]
    private var inFlight = 0
    private var nextNumber = 0
    private var rotation = 0
    private var aborted = false
    let maxBatch: Int
    let maxDelayNanoseconds: UInt64
    let depth: Int

    init(streams: Int, maxBatch: Int, maxDelayMilliseconds: Double, depth: Int) {
        queues = Array(repeating: [], count: streams)
        heads = Array(repeating: 0, count: streams)
        open = Array(repeating: true, count: streams)
        blocked = Array(repeating: false, count: streams)
        self.maxBatch = max(1, maxBatch)
        self.maxDelayNanoseconds = UInt64(max(0, maxDelayMilliseconds) * 1e6)
        self.depth = max(1, depth)
    }

    private func count(_ stream: Int) -> Int { queues[stream].count - heads[stream] }

    private func popFirst(_ stream: Int) -> PooledFrame {
        let frame = queues[stream][heads[stream]]
        heads[stream] += 1
        if heads[stream] > 32 && heads[stream] * 2 > queues[stream].count {
            queues[stream].removeFirst(heads[stream])
            heads[stream] = 0
        }
        return frame
    }

    /// Frames waiting in `stream`'s queue.
    func queued(_ stream: Int) -> Int {
        condition.lock()
        defer { condition.unlock() }
        return count(stream)
    }

    /// Queue depth of every stream and the batches in flight, for metrics.
    func snapshot() -> (queued: [Int], inFlight: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (queues.indices.map(count), inFlight)
    }

    func enqueue(_ frame: PooledFrame) {
        condition.lock()
        if aborted {
            condition.unlock()
            frame.release()
            return
        }
        queues[frame.stream].append(frame)
        condition.broadcast()
        condition.unlock()
    }

    /// Removes and returns `stream`'s oldest queued frame (a live stream dropping it to reuse its buffer).
    func takeOldest(_ stream: Int) -> PooledFrame? {
        condition.lock()
        defer { condition.unlock() }
        return count(stream) > 0 ? popFirst(stream) : nil
    }

    /// A source marks itself blocked while it waits for a free pool buffer.
    func setBlocked(_ stream: Int, _ value: Bool) {
        condition.lock()
        blocked[stream] = value
        if value { condition.broadcast() }
        condition.unlock()
    }

    /// The source of `stream` will publish no more frames.
    func finish(_ stream: Int) {
        condition.lock()
        open[stream] = false
        blocked[stream] = false
        condition.broadcast()
        condition.unlock()
    }

    /// Stops forming batches; queued frames are released. Returns nothing further from `nextBatch`.
    func abort() {
        condition.lock()
        aborted = true
        for stream in queues.indices {
            while count(stream) > 0 { popFirst(stream).release() }
        }
        condition.broadcast()
        condition.unlock()
    }

    /// A delivered batch leaves the pipeline.
    func completed() {
        condition.lock()
        inFlight -= 1
        condition.broadcast()
        condition.unlock()
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
            var oldest: PooledFrame? = nil
            for stream in queues.indices where count(stream) > 0 {
                let head = queues[stream][heads[stream]]
                if oldest == nil || head.decodedAt < oldest!.decodedAt { oldest = head }
            }
            guard let first = oldest else {
                if !open.contains(true) { return nil }
                condition.wait()
                continue
            }
            let key = first.inputKey
            var available = 0
            for stream in queues.indices {
                var i = heads[stream]
                while i < queues[stream].count && queues[stream][i].inputKey == key && available < maxBatch {
                    available += 1
                    i += 1
                }
            }
            let now = DispatchTime.now().uptimeNanoseconds
            let deadline = first.decodedAt &+ maxDelayNanoseconds
            // Sources that can still add a frame without the pipeline releasing one first.
            let canGrow = queues.indices.contains { open[$0] && !blocked[$0] }
            if available < maxBatch && now < deadline && canGrow {
                _ = condition.wait(until: Date(timeIntervalSinceNow: Double(deadline - now) / 1e9))
                continue
            }
            var frames: [PooledFrame] = []
            frames.reserveCapacity(available)
            var progress = true
            while frames.count < available && progress {
                progress = false
                for step in queues.indices {
                    let stream = (rotation + step) % queues.count
                    guard frames.count < available, count(stream) > 0, queues[stream][heads[stream]].inputKey == key
                    else { continue }
                    frames.append(popFirst(stream))
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
