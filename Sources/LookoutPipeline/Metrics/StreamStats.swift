import LookoutCore
import Synchronization

/// Counters of one stream, updated by its source and by the results stage, read by status lines and metrics.
final class StreamStats: Sendable {
    /// Frames decoded (including those dropped afterwards).
    let decoded = Atomic<Int>(0)
    /// Frames whose results were delivered.
    let delivered = Atomic<Int>(0)
    /// Frames a live stream dropped because the pipeline was behind.
    let dropped = Atomic<Int>(0)
    let reconnects = Atomic<Int>(0)
    /// Outages of a live stream (each disconnection or stall that a reconnect ended).
    let gaps = Atomic<Int>(0)
    /// Milliseconds without frames across those outages.
    let gapMilliseconds = Atomic<Int>(0)
    let decodeErrors = Atomic<Int>(0)
    let failed = Atomic<Bool>(false)
    /// End-to-end latency (decoded → result available) of every delivered frame, and of the recent window shown by
    /// the status line.
    let latency = Mutex(LatencyWindow())

    struct LatencyWindow: Sendable {
        var all = LatencyHistogram()
        var recent = LatencyHistogram()
    }

    func recordLatency(_ milliseconds: Double) {
        latency.withLock {
            $0.all.record(milliseconds: milliseconds)
            $0.recent.record(milliseconds: milliseconds)
        }
    }
}
