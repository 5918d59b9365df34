import BasicContainers

/// A batch of frames sharing one letterbox size, gathered from any streams; it owns their leases until the stage
/// that reads the pixels ends them.
package struct FrameBatch: ~Copyable, Sendable {
    /// Consecutive from 0: results are delivered in this order.
    package var number: Int
    package var frames: UniqueArray<Frame>
    /// When the batch closed (monotonic nanoseconds).
    package var closedAt: UInt64
    /// What is known about each frame, in batch order (stays with the results after the leases have ended).
    package var infos: [FrameInfo]

    /// `infos`: an array to fill with the frames' infos (the batcher's recycled one; its contents are replaced).
    package init(number: Int, frames: consuming UniqueArray<Frame>, closedAt: UInt64, infos: [FrameInfo] = []) {
        var infos = infos
        infos.removeAll(keepingCapacity: true)
        infos.reserveCapacity(frames.count)
        for i in 0..<frames.count { infos.append(frames[i].info) }
        self.number = number
        self.frames = frames
        self.closedAt = closedAt
        self.infos = infos
    }

    /// The frames, the batch ending here (for a stage in another module, which cannot take them apart itself).
    package consuming func takeFrames() -> UniqueArray<Frame> { frames }
}
