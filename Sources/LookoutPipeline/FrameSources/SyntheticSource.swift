import LookoutCore

/// Generated frames (`SyntheticFrames`: gradients and hashed noise, different each frame) for benchmarks without a
/// decoder; paced at `fps` when given.
struct SyntheticSource: Sendable {
    let width: Int
    let height: Int
    let fps: Double?
    let frames: Int?

    func run(_ feed: FrameSink) {
        let start = MonotonicClock.nanoseconds()
        var produced = 0
        while !feed.isStopping {
            if let frames, produced >= frames { return }
            if let fps {
                let due = start &+ UInt64(Double(produced) / fps * 1e9)
                let wait = Double(Int64(bitPattern: due &- MonotonicClock.nanoseconds())) / 1e9
                if wait > 0 && !feed.sleep(wait) { return }
            }
            // A frame exists (and counts as decoded) from here on: it is published or counted as dropped.
            let index = feed.framesProduced
            produced += 1
            do {
                try feed.write(width: width, height: height, format: .bgr, pts: Double(index) / (fps ?? 30)) {
                    buffer, rowBytes in
                    SyntheticFrames.fill(buffer, width: width, height: height, pitch: rowBytes, index: index)
                }
            } catch {
                feed.report(.failed(message: "\(error)"))
                return
            }
        }
    }
}
