import Foundation
import Synchronization

/// Samples a running pipeline about once a second: updates its metrics' counters and gauges, and formats the live
/// status line `lookout stream` shows on a terminal.
public final class PipelineMonitor: @unchecked Sendable {
    // `previous` is only touched by the monitor thread.
    let pipeline: StreamPipeline
    let metrics: PipelineMetrics?
    let interval: Double
    let status: (@Sendable (String) -> Void)?
    private let stopped = Atomic<Bool>(false)
    private let wake = NSCondition()
    private var previous: PipelineSample?

    public init(
        pipeline: StreamPipeline, metrics: PipelineMetrics?, interval: Double = 1, status: (@Sendable (String) -> Void)?
    ) {
        self.pipeline = pipeline
        self.metrics = metrics
        self.interval = interval
        self.status = status
    }

    public func start() {
        let thread = Thread { [self] in
            while !stopped.load(ordering: .acquiring) {
                wake.lock()
                _ = wake.wait(until: Date(timeIntervalSinceNow: interval))
                wake.unlock()
                if stopped.load(ordering: .acquiring) { break }
                tick()
            }
        }
        thread.name = "lookout-monitor"
        thread.start()
    }

    public func stop() {
        stopped.store(true, ordering: .releasing)
        wake.lock()
        wake.broadcast()
        wake.unlock()
    }

    /// Takes a sample now (the thread does every `interval`).
    public func tick() {
        let sample = pipeline.sample()
        metrics?.update(sample)
        if let status { status(StatusLine.format(sample, previous: previous)) }
        previous = sample
    }
}

/// `12 streams 359.8 fps [30.1 29.9 30.0 …] | latency p50 41 ms p99 88 ms | 3 dropped | batch 7.6/8 | 1 in flight`.
enum StatusLine {
    static func format(_ sample: PipelineSample, previous: PipelineSample?, maxStreamsShown: Int = 8) -> String {
        let seconds = previous.map { Double(sample.time &- $0.time) / 1e9 } ?? 0
        var rates: [Double] = []
        var recent = LatencyHistogram()
        for (i, s) in sample.streams.enumerated() {
            let before = previous?.streams[i].delivered ?? s.delivered
            rates.append(seconds > 0 ? Double(s.delivered - before) / seconds : 0)
            recent.merge(s.recent)
        }
        let total = rates.reduce(0, +)
        var shown = rates.prefix(maxStreamsShown).map { String(format: "%.1f", $0) }
        if rates.count > maxStreamsShown { shown.append("+\(rates.count - maxStreamsShown)") }
        let dropped = sample.streams.reduce(0) { $0 + $1.dropped }
        let batches = sample.batches - (previous?.batches ?? 0)
        let frames = sample.batchedFrames - (previous?.batchedFrames ?? 0)
        let fill = batches > 0 ? Double(frames) / Double(batches) : 0
        let reconnects = sample.streams.reduce(0) { $0 + $1.reconnects }
        var line = String(
            format: "%d stream%@ %.1f fps [%@] | latency p50 %.0f ms p99 %.0f ms | %d dropped | batch %.1f",
            sample.streams.count, sample.streams.count == 1 ? "" : "s", total, shown.joined(separator: " "),
            recent.percentile(50), recent.percentile(99), dropped, fill)
        if reconnects > 0 { line += " | \(reconnects) reconnects" }
        return line
    }
}
