import Testing

@testable import LookoutYOLO

/// `ValMetrics` against a NumPy re-implementation of Ultralytics' val metrics (scripts/fixtures/
/// make_metrics_vectors.py → vectors/metrics_vectors.json), plus small cases worked out by hand.
struct MetricsTests {
    struct Image: Sendable {
        var groundTruth: [GroundTruthBox]
        var detections: [Detection]
        var truePositives: [Bool]
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var images: [Image]
        var classes: [Int], instances: [Int], precision: [Double], recall: [Double], ap: [[Double]]
        var mp: Double, mr: Double, map50: Double, map: Double
        var testDescription: String { name }
    }

    static let thresholds: [Float] =
        ((Fixtures.json("metrics_vectors.json") as? [String: Any])?["iou_thresholds"] as? [Double] ?? [])
        .map { Float($0) }

    static let cases: [Case] = Fixtures.cases("metrics_vectors.json").compactMap { c in
        guard let name = c["name"] as? String, let images = c["images"] as? [[String: Any]],
            let e = c["expected"] as? [String: Any]
        else { return nil }
        let parsed = images.map { im -> Image in
            let gt = (im["gt"] as? [[Double]] ?? []).map {
                GroundTruthBox(
                    x1: Float($0[0]), y1: Float($0[1]), x2: Float($0[2]), y2: Float($0[3]), classIndex: Int($0[4]))
            }
            let det = (im["det"] as? [[Double]] ?? []).map {
                Detection(
                    x1: Float($0[0]), y1: Float($0[1]), x2: Float($0[2]), y2: Float($0[3]), confidence: Float($0[4]),
                    classIndex: Int($0[5]))
            }
            return Image(groundTruth: gt, detections: det, truePositives: (im["tp"] as? [[Bool]] ?? []).flatMap { $0 })
        }
        return Case(
            name: name, images: parsed, classes: e["classes"] as? [Int] ?? [],
            instances: e["instances"] as? [Int] ?? [],
            precision: e["precision"] as? [Double] ?? [], recall: e["recall"] as? [Double] ?? [],
            ap: e["ap"] as? [[Double]] ?? [], mp: e["mp"] as? Double ?? -1, mr: e["mr"] as? Double ?? -1,
            map50: e["map50"] as? Double ?? -1, map: e["map"] as? Double ?? -1)
    }

    @Test func iouThresholdsAreTorchLinspaceInFloat32() {
        #expect(DetectionMatcher.iouThresholds == Self.thresholds)
        #expect(DetectionMatcher.iouThresholds.count == 10)
    }

    @Test("true positives and metrics equal the reference", arguments: cases)
    func matchesReference(_ c: Case) {
        var metrics = ValMetrics()
        for image in c.images {
            let tp = DetectionMatcher.truePositives(detections: image.detections, groundTruth: image.groundTruth)
            #expect(tp == image.truePositives)
            metrics.add(detections: image.detections, groundTruth: image.groundTruth)
        }
        let s = metrics.summary()
        let tolerance = 1e-9
        #expect(s.classes.map(\.classIndex) == c.classes)
        #expect(s.classes.map(\.instances) == c.instances)
        for (i, r) in s.classes.enumerated() {
            #expect(abs(r.precision - c.precision[i]) < tolerance)
            #expect(abs(r.recall - c.recall[i]) < tolerance)
            for k in 0..<10 { #expect(abs(r.ap[k] - c.ap[i][k]) < tolerance) }
        }
        #expect(abs(s.precision - c.mp) < tolerance)
        #expect(abs(s.recall - c.mr) < tolerance)
        #expect(abs(s.map50 - c.map50) < tolerance)
        #expect(abs(s.map50to95 - c.map) < tolerance)
    }

    @Test func vectorsArePresent() {
        #expect(Self.cases.count == 5)
    }

    @Test func onePerfectDetectionScores0995() {
        // compute_ap's sentinels put precision 0 at recall 1.0, so the last trapezoid is half: 0.99 + 0.005.
        var metrics = ValMetrics()
        let gt = GroundTruthBox(x1: 10, y1: 10, x2: 110, y2: 60, classIndex: 2)
        metrics.add(
            detections: [Detection(x1: 10, y1: 10, x2: 110, y2: 60, confidence: 0.9, classIndex: 2)], groundTruth: [gt])
        let s = metrics.summary()
        #expect(abs(s.map50 - 0.995) < 1e-12 && abs(s.map50to95 - 0.995) < 1e-12)
        #expect(s.precision == 1 && s.recall == 1)
        #expect(s.classes.count == 1 && s.classes[0].images == 1 && s.classes[0].instances == 1)
    }

    @Test func duplicateDetectionIsAFalsePositive() {
        let gt = [GroundTruthBox(x1: 0, y1: 0, x2: 100, y2: 100, classIndex: 0)]
        let dets = [
            Detection(x1: 0, y1: 0, x2: 100, y2: 100, confidence: 0.9, classIndex: 0),
            Detection(x1: 0, y1: 0, x2: 100, y2: 100, confidence: 0.8, classIndex: 0),
            Detection(x1: 0, y1: 0, x2: 100, y2: 100, confidence: 0.7, classIndex: 1),
        ]
        let tp = DetectionMatcher.truePositives(detections: dets, groundTruth: gt)
        #expect(tp == [Bool](repeating: true, count: 10) + [Bool](repeating: false, count: 20))
    }

    @Test func iouThresholdBoundaryCountsAsMatch() {
        // IoU 0.75 exactly (box 100x75 inside 100x100): a true positive at 0.50...0.75, not above.
        let gt = [GroundTruthBox(x1: 0, y1: 0, x2: 100, y2: 100, classIndex: 0)]
        let det = [Detection(x1: 0, y1: 0, x2: 100, y2: 75, confidence: 0.5, classIndex: 0)]
        let tp = DetectionMatcher.truePositives(detections: det, groundTruth: gt)
        #expect(tp == [true, true, true, true, true, true, false, false, false, false])
    }

    @Test func noGroundTruthGivesZeros() {
        var metrics = ValMetrics()
        metrics.add(
            detections: [Detection(x1: 0, y1: 0, x2: 5, y2: 5, confidence: 0.5, classIndex: 0)], groundTruth: [])
        let s = metrics.summary()
        #expect(s.classes.isEmpty && s.map50 == 0 && s.precision == 0 && s.images == 1)
    }
}
