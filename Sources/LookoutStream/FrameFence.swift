import Foundation
import LookoutPipeline

/// The fence of a pooled frame on the CPU path: armed when the frame is handed to the pipeline, signalled once the
/// pipeline has read its pixels (letterboxed into the batch tensor, or encoded by `--save-video`). A source under
/// back-pressure blocks in `wait` until then. (The GPU path records a CUDA event instead.)
final class FrameFence: PoolFence, @unchecked Sendable {
    // `signaled` is only touched under `condition`.
    private let condition = NSCondition()
    private var signaled = true

    func arm() {
        condition.lock()
        signaled = false
        condition.unlock()
    }

    func signal() {
        condition.lock()
        signaled = true
        condition.broadcast()
        condition.unlock()
    }

    func isSignaled() throws -> Bool {
        condition.lock()
        defer { condition.unlock() }
        return signaled
    }

    func wait() throws {
        condition.lock()
        while !signaled { condition.wait() }
        condition.unlock()
    }
}
