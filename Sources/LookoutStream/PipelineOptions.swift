import Lookout
import LookoutPipeline
import LookoutVideo

/// Settings of a `StreamPipeline`.
public struct PipelineOptions: Sendable {
    /// Thresholds and input size, as for `detect`.
    public var detect = DetectOptions()
    /// A batch closes when it holds this many frames…
    public var maxBatch = 8
    /// …or when its oldest frame has waited this long.
    public var maxDelayMilliseconds = 10.0
    /// Batches formed and not yet delivered at once (overlap: while one runs, the next is gathered).
    public var depth = 2
    /// How frames reach the GPU; nil is the CPU path (the only one without the CUDA inference backend).
    public var mode: TransferMode?
    /// The layout decoders write for the GPU-letterbox modes (`pinned-raw`, `mapped`, `managed`): nil is NV12
    /// (half the bytes of BGR, no CPU colour conversion). The CPU-letterbox modes, the CPU path and
    /// `holdFramesUntilDelivered` use BGR.
    public var frameFormat: FrameFormat?
    /// Frame-pool buffers per stream; nil sizes the pool from the batch, the depth and the stream count.
    public var framesPerStream: Int?
    /// Frames a live (or paced) stream keeps waiting for a batch before a newer one replaces the oldest; nil: enough
    /// to fill a batch across the streams (at least 2).
    public var liveQueueFrames: Int?
    /// Reconnection of live streams.
    public var reconnect = ReconnectPolicy()
    /// RTSP's RTP transport; nil lets FFmpeg choose.
    public var rtspTransport: RTSPTransport?
    /// Decoder threads per stream; nil picks from the core and stream counts.
    public var decoderThreads: Int?
    /// Keep each frame's buffer until its result has been delivered (needed to draw on it: `--save-video`).
    public var holdFramesUntilDelivered = false

    public init() {}
}

/// When and how fast a live stream reconnects.
public struct ReconnectPolicy: Sendable {
    /// First back-off delay in seconds; doubled after each failed attempt…
    public var initialDelay = 0.2
    /// …up to this.
    public var maxDelay = 1.0
    /// A live stream with no frame for this many seconds is considered stalled and re-opened.
    public var stallTimeout = 5.0
    /// Seconds an open (connect, handshake, probe) may take.
    public var openTimeout = 5.0
    /// Failed opens in a row after which the stream gives up and fails; nil retries for ever (cameras come back).
    public var maxAttempts: Int?

    public init() {}

    /// The delay before attempt `attempt` (1-based).
    public func delay(attempt: Int) -> Double {
        min(maxDelay, initialDelay * Double(1 << min(max(attempt - 1, 0), 20)))
    }
}
