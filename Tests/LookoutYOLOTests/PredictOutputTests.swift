import Foundation
import LookoutMedia
import Testing

@testable import LookoutYOLO

/// The predict options' outputs against Ultralytics 8.4.190's functions on fixed inputs (Tests/Fixtures/predict/
/// vectors.json, written by make_predict_references.py from Ultralytics 8.4.190 itself; its "ultralytics" and
/// "torch" keys name the versions): `Results.save_txt` lines, `save_one_box` crop rectangles and names,
/// `non_max_suppression` with `classes` and `agnostic`, `Annotator`'s default line width.
struct PredictOutputTests {
    nonisolated(unsafe) static let vectors: [String: Any] = {
        let path = Fixtures.root + "/predict/vectors.json"
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path)),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return [:] }
        return object
    }()

    static func section(_ name: String) throws -> [String: Any] {
        try #require(vectors[name] as? [String: Any], "Tests/Fixtures/predict/vectors.json has no '\(name)'")
    }

    @Test func labelLinesAreUltralyticsSaveTxt() throws {
        let labels = try Self.section("labels")
        let width = try #require(labels["width"] as? Int)
        let height = try #require(labels["height"] as? Int)
        let boxes = try #require(labels["boxes"] as? [[Double]])
        let plain = try #require(labels["plain"] as? [String])
        let withConf = try #require(labels["with_conf"] as? [String])
        #expect(boxes.count == plain.count && boxes.count == withConf.count && boxes.count > 20)
        for (i, b) in boxes.enumerated() {
            let d = Detection(
                x1: Float(b[0]), y1: Float(b[1]), x2: Float(b[2]), y2: Float(b[3]), confidence: Float(b[4]),
                classIndex: Int(b[5]))
            #expect(PredictionLabels.line(d, imageWidth: width, imageHeight: height, confidence: false) == plain[i])
            #expect(PredictionLabels.line(d, imageWidth: width, imageHeight: height, confidence: true) == withConf[i])
        }
        let all = boxes.map {
            Detection(
                x1: Float($0[0]), y1: Float($0[1]), x2: Float($0[2]), y2: Float($0[3]), confidence: Float($0[4]),
                classIndex: Int($0[5]))
        }
        #expect(
            PredictionLabels.text(all, imageWidth: width, imageHeight: height, confidence: true)
                == withConf.map { $0 + "\n" }.joined())
        #expect(PredictionLabels.text([], imageWidth: width, imageHeight: height, confidence: true).isEmpty)
    }

    @Test func cropRegionsAreSaveOneBox() throws {
        let crops = try Self.section("crops")
        let width = try #require(crops["width"] as? Int)
        let height = try #require(crops["height"] as? Int)
        let cases = try #require(crops["cases"] as? [[String: Any]])
        #expect(cases.count >= 7)
        for c in cases {
            let box = try #require(c["box"] as? [Double]).map { Float($0) }
            for (key, square) in [("crop", false), ("square", true)] {
                let expected = try #require(c[key] as? [Int])
                let region = CropRegion(
                    x1: box[0], y1: box[1], x2: box[2], y2: box[3], imageWidth: width, imageHeight: height,
                    square: square)
                #expect([region.x1, region.y1, region.x2, region.y2] == expected, "\(box) square \(square)")
            }
        }
        // increment_path's names for a taken crop file: name.jpg, then name-2.jpg, name-3.jpg.
        #expect(crops["repeated_names"] as? [String] == ["val_00013-2.jpg", "val_00013-3.jpg", "val_00013.jpg"])
    }

    @Test func classFilterAndAgnosticNMSAreUltralytics() throws {
        let nms = try Self.section("nms")
        let classes = try #require(nms["classes"] as? Int)
        let anchors = try #require(nms["anchors"] as? Int)
        let output = try #require(nms["output"] as? [Double]).map { Float($0) }
        let runs = try #require(nms["runs"] as? [[String: Any]])
        #expect(runs.count == 5)
        var sawFilter = false
        var sawAgnostic = false
        for run in runs {
            var options = NMSOptions.predict
            options.confidenceThreshold = try #require(run["conf"] as? Double)
            options.iouThreshold = try #require(run["iou"] as? Double)
            options.classes = run["classes"] as? [Int]
            options.agnostic = try #require(run["agnostic"] as? Bool)
            let expected = try #require(run["detections"] as? [[Double]])
            var nmsRun = NonMaxSuppression(options: options)
            var found: [Detection] = []
            output.withUnsafeBufferPointer {
                nmsRun.run(output: $0.baseAddress!, anchors: anchors, classes: classes, into: &found)
            }
            let label = "classes \(options.classes ?? []) agnostic \(options.agnostic)"
            #expect(found.count == expected.count, "\(label)")
            for (d, e) in zip(found, expected) {
                #expect(
                    [d.x1, d.y1, d.x2, d.y2, d.confidence, Float(d.classIndex)] == e.map { Float($0) }, "\(label)")
            }
            if let keep = options.classes {
                #expect(found.allSatisfy { keep.contains($0.classIndex) })
                sawFilter = true
            }
            if options.agnostic { sawAgnostic = true }
        }
        #expect(sawFilter && sawAgnostic)
        // The settings change the result (the vectors would not notice a filter that did nothing).
        let counts = runs.map { ($0["detections"] as? [[Double]])?.count ?? -1 }
        #expect(Set(counts).count > 2, "\(counts)")
    }

    @Test func defaultLineWidthIsUltralyticsAnnotators() throws {
        let cases = try #require(Self.vectors["line_width"] as? [[String: Any]])
        #expect(cases.count >= 6)
        for c in cases {
            let w = try #require(c["width"] as? Int)
            let h = try #require(c["height"] as? Int)
            #expect(Annotator.defaultLineWidth(width: w, height: h) == c["line_width"] as? Int, "\(w)x\(h)")
        }
    }
}
