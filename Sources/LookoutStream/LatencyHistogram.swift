/// Latencies in fixed log-spaced buckets (1% wide, 10 µs to 100 s): percentiles within 1% in constant memory, so a
/// pipeline running for days does not grow.
struct LatencyHistogram: Sendable {
    static let minimum = 0.01
    static let growth = 1.01
    static let bucketCount = 1621  // log(1e7) / log(1.01)
    private static let logGrowth = log(growth)

    private(set) var counts = [Int](repeating: 0, count: bucketCount)
    private(set) var count = 0
    private(set) var sum = 0.0
    private(set) var maximum = 0.0

    mutating func record(_ milliseconds: Double) {
        let value = max(milliseconds, 0)
        let bucket =
            value <= Self.minimum ? 0 : min(Self.bucketCount - 1, Int(log(value / Self.minimum) / Self.logGrowth) + 1)
        counts[bucket] += 1
        count += 1
        sum += value
        maximum = max(maximum, value)
    }

    mutating func merge(_ other: LatencyHistogram) {
        for i in counts.indices { counts[i] += other.counts[i] }
        count += other.count
        sum += other.sum
        maximum = max(maximum, other.maximum)
    }

    mutating func reset() { self = LatencyHistogram() }

    /// The `p`-th percentile (0…100) in milliseconds, the upper edge of its bucket (capped at the maximum seen);
    /// 0 when empty.
    func percentile(_ p: Double) -> Double {
        guard count > 0 else { return 0 }
        let rank = max(1, Int((p / 100 * Double(count)).rounded(.up)))
        var seen = 0
        for (bucket, n) in counts.enumerated() where n > 0 {
            seen += n
            if seen >= rank {
                let upper = bucket == 0 ? Self.minimum : Self.minimum * pow(Self.growth, Double(bucket))
                return min(upper, maximum)
            }
        }
        return maximum
    }

    var mean: Double { count > 0 ? sum / Double(count) : 0 }
}

#if canImport(Glibc)
    import Glibc
#endif
