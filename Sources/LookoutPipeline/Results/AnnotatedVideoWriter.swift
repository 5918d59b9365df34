import LookoutCore
import LookoutMedia
import LookoutYOLO
import Synchronization

/// `--save-video DIR`: each stream's frames with their detections drawn, encoded to `DIR/stream-N-NAME.mp4`
/// (H.264 through libx264 when FFmpeg has it, else MPEG-4 part 2). Runs on the results thread.
public final class AnnotatedVideoWriter: @unchecked Sendable {
    // `writers` and `canvas` are only touched under `lock`.
    public let directory: String
    private let names: [String]
    private let sources: [String]
    private let frameRates: [Double]
    private let annotator: Annotator
    private let lock = Mutex(())
    private var writers: [Int: VideoEncoder] = [:]
    private var failed: Set<Int> = []
    private var canvas = BGRImage()
    private let onError: @Sendable (String) -> Void

    /// `annotator` sets how boxes are drawn (line width, labels, confidences).
    public init(
        directory: String, sources: [String], names: [String], annotator: Annotator = Annotator(),
        onError: @escaping @Sendable (String) -> Void
    ) throws(FileError) {
        try Paths.createDirectories(directory)
        self.directory = directory
        self.sources = sources
        self.names = names
        self.annotator = annotator
        self.frameRates = sources.map { _ in 30 }
        self.onError = onError
    }

    /// The file stream `stream` is written to.
    public func path(stream: Int) -> String {
        let base = Paths.lastComponent(sources[stream])
        let safe = String(base.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" }.prefix(40))
        return Paths.join(directory, "stream-\(stream)-\(safe).mp4")
    }

    /// Draws a delivered frame's detections on a copy of its pixels and encodes it (needs
    /// `PipelineOptions.deliversFrames`; results without pixels are skipped).
    public func write(_ result: FrameResult) {
        result.pixels?.withPixels { write(result, pixels: $0) }
    }

    /// Draws and encodes one frame.
    public func write(_ result: FrameResult, pixels: BGRPixels) {
        lock.withLock { _ in
            guard !failed.contains(result.stream) else { return }
            do {
                let writer: VideoEncoder
                if let existing = writers[result.stream] {
                    writer = existing
                } else {
                    // Encoders want even sizes (4:2:0); an odd last row or column is cut.
                    writer = try VideoEncoder(
                        path: path(stream: result.stream), width: pixels.width & ~1, height: pixels.height & ~1,
                        frameRate: frameRates[result.stream])
                    writers[result.stream] = writer
                }
                // The encoder's size is the first frame's; a later frame of another size (an image folder) is
                // drawn at its own size and then cut or padded to it, never read past its rows.
                var drawn = BGRImage(width: pixels.width, height: pixels.height)
                drawn.withUnsafeMutableBytes { out in
                    for y in 0..<pixels.height {
                        (out.baseAddress! + y * pixels.width * 3).copyMemory(
                            from: pixels.row(y), byteCount: pixels.width * 3)
                    }
                }
                annotator.draw(result.detections, names: names, on: &drawn)
                canvas.reshape(width: writer.width, height: writer.height)
                let rows = min(writer.height, drawn.height)
                let rowBytes = min(writer.width, drawn.width) * 3
                canvas.withUnsafeMutableBytes { out in
                    out.initializeMemory(as: UInt8.self, repeating: 0)
                    drawn.withUnsafeBytes { source in
                        for y in 0..<rows {
                            (out.baseAddress! + y * writer.width * 3).copyMemory(
                                from: source.baseAddress! + y * drawn.rowBytes, byteCount: rowBytes)
                        }
                    }
                }
                let seconds = result.pts ?? Double(result.frame) / frameRates[result.stream]
                try canvas.withUnsafeBytes { (bytes) throws(VideoError) in
                    try writer.append(bgr: bytes.baseAddress!, rowBytes: canvas.rowBytes, seconds: seconds)
                }
            } catch {
                failed.insert(result.stream)
                onError("\(error)")
            }
        }
    }

    /// Finishes every file (trailer written); call once the pipeline has finished.
    public func finish() {
        lock.withLock { _ in
            for (_, writer) in writers {
                do { try writer.finish() } catch { onError("\(error)") }
            }
        }
    }
}
