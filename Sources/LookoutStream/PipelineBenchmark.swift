import Dispatch
import Foundation
import Lookout
import LookoutCore
import Synchronization

/// `lookout bench pipeline`: N concurrent streams of one file (looped; paced at its frame rate or unpaced) through a
/// pipeline, measured after a warm-up: total fps, end-to-end latency p50/p99 (decoded → result), drops, frames,
/// whether every stream's results stayed in order, CPU utilisation.
public struct PipelineBenchmark: Sendable {
    public var source: String
    public var streams = 1
    public var paced = false
    public var seconds = 10.0
    public var warmup = 2.0
    public var options = PipelineOptions()

    public init(source: String) {
        self.source = source
    }

    /// One row of the shared bench JSON.
    public struct Row: Sendable {
        public var mode: String
        public var streams: Int
        public var fps: Double
        public var p50: Double
        public var p99: Double
        public var dropped: Int
        public var frames: Int
        public var batchFill: Double
        public var cpuUtilisation: Double
        /// Frames decoded but neither delivered nor dropped (must be 0: the pipeline drains).
        public var lost: Int
        /// Results that came out of frame order (must be 0).
        public var outOfOrder: Int
        public var seconds: Double

        public var json: [(String, JSONValue)] {
            [
                ("system", .string("lookout")), ("mode", .string(mode)), ("streams", .int(streams)),
                ("fps", JSONValue.rounded(fps, digits: 1)), ("p50_ms", JSONValue.rounded(p50, digits: 2)),
                ("p99_ms", JSONValue.rounded(p99, digits: 2)), ("dropped", .int(dropped)), ("frames", .int(frames)),
                ("batch_fill", JSONValue.rounded(batchFill, digits: 2)),
                ("cpu_utilisation", JSONValue.rounded(cpuUtilisation, digits: 2)),
                ("gpu_utilisation", .null), ("lost", .int(lost)), ("out_of_order", .int(outOfOrder)),
                ("seconds", JSONValue.rounded(seconds, digits: 2)),
            ]
        }
    }

    /// Runs the streams for `warmup + seconds`, then stops them and lets the pipeline drain.
    public func run(detector: Detector) async throws(StreamError) -> Row {
        var source = StreamSource(kind: .file(self.source), loop: true, paced: paced)
        if !FileManager.default.fileExists(atPath: self.source) { throw StreamError("\(self.source): no such file") }
        source.maxFrames = nil
        let pipeline = try StreamPipeline(
            sources: Array(repeating: source, count: streams), detector: detector, options: options)
        let order = Mutex((last: [Int](repeating: -1, count: streams), violations: 0))
        pipeline.onResult { result in
            order.withLock { state in
                if result.frame <= state.last[result.stream] { state.violations += 1 }
                state.last[result.stream] = result.frame
            }
        }
        let failures = Mutex<[String]>([])
        pipeline.onEvent { event in if event.isError { failures.withLock { $0.append(event.description) } } }
        pipeline.start()
        try? await Task.sleep(nanoseconds: UInt64(warmup * 1e9))
        pipeline.resetMeasurements()
        try? await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
        let measured = pipeline.summary()
        pipeline.stop()
        let final = await pipeline.finished()
        if let first = failures.withLock({ $0.first }) { throw StreamError(first) }
        if let fatal = pipeline.fatalError { throw StreamError(fatal) }
        _ = final
        // Over the whole run (warm-up included): every decoded frame was delivered or, paced, dropped.
        let wholeRunLost = pipeline.feeds.reduce(0) { total, feed in
            let s = feed.stats
            return total + s.decoded.load(ordering: .relaxed) - s.dropped.load(ordering: .relaxed)
                - s.delivered.load(ordering: .relaxed)
        }
        return Row(
            mode: pipeline.modeName, streams: streams, fps: measured.fps, p50: measured.p50Milliseconds,
            p99: measured.p99Milliseconds, dropped: measured.dropped, frames: measured.frames,
            batchFill: measured.batchFill,
            cpuUtilisation: measured.cpuUtilisation, lost: wholeRunLost, outOfOrder: order.withLock { $0.violations },
            seconds: measured.seconds)
    }
}
