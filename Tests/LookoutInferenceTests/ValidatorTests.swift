import Foundation
import LookoutCore
import LookoutModel
import Testing

@testable import LookoutInference

/// Ultralytics' val protocol on the 120 shapes validation images with the static ONNX export: mAP50-95 agrees with
/// `ultralytics_map.json` (Ultralytics 8.4.190 `val()` on the same file with onnxruntime).
@Suite struct ValidatorTests {
    @Test func staticModelReachesUltralyticsMap() throws {
        let reference = try #require(
            try Fixtures.json(Fixtures.path("shapes/val/ultralytics_map.json")) as? [String: Any])
        let onnx = try #require(reference["onnx_static"] as? [String: Any])
        let expected = try #require(onnx["map50_95"] as? Double)
        let expected50 = try #require(onnx["map50"] as? Double)
        let detector = try Detector(model: try DetectionModel(path: Fixtures.staticModel), device: .cpu)
        var steps = 0
        let result = try Validator().run(detector: detector, folder: Fixtures.valFolder) { progress in
            steps += 1
            #expect(progress.total == 120)
        }
        let summary = result.summary
        print(
            String(
                format:
                    "val static: mAP50 %.5f (Ultralytics %.5f), mAP50-95 %.5f (Ultralytics %.5f), %d images, %d instances, %.1f s",
                summary.map50, expected50, summary.map50to95, expected, summary.images, summary.instances,
                result.seconds))
        #expect(result.failures.isEmpty, "\(result.failures)")
        #expect(steps == 120)
        #expect(summary.images == 120)
        #expect(summary.classes.map(\.classIndex) == [0, 1, 2, 3])
        #expect(abs(summary.map50to95 - expected) <= 0.003)
        #expect(abs(summary.map50 - expected50) <= 0.003)
    }

    /// Issue 12: the trained YOLO11n and YOLO26n (anchor and end-to-end heads) of ../shared/fixtures/shapes-v11-v26,
    /// against Ultralytics' `val()` on the same files (`ultralytics_onnx_val_map.json`), when that folder is there.
    static let families = Fixtures.repository + "/../shared/fixtures/shapes-v11-v26/"
    static var familyModels: [String] {
        ["shapes-yolo11n.onnx", "shapes-yolo26n.onnx", "shapes-yolo26n-end2end.onnx"].filter {
            FileManager.default.fileExists(atPath: families + $0)
        }
    }

    @Test(arguments: familyModels)
    func trainedFamilyReachesUltralyticsMap(model: String) throws {
        let reference = try #require(
            try Fixtures.json(Self.families + "ultralytics_onnx_val_map.json") as? [String: [String: Double]])
        let expected = try #require(reference[model]?["map50_95"])
        let detector = try Detector(model: try DetectionModel(path: Self.families + model), device: .cpu)
        let result = try Validator().run(detector: detector, folder: Fixtures.valFolder)
        print(String(format: "val %@: mAP50-95 %.7f (Ultralytics %.7f)", model, result.summary.map50to95, expected))
        #expect(result.failures.isEmpty, "\(result.failures)")
        #expect(abs(result.summary.map50to95 - expected) <= 0.003)
    }

    @Test func folderWithoutImagesIsAOneLineError() throws {
        let folder = try Fixtures.temporaryDirectory("val-empty")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let detector = try Detector(model: try DetectionModel(path: Fixtures.staticModel), device: .cpu)
        let error = try #require(throws: LookoutError.self) { try Validator().run(detector: detector, folder: folder) }
        #expect(error.description.contains(folder) && error.description.contains("images/"))
        #expect(!error.description.contains("\n"))
    }
}
