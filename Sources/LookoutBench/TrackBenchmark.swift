import LookoutCore
import LookoutEvents
import LookoutYOLO

/// `lookout bench track`: the CPU cost of ByteTrack plus a rule set per frame, on synthetic frames of `objects`
/// objects moving across a 1920×1080 frame (constant velocities, bounces, jittered boxes and scores, some low-score
/// detections), measured per frame after a warm-up. The default rule set has 10 rules over 3 zones and 2 lines
/// (enter, leave, dwell, cross both ways, count).
package struct TrackBenchmark: Sendable {
    package var objects = 20
    package var frames = 5000
    package var warmup = 500
    package var rules: RuleSet?

    package init() {}

    package struct Result: Sendable {
        package var meanMicroseconds: Double
        package var p50Microseconds: Double
        package var p99Microseconds: Double
        package var trackerMeanMicroseconds: Double
        package var events: Int
        package var tracksPerFrame: Double
        package var rules: Int
    }

    /// The rule set the benchmark uses by default.
    package static func defaultRules() throws(LookoutError) -> RuleSet {
        let text = """
            zones:
              - {name: left, polygon: [[0.05, 0.1], [0.45, 0.1], [0.45, 0.9], [0.05, 0.9]]}
              - {name: right, polygon: [[0.55, 0.1], [0.95, 0.1], [0.95, 0.9], [0.55, 0.9]]}
              - {name: middle, polygon: [[0.3, 0.3], [0.7, 0.3], [0.7, 0.7], [0.3, 0.7]]}
            lines:
              - {name: vertical, from: [0.5, 0.0], to: [0.5, 1.0]}
              - {name: horizontal, from: [0.0, 0.5], to: [1.0, 0.5]}
            rules:
              - {name: enter-left, trigger: enter, zone: left}
              - {name: leave-left, trigger: leave, zone: left}
              - {name: enter-right, trigger: enter, zone: right, classes: [a, b]}
              - {name: leave-right, trigger: leave, zone: right}
              - {name: dwell-middle, trigger: dwell, zone: middle, seconds: 2}
              - {name: east, trigger: cross, line: vertical, direction: right-to-left}
              - {name: west, trigger: cross, line: vertical, direction: left-to-right}
              - {name: south, trigger: cross, line: horizontal, direction: left-to-right, min_confidence: 0.5}
              - {name: crowd, trigger: count, zone: middle, count: 4}
              - {name: big-in-left, trigger: enter, zone: left, min_area: 5000, cooldown: 1}
            """
        return try RuleSet.parse(text, source: "bench-rules", classNames: ["a", "b", "c", "d"])
    }

    package func run() throws(LookoutError) -> Result {
        let rules: RuleSet
        if let given = self.rules { rules = given } else { rules = try Self.defaultRules() }
        var generator = Scene(objects: objects)
        let sequence = (0..<(warmup + frames)).map { _ in generator.next() }
        // Tracker alone, then tracker and rules, each over the same frames.
        let tracker = ByteTracker()
        var trackerTime = 0.0
        for (i, detections) in sequence.enumerated() {
            let start = MonotonicClock.nanoseconds()
            _ = tracker.update(detections)
            if i >= warmup { trackerTime += Double(MonotonicClock.nanoseconds() &- start) / 1000 }
        }
        let tracker2 = ByteTracker()
        let engine = RuleEngine(set: rules, stream: 0, source: "bench", classNames: ["a", "b", "c", "d"])
        var times: [Double] = []
        times.reserveCapacity(frames)
        var events = 0
        var tracks = 0
        for (i, detections) in sequence.enumerated() {
            let start = MonotonicClock.nanoseconds()
            let objects = tracker2.update(detections)
            let out = engine.process(
                RuleEngine.Frame(
                    frame: i, seconds: Double(i) / 30, wallTime: Int64(i) * 33, width: 1920, height: 1080,
                    objects: objects))
            let elapsed = Double(MonotonicClock.nanoseconds() &- start) / 1000
            if i >= warmup {
                times.append(elapsed)
                events += out.opened.count
                tracks += objects.count
            }
        }
        let sorted = times.sorted()
        return Result(
            meanMicroseconds: times.reduce(0, +) / Double(times.count),
            p50Microseconds: sorted[sorted.count / 2],
            p99Microseconds: sorted[min(sorted.count - 1, sorted.count * 99 / 100)],
            trackerMeanMicroseconds: trackerTime / Double(frames), events: events,
            tracksPerFrame: Double(tracks) / Double(frames), rules: rules.rules.count)
    }

    /// Moving boxes with deterministic pseudo-random motion.
    struct Scene {
        var state: UInt64 = 0x1234_5678
        var boxes: [(x: Double, y: Double, w: Double, h: Double, vx: Double, vy: Double, cls: Int)] = []

        init(objects: Int) {
            for i in 0..<objects {
                let w = 40 + 80 * unit()
                boxes.append(
                    (
                        unit() * 1800, unit() * 1000, w, w * (0.6 + unit()), (unit() - 0.5) * 16,
                        (unit() - 0.5) * 12, i % 4
                    ))
            }
        }

        mutating func unit() -> Double {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(state >> 11) / Double(1 << 53)
        }

        mutating func next() -> [Detection] {
            var out: [Detection] = []
            for i in boxes.indices {
                var b = boxes[i]
                b.x += b.vx
                b.y += b.vy
                if b.x < 0 || b.x + b.w > 1920 { b.vx = -b.vx }
                if b.y < 0 || b.y + b.h > 1080 { b.vy = -b.vy }
                boxes[i] = b
                let jitter = (unit() - 0.5) * 2
                let score = Float(0.3 + 0.65 * unit())
                out.append(
                    Detection(
                        x1: Float(b.x + jitter), y1: Float(b.y - jitter), x2: Float(b.x + b.w + jitter),
                        y2: Float(b.y + b.h), confidence: unit() < 0.1 ? 0.15 : score, classIndex: b.cls))
            }
            return out
        }
    }
}
