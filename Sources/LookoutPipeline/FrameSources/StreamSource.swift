import LookoutCore
import LookoutMedia

/// A stream named by a path or URL: a video file, a live network stream, a folder of images, or generated frames.
public struct StreamSource: FrameSource, Hashable {
    public enum Kind: Sendable, Hashable {
        /// A video file: decoded as fast as the pipeline takes frames (back-pressure, nothing dropped).
        case file(String)
        /// A live network stream (rtsp://, rtsps://, rtmp://, http(s)://, udp://, srt://, tcp://): reconnects with
        /// back-off after errors or a stall, drops its oldest frame when the pipeline is behind.
        case live(String)
        /// A folder of JPEG/PNG images, in name order (one frame each).
        case images(String)
        /// Generated frames (`SyntheticFrames`), for benchmarks: `synthetic:WxH[@FPS][:FRAMES]`.
        case synthetic(width: Int, height: Int, fps: Double?, frames: Int?)
    }

    public var kind: Kind
    /// Replays a file from the start when it ends (benchmarks), with time stamps continuing.
    public var loop = false
    /// Paces a file at its frame rate, as a camera would deliver it; a paced source drops like a live one.
    public var paced = false
    /// Stops after this many frames (tests, benchmarks).
    public var maxFrames: Int?
    /// Runs every Nth decoded frame of a video file or live stream (Ultralytics' `vid_stride`): the Nth, 2Nth…
    /// frame, the others are decoded and skipped. Image folders and synthetic frames ignore it.
    public var videoStride = 1
    /// Reconnection of a live stream.
    public var reconnect = ReconnectPolicy()
    /// RTSP's RTP transport; nil lets FFmpeg choose.
    public var rtspTransport: RTSPTransport?
    /// FFmpeg decoder threads; nil picks from the core and stream counts.
    public var decoderThreads: Int?

    public init(kind: Kind, loop: Bool = false, paced: Bool = false, maxFrames: Int? = nil) {
        self.kind = kind
        self.loop = loop
        self.paced = paced
        self.maxFrames = maxFrames
    }

    public func run(into sink: FrameSink) throws {
        switch kind {
        case .file(let path), .live(let path):
            VideoFrameSource(source: self, url: path).run(sink)
        case .images(let folder):
            ImageFolderSource(source: self, folder: folder).run(sink)
        case .synthetic(let width, let height, let fps, let frames):
            SyntheticSource(
                width: width, height: height, fps: fps, frames: [frames, maxFrames].compactMap { $0 }.min()
            )
            .run(sink)
        }
    }

    public static let liveSchemes: Set<String> = [
        "rtsp", "rtsps", "rtmp", "rtmps", "http", "https", "udp", "rtp", "srt", "tcp", "mmsh",
    ]

    /// A file, folder, URL or `synthetic:…` spec.
    public init(parsing text: String) throws(LookoutError) {
        if text.hasPrefix("synthetic:") || text == "synthetic" {
            self.init(kind: try StreamSource.parseSynthetic(text))
            return
        }
        if let colon = text.firstRange(of: "://") {
            let scheme = text[..<colon.lowerBound].lowercased()
            if scheme == "file" {
                self.init(kind: .file(String(text[colon.upperBound...])))
                return
            }
            guard StreamSource.liveSchemes.contains(scheme) else {
                throw LookoutError(
                    .invalidArgument,
                    "\(text): unsupported URL scheme '\(scheme)'; use \(StreamSource.liveSchemes.sorted().joined(separator: ", ")) or a file"
                )
            }
            self.init(kind: .live(text))
            return
        }
        guard Paths.exists(text) else { throw LookoutError(.notFound, "\(text): no such file or directory") }
        self.init(kind: Paths.isDirectory(text) ? .images(text) : .file(text))
    }

    static func parseSynthetic(_ text: String) throws(LookoutError) -> Kind {
        let usage = "\(text): use synthetic:WIDTHxHEIGHT[@FPS][:FRAMES], e.g. synthetic:1920x1080@30:300"
        var rest = text.dropFirst("synthetic".count)
        if rest.first == ":" { rest = rest.dropFirst() }
        var width = 1920
        var height = 1080
        var fps: Double? = nil
        var frames: Int? = nil
        let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { throw LookoutError(.invalidArgument, usage) }
        if let size = parts.first, !size.isEmpty {
            let sizeAndRate = size.split(separator: "@")
            let dims = sizeAndRate[0].lowercased().split(separator: "x")
            guard dims.count == 2, let w = Int(dims[0]), let h = Int(dims[1]), w > 0, h > 0, w <= 16384, h <= 16384
            else {
                throw LookoutError(.invalidArgument, usage)
            }
            width = w
            height = h
            if sizeAndRate.count == 2 {
                guard let rate = Double(sizeAndRate[1]), rate > 0 else { throw LookoutError(.invalidArgument, usage) }
                fps = rate
            }
        }
        if parts.count == 2 {
            guard let count = Int(parts[1]), count > 0 else { throw LookoutError(.invalidArgument, usage) }
            frames = count
        }
        return .synthetic(width: width, height: height, fps: fps, frames: frames)
    }

    /// Whether the source drops its oldest frame when the pipeline is behind (live and paced sources), rather than
    /// waiting (files, folders, unpaced synthetic frames).
    public var dropsWhenBehind: Bool {
        switch kind {
        case .live: return true
        case .synthetic(_, _, let fps, _): return fps != nil || paced
        case .file, .images: return paced
        }
    }

    public var isLive: Bool {
        if case .live = kind { return true }
        return false
    }

    /// The stream's name in events, logs and metrics (a camera's name); nil: its file, folder or URL.
    public var name: String?

    /// The name, or else the file, folder or URL.
    public var description: String {
        if let name { return name }
        switch kind {
        case .file(let path), .images(let path): return path
        case .live(let url): return url
        case .synthetic(let w, let h, let fps, let frames):
            return "synthetic:\(w)x\(h)" + (fps.map { "@\(Int($0))" } ?? "") + (frames.map { ":\($0)" } ?? "")
        }
    }
}
