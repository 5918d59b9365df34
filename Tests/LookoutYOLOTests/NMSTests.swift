import Testing

@testable import LookoutYOLO

/// `NonMaxSuppression` against the NumPy oracle of Ultralytics' `non_max_suppression` + torchvision `nms`
/// (vectors/nms_vectors.json): the same detections, bit for bit, in the same order, from the same anchors.
struct NMSTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var anchors: Int
        var classes: Int
        var options: NMSOptions
        var input: [Float]
        var expected: [[Float]]
        var anchorIndices: [Int]
        var testDescription: String { name }
    }

    /// Recomputes a generated input exactly as scripts/fixtures/make_nms_vectors.py does (float32 operations).
    static func generate(seed: Int, anchors: Int, classes: Int, boxScale: Float, squarings: Int) -> [Float] {
        var out = TestPattern.unit(seed: seed, count: (4 + classes) * anchors)
        for a in 0..<anchors {
            out[a] = out[a] * 640
            out[anchors + a] = out[anchors + a] * 640
            out[2 * anchors + a] = out[2 * anchors + a] * boxScale + 2
            out[3 * anchors + a] = out[3 * anchors + a] * boxScale + 2
        }
        for i in (4 * anchors)..<out.count {
            for _ in 0..<squarings { out[i] = out[i] * out[i] }
        }
        return out
    }

    static let cases: [Case] = Fixtures.cases("nms_vectors.json").compactMap { c in
        guard let name = c["name"] as? String, let anchors = c["anchors"] as? Int, let classes = c["classes"] as? Int,
            let o = c["options"] as? [String: Any], let expected = c["expected"] as? [[Double]],
            let indices = c["anchor_indices"] as? [Int]
        else { return nil }
        let options = NMSOptions(
            confidenceThreshold: o["conf"] as? Double ?? 0.25, iouThreshold: o["iou"] as? Double ?? 0.7,
            classes: o["classes"] as? [Int], agnostic: o["agnostic"] as? Bool ?? false,
            multiLabel: o["multi_label"] as? Bool ?? false, maxDetections: o["max_det"] as? Int ?? 300,
            maxCandidates: o["max_nms"] as? Int ?? 30000)
        var input: [Float]
        if let g = c["generator"] as? [String: Any], let seed = g["seed"] as? Int, let scale = g["box_scale"] as? Int,
            let squarings = g["squarings"] as? Int
        {
            input = generate(
                seed: seed, anchors: anchors, classes: classes, boxScale: Float(scale), squarings: squarings)
        } else {
            input = (c["input"] as? [Double] ?? []).map { Float($0) }
        }
        return Case(
            name: name, anchors: anchors, classes: classes, options: options, input: input,
            expected: expected.map { $0.map { Float($0) } }, anchorIndices: indices)
    }

    @Test func vectorsArePresent() {
        #expect(Self.cases.count >= 19)
    }

    @Test("same detections as the Ultralytics oracle", arguments: cases)
    func matchesOracle(_ c: Case) {
        var nms = NonMaxSuppression(options: c.options)
        var detections: [Detection] = []
        // Put the image in batch slot 1 of 2 to check the base-pointer contract.
        let slot = c.input.count
        let batch = [Float](repeating: 0.99, count: slot) + c.input
        batch.withUnsafeBufferPointer {
            nms.run(output: $0.baseAddress! + slot, anchors: c.anchors, classes: c.classes, into: &detections)
        }
        #expect(detections.count == c.expected.count)
        #expect(nms.lastAnchorIndices == c.anchorIndices)
        for (d, e) in zip(detections, c.expected) {
            #expect([d.x1, d.y1, d.x2, d.y2, d.confidence, Float(d.classIndex)] == e)
        }
        // Sorted by descending confidence.
        #expect(zip(detections, detections.dropFirst()).allSatisfy { $0.confidence >= $1.confidence })
    }

    @Test func reuseGivesTheSameResult() {
        guard let c = Self.cases.first else { return }
        var nms = NonMaxSuppression(options: c.options)
        var first: [Detection] = []
        var second: [Detection] = []
        c.input.withUnsafeBufferPointer { p in
            nms.run(output: p.baseAddress!, anchors: c.anchors, classes: c.classes, into: &first)
            nms.run(output: p.baseAddress!, anchors: c.anchors, classes: c.classes, into: &second)
        }
        #expect(first == second)
    }
}
