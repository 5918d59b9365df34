import Dispatch
import LookoutPipeline

/// Generated frames (`SyntheticFrames`: gradients and hashed noise, different each frame) for benchmarks without a
/// decoder; paced at `fps` when given.
struct SyntheticSource: Sendable {
    let width: Int
    let height: Int
    let fps: Double?
    let frames: Int?

    func run(_ feed: StreamFeed) {
        let start = DispatchTime.now().uptimeNanoseconds
        var produced = 0
        let limit = [frames, feed.source.maxFrames].compactMap { $0 }.min()
        while !feed.isStopping {
            if let limit, produced >= limit { return }
            if let fps {
                let due = start &+ UInt64(Double(produced) / fps * 1e9)
                let wait = Double(Int64(bitPattern: due &- DispatchTime.now().uptimeNanoseconds)) / 1e9
                if wait > 0 && !feed.sleep(wait) { return }
            }
            // A frame exists (and counts as decoded) from here on: it is published or counted as dropped.
            let index = feed.takeFrameIndex()
            produced += 1
            let pts = Double(index) / (fps ?? 30)
            do {
                guard let slot = try feed.acquire(width: width, height: height) else { continue }
                slot.withUnsafeMutableBytes { buffer in
                    SyntheticFrames.fill(buffer, width: width, height: height, pitch: slot.rowBytes, index: index)
                }
                feed.publish(slot, index: index, pts: pts)
            } catch {
                feed.report(.failed(message: "\(error)"))
                return
            }
        }
    }
}
