/// Something that happened to one stream, reported as it happens (and on stderr by `lookout stream`).
public struct StreamEvent: Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Opened: the decoded size, codec and frame rate.
        case opened(width: Int, height: Int, codec: String, fps: Double?)
        /// A live stream lost its source (error or end); `reconnecting` follows.
        case disconnected(reason: String)
        /// No frame for the stall timeout: the connection is dropped and re-opened.
        case stalled(seconds: Double)
        /// The next attempt to re-open, after `delay` seconds of back-off.
        case reconnecting(attempt: Int, delay: Double)
        /// Frames flow again; `downtime` seconds since the last frame before the gap.
        case reconnected(downtime: Double)
        /// The decoder rejected corrupt data and skipped it (concealed); `total` so far.
        case decodeErrors(total: Int, last: String)
        /// The stream failed and stopped; the other streams go on.
        case failed(message: String)
        /// The stream ended (a file's last frame, `stop()`, or its frame limit).
        case ended(frames: Int)
        /// The pipeline decodes on NVDEC, which cannot decode this stream: the CPU decodes it.
        case decodingOnCPU(reason: String)
    }

    /// Index of the stream in the pipeline's source list.
    public var stream: Int
    /// The source as given.
    public var source: String
    public var kind: Kind
    /// Seconds since the pipeline started.
    public var time: Double

    /// e.g. `stream 2 (rtsp://…/cam): reconnected after 1.4 s`.
    public var description: String {
        let what: String
        switch kind {
        case .opened(let w, let h, let codec, let fps):
            what = "opened \(w)x\(h) \(codec)" + (fps.map { " at \(Self.format($0)) fps" } ?? "")
        case .disconnected(let reason): what = "disconnected (\(reason))"
        case .stalled(let seconds): what = "stalled: no frame for \(Self.format(seconds)) s"
        case .reconnecting(let attempt, let delay):
            what = "reconnecting (attempt \(attempt), after \(Self.format(delay)) s)"
        case .reconnected(let downtime): what = "reconnected after \(Self.format(downtime)) s without frames"
        case .decodeErrors(let total, let last): what = "corrupt data skipped (\(total) so far; \(last))"
        case .failed(let message): what = "error: \(message)"
        case .ended(let frames): what = "ended after \(frames) frames"
        case .decodingOnCPU(let reason): what = "decoded on the CPU (\(reason))"
        }
        return "stream \(stream) (\(source)): \(what)"
    }

    public var isError: Bool {
        if case .failed = kind { return true }
        return false
    }

    static func format(_ value: Double) -> String {
        let rounded = (value * 10).rounded() / 10
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }
}
