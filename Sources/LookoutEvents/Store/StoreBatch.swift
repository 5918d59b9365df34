/// What the writer commits in one transaction: the events a batch of frames opened (with their first snapshot and
/// the sinks owed a delivery), the events that changed or closed, better snapshots, count increments, track
/// summaries and (optionally) detections.
public struct StoreBatch: Sendable {
    public struct Opened: Sendable {
        public var event: Event
        public var snapshot: [UInt8]?
        public var sinks: [String]
    }

    public struct CountKey: Sendable, Hashable {
        public var stream: Int
        public var kind: String
        public var name: String
        public var direction: String
    }

    public struct TrackSummary: Sendable {
        public var stream: Int
        public var trackID: Int
        public var className: String?
        public var firstFrame: Int
        public var lastFrame: Int
        public var firstTime: Int64
        public var lastTime: Int64
        /// Frames seen since the previous summary of this track.
        public var frames: Int
        public var peakConfidence: Float
    }

    public struct DetectionRow: Sendable {
        public var stream: Int
        public var frame: Int
        public var time: Int64
        public var trackID: Int?
        public var classIndex: Int
        public var confidence: Float
        public var box: [Float]
    }

    public var time: Int64 = 0
    public var opened: [Opened] = []
    public var updated: [Event] = []
    public var snapshots: [(id: String, frame: Int, jpeg: [UInt8])] = []
    public var counts: [CountKey: Int] = [:]
    public var tracks: [TrackSummary] = []
    public var detections: [DetectionRow] = []

    public init() {}

    public var isEmpty: Bool {
        opened.isEmpty && updated.isEmpty && snapshots.isEmpty && counts.isEmpty && tracks.isEmpty
            && detections.isEmpty
    }

    public mutating func merge(_ other: StoreBatch) {
        time = max(time, other.time)
        opened += other.opened
        updated += other.updated
        snapshots += other.snapshots
        for (key, delta) in other.counts { counts[key, default: 0] += delta }
        tracks += other.tracks
        detections += other.detections
    }
}
