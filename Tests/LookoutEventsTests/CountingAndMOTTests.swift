import Testing

@testable import LookoutEvents

/// Tracking quality on shapes-1080p.mp4 against its ground truth, and counts on a line and a zone against the counts
/// of the ground-truth tracks (same rules, same code path: only the identities and boxes differ).
@Suite struct CountingAndMOTTests {
    /// The acceptance's line and zone (`gate`: a vertical line at 85% of the width, which the clip's shapes cross
    /// both ways; `centre`: the middle 40% × 50% of the frame), then a grid of 9 vertical and 9 horizontal lines and 9
    /// zones, for more crossings than one line of a 10-second clip sees.
    static let rules: String = {
        var text = """
            zones:
              - {name: centre, polygon: [[0.3, 0.25], [0.7, 0.25], [0.7, 0.75], [0.3, 0.75]]}

            """
        for row in 0..<3 {
            for column in 0..<3 {
                let (x0, y0, x1, y1) = (
                    Double(column) / 3, Double(row) / 3, Double(column + 1) / 3, Double(row + 1) / 3
                )
                text +=
                    "  - {name: cell\(row)\(column), polygon: [[\(x0), \(y0)], [\(x1), \(y0)], [\(x1), \(y1)], [\(x0), \(y1)]]}\n"
            }
        }
        text += "lines:\n  - {name: gate, from: [0.85, 0.0], to: [0.85, 1.0]}\n"
        for k in 1...9 {
            let p = Double(k) / 10
            text += "  - {name: v\(k), from: [\(p), 0.0], to: [\(p), 1.0]}\n"
            text += "  - {name: h\(k), from: [0.0, \(p)], to: [1.0, \(p)]}\n"
        }
        return text + "rules:\n  - {name: in, trigger: enter, zone: centre}\n"
    }()

    static func counts(_ frames: [[TrackedObject]]) throws -> [String: Int] {
        let set = try RuleSet.parse(rules, source: "counting", classNames: ["circle", "square", "triangle", "star"])
        let engine = RuleEngine(set: set, stream: 0, source: "clip", classNames: [])
        var totals: [String: Int] = [:]
        for (i, objects) in frames.enumerated() {
            let out = engine.process(
                RuleEngine.Frame(
                    frame: i, seconds: Double(i) / 30, wallTime: 0, width: 1920, height: 1080, objects: objects))
            for c in out.counts { totals["\(c.name) \(c.direction)", default: 0] += c.delta }
        }
        return totals
    }

    /// Counts from Lookout's tracks (ByteTrack on the clip's detections) against the same rules run on the
    /// ground-truth tracks: the line's crossings each way and the zone's entries within ±2% (for counts under 50 that
    /// means equal). The grid's 50 counts are printed one by one; their total must be within ±5% (a duplicate
    /// detection that lives 21 frames, which Ultralytics' tracker follows too, adds entries to the zones it is in).
    @Test func lineAndZoneCountsMatchTheGroundTruthWithinTwoPercent() throws {
        let truth = try TrackingFixtures.groundTruth().map { frame in
            frame.map {
                TrackedObject(
                    id: $0.id, x1: $0.x1, y1: $0.y1, x2: $0.x2, y2: $0.y2, confidence: 1, classIndex: $0.classIndex,
                    detectionIndex: 0)
            }
        }
        let tracker = ByteTracker()
        let tracked = try TrackingFixtures.detections().map { tracker.update($0) }
        let want = try Self.counts(truth)
        let got = try Self.counts(tracked)
        for key in ["gate left-to-right", "gate right-to-left", "centre entries"] {
            let w = want[key] ?? 0
            let g = got[key] ?? 0
            #expect(w > 0, "\(key): the clip should cross it")
            #expect(abs(Double(g - w)) <= 0.02 * Double(w), "\(key): Lookout \(g), ground truth \(w)")
        }
        var wantTotal = 0
        var gotTotal = 0
        var differ: [String] = []
        for key in Set(want.keys).union(got.keys).sorted() {
            let w = want[key] ?? 0
            let g = got[key] ?? 0
            wantTotal += w
            gotTotal += g
            if g != w { differ.append("\(key) \(g) (\(w))") }
        }
        print(
            "counts: gate \(got["gate left-to-right"] ?? 0)/\(got["gate right-to-left"] ?? 0) (ground truth "
                + "\(want["gate left-to-right"] ?? 0)/\(want["gate right-to-left"] ?? 0)), centre entries "
                + "\(got["centre entries"] ?? 0) (\(want["centre entries"] ?? 0)); grid of \(want.count) counts: "
                + "\(gotTotal) (\(wantTotal)); differing: \(differ.joined(separator: ", "))")
        #expect(wantTotal >= 100)
        #expect(abs(Double(gotTotal - wantTotal)) <= 0.05 * Double(wantTotal))
    }

