import Foundation
import Testing

@testable import LookoutCPU
@testable import LookoutModel

/// Every export of the matrix (YOLOv8 from Ultralytics 8.0–8.4, opsets 11–20, static/dynamic/raw/fp16; YOLO11 and
/// YOLO26 from 8.4, YOLO26 with its one-to-many and its end-to-end head) loads, and the CPU engine reproduces
/// onnxruntime's output0 on the manifest's cases (seeded uniform inputs, batch 1 and 2): anchor outputs
/// `[N, 4 + nc, A]` element by element, end-to-end outputs `[N, rows, 6]` row by row (`EndToEndError`).
@Suite struct ONNXMatrixTests {
    /// Tolerances on |engine − onnxruntime|: box rows (pixels of the 128-px input) and score rows.
    struct Tolerance {
        var box: Float
        var score: Float
    }

    /// fp32 graphs compute what onnxruntime computes, up to summation order.
    static let fp32 = Tolerance(box: 0.01, score: 1e-4)
    /// Graphs with float16 weights (fp16 IO or not): onnxruntime runs its float16 kernels (float16 intermediates in
    /// every layer), while the engine computes in fp32 on the same float16 weights and rounds only where the graph
    /// casts and at float16 IO. Measured: up to 1.57 px and 7.7e-3 (u84-half). That is float16 arithmetic, not the
    /// engine: onnxruntime itself moves by up to 1.04 px / 5.2e-3 between its fp16 kernels and an fp32 upcast of the
    /// same graph, and the engine matches that fp32 upcast (input rounded where the graph casts) to 1.7e-3 px and
    /// 6.4e-6 (checked with scripts/fixtures' upcast, onnxruntime 1.32). Bounds: 2 px on boxes of a 128-px input
    /// (fp16 ulp is 0.25 px at 256–512 px) and 0.01 on scores.
    static let fp16 = Tolerance(box: 2.0, score: 0.01)

    @Test(arguments: Matrix.modelNames)
    func engineMatchesOnnxruntime(name: String) throws {
        let entry = try Matrix.model(name)
        let file = try Fixtures.generated("onnx/" + (entry["file"] as? String ?? "?"))
        let model = try DetectionModel(path: file)
        let fp16Weights = entry["fp16_weights"] as? Bool ?? false
        let fp16IO = entry["fp16_io"] as? Bool ?? false
        #expect(model.inputType == (fp16IO ? .float16 : .float))
        #expect(model.isDynamic == (entry["dynamic"] as? Bool ?? false))
        #expect(model.classNames == ["circle", "square", "triangle", "star"])
        let endToEnd = entry["head"] as? String == "end-to-end"
        if endToEnd {
            #expect(model.head == .endToEnd(rows: 300))
        } else {
            #expect(model.head == .anchors)
        }
        let tolerance = fp16Weights ? Self.fp16 : Self.fp32
        let cases = entry["cases"] as? [[String: Any]] ?? []
        #expect(cases.count == 2)
        var worst = OutputError()
        var worstRows = EndToEndError()
        for (k, c) in cases.enumerated() {
            let input = try #require(c["input"] as? [String: Any])
            let output = try #require((c["outputs"] as? [[String: Any]])?.first)
            let inputShape = try #require(input["shape"] as? [Int])
            let outputShape = try #require(output["shape"] as? [Int])
            let x = try Fixtures.floats(
                try Fixtures.generated("onnx/" + (input["file"] as? String ?? "?")),
                dtype: input["dtype"] as? String ?? "")
            let expected = try Fixtures.floats(
                try Fixtures.generated("onnx/" + (output["file"] as? String ?? "?")),
                dtype: output["dtype"] as? String ?? "")
            let plan = try model.plan(forInputShape: inputShape)
            #expect(plan.graph.shape(plan.graph.outputs[0]) == outputShape)
            let executor = try CPUExecutor(
                plan: plan, halfInput: model.inputType == .float16, halfOutput: model.outputType == .float16)
            let y = executor.run(input: x)
            try #require(y.count == expected.count)
            if endToEnd {
                let error = EndToEndError(y, expected, shape: outputShape, tolerance: tolerance)
                #expect(error.unmatched == 0, "case \(k) \(inputShape): \(error)")
                #expect(error.unsorted == 0, "case \(k) \(inputShape): \(error)")
                #expect(error.box <= tolerance.box, "case \(k) \(inputShape): \(error)")
                #expect(error.score <= tolerance.score, "case \(k) \(inputShape): \(error)")
                worstRows.merge(error)
            } else {
                let error = OutputError(y, expected, shape: outputShape)
                #expect(error.box <= tolerance.box, "case \(k) \(inputShape): \(error)")
                #expect(error.score <= tolerance.score, "case \(k) \(inputShape): \(error)")
                worst.merge(error)
            }
        }
        let weights = fp16Weights ? " (fp16 weights\(fp16IO ? ", fp16 IO" : ""))" : ""
        print("matrix \(name)\(weights): max |engine - onnxruntime| \(endToEnd ? "\(worstRows)" : "\(worst)")")
    }
}

