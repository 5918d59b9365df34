import LookoutCore
import LookoutMedia
import Synchronization

/// `lookout track --save-video DIR`: each stream's frames with its tracks drawn — box, `#id name 0.87`, and a trail of
/// the last `trailLength` bottom centres — encoded to `DIR/stream-N-NAME.mp4`.
public final class TrackedVideoWriter: @unchecked Sendable {
    // `writers`, `trails` and `canvas` are only touched under `lock`.
    public let directory: String
    public var trailLength = 30
    private let names: [String]
    private let sources: [String]
    private let lock = Mutex(())
    private var writers: [Int: VideoEncoder] = [:]
    private var failed: Set<Int> = []
    private var trails: [Int: [Int: [(Int, Int, Int)]]] = [:]  // stream → track → (x, y, frame)
    private var canvas = BGRImage()
    private let onError: @Sendable (String) -> Void

    public init(directory: String, sources: [String], names: [String], onError: @escaping @Sendable (String) -> Void)
        throws(FileError)
    {
        try Paths.createDirectories(directory)
        self.directory = directory
        self.sources = sources
        self.names = names
        self.onError = onError
    }

    public func path(stream: Int) -> String {
        let base = Paths.lastComponent(sources[stream])
        let safe = String(base.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" }.prefix(40))
        return Paths.join(directory, "stream-\(stream)-\(safe).mp4")
    }

    /// Draws and encodes a frame (frames without pixels are skipped).
    public func write(_ frame: TrackedFrame) {
        guard let pixels = frame.pixels else { return }
        lock.withLock { _ in
            guard !failed.contains(frame.stream) else { return }
            do {
                let writer: VideoEncoder
                if let existing = writers[frame.stream] {
                    writer = existing
                } else {
                    writer = try VideoEncoder(
                        path: path(stream: frame.stream), width: frame.width & ~1, height: frame.height & ~1,
                        frameRate: 30)
                    writers[frame.stream] = writer
                }
                canvas = pixels.image()
                var streamTrails = trails[frame.stream] ?? [:]
                for o in frame.objects {
                    streamTrails[o.id, default: []].append((Int((o.x1 + o.x2) / 2), Int(o.y2), frame.frame))
                    if streamTrails[o.id]!.count > trailLength { streamTrails[o.id]!.removeFirst() }
                }
                streamTrails = streamTrails.filter { frame.frame - ($0.value.last?.2 ?? 0) <= trailLength }
                trails[frame.stream] = streamTrails
                for (id, points) in streamTrails {
                    let color = ClassPalette.color(forClass: id)
                    for (a, b) in zip(points, points.dropFirst()) { line(a.0, a.1, b.0, b.1, color) }
                }
                let boxes = frame.objects.map { o in
                    let name = names.indices.contains(o.classIndex) ? names[o.classIndex] : "\(o.classIndex)"
                    return Annotator.Box(
                        x1: o.x1, y1: o.y1, x2: o.x2, y2: o.y2, classIndex: o.classIndex,
                        label: "#\(o.id) " + Annotator.label(name: name, confidence: o.confidence))
                }
                Annotator().draw(boxes, on: &canvas)
                let seconds = frame.pts ?? Double(frame.frame) / 30
                let rowBytes = canvas.rowBytes
                try canvas.withUnsafeBytes { (bytes) throws(VideoError) in
                    try writer.append(bgr: bytes.baseAddress!, rowBytes: rowBytes, seconds: seconds)
                }
            } catch {
                failed.insert(frame.stream)
                onError("\(error)")
            }
        }
    }

    /// A 3-pixel line (Bresenham), clipped to the canvas.
    private func line(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ color: (b: UInt8, g: UInt8, r: UInt8)) {
        let width = canvas.width
        let height = canvas.height
        canvas.withUnsafeMutableBytes { bytes in
            var x = x0
            var y = y0
            let dx = abs(x1 - x0)
            let dy = -abs(y1 - y0)
            let sx = x0 < x1 ? 1 : -1
            let sy = y0 < y1 ? 1 : -1
            var err = dx + dy
            while true {
                for oy in -1...1 {
                    for ox in -1...1 {
                        let px = x + ox
                        let py = y + oy
                        guard px >= 0, py >= 0, px < width, py < height else { continue }
                        let i = (py * width + px) * 3
                        bytes[i] = color.b
                        bytes[i + 1] = color.g
                        bytes[i + 2] = color.r
                    }
                }
                if x == x1 && y == y1 { break }
                let e2 = 2 * err
                if e2 >= dy {
                    err += dy
                    x += sx
                }
                if e2 <= dx {
                    err += dx
                    y += sy
                }
            }
        }
    }

    public func finish() {
        lock.withLock { _ in
            for (_, writer) in writers {
                do { try writer.finish() } catch { onError("\(error)") }
            }
            writers = [:]
        }
    }
}
