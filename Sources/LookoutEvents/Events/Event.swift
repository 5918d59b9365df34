/// One happening: a rule fired for a track (or, for `count`, for a zone) on a stream. Instantaneous triggers (`cross`,
/// `leave`) give closed events; `enter`, `dwell` and `count` events stay open until the condition ends.
public struct Event: Sendable, Equatable {
    public enum State: String, Sendable {
        case open, closed
        /// Open when Lookout stopped without closing it (a crash or kill); closed at the next start.
        case interrupted
    }

    /// Unique across runs: 48 bits of milliseconds since 1970 and 80 random bits, in Crockford base 32 (26 characters,
    /// sorting by time).
    public var id: String
    public var rule: String
    public var trigger: String
    public var stream: Int
    public var source: String
    public var trackID: Int?
    public var classIndex: Int?
    public var className: String?
    public var zone: String?
    public var line: String?
    public var direction: String?
    /// For `count`: the most tracks in the zone while the event was open.
    public var count: Int?
    /// Wall-clock milliseconds since 1970.
    public var startTime: Int64
    public var endTime: Int64?
    public var startFrame: Int
    public var endFrame: Int?
    /// Stream time in seconds.
    public var startPTS: Double?
    public var endPTS: Double?
    public var peakConfidence: Float?
    public var peakFrame: Int?
    /// The box at the peak (x1, y1, x2, y2, frame pixels).
    public var box: [Float]?
    public var state: State

    public init(
        id: String, rule: String, trigger: String, stream: Int, source: String, trackID: Int? = nil,
        classIndex: Int? = nil, className: String? = nil, zone: String? = nil, line: String? = nil,
        direction: String? = nil, count: Int? = nil, startTime: Int64, endTime: Int64? = nil, startFrame: Int,
        endFrame: Int? = nil, startPTS: Double? = nil, endPTS: Double? = nil, peakConfidence: Float? = nil,
        peakFrame: Int? = nil, box: [Float]? = nil, state: State
    ) {
        self.id = id
        self.rule = rule
        self.trigger = trigger
        self.stream = stream
        self.source = source
        self.trackID = trackID
        self.classIndex = classIndex
        self.className = className
        self.zone = zone
        self.line = line
        self.direction = direction
        self.count = count
        self.startTime = startTime
        self.endTime = endTime
        self.startFrame = startFrame
        self.endFrame = endFrame
        self.startPTS = startPTS
        self.endPTS = endPTS
        self.peakConfidence = peakConfidence
        self.peakFrame = peakFrame
        self.box = box
        self.state = state
    }
}
