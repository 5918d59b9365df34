import BasicContainers

/// A batch of frames sharing one letterbox size, gathered from any streams; it owns their leases until the stage
/// that reads the pixels ends them.
package struct FrameBatch: ~Copyable, Sendable {
    /// Consecutive from 0: results are delivered in this order.
    package var number: Int
    package var frames: UniqueArray<Frame>
    /// When the batch closed (monotonic nanoseconds).
    package var closedAt: UInt64

    package init(number: Int, frames: consuming UniqueArray<Frame>, closedAt: UInt64) {
        self.number = number
        self.frames = frames
        self.closedAt = closedAt
    }

    /// What is known about each frame, in batch order (stays with the results after the leases have ended).
    package var infos: [FrameInfo] {
        var infos: [FrameInfo] = []
        infos.reserveCapacity(frames.count)
        for i in 0..<frames.count { infos.append(frames[i].info) }
        return infos
    }
}
