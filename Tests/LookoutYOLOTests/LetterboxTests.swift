import LookoutMedia
import Testing

@testable import LookoutYOLO

/// Letterbox geometry (vectors/letterbox_vectors.json) and the model-input tensor (vectors/tensor_vectors.json).
struct LetterboxTests {
    struct GeometryCase: Sendable, CustomTestStringConvertible {
        var h: Int, w: Int, newW: Int, newH: Int, top: Int, bottom: Int, left: Int, right: Int
        var testDescription: String { "\(h)x\(w)" }
    }

    static let geometryCases: [GeometryCase] = ((Fixtures.json("letterbox_vectors.json") as? [[String: Any]]) ?? [])
        .compactMap { c in
            guard let h = c["h"] as? Int, let w = c["w"] as? Int, let unpad = c["new_unpad_wh"] as? [Int],
                let top = c["top"] as? Int, let bottom = c["bottom"] as? Int, let left = c["left"] as? Int,
                let right = c["right"] as? Int
            else { return nil }
            return GeometryCase(
                h: h, w: w, newW: unpad[0], newH: unpad[1], top: top, bottom: bottom, left: left, right: right)
        }

    @Test("LetterBox.get_params at 640x640", arguments: geometryCases)
    func geometry(_ c: GeometryCase) {
        let g = LetterboxGeometry(sourceWidth: c.w, sourceHeight: c.h, targetWidth: 640, targetHeight: 640)
        #expect(g.resizedWidth == c.newW && g.resizedHeight == c.newH)
        #expect([g.top, g.bottom, g.left, g.right] == [c.top, c.bottom, c.left, c.right])
        #expect(g.outputWidth == 640 && g.outputHeight == 640)
    }

    @Test func geometryCasesArePresent() {
        #expect(Self.geometryCases.count == 18)
    }

    @Test func autoModePadsToTheStride() {
        // 1280x720 under rect predict: 640x360 content, padded to 384 (12 rows above and below).
        let g = LetterboxGeometry(sourceWidth: 1280, sourceHeight: 720, targetWidth: 640, targetHeight: 640, auto: true)
        #expect(g.outputWidth == 640 && g.outputHeight == 384 && g.top == 12 && g.bottom == 12)
    }

    @Test func scaleUpOffKeepsSmallImages() {
        let g = LetterboxGeometry(
            sourceWidth: 200, sourceHeight: 300, targetWidth: 640, targetHeight: 640, scaleUp: false)
        #expect(g.resizedWidth == 200 && g.resizedHeight == 300 && !g.needsResize)
        #expect(g.left == 220 && g.right == 220 && g.top == 170 && g.bottom == 170)
    }

    @Test func uncenteredPutsAllPaddingBottomRight() {
        let g = LetterboxGeometry(
            sourceWidth: 1280, sourceHeight: 720, targetWidth: 640, targetHeight: 640, center: false)
        #expect(g.top == 0 && g.left == 0 && g.bottom == 280 && g.right == 0)
    }

    struct TensorCase: Sendable, CustomTestStringConvertible {
        var kind: String, seed: Int, h: Int, w: Int, targetH: Int, targetW: Int, auto: Bool, scaleUp: Bool
        var shape: [Int], letterboxCRC: UInt32, float32CRC: UInt32, float16CRC: UInt32
        var testDescription: String { "\(kind) \(w)x\(h) -> \(targetW)x\(targetH)\(auto ? " auto" : "")" }
    }

    static let tensorCases: [TensorCase] = Fixtures.cases("tensor_vectors.json").compactMap { c in
        guard let kind = c["kind"] as? String, let seed = c["seed"] as? Int, let source = c["source"] as? [Int],
            let target = c["target"] as? [Int], let shape = c["shape"] as? [Int],
            let lb = c["letterbox_crc32"] as? Int, let f32 = c["float32_crc32"] as? Int,
            let f16 = c["float16_crc32"] as? Int
        else { return nil }
        return TensorCase(
            kind: kind, seed: seed, h: source[0], w: source[1], targetH: target[0], targetW: target[1],
            auto: c["auto"] as? Bool ?? false, scaleUp: c["scaleup"] as? Bool ?? false, shape: shape,
            letterboxCRC: UInt32(lb), float32CRC: UInt32(f32), float16CRC: UInt32(f16))
    }

    @Test("letterboxed NCHW tensors equal Ultralytics' (float32 and float16)", arguments: tensorCases)
    func tensor(_ c: TensorCase) {
        let image = TestPattern.image(seed: c.seed, height: c.h, width: c.w)
        let count = c.shape.reduce(1, *)
        // Batch of two: the image goes into slot 1, slot 0 must stay untouched.
        var f32 = [Float](repeating: -1, count: 2 * count)
        var f16 = [Float16](repeating: -1, count: 2 * count)
        var letterboxed = BGRImage()
        if c.kind == "predict" {
            let g = LetterboxGeometry(
                sourceWidth: c.w, sourceHeight: c.h, targetWidth: c.targetW, targetHeight: c.targetH, auto: c.auto,
                scaleUp: c.scaleUp)
            #expect([3, g.outputHeight, g.outputWidth] == c.shape)
            var writer = LetterboxTensorWriter()
            image.withPixels { px in
                writer.letterbox(px, geometry: g, into: &letterboxed)
                f32.withUnsafeMutableBufferPointer { writer.write(px, geometry: g, into: $0.baseAddress!, slot: 1) }
                f16.withUnsafeMutableBufferPointer { writer.write(px, geometry: g, into: $0.baseAddress!, slot: 1) }
            }
        } else {
            var pre = ValPreprocessor()
            image.withPixels { px in
                _ = pre.letterbox(px, targetWidth: c.targetW, targetHeight: c.targetH, into: &letterboxed)
                f32.withUnsafeMutableBufferPointer { _ = pre.write(px, into: $0.baseAddress!, slot: 1) }
                f16.withUnsafeMutableBufferPointer { _ = pre.write(px, into: $0.baseAddress!, slot: 1) }
            }
        }
        #expect(letterboxed.pixels.crc32 == c.letterboxCRC)
        #expect(f32[..<count].allSatisfy { $0 == -1 })
        #expect(Array(f32[count...]).withUnsafeBytes { Checksum.crc32($0) } == c.float32CRC)
        #expect(Array(f16[count...]).withUnsafeBytes { Checksum.crc32($0) } == c.float16CRC)
    }

    @Test func divisionIsTrueDivision() {
        // 126 of the 256 byte values differ between x / 255 and x * (1 / 255); the table must hold the former.
        for v in 0..<256 { #expect(LetterboxTensorWriter.float32Table[v] == Float(v) / 255) }
        let multiplied = (0..<256).filter { Float($0) * (1 / Float(255)) != Float($0) / 255 }.count
        #expect(multiplied == 126)
    }
}