/// Differences between an end-to-end output and its reference, `[batch][rows][x1, y1, x2, y2, score, class]`.
///
/// Rows are matched, not compared by position. The graph's two TopK (the best class score per anchor, then the top
/// rows of anchor × class) sort by score. The engine's scores differ from onnxruntime's by up to ~1e-5 (summation
/// order) while the references have score gaps down to ~1.5e-6, so two nearly equal rows can come out in the other
/// order (measured: one swapped pair in y26n-e2e), and at the last place kept TopK could pick the other anchor.
/// So each reference row is paired greedily, in reference order, with the unused engine row of the same class
/// (compared exactly) whose score is closest, among those within the box and score tolerance. A row left without a
/// partner (reference or engine) is allowed only at the cut: its score within the score tolerance of the lowest
/// reference score. Anywhere else it counts in `unmatched`. The engine's own rows must come by non-increasing
/// score (`unsorted`).
struct EndToEndError: CustomStringConvertible {
    var box: Float = 0
    var score: Float = 0
    /// Rows (reference or engine) without a partner within tolerance, away from the TopK cut.
    var unmatched = 0
    /// Reference rows paired with an engine row at another position (nearly equal scores in the other order).
    var reordered = 0
    /// Reference rows without a partner at the cut (TopK kept the other anchor of a near tie).
    var atCut = 0
    /// Engine rows with a higher score than the row before them.
    var unsorted = 0

    init() {}

    init(_ output: [Float], _ reference: [Float], shape: [Int], tolerance: ONNXMatrixTests.Tolerance) {
        precondition(output.count == reference.count && shape.count == 3 && shape[2] == 6)
        let (batch, rows) = (shape[0], shape[1])
        for b in 0..<batch {
            func e(_ i: Int, _ c: Int) -> Float { output[(b * rows + i) * 6 + c] }
            func r(_ i: Int, _ c: Int) -> Float { reference[(b * rows + i) * 6 + c] }
            let cut = (0..<rows).map { r($0, 4) }.min() ?? 0
            unsorted += (1..<max(rows, 1)).filter { e($0, 4) > e($0 - 1, 4) }.count
            var used = [Bool](repeating: false, count: rows)
            for i in 0..<rows {
                var best: (index: Int, score: Float, box: Float)?
                for j in 0..<rows where !used[j] && e(j, 5) == r(i, 5) {
                    let ds = abs(e(j, 4) - r(i, 4))
                    let db = max(
                        abs(e(j, 0) - r(i, 0)), abs(e(j, 1) - r(i, 1)), abs(e(j, 2) - r(i, 2)), abs(e(j, 3) - r(i, 3)))
                    if ds <= tolerance.score && db <= tolerance.box && ds < best?.score ?? .infinity {
                        best = (j, ds, db)
                    }
                }
                if let best {
                    used[best.index] = true
                    score = max(score, best.score)
                    box = max(box, best.box)
                    if best.index != i { reordered += 1 }
                } else if r(i, 4) - cut <= tolerance.score {
                    atCut += 1
                } else {
                    unmatched += 1
                }
            }
            // The engine rows left over must sit at the cut too (as many as the reference rows left there).
            unmatched += (0..<rows).filter { !used[$0] && e($0, 4) - cut > tolerance.score }.count
        }
    }

    mutating func merge(_ other: EndToEndError) {
        box = max(box, other.box)
        score = max(score, other.score)
        unmatched += other.unmatched
        reordered += other.reordered
        atCut += other.atCut
        unsorted += other.unsorted
    }

    var description: String {
        "rows: box \(box) px, score \(score); \(unmatched) unmatched, \(reordered) reordered, \(atCut) left at the TopK cut, \(unsorted) unsorted"
    }
}
