import Testing

@testable import LookoutCPU
@testable import LookoutModel

/// The operators YOLO11 and YOLO26 brought: MatMul (C2PSA/PSA attention) and the end-to-end head's ReduceMax,
/// TopK, GatherElements and integer arithmetic, on the CPU executor against the reference evaluator, node by node.
@Suite struct AttentionSelectionKernelTests {
    /// MatMul with a constant right operand, two run-time operands with broadcast batch axes, and 1-D operands.
    @Test(arguments: [1, 2])
    func matMulMatchesReference(batch: Int) throws {
        var g = TestGraph(seed: 3)
        let x = g.input()
        let s = g.node(.unary(.sigmoid), x)  // [N, 2, 6, 5]
        let byConstant = g.node(.matMul, s, g.weights([5, 4]))  // [N, 2, 6, 4]
        let t = g.node(.transpose(perm: [0, 1, 3, 2]), s)  // [N, 2, 5, 6]
        let square = g.node(.matMul, s, t)  // [N, 2, 6, 6]
        let broadcast = g.node(.matMul, g.weights([1, 3, 6]), square)  // [1, 3, 6] × [N, 2, 6, 6] → [N, 2, 3, 6]
        let vector = g.node(.matMul, broadcast, g.weights([6]))  // [N, 2, 3]
        // [N, 2, 6] + [N, 2, 6]: every product reaches the output.
        let rows = g.node(.reduce(.sum, axes: [3], keepDims: false, noopWithEmptyAxes: false), byConstant)
        g.output(g.node(.binary(.add), rows, g.node(.concat(axis: 2), vector, vector)))
        var options = KernelHarness.Options()
        options.optimized = ["MatMul"]
        try KernelHarness.check(g, inputShape: [batch, 2, 6, 5], options: options, "matmul n\(batch)")
    }

    /// The attention of a PSA block as Ultralytics exports it: q, k, v split from one tensor, softmax(qᵀk · scale)
    /// applied to v, per head.
    @Test func attentionBlockMatchesReference() throws {
        var g = TestGraph(seed: 11)
        let x = g.input()  // [N, 2 heads, 16 (= 4 key + 4 key + 8 value), 9 tokens]
        let parts = g.nodes(.split(axis: 2, sizes: [4, 4, 8]), [x], outputs: 3)
        let q = g.node(.transpose(perm: [0, 1, 3, 2]), parts[0])
        let scores = g.node(.binary(.mul), g.node(.matMul, q, parts[1]), g.floats([], [0.5]))
        let attention = g.node(.softmax(axis: -1, legacy: false), scores)
        g.output(g.node(.matMul, parts[2], g.node(.transpose(perm: [0, 1, 3, 2]), attention)))
        var options = KernelHarness.Options()
        options.optimized = ["MatMul", "Softmax"]
        try KernelHarness.check(g, inputShape: [2, 2, 16, 9], options: options, "attention")
    }

