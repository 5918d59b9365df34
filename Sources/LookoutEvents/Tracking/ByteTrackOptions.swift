import LookoutCore

/// ByteTrack's settings, with Ultralytics' `bytetrack.yaml` values as the defaults.
public struct ByteTrackOptions: Sendable, Equatable {
    /// Detections at or above this score take part in the first association (and may start tracks).
    public var highThreshold: Float = 0.25
    /// Detections above this score and below `highThreshold` take part in the second association only.
    public var lowThreshold: Float = 0.1
    /// An unmatched detection starts a track at or above this score.
    public var newTrackThreshold: Float = 0.25
    /// Frames a lost track is kept for re-identification.
    public var trackBuffer = 30
    /// The first association's cost limit (1 − IoU, times the score when `fuseScore`).
    public var matchThreshold: Double = 0.8
    /// Multiply IoU by the detection score in the first and the unconfirmed association.
    public var fuseScore = true
    /// When set, the buffer is `trackBuffer × frameRate / 30` frames, as in the original ByteTrack code; Ultralytics
    /// 8.4 keeps `trackBuffer` frames whatever the rate (nil, the default).
    public var frameRate: Double?

    public init() {}

    /// Frames a lost track survives.
    public var maxFramesLost: Int {
        guard let frameRate, frameRate > 0 else { return trackBuffer }
        return Int(frameRate / 30 * Double(trackBuffer))
    }

    public func validate() throws(LookoutError) {
        for (name, value) in [
            ("highThreshold", highThreshold), ("lowThreshold", lowThreshold), ("newTrackThreshold", newTrackThreshold),
        ] where !(value.isFinite && (0...1).contains(value)) {
            throw LookoutError.invalidArgument(name, "must be between 0 and 1 (got \(value))")
        }
        guard lowThreshold <= highThreshold else {
            throw LookoutError.invalidArgument("lowThreshold", "must not exceed `highThreshold`")
        }
        guard trackBuffer >= 0 else { throw LookoutError.invalidArgument("trackBuffer", "must not be negative") }
        guard matchThreshold.isFinite, matchThreshold > 0 else {
            throw LookoutError.invalidArgument("matchThreshold", "must be positive (got \(matchThreshold))")
        }
    }
}