    /// Inertia: a point that wavers across a zone's edge or a line for fewer frames than `inertia` changes nothing;
    /// one that stays counts once, dated from its first frame on the new side.
    @Test func inertiaSettlesJitterAtEdges() throws {
        let text = """
            inertia: 3
            coordinates: pixels
            zones:
              - {name: z, polygon: [[0, 0], [100, 0], [100, 100], [0, 100]]}
            lines:
              - {name: l, from: [50, 0], to: [50, 1000]}
            rules:
              - {name: in, trigger: enter, zone: z}
              - {name: over, trigger: cross, line: l}
            """
        let set = try RuleSet.parse(text, source: "inertia", classNames: ["a"])
        #expect(set.inertia == 3)
        let engine = RuleEngine(set: set, stream: 0, source: "s", classNames: ["a"])
        // Bottom-centre x, y per frame: outside, a 2-frame excursion in, out, then in to stay; x wavers across 50.
        let path: [(Double, Double)] = [
            (40, 150), (45, 99), (48, 98), (49, 150), (52, 150), (48, 90), (52, 90), (53, 90), (54, 90), (55, 90),
        ]
        var counts: [String: Int] = [:]
        var entryFrame: Int?
        for (i, (x, y)) in path.enumerated() {
            let object = TrackedObject(
                id: 1, x1: Float(x - 5), y1: Float(y - 10), x2: Float(x + 5), y2: Float(y), confidence: 0.9,
                classIndex: 0, detectionIndex: 0)
            let out = engine.process(
                RuleEngine.Frame(
                    frame: i, seconds: Double(i) / 30, wallTime: 0, width: 1000, height: 1000, objects: [object]))
            for c in out.counts { counts["\(c.name) \(c.direction)", default: 0] += c.delta }
            if let e = out.opened.first(where: { $0.rule == "in" }) { entryFrame = e.startFrame }
        }
        #expect(counts["z entries"] == 1 && counts["z exits"] == nil, "\(counts)")
        #expect(entryFrame == 7, "the entry settles at frame 7 (in since 5)")
        #expect(counts["l left-to-right"] == nil && counts["l right-to-left"] == 1, "\(counts)")
    }

    @Test func motMetricsAgainstGroundTruthAtLeastUltralytics() throws {
        let truth = try TrackingFixtures.groundTruth()
        let tracker = ByteTracker()
        let lookout = try TrackingFixtures.detections().map { frame in
            tracker.update(frame).map {
                GroundTruthObject(id: $0.id, x1: $0.x1, y1: $0.y1, x2: $0.x2, y2: $0.y2, classIndex: $0.classIndex)
            }
        }
        let ultralytics = try TrackingFixtures.oracle().map { frame in
            frame.map {
                GroundTruthObject(
                    id: Int($0[4]), x1: Float($0[0]), y1: Float($0[1]), x2: Float($0[2]), y2: Float($0[3]),
                    classIndex: Int($0[6]))
            }
        }
        let ours = MOTMetrics.evaluate(groundTruth: truth, hypotheses: lookout)
        let theirs = MOTMetrics.evaluate(groundTruth: truth, hypotheses: ultralytics)
        print(
            "Lookout: IDF1 \(ours.idf1) MOTA \(ours.mota) IDSW \(ours.identitySwitches) FN \(ours.misses) FP \(ours.falsePositives)"
        )
        print("Ultralytics: IDF1 \(theirs.idf1) MOTA \(theirs.mota) IDSW \(theirs.identitySwitches)")
        #expect(ours.idf1 >= theirs.idf1 - 1e-9)
        #expect(ours.mota >= theirs.mota - 1e-9)
        #expect(ours.idf1 > 0.8 && ours.mota > 0.8)
    }

    /// The metrics themselves on a hand-made case: one switch, one miss, one false positive.
    @Test func metricsOnAKnownCase() {
        func o(_ id: Int, _ x: Float) -> GroundTruthObject {
            GroundTruthObject(id: id, x1: x, y1: 0, x2: x + 10, y2: 10, classIndex: 0)
        }
        let truth = [[o(1, 0)], [o(1, 1)], [o(1, 2)], [o(1, 3)]]
        let output = [[o(7, 0)], [o(7, 1)], [o(8, 2), o(9, 100)], []]
        let m = MOTMetrics.evaluate(groundTruth: truth, hypotheses: output)
        #expect(m.matches == 3 && m.misses == 1 && m.falsePositives == 1 && m.identitySwitches == 1)
        #expect(abs(m.mota - (1 - 3.0 / 4)) < 1e-12)
        #expect(abs(m.idf1 - 2 * 2.0 / (4 + 4)) < 1e-12)  // id 1 ↔ 7 overlap in 2 frames
    }
}
