/// Percentiles of a set of latency samples (milliseconds), by the nearest-rank rule on sorted samples.
public struct LatencyStats: Sendable {
    public let samples: [Double]

    public init(_ samples: [Double]) {
        self.samples = samples.sorted()
    }

    public var count: Int { samples.count }

    /// The `p`-th percentile (0…100); 0 when there are no samples.
    public func percentile(_ p: Double) -> Double {
        guard !samples.isEmpty else { return 0 }
        let rank = Int((p / 100 * Double(samples.count)).rounded(.up)) - 1
        return samples[min(max(rank, 0), samples.count - 1)]
    }

    public var p50: Double { percentile(50) }
    public var p99: Double { percentile(99) }
    public var mean: Double { samples.isEmpty ? 0 : samples.reduce(0, +) / Double(samples.count) }
}
