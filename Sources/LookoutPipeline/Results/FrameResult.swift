import LookoutYOLO

/// The detections of one frame of one stream. Each stream's results come in frame order.
public struct FrameResult: Sendable {
    /// Index of the stream in the pipeline's source list.
    public var stream: Int
    /// 0-based index of the frame among those the stream decoded (a live stream's dropped frames leave gaps).
    public var frame: Int
    /// Presentation time in seconds from the stream's start (continuing across loops and reconnects), when known.
    public var pts: Double?
    /// The frame's own name when it has one (the file of an image-folder stream).
    public var name: String?
    public var width: Int
    public var height: Int
    /// Boxes in the frame's pixels, with `detect`'s semantics.
    public var detections: [Detection]
    /// From the end of decoding to the result being available, in milliseconds.
    public var latencyMilliseconds: Double
    /// Frames in the batch this frame ran in.
    public var batchSize: Int
    /// The frame's pixels, when the pipeline delivers them (`PipelineOptions.deliversFrames`).
    public var pixels: FramePixels?

    public init(
        stream: Int, frame: Int, pts: Double?, name: String? = nil, width: Int, height: Int, detections: [Detection],
        latencyMilliseconds: Double, batchSize: Int, pixels: FramePixels? = nil
    ) {
        self.stream = stream
        self.frame = frame
        self.pts = pts
        self.name = name
        self.width = width
        self.height = height
        self.detections = detections
        self.latencyMilliseconds = latencyMilliseconds
        self.batchSize = batchSize
        self.pixels = pixels
    }
}
