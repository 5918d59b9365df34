import Foundation
import LookoutMedia
import LookoutModel
import LookoutYOLO
import Testing

@testable import LookoutInference

/// `Detector.detect(batch:)`: images of one size share the minimal rectangle and get exactly what each gets alone;
/// mixed sizes get the full square, as in Ultralytics.
@Suite struct BatchedDetectionTests {
    /// The top-left `width`×`height` of an image.
    static func crop(_ image: BGRImage, width: Int, height: Int) -> BGRImage {
        var pixels: [UInt8] = []
        pixels.reserveCapacity(width * height * 3)
        for y in 0..<height {
            let start = y * image.rowBytes
            pixels.append(contentsOf: image.pixels[start..<(start + width * 3)])
        }
        return BGRImage(width: width, height: height, pixels: pixels)!
    }

    static func images(_ names: [String]) throws -> [BGRImage] {
        try names.map { try ImageDecoder.decode(file: Fixtures.valImages + "/" + $0) }
    }

    @Test func sameSizeBatchEqualsSingleImages() throws {
        let detector = try Detector(model: try DetectionModel(path: Fixtures.dynamicModel), device: .cpu)
        let images = try Self.images(["val_00000.jpg", "val_00001.jpg", "val_00004.jpg"]).map {
            Self.crop($0, width: 460, height: 300)
        }
        let batch = try detector.detect(batch: images)
        try #require(batch.count == 3)
        for (image, result) in zip(images, batch) {
            let alone = try detector.detect(image)
            #expect((result.inputWidth, result.inputHeight) == (alone.inputWidth, alone.inputHeight))
            #expect(result.inputHeight < 640, "same-size images use the minimal rectangle")
            #expect(result.detections.count == alone.detections.count)
            for (a, b) in zip(result.detections, alone.detections) {
                #expect(a.classIndex == b.classIndex)
                #expect(abs(a.confidence - b.confidence) <= 1e-5)
                #expect(max(abs(a.x1 - b.x1), abs(a.y1 - b.y1), abs(a.x2 - b.x2), abs(a.y2 - b.y2)) <= 1e-3)
            }
        }
        #expect(batch.map(\.detections.count).reduce(0, +) > 0)
    }

    @Test func mixedSizesUseTheFullSquare() throws {
        let detector = try Detector(model: try DetectionModel(path: Fixtures.dynamicModel), device: .cpu)
        let names = ["val_00000.jpg", "val_00002.jpg", "val_00003.jpg"]
        let images = try Self.images(names)
        let batch = try detector.detect(batch: images)
        try #require(batch.count == 3)
        let reference = try #require(
            try Fixtures.json(Fixtures.path("shapes/val/ultralytics_onnx_static_predictions.json")) as? [String: Any])
        for (name, result) in zip(names, batch) {
            #expect((result.inputWidth, result.inputHeight) == (640, 640))
            // The square letterbox is what the static export sees: its Ultralytics boxes come back.
            let boxes = (reference[name] as? [String: Any])?["xyxy"] as? [[Double]] ?? []
            let found = boxes.filter { box in
                result.detections.contains { d in
                    let w = max(0, min(Double(d.x2), box[2]) - max(Double(d.x1), box[0]))
                    let h = max(0, min(Double(d.y2), box[3]) - max(Double(d.y1), box[1]))
                    let union = Double(d.width * d.height) + (box[2] - box[0]) * (box[3] - box[1]) - w * h
                    return w * h / union >= 0.95
                }
            }
            #expect(found.count == boxes.count, "\(name): \(found.count) of \(boxes.count) boxes")
        }
    }
}
