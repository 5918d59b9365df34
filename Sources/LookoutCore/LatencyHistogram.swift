import Histogram

/// Latencies in an HDR histogram (HdrHistogram): percentiles within 1% (or 0.1% with `.precise`) from 1 µs to
/// 100 s in constant memory, so a pipeline running for days does not grow and a benchmark's p99 is exact enough.
package struct LatencyHistogram: Sendable {
    /// How finely values are told apart.
    package enum Resolution: Sendable {
        /// Two significant digits (1%): about 30 KB; per-stream windows.
        case standard
        /// Three significant digits (0.1%): about 250 KB; benchmark samples.
        case precise
    }

    private var histogram: Histogram<UInt64>

    package init(_ resolution: Resolution = .standard) {
        histogram = Histogram(
            lowestDiscernibleValue: 1, highestTrackableValue: 100_000_000,
            numberOfSignificantValueDigits: resolution == .standard ? .two : .three)
    }

    /// Records one latency (clamped to 1 µs … 100 s).
    package mutating func record(milliseconds: Double) {
        let micros = UInt64(min(max((milliseconds * 1000).rounded(), 1), 100_000_000))
        _ = histogram.record(micros)
    }

    package mutating func merge(_ other: LatencyHistogram) { histogram.add(other.histogram) }
    package mutating func reset() { histogram.reset() }

    package var count: Int { Int(histogram.totalCount) }

    /// The `p`-th percentile (0…100) in milliseconds; 0 when empty.
    package func percentile(_ p: Double) -> Double {
        count == 0 ? 0 : Double(histogram.valueAtPercentile(p)) / 1000
    }

    package var mean: Double { count == 0 ? 0 : histogram.mean / 1000 }
    package var maximum: Double { count == 0 ? 0 : Double(histogram.max) / 1000 }
    package var p50: Double { percentile(50) }
    package var p99: Double { percentile(99) }
}