    /// YOLO26's end-to-end tail on a `[N, anchors, 4 + classes]` tensor: best class score per anchor (ReduceMax),
    /// the top anchors (TopK), their class scores (GatherElements), the top (anchor, class) pairs of those
    /// (Flatten, TopK), class = index mod classes and anchor = index div classes on int64, then boxes gathered and
    /// everything concatenated as floats. Scores are quantised to quarters so that TopK sees ties.
    @Test(arguments: [1, 2])
    func endToEndTailMatchesReference(batch: Int) throws {
        let anchors = 40
        let classes = 3
        let keep = 7
        var g = TestGraph(seed: 5)
        let x = g.input()  // [N, anchors, 4 + classes]
        let parts = g.nodes(.split(axis: 2, sizes: [4, classes]), [x], outputs: 2)
        let boxes = parts[0]
        let scores = g.node(
            .unary(.floor), g.node(.binary(.mul), g.node(.unary(.sigmoid), parts[1]), g.floats([], [4])))
        let best = g.node(.reduce(.max, axes: nil, keepDims: false, noopWithEmptyAxes: false), scores, g.ints([-1]))
        let top = g.nodes(.topK(axis: 1, largest: true), [best, g.ints([Int64(keep)])], outputs: 2)
        let index = g.node(.unsqueeze(axes: nil), top[1], g.ints([-1]))  // [N, keep, 1]
        let expanded = g.node(.expand, index, g.ints([1, 1, Int64(classes)]))
        let picked = g.node(.gatherElements(axis: 1), scores, expanded)  // [N, keep, classes]
        let flat = g.node(.flatten(axis: 1), picked)
        let second = g.nodes(.topK(axis: 1, largest: true), [flat, g.ints([Int64(keep)])], outputs: 2)
        let classIndex = g.node(.binary(.mod), second[1], g.ints([Int64(classes)]))
        let slot = g.node(.binary(.div), second[1], g.ints([Int64(classes)]))
        let anchor = g.node(.gatherElements(axis: 1), top[1], slot)
        let boxIndex = g.node(.expand, g.node(.unsqueeze(axes: nil), anchor, g.ints([-1])), g.ints([1, 1, 4]))
        let chosenBoxes = g.node(.gatherElements(axis: 1), boxes, boxIndex)
        let score = g.node(.unsqueeze(axes: nil), second[0], g.ints([-1]))
        let cls = g.node(.cast(.float), g.node(.unsqueeze(axes: nil), classIndex, g.ints([-1])))
        g.output(g.node(.concat(axis: -1), chosenBoxes, score, cls))
        var options = KernelHarness.Options()
        options.optimized = ["ReduceMax", "TopK", "GatherElements"]
        options.inputRange = -3...3
        try KernelHarness.check(g, inputShape: [batch, anchors, 4 + classes], options: options, "e2e tail n\(batch)")
    }

    /// TopK's order: larger first, equal values by index (onnxruntime's rule), and `largest: false`.
    @Test func topKBreaksTiesByIndex() throws {
        let x = TensorValue(dataType: .float, shape: [1, 8], floats: [1, 3, 2, 3, 1, 3, 0, 2])
        let k = TensorValue(dataType: .int64, shape: [1], ints: [5])
        let largest = try Reference.evaluate(
            .topK(axis: 1, largest: true), inputs: [x, k], outputCount: 2, context: "t")
        #expect(largest[0].floats == [3, 3, 3, 2, 2])
        #expect(largest[1].ints == [1, 3, 5, 2, 7])
        let smallest = try Reference.evaluate(
            .topK(axis: 1, largest: false), inputs: [x, k], outputCount: 2, context: "t")
        #expect(smallest[1].ints == [6, 0, 4, 2, 7])
        // The kernel gives the same order.
        var g = TestGraph()
        let input = g.input()
        let top = g.nodes(.topK(axis: 1, largest: true), [input, g.ints([5])], outputs: 2)
        g.output(top[1])
        let plan = try MemoryPlanner.plan(try g.graph.specialized(inputShapes: [[1, 8]]))
        let indices = try CPUExecutor(plan: plan).run(input: x.floats)
        #expect(indices == [1, 3, 5, 2, 7])
    }

    /// A k larger than the axis, an index out of range and a MatMul with mismatched inner axes are load-time errors.
    @Test func badShapesAreErrors() throws {
        var g = TestGraph()
        let x = g.input()
        g.output(g.nodes(.topK(axis: 1, largest: true), [x, g.ints([9])], outputs: 2)[0])
        #expect(throws: ModelError.self) { try g.graph.specialized(inputShapes: [[1, 8]]) }
        var m = TestGraph()
        let y = m.input()
        m.output(m.node(.matMul, y, m.weights([4, 2])))
        #expect(throws: ModelError.self) { try m.graph.specialized(inputShapes: [[1, 3, 5]]) }
        let data = TensorValue(dataType: .float, shape: [2, 2], floats: [1, 2, 3, 4])
        let index = TensorValue(dataType: .int64, shape: [2, 2], ints: [0, 5, 1, 0])
        #expect(throws: ModelError.self) {
            try Reference.evaluate(.gatherElements(axis: 1), inputs: [data, index], outputCount: 1, context: "g")
        }
        let wrapped = try Reference.evaluate(
            .gatherElements(axis: 1), inputs: [data, TensorValue(dataType: .int64, shape: [2, 1], ints: [-1, 0])],
            outputCount: 1, context: "g")
        #expect(wrapped[0].floats == [2, 3])
    }
}
