import CLookoutFFmpeg
import LookoutCore

/// Why a video could not be opened, read, decoded or written: a code to match on, the URL or file it concerns,
/// and one line naming the FFmpeg call and FFmpeg's own text for its error code, e.g.
/// `cam1.mp4: cannot open (avformat_open_input: Invalid data found when processing input)`.
public struct VideoError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The file or URL could not be opened (missing, refused, not a container FFmpeg reads).
        public static let open = Code("open")
        /// The container has no video stream, or one with no decoder in this FFmpeg build.
        public static let noVideo = Code("noVideo")
        /// Reading packets failed (network error, broken container).
        public static let read = Code("read")
        /// The decoder rejected the data repeatedly.
        public static let decode = Code("decode")
        /// No frame arrived within the stall timeout.
        public static let stalled = Code("stalled")
        /// `stop()` interrupted a blocking call.
        public static let stopped = Code("stopped")
        /// The file ended before the frame count its container declares.
        public static let truncated = Code("truncated")
        /// Writing an output video failed.
        public static let write = Code("write")
    }

    public var code: Code
    /// The URL or path as the caller gave it.
    public var source: String
    /// One line saying what happened.
    public var message: String
    /// FFmpeg's error code, when one caused this.
    public var averror: Int32?

    public init(_ code: Code, source: String, message: String, averror: Int32? = nil) {
        self.code = code
        self.source = source
        self.message = message
        self.averror = averror
    }

    public var description: String { "\(source): \(message)" }

    /// `call: FFmpeg's text for code`.
    static func text(_ call: String, _ code: Int32) -> String {
        "\(call): \(FFmpeg.errorText(code))"
    }
}

/// Facts about the linked FFmpeg and its error codes.
public enum FFmpeg {
    /// `av_strerror`'s text for an AVERROR code.
    public static func errorText(_ code: Int32) -> String {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 256) { buffer in
            lk_error_text(code, buffer.baseAddress, 256)
            return String(cString: buffer.baseAddress!)
        }
    }

    /// "libavformat 59.27.100, libavcodec 59.37.100".
    public static var versions: String {
        func dotted(_ v: UInt32) -> String { "\(v >> 16).\((v >> 8) & 0xff).\(v & 0xff)" }
        return "libavformat \(dotted(lk_avformat_version())), libavcodec \(dotted(lk_avcodec_version()))"
    }

    static let eagain = lk_averror_eagain()
    static let eof = lk_averror_eof()
    static let exit = lk_averror_exit()

    /// FFmpeg logs to stderr by default; Lookout reports errors itself, per stream. `LOOKOUT_FFMPEG_LOG=debug`
    /// (or info, warning, error) turns FFmpeg's own log back on.
    static let quietLogs: Void = {
        let levels: [String: Int32] = [
            "debug": AV_LOG_DEBUG, "info": AV_LOG_INFO, "warning": AV_LOG_WARNING, "error": AV_LOG_ERROR,
        ]
        let requested = SystemInfo.environment("LOOKOUT_FFMPEG_LOG") ?? ""
        av_log_set_level(levels[requested] ?? AV_LOG_QUIET)
        avformat_network_init()
    }()
}
