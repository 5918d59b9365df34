import Testing

@testable import LookoutCPU
@testable import LookoutModel

/// Binary operators with NumPy broadcasting (run-time and constant operands on either side) and Sigmoid, on
/// contiguous tensors and on views with gaps, against the reference evaluator.
@Suite struct ElementwiseKernelTests {
    static let kinds: [Operator.BinaryKind] = [.add, .sub, .mul, .div, .pow]

    /// Shapes of the other operand for a run-time `[N, 4, 3, 5]` tensor (`N` written as 0).
    static let otherShapes: [[Int]] = [
        [], [1], [5], [3, 1], [3, 5], [4, 1, 1], [1, 4, 1, 1], [1, 4, 3, 5], [0, 4, 3, 5], [0, 1, 3, 5], [1, 1, 1, 5],
    ]

    @Test(arguments: kinds, [1, 3])
    func binaryWithConstantMatchesReference(kind: Operator.BinaryKind, batch: Int) throws {
        for shape in Self.otherShapes {
            for constantFirst in [false, true] {
                var g = TestGraph(seed: shape.count * 7 + 1)
                let x = g.input()
                // Division and powers get operands away from zero and positive bases.
                let resolved = shape.map { $0 == 0 ? batch : $0 }
                let (lo, hi): (Float, Float) = kind == .div || kind == .pow ? (0.5, 1.5) : (-1, 1)
                let c = g.weights(resolved, lo, hi)
                // An intermediate run-time tensor (not the graph input) as the other operand.
                let r = g.node(.unary(.sigmoid), x)
                g.output(g.node(.binary(kind), constantFirst ? c : r, constantFirst ? r : c))
                var options = KernelHarness.Options()
                options.optimized = ["Sigmoid", Operator.binary(kind).name]
                try KernelHarness.check(
                    g, inputShape: [batch, 4, 3, 5], options: options,
                    "\(kind) \(constantFirst ? "constant \(resolved) ∘ x" : "x ∘ constant \(resolved)") n\(batch)")
            }
        }
    }

    /// Both operands computed at run time, with broadcasting between them: x ∘ x[:, :1] (a channel slice), and
    /// x ∘ reduce-like rows from a 1×1 convolution.
    @Test(arguments: kinds, [1, 3])
    func binaryOfTwoRuntimeTensorsMatchesReference(kind: Operator.BinaryKind, batch: Int) throws {
        for swapped in [false, true] {
            var g = TestGraph(seed: 5)
            let x = g.input()
            let s = g.node(.unary(.sigmoid), x)
            let slice = g.node(.slice, s, g.ints([0]), g.ints([1]), g.ints([1]))
            g.output(g.node(.binary(kind), swapped ? slice : s, swapped ? s : slice))
            var options = KernelHarness.Options()
            options.optimized = batch == 1 ? ["Sigmoid", Operator.binary(kind).name] : ["Sigmoid"]
            try KernelHarness.check(
                g, inputShape: [batch, 4, 3, 5], options: options, "\(kind) runtime slice swapped \(swapped) n\(batch)")
        }
        var g = TestGraph(seed: 6)
        let x = g.input()
        let a = g.conv(x, cin: 4, cout: 4, k: 3)
        let b = g.node(.unary(.sigmoid), g.conv(x, cin: 4, cout: 4, k: 1, pad: 0))
        g.output(g.node(.binary(kind), b, a))
        var options = KernelHarness.Options()
        options.optimized = ["Conv", Operator.binary(kind).name]
        try KernelHarness.check(
            g, inputShape: [batch, 4, 6, 5], options: options, "\(kind) of two convolutions n\(batch)")
    }

    @Test(arguments: [1, 3])
    func sigmoidMatchesReference(batch: Int) throws {
        var g = TestGraph()
        g.output(g.node(.unary(.sigmoid), g.input()))
        var options = KernelHarness.Options()
        options.optimized = ["Sigmoid"]
        options.inputRange = -30...30
        options.absolute = 1e-6
        try KernelHarness.check(g, inputShape: [batch, 3, 40, 41], options: options, "sigmoid n\(batch)")
    }

    /// Sigmoid on channel views: at batch 3 the views have gaps (one run per image), exercising the staging path.
    @Test(arguments: [1, 3])
    func sigmoidOnSplitViewsMatchesReference(batch: Int) throws {
        var g = TestGraph(seed: 9)
        let x = g.input()
        let c = g.conv(x, cin: 3, cout: 6, k: 1, pad: 0)
        let parts = g.nodes(.split(axis: 1, sizes: [2, 4]), [c], outputs: 2)
        let a = g.node(.unary(.sigmoid), parts[1])
        let b = g.node(.binary(.mul), parts[0], g.floats([1], [2]))
        g.output(g.node(.concat(axis: 1), a, b))
        var options = KernelHarness.Options()
        options.optimized = ["Sigmoid", "Conv"]
        options.inputRange = -4...4
        let outcome = try KernelHarness.check(
            g, inputShape: [batch, 3, 5, 6], options: options, "sigmoid on split views n\(batch)")
        #expect(!outcome.executedOperators.contains("Split"), "\(outcome.executedOperators)")
    }
}
