import LookoutInference

/// Settings of a `Pipeline`.
public struct PipelineOptions: Sendable {
    /// Thresholds and input size, as for `Detector.detect`.
    public var detect = DetectOptions()
    /// A batch closes when it holds this many frames…
    public var maxBatch = 8
    /// …or when its oldest frame has waited this long.
    public var maxDelayMilliseconds = 10.0
    /// Batches formed and not yet delivered at once (overlap: while one runs, the next is gathered and uploaded).
    public var depth = 2
    /// How frames reach the GPU (a detector on a CUDA device; nil there is `pinnedRaw`). Must be nil on the CPU,
    /// which has one path.
    public var transferMode: TransferMode?
    /// Where video files and live streams are decoded: on the CPU (FFmpeg), or on the GPU's NVDEC engines straight
    /// into device memory (`transferMode` nil then means `device`).
    public var decode = VideoDecode.cpu
    /// Choices inside the transfer modes (the `pinned` mode's variants).
    public var upload = UploadOptions()
    /// The layout video decoders write for the GPU-letterbox modes (`pinnedRaw`, `mapped`, `managed`): nil is NV12
    /// (half the bytes of BGR, no CPU colour conversion). The CPU-letterbox modes, the CPU path and
    /// `deliversFrames` use BGR.
    public var frameFormat: FrameFormat?
    /// Frame-pool buffers per stream; nil sizes the pool from the batch, the depth and the stream count.
    public var framesPerStream: Int?
    /// Frames a live stream keeps waiting for a batch before a newer one replaces the oldest; nil: enough to fill a
    /// batch across the streams (at least 2).
    public var liveQueueFrames: Int?
    /// Deliver each result with its frame's pixels (`FrameResult.pixels`, BGR): the frame's pool buffer is held
    /// until the result is released (to draw on it, encode it, keep a snapshot).
    public var deliversFrames = false
    /// Unread results the pipeline keeps before it waits for the reader of `results`.
    public var resultBufferSize = 256
    /// A service's pipeline: streams are added and removed while it runs (`Pipeline.add`, `remove(stream:)`), and it
    /// runs until stopped, with no stream too, instead of ending with its last stream.
    public var servesStreams = false
    /// With `servesStreams`: how many streams to size each stream's buffers and decoder threads for (the streams
    /// expected at once).
    public var plannedStreams = 8

    public init() {}
}
