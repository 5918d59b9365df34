/// Settings of an `EventProcessor`.
public struct EventProcessorOptions: Sendable {
    public var tracker = ByteTrackOptions()
    /// Zones, lines, rules and sinks; nil: tracking only.
    public var rules: RuleSet?
    /// The SQLite event store; nil: no store (then events reach no sink).
    public var storePath: String?
    public var retention = RetentionPolicy()
    /// Store every tracked object of every `storeDetectionsEvery`-th frame (nil: none, the default).
    public var storeDetectionsEvery: Int?
    /// Threads that track and evaluate rules (each stream stays on one); nil: min(streams, cores / 2, 8), at least 1.
    public var workers: Int?
    /// Frames between the pipeline's results and the tracked output at most (a bounded queue: past it the pipeline's
    /// results wait, which files answer with back-pressure and live streams by dropping their oldest frames).
    public var framesInFlight = 256
    /// JPEG quality of snapshots.
    public var snapshotQuality = 85
    /// Seconds `run()` waits at the end for the sinks to deliver what is owed (what is left goes at the next start).
    public var drainSeconds = 10.0

    public init() {}
}
