import Foundation
import LookoutMedia
import Testing

@testable import LookoutYOLO

/// The whole predict path against real Ultralytics output: decode a val JPEG, letterbox it into the tensor
/// (CRC equal to the tensor onnxruntime was given), then NMS and scale_boxes on onnxruntime's committed output0
/// must reproduce shapes/val/ultralytics_onnx_static_predictions.json (Ultralytics 8.4.190, rounded to 4 and 6
/// decimals there; onnxruntime 1.30 there, 1.32 for the committed outputs).
struct PredictPathTests {
    /// Image name to the CRC-32 of the float32 tensor onnxruntime was given.
    static let tensorCRC: [String: UInt32] = {
        let images = (Fixtures.json("e2e/index.json") as? [String: Any])?["images"] as? [String: [String: Any]] ?? [:]
        return images.compactMapValues { ($0["tensor_crc32"] as? Int).map { UInt32($0) } }
    }()
    static let names = tensorCRC.keys.sorted()

    @Test func vectorsArePresent() {
        #expect(Self.names.count == 4)
    }

    @Test("decode, letterbox, NMS and scale_boxes reproduce Ultralytics", arguments: names)
    func predict(name: String) throws {
        let image = try ImageDecoder.decode(file: Fixtures.root + "/shapes/val/images/" + name)
        let geometry = LetterboxGeometry(
            sourceWidth: image.width, sourceHeight: image.height, targetWidth: 640, targetHeight: 640)
        var tensor = [Float](repeating: 0, count: 3 * 640 * 640)
        var writer = LetterboxTensorWriter()
        image.withPixels { px in
            tensor.withUnsafeMutableBufferPointer { writer.write(px, geometry: geometry, into: $0.baseAddress!) }
        }
        #expect(tensor.withUnsafeBytes { Checksum.crc32($0) } == Self.tensorCRC[name])

        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.root + "/vectors/e2e/\(name).output0.f32"))
        let output = data.withUnsafeBytes { raw in
            (0..<(8 * 8400)).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
        }
        var nms = NonMaxSuppression(options: .predict)
        var detections: [Detection] = []
        output.withUnsafeBufferPointer {
            nms.run(output: $0.baseAddress!, anchors: 8400, classes: 4, into: &detections)
        }
        BoxScaling.toOriginal(
            &detections, inputWidth: 640, inputHeight: 640, originalWidth: image.width, originalHeight: image.height)

        let all = Fixtures.json("../shapes/val/ultralytics_onnx_static_predictions.json") as? [String: Any]
        let expected = try #require(all?[name] as? [String: Any])
        let boxes = expected["xyxy"] as? [[Double]] ?? []
        let conf = expected["conf"] as? [Double] ?? []
        let cls = expected["cls"] as? [Int] ?? []
        #expect(expected["shape"] as? [Int] == [image.height, image.width])
        #expect(detections.count == boxes.count)
        for (i, d) in detections.enumerated() where i < boxes.count {
            #expect(d.classIndex == cls[i])
            #expect(abs(Double(d.confidence) - conf[i]) < 2e-5)
            let mine = [d.x1, d.y1, d.x2, d.y2].map(Double.init)
            for k in 0..<4 { #expect(abs(mine[k] - boxes[i][k]) < 2e-3, "box \(i) coordinate \(k)") }
        }
    }
}
