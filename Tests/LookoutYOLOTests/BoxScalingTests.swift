import Testing

@testable import LookoutYOLO

/// `BoxScaling` against the oracle's `scale_boxes` (vectors/scale_boxes_vectors.json) and the val ratio_pad path.
struct BoxScalingTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var input: (h: Int, w: Int)
        var original: (h: Int, w: Int)
        var boxes: [[Float]]
        var expected: [[Float]]
        var testDescription: String { "\(input.w)x\(input.h) -> \(original.w)x\(original.h)" }
    }

    static let cases: [Case] = Fixtures.cases("scale_boxes_vectors.json").compactMap { c in
        guard let i = c["input_shape"] as? [Int], let o = c["original_shape"] as? [Int],
            let b = c["boxes"] as? [[Double]], let e = c["expected"] as? [[Double]]
        else { return nil }
        return Case(
            input: (i[0], i[1]), original: (o[0], o[1]), boxes: b.map { $0.map { Float($0) } },
            expected: e.map { $0.map { Float($0) } })
    }

    @Test("scale_boxes to original pixels, clipped", arguments: cases)
    func predictPath(_ c: Case) {
        var dets = c.boxes.map { Detection(x1: $0[0], y1: $0[1], x2: $0[2], y2: $0[3], confidence: 1, classIndex: 0) }
        BoxScaling.toOriginal(
            &dets, inputWidth: c.input.w, inputHeight: c.input.h, originalWidth: c.original.w,
            originalHeight: c.original.h)
        #expect(c.expected.count == 12)
        for (d, e) in zip(dets, c.expected) { #expect([d.x1, d.y1, d.x2, d.y2] == e) }
    }

    @Test func valRatioPadMapsLetterboxedBoxesBack() {
        // 1280x1001 original: loaded 640x501 (ceil), letterboxed into 640x640 with 69 rows on top.
        let g = ValGeometry(
            originalWidth: 1280, originalHeight: 1001, imageSize: 640, targetWidth: 640, targetHeight: 640)
        #expect(g.loadedWidth == 640 && g.loadedHeight == 501)
        #expect(g.letterbox.top == 69 && g.letterbox.bottom == 70 && g.letterbox.left == 0)
        let rp = g.ratioPad
        #expect(rp.gainX == 0.5 && rp.gainY == 501.0 / 1001.0 && rp.padX == 0 && rp.padY == 69)
        var dets = [Detection(x1: 10, y1: 69, x2: 650, y2: 500, confidence: 1, classIndex: 0)]
        BoxScaling.toOriginal(&dets, ratioPad: rp, originalWidth: 1280, originalHeight: 1001)
        #expect(dets[0].x1 == Float(10) / Float(0.5))
        #expect(dets[0].y1 == 0)
        #expect(dets[0].x2 == 1280)  // clipped to the width itself
        #expect(dets[0].y2 == (Float(500) - 69) / Float(501.0 / 1001.0))
    }
}
