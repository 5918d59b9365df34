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
    private let lock = Mutex(())
    private var writers: [Int: VideoEncoder] = [:]
    private var failed: Set<Int> = []
    private var canvas = BGRImage()
    private let onError: @Sendable (String) -> Void

    public init(
        directory: String, sources: [String], names: [String], onError: @escaping @Sendable (String) -> Void
    ) throws(FileError) {
        try Paths.createDirectories(directory)
        self.directory = directory
        self.sources = sources
        self.names = names
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
                canvas.reshape(width: pixels.width, height: pixels.height)
                canvas.withUnsafeMutableBytes { out in
                    for y in 0..<pixels.height {
                        (out.baseAddress! + y * pixels.width * 3).copyMemory(
                            from: pixels.row(y), byteCount: pixels.width * 3)
                    }
                }
                Annotator().draw(result.detections, names: names, on: &canvas)
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
