import Foundation
import LookoutCore
import LookoutMedia
import LookoutModel
import LookoutYOLO
import Testing

@testable import LookoutInference

/// `DetectOptions` checks, `--imgsz` handling (Ultralytics' `check_imgsz` rounding; fixed models ignore it) and
/// `PredictionSaver`'s folder layout (`BasePredictor.write_results`, `Results.save_txt`, `save_crop`).
@Suite(.serialized) struct PredictOptionsTests {
    nonisolated(unsafe) static let vectors: [String: Any] = {
        let path = Fixtures.root + "/predict/vectors.json"
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path)),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return [:] }
        return object
    }()

    @Test func imageSizeIsRoundedUpToTheStrideAsCheckImgsz() throws {
        let detector = try Detector(model: try DetectionModel(path: Fixtures.dynamicModel), device: .cpu)
        let cases = try #require(Self.vectors["imgsz"] as? [[String: Any]], "vectors.json has no imgsz")
        #expect(cases.count >= 6)
        for c in cases {
            let requested = try #require(c["imgsz"] as? Int)
            // check_imgsz(s, stride=32, min_dim=2) returns [s', s'].
            let checked = try #require(c["checked"] as? [Int])
            let choice = detector.imageSizeChoice(requested)
            #expect(choice.size == checked[0], "imgsz \(requested)")
            if checked[0] == requested {
                #expect(choice == .asRequested(requested))
                #expect(choice.note == nil)
            } else {
                #expect(choice == .rounded(from: requested, to: checked[0], stride: 32))
                #expect(choice.note?.contains("`imageSize` \(requested) is not a multiple") == true)
            }
        }
        // 641 used to fail inside the model's Concat; rounded to 672 it runs.
        let image = try ImageDecoder.decode(file: Fixtures.valImages + "/val_00013.jpg")
        var options = DetectOptions()
        options.imageSize = 641
        let result = try detector.detect(image, options: options)
        #expect(max(result.inputWidth, result.inputHeight) == 672)
        #expect(!result.detections.isEmpty)
    }

    @Test func fixedModelsIgnoreTheImageSize() throws {
        let detector = try Detector(model: try DetectionModel(path: Fixtures.staticModel), device: .cpu)
        let choice = detector.imageSizeChoice(320)
        #expect(choice == .ignored(requested: 320, width: 640, height: 640))
        #expect(choice.note?.contains("is ignored") == true)
        #expect(detector.imageSizeChoice(nil) == .modelDefault(640))
        let image = try ImageDecoder.decode(file: Fixtures.valImages + "/val_00013.jpg")
        var options = DetectOptions()
        options.imageSize = 320
        let result = try detector.detect(image, options: options)
        #expect(result.inputWidth == 640 && result.inputHeight == 640)
    }

    @Test func classesMustBeClassesOfTheModel() throws {
        let detector = try Detector(model: try DetectionModel(path: Fixtures.staticModel), device: .cpu)
        let image = try ImageDecoder.decode(file: Fixtures.valImages + "/val_00013.jpg")
        var options = DetectOptions()
        options.classes = [1, 4]
        do {
            _ = try detector.detect(image, options: options)
            Issue.record("class 4 of a 4-class model was accepted")
        } catch {
            #expect(error.parameter == "classes")
            #expect(error.message.contains("4 is not a class of this model") && error.message.contains("3 star"))
        }
        options.classes = [-1]
        #expect(throws: LookoutError.self) { try options.validate() }
        options.classes = [1, 3]
        let filtered = try detector.detect(image, options: options)
        let all = try detector.detect(image)
        #expect(!filtered.detections.isEmpty && filtered.detections.count < all.detections.count)
        #expect(filtered.detections.allSatisfy { [1, 3].contains($0.classIndex) })
        // Filtering before NMS: the kept boxes of classes 1 and 3 are those of the unfiltered run.
        #expect(filtered.detections == all.detections.filter { [1, 3].contains($0.classIndex) })
    }

    static func detection(_ c: Int, _ conf: Float, _ box: (Float, Float, Float, Float)) -> Detection {
        Detection(x1: box.0, y1: box.1, x2: box.2, y2: box.3, confidence: conf, classIndex: c)
    }

    @Test func saverWritesUltralyticsLayout() throws {
        let folder = try Fixtures.temporaryDirectory("saver")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var options = SaveOptions()
        options.labels = true
        options.labelConfidence = true
        options.crops = true
        options.annotated = true
        let names = ["circle", "square", "triangle", "star"]
        let saver = try PredictionSaver(directory: folder, options: options, names: names)
        let image = BGRImage(width: 200, height: 100, fill: 80)
        let two = [Self.detection(3, 0.9, (10, 10, 60, 50)), Self.detection(3, 0.5, (100, 20, 150, 90))]
        // Same stem twice (bus.jpg + bus.png in Ultralytics' words): the second is bus-2.
        #expect(try saver.save(image, detections: two, source: "a/bus.jpg") == "bus")
        #expect(try saver.save(image, detections: [], source: "b/bus.png") == "bus-2")
        // A video keeps its base name; frames are numbered as given.
        #expect(try saver.save(image, detections: two, source: "clip.mp4", frame: 1) == "clip_1")
        #expect(try saver.save(image, detections: two, source: "clip.mp4", frame: 2) == "clip_2")
        try saver.finish()
        let fm = FileManager.default
        let labels = try fm.contentsOfDirectory(atPath: folder + "/labels").sorted()
        // No file for the image without detections.
        #expect(labels == ["bus.txt", "clip_1.txt", "clip_2.txt"])
        let text = try String(contentsOfFile: folder + "/labels/bus.txt", encoding: .utf8)
        #expect(text == "3 0.175 0.3 0.25 0.4 0.9\n3 0.625 0.55 0.25 0.7 0.5\n")
        // Two crops of one class from one image: bus.jpg, then bus-2.jpg.
        let crops = try fm.contentsOfDirectory(atPath: folder + "/crops/star").sorted()
        #expect(crops == ["bus-2.jpg", "bus.jpg", "clip_1-2.jpg", "clip_1.jpg", "clip_2-2.jpg", "clip_2.jpg"])
        let crop = try ImageDecoder.decode(file: folder + "/crops/star/bus.jpg")
        let region = CropRegion(two[0], imageWidth: 200, imageHeight: 100)
        #expect(crop.width == region.width && crop.height == region.height)
        #expect(fm.fileExists(atPath: folder + "/bus.jpg") && fm.fileExists(atPath: folder + "/bus-2.png"))
        #expect(fm.fileExists(atPath: folder + "/clip.mp4"))

        // A second run into the same folder replaces label files instead of appending.
        let again = try PredictionSaver(directory: folder, options: options, names: names)
        try again.save(image, detections: [two[1]], source: "a/bus.jpg")
        let replaced = try String(contentsOfFile: folder + "/labels/bus.txt", encoding: .utf8)
        #expect(replaced == "3 0.625 0.55 0.25 0.7 0.5\n")
        // …and an image that has no detections any more removes its stale file.
        try again.save(image, detections: [], source: "clip.mp4", frame: 1)
        #expect(!fm.fileExists(atPath: folder + "/labels/clip_1.txt"))
    }

    @Test func labelsWithoutConfidenceHaveFiveColumns() throws {
        let folder = try Fixtures.temporaryDirectory("saver-plain")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var options = SaveOptions()
        options.labels = true
        let saver = try PredictionSaver(directory: folder, options: options, names: ["a", "b"])
        try saver.save(
            detections: [Self.detection(1, 0.7, (0, 0, 40, 30))], width: 80, height: 60, image: nil, source: "x.jpg")
        let text = try String(contentsOfFile: folder + "/labels/x.txt", encoding: .utf8)
        #expect(text == "1 0.25 0.25 0.5 0.5\n")
        #expect(!FileManager.default.fileExists(atPath: folder + "/crops"))
    }
}
