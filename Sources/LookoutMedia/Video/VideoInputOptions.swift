/// How a video file or stream is opened and decoded.
public struct VideoInputOptions: Sendable {
    /// RTSP's RTP transport; nil lets FFmpeg choose (UDP first, then TCP).
    public var rtspTransport: RTSPTransport?
    /// Seconds `open` may take (connect, handshake, probing) before it fails.
    public var openTimeout: Double = 10
    /// Decoder threads; 0 lets FFmpeg pick (frame threading adds a frame of latency per thread).
    public var decoderThreads: Int = 1
    /// Live streams: small probe and no demuxer buffering, so the first frame and each reconnect come fast.
    public var lowLatency = false
    /// Consecutive packets the decoder may reject before the stream fails (isolated corrupt packets are counted,
    /// concealed by the decoder and skipped).
    public var maxConsecutiveDecodeErrors = 50
    /// Local MP4/MOV files with H.264 or HEVC: `VideoPacketReader` reads the video samples itself (one read per
    /// packet into a buffer allocated once) rather than through FFmpeg's demuxer and bitstream filter, which allocate
    /// per packet; the packets are the same. False keeps FFmpeg's for every packet (the reference it is tested
    /// against).
    public var readsMP4SamplesDirectly = true
    /// Any other FFmpeg option (`-opt value` of the ffmpeg CLI's input options), e.g. `["rw_timeout": "5000000"]`.
    public var extra: [String: String] = [:]

    public init() {}
}

/// RTP over TCP (interleaved in the RTSP connection) or UDP.
public enum RTSPTransport: String, Sendable, CaseIterable {
    case tcp
    case udp
}

/// What the opened video stream is.
public struct VideoStreamInfo: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// Nominal frames per second (the stream's average rate, else its base rate), nil when unknown.
    public var frameRate: Double?
    /// Frames the container declares (mp4 does; streams and raw elementary streams do not).
    public var frameCount: Int?
    /// Seconds, when known.
    public var duration: Double?
    /// e.g. "h264".
    public var codec: String
    /// e.g. "mov,mp4,m4a,3gp,3g2,mj2", "rtsp".
    public var container: String
}

/// One decoded frame, still inside the decoder until the next `VideoDecoder.next()`.
public struct DecodedFrame: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// Presentation time in seconds from the stream's start, nil when the stream carries none.
    public var pts: Double?
    /// 0-based count of frames this decoder produced.
    public var index: Int
    public var isKeyFrame: Bool

    public init(width: Int, height: Int, pts: Double?, index: Int, isKeyFrame: Bool) {
        self.width = width
        self.height = height
        self.pts = pts
        self.index = index
        self.isKeyFrame = isKeyFrame
    }
}
