import Foundation
import Testing

@testable import LookoutCPU
@testable import LookoutModel

/// A batch of three images gives each image the output it gets alone: the batched plan (channel views with gaps,
/// per-image kernels) changes nothing numerically.
@Suite struct BatchEquivalenceTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var model: String
        var size: (h: Int, w: Int)
        var testDescription: String { "\((model as NSString).lastPathComponent) \(size.h)x\(size.w)" }
    }

    static var cases: [Case] {
        [
            Case(model: Fixtures.dynamicModel, size: (256, 320)),
            Case(model: Matrix.folder + "/u84-dynamic.onnx", size: (96, 160)),
            Case(model: Matrix.folder + "/u83-op11-dynamic.onnx", size: (128, 96)),
            Case(model: Matrix.folder + "/u80-dynamic.onnx", size: (64, 64)),
        ]
    }

    @Test(arguments: cases)
    func batchOfThreeEqualsThreeSingleRuns(c: Case) throws {
        if c.model.hasPrefix(Matrix.folder) {
            _ = try Fixtures.generated("onnx/" + (c.model as NSString).lastPathComponent)
        }
        let model = try DetectionModel(path: c.model)
        let single = try CPUExecutor(plan: try model.plan(forInputShape: [1, 3, c.size.h, c.size.w]))
        let batched = try CPUExecutor(plan: try model.plan(forInputShape: [3, 3, c.size.h, c.size.w]))
        var random = SeededRandom(seed: 42)
        let images = (0..<3).map { _ in random.floats(3 * c.size.h * c.size.w, 0, 1) }
        let alone = images.map { single.run(input: $0) }
        let together = batched.run(input: images.flatMap { $0 })
        try #require(together.count == 3 * alone[0].count)
        var worst: Float = 0
        for (n, y) in alone.enumerated() {
            for (i, v) in y.enumerated() {
                let w = together[n * y.count + i]
                worst = max(worst, abs(v - w) / max(1, abs(v)))
            }
        }
        print("batch 3 vs 3 x batch 1, \(c.testDescription): max relative difference \(worst)")
        #expect(worst <= 1e-5)
        // The three outputs really differ (the images are not mixed up or repeated).
        #expect(alone[0] != alone[1] && alone[1] != alone[2])
    }
}
