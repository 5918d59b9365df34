import Foundation
import Testing

@testable import LookoutCPU
@testable import LookoutModel

@Suite struct ScratchTests {
    @Test func staticModelMatchesORTOnOneImage() throws {
        let model = try DetectionModel(path: "/work/main/Tests/Fixtures/shapes/shapes-yolov8n.onnx")
        let plan = try model.plan(forInputShape: [1, 3, 640, 640])
        let exec = try CPUExecutor(plan: plan)
        let input = try Data(contentsOf: URL(fileURLWithPath: "/tmp/in.bin")).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let ref = try Data(contentsOf: URL(fileURLWithPath: "/tmp/out.bin")).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        var total = 0.0
        for (label, ms) in exec.profile(input: input) { total += ms; if ms > 3 { print(String(format: "%8.2f ms  %@", ms, label)) } }
        print("total", total)
        let out = exec.run(input: input)
        var maxBox: Float = 0, maxScore: Float = 0
        for c in 0..<8 { for a in 0..<8400 {
            let d = abs(out[c * 8400 + a] - ref[c * 8400 + a])
            if c < 4 { maxBox = max(maxBox, d) } else { maxScore = max(maxScore, d) }
        } }
        print("max box diff", maxBox, "max score diff", maxScore)
        #expect(maxBox < 0.01)
        #expect(maxScore < 1e-4)
    }
}
