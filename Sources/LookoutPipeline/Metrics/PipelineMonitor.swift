import LookoutCore
import Synchronization

/// Samples a running pipeline about once a second: updates its metrics' counters and gauges, and formats the live
/// status line `lookout stream` shows on a terminal.
package final class PipelineMonitor: @unchecked Sendable {
    // `previous` is only touched by the monitor thread.
    let pipeline: Pipeline
    let metrics: PipelineMetrics?
    let interval: Double
    let status: (@Sendable (String) -> Void)?
    private let stopped = Atomic<Bool>(false)
    private let wake = ConditionLock()
    private var previous: PipelineSample?

    package init(
        pipeline: Pipeline, metrics: PipelineMetrics?, interval: Double = 1, status: (@Sendable (String) -> Void)?
    ) {
        self.pipeline = pipeline
        self.metrics = metrics
        self.interval = interval
        self.status = status
    }

    package func start() {
        PlatformThread.spawn(name: "lookout-monitor") { [self] in
            while !stopped.load(ordering: .acquiring) {
                let until = MonotonicClock.seconds() + interval
                wake.withLock {
                    while !stopped.load(ordering: .acquiring) && MonotonicClock.seconds() < until {
                        wake.wait(untilMonotonic: until)
                    }
                }
                if stopped.load(ordering: .acquiring) { break }
                tick()
            }
        }
    }

    package func stop() {
        stopped.store(true, ordering: .releasing)
        wake.withLock { wake.broadcast() }
    }

    /// Takes a sample now (the thread does every `interval`).
    package func tick() {
        let sample = pipeline.sample()
        metrics?.update(sample)
        if let status { status(StatusLine.format(sample, previous: previous)) }
        previous = sample
    }
}

/// `12 streams 359.8 fps [30.1 29.9 30.0 …] | latency p50 41 ms p99 88 ms | 3 dropped | batch 7.6/8 | 1 in flight`.
package enum StatusLine {
    package static func format(_ sample: PipelineSample, previous: PipelineSample?, maxStreamsShown: Int = 8) -> String
    {
        let seconds = previous.map { Double(sample.time &- $0.time) / 1e9 } ?? 0
        var rates: [Double] = []
        var recent = LatencyHistogram()
        for (i, s) in sample.streams.enumerated() {
            let before = previous?.streams[i].delivered ?? s.delivered
            rates.append(seconds > 0 ? Double(s.delivered - before) / seconds : 0)
            recent.merge(s.recent)
        }
        let total = rates.reduce(0, +)
        var shown = rates.prefix(maxStreamsShown).map { TextFormat.fixed($0, digits: 1) }
        if rates.count > maxStreamsShown { shown.append("+\(rates.count - maxStreamsShown)") }
        let dropped = sample.streams.reduce(0) { $0 + $1.dropped }
        let batches = sample.batches - (previous?.batches ?? 0)
        let frames = sample.batchedFrames - (previous?.batchedFrames ?? 0)
        let fill = batches > 0 ? Double(frames) / Double(batches) : 0
        let reconnects = sample.streams.reduce(0) { $0 + $1.reconnects }
        var line =
            "\(sample.streams.count) stream\(sample.streams.count == 1 ? "" : "s") \(TextFormat.fixed(total, digits: 1)) fps "
            + "[\(shown.joined(separator: " "))] | latency p50 \(TextFormat.fixed(recent.percentile(50), digits: 0)) ms "
            + "p99 \(TextFormat.fixed(recent.percentile(99), digits: 0)) ms | \(dropped) dropped | batch "
            + TextFormat.fixed(fill, digits: 1)
        if reconnects > 0 { line += " | \(reconnects) reconnects" }
        return line
    }
}
