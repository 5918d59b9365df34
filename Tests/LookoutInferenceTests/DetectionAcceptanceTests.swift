import Foundation
import LookoutMedia
import LookoutModel
import LookoutYOLO
import Testing

@testable import LookoutInference

/// Issue 2's acceptance: `Detector.detect` on the 120 validation images reproduces Ultralytics 8.4.190's predictions
/// with the same ONNX files (conf 0.25, IoU 0.7, predict letterbox, scale_boxes). Issue 12's: the same for the trained
/// YOLO11n and YOLO26n (anchor and end-to-end heads) of ../shared/fixtures/shapes-v11-v26, when that folder is there
/// (the models are 10 MB each and stay out of the repository).
@Suite(.serialized) struct DetectionAcceptanceTests {
    struct Reference {
        var box: [Float]
        var confidence: Float
        var classIndex: Int
    }

    struct Criterion: Sendable, CustomTestStringConvertible {
        var model: String
        var predictions: String
        var iou: Float
        var confidence: Float
        var matched: Double
        var extra: Double?
        var testDescription: String {
            "\((model as NSString).lastPathComponent) vs \((predictions as NSString).lastPathComponent)"
        }
    }

    static let criteria: [Criterion] =
        [
            Criterion(
                model: Fixtures.staticModel, predictions: val + "ultralytics_onnx_static_predictions.json", iou: 0.99,
                confidence: 0.001, matched: 0.99, extra: 0.01),
            Criterion(
                model: Fixtures.dynamicModel, predictions: val + "ultralytics_onnx_dynamic_predictions.json",
                iou: 0.99, confidence: 0.001, matched: 0.99, extra: 0.01),
            // float16 weights move boxes by up to ~0.4 px and scores by ~0.01 (docs/onnx-exports.md).
            Criterion(
                model: Fixtures.fp16Model, predictions: val + "ultralytics_onnx_static_predictions.json", iou: 0.95,
                confidence: 0.01, matched: 0.97, extra: nil),
        ]
        + ["shapes-yolo11n", "shapes-yolo26n", "shapes-yolo26n-end2end"].compactMap { name in
            let model = families + name + ".onnx"
            guard FileManager.default.fileExists(atPath: model) else { return nil }
            return Criterion(
                model: model, predictions: families + name + "_val_predictions.json", iou: 0.99, confidence: 0.001,
                matched: 0.99, extra: 0.01)
        }
    static let val = Fixtures.path("shapes/val/")
    static let families = Fixtures.repository + "/../shared/fixtures/shapes-v11-v26/"

    static func iou(_ a: [Float], _ b: [Float]) -> Float {
        let w = max(min(a[2], b[2]) - max(a[0], b[0]), 0)
        let h = max(min(a[3], b[3]) - max(a[1], b[1]), 0)
        let inter = w * h
        let union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
        return union > 0 ? inter / union : 0
    }

    /// Greedy matching: each reference box, most confident first, takes the unclaimed detection of its class with
    /// the highest IoU that passes both thresholds. Returns (matched references, unmatched detections).
    static func match(
        _ references: [Reference], _ detections: [Detection], iou threshold: Float, confidence tolerance: Float
    )
        -> (matched: Int, extra: Int)
    {
        var claimed = [Bool](repeating: false, count: detections.count)
        var matched = 0
        for reference in references.sorted(by: { $0.confidence > $1.confidence }) {
            var best = -1
            var bestIoU: Float = 0
            for (j, d) in detections.enumerated() where !claimed[j] && d.classIndex == reference.classIndex {
                guard abs(d.confidence - reference.confidence) <= tolerance else { continue }
                let overlap = iou(reference.box, [d.x1, d.y1, d.x2, d.y2])
                if overlap >= threshold && overlap > bestIoU {
                    best = j
                    bestIoU = overlap
                }
            }
            if best >= 0 {
                claimed[best] = true
                matched += 1
            }
        }
        return (matched, claimed.filter { !$0 }.count)
    }

    @Test(arguments: criteria)
    func detectionsMatchUltralytics(criterion: Criterion) throws {
        let all = try #require(
            try Fixtures.json(criterion.predictions) as? [String: Any])
        let detector = try Detector(model: try DetectionModel(path: criterion.model), device: .cpu)
        var decoder = ImageDecoder()
        var image = BGRImage()
        var references = 0
        var detected = 0
        var matched = 0
        var extra = 0
        let names = try Fixtures.valImageNames()
        #expect(names.count == 120)
        let start = Date()
        for name in names {
            let entry = try #require(all[name] as? [String: Any], "\(name) has no reference predictions")
            let boxes = entry["xyxy"] as? [[Double]] ?? []
            let conf = entry["conf"] as? [Double] ?? []
            let cls = entry["cls"] as? [Int] ?? []
            try #require(boxes.count == conf.count && conf.count == cls.count)
            let expected = (0..<boxes.count).map {
                Reference(box: boxes[$0].map(Float.init), confidence: Float(conf[$0]), classIndex: cls[$0])
            }
            try decoder.decode(file: Fixtures.valImages + "/" + name, into: &image)
            #expect(entry["shape"] as? [Int] == [image.height, image.width], "\(name): image size")
            let result = try detector.detect(image)
            let m = Self.match(expected, result.detections, iou: criterion.iou, confidence: criterion.confidence)
            references += expected.count
            detected += result.detections.count
            matched += m.matched
            extra += m.extra
        }
        let matchedShare = Double(matched) / Double(max(references, 1))
        let extraShare = Double(extra) / Double(max(references, 1))
        print(
            String(
                format:
                    "acceptance %@: %d reference boxes, %d detected, matched %.2f%% (IoU >= %.2f, |dconf| <= %.3f), extra %.2f%%, %.1f s",
                criterion.testDescription, references, detected, matchedShare * 100, criterion.iou,
                criterion.confidence,
                extraShare * 100, Date().timeIntervalSince(start)))
        #expect(references > 600)
        #expect(matchedShare >= criterion.matched)
        if let limit = criterion.extra { #expect(extraShare <= limit) }
    }
}
