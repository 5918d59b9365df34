import LookoutPipeline
import LookoutYOLO

/// One frame of one stream after tracking: the detections, the tracked objects (with ids) and, when the pipeline
/// delivers frames, the pixels. Each stream's frames come in order.
public struct TrackedFrame: Sendable {
    public var stream: Int
    public var frame: Int
    public var pts: Double?
    public var name: String?
    public var width: Int
    public var height: Int
    /// The detector's boxes (as `FrameResult.detections`).
    public var detections: [Detection]
    /// Confirmed tracks in this frame (ByteTrack's output).
    public var objects: [TrackedObject]
    /// Events that started at this frame (already in the store when a store is used).
    public var events: [Event]
    public var pixels: FramePixels?
    /// From the end of decoding to the detection result, in milliseconds.
    public var latencyMilliseconds: Double

    /// One JSON line: the `FrameResult` line's fields, with `detections` the tracked objects (their `id` added) —
    /// the boxes `lookout track` reports, like Ultralytics' `model.track`.
    public func jsonLine(names: [String]) -> String {
        let time = pts.map { $0.isFinite ? String(($0 * 1e6).rounded() / 1e6) : "null" } ?? "null"
        var out =
            "{\"stream\":\(stream),\"frame\":\(frame),\"pts\":\(time),\"width\":\(width),\"height\":\(height),\"detections\":["
        for (i, o) in objects.enumerated() {
            if i > 0 { out += "," }
            let name = o.classIndex < names.count ? names[o.classIndex] : "class\(o.classIndex)"
            out +=
                "{\"id\":\(o.id),\"box\":[\(o.x1),\(o.y1),\(o.x2),\(o.y2)],\"confidence\":\(o.confidence),\"class\":\(o.classIndex),\"name\":\"\(name)\"}"
        }
        return out + "]}"
    }
}

/// The tracked frames of an `EventProcessor`, each stream in frame order (iterate once). The processor waits for a
/// reader that falls behind.
public struct TrackedResults: AsyncSequence, Sendable {
    public typealias Element = TrackedFrame
    let queue: ResultQueue<TrackedFrame>

    public struct AsyncIterator: AsyncIteratorProtocol {
        let queue: ResultQueue<TrackedFrame>
        public mutating func next() async -> TrackedFrame? { await queue.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        queue.beginIteration()
        return AsyncIterator(queue: queue)
    }
}
