import Testing

@testable import LookoutCPU
@testable import LookoutModel

/// Concat, Split, Slice and reshapes, both where the memory plan turns them into views (no work at run time) and
/// where it must copy, at batch 1 and batch 3 (channel views of a batch have one run per image, with gaps).
@Suite struct ViewKernelTests {
    static let batches = [1, 3]

    static func executedCount(_ outcome: KernelHarness.Outcome, _ op: String) -> Int {
        outcome.executedOperators.filter { $0 == op }.count
    }

    static func concatStep(_ outcome: KernelHarness.Outcome) -> PlanStep? {
        outcome.plan.steps.first { outcome.plan.graph.nodes[$0.node].op.name == "Concat" }
    }

    /// C2f: conv → Split [c, c] → conv on the second half → Concat [half0, half1, conv] → conv. Split and Concat
    /// are both views: the first conv writes into the concat's buffer, the inner conv too.
    @Test(arguments: batches)
    func c2fSplitAndConcatAreViews(batch: Int) throws {
        var g = TestGraph(seed: 21)
        let x = g.input()
        let a = g.conv(x, cin: 3, cout: 8, k: 1, pad: 0, silu: true)
        let halves = g.nodes(.split(axis: 1, sizes: [4, 4]), [a, nil], outputs: 2)
        let m = g.conv(g.conv(halves[1], cin: 4, cout: 4, k: 3, silu: true), cin: 4, cout: 4, k: 3, silu: true)
        let cat = g.node(.concat(axis: 1), halves[0], halves[1], m)
        g.output(g.conv(cat, cin: 12, cout: 5, k: 1, pad: 0, silu: true))
        var options = KernelHarness.Options()
        options.fuse = true
        options.optimized = ["ConvSiLU"]
        let outcome = try KernelHarness.check(g, inputShape: [batch, 3, 6, 7], options: options, "C2f n\(batch)")
        #expect(Self.executedCount(outcome, "Split") == 0, "\(outcome.executedOperators)")
        #expect(Self.executedCount(outcome, "Concat") == 0, "\(outcome.executedOperators)")
        #expect(outcome.plan.viewNodes == 2)
    }

    /// Concat inputs that cannot live in the output: the graph input, a constant, the same tensor twice, a tensor
    /// that is also a graph output. The executed Concat copies exactly those.
    @Test(arguments: batches)
    func concatCopiesWhatCannotBeAView(batch: Int) throws {
        // Graph input and constant.
        var g = TestGraph(seed: 22)
        let x = g.input()
        let s = g.node(.unary(.sigmoid), x)
        let c = g.weights([batch, 2, 4, 5])
        g.output(g.node(.concat(axis: 1), x, s, c))
        var outcome = try KernelHarness.check(
            g, inputShape: [batch, 3, 4, 5], "concat [input, sigmoid, constant] n\(batch)")
        #expect(Self.concatStep(outcome)?.copiedInputs == [0, 2])

        // The same tensor twice.
        g = TestGraph(seed: 23)
        let t = g.node(.unary(.sigmoid), g.input())
        g.output(g.node(.concat(axis: 1), t, t))
        outcome = try KernelHarness.check(g, inputShape: [batch, 2, 3, 4], "concat [t, t] n\(batch)")
        #expect(Self.concatStep(outcome) != nil)

        // An input that is also a graph output stays where it is.
        g = TestGraph(seed: 24)
        let y = g.input()
        let u = g.node(.unary(.sigmoid), y)
        let v = g.node(.binary(.mul), y, g.floats([1], [3]))
        g.output(g.node(.concat(axis: 1), u, v))
        g.output(u)
        outcome = try KernelHarness.check(
            g, inputShape: [batch, 2, 3, 4], "concat with an input that is an output n\(batch)")
        #expect(Self.concatStep(outcome)?.copiedInputs == [0])

        // One tensor feeding two concats: only one of them can own it.
        g = TestGraph(seed: 25)
        let z = g.input()
        let p = g.node(.unary(.sigmoid), z)
        let q = g.node(.binary(.add), z, g.floats([1], [1]))
        let first = g.node(.concat(axis: 1), p, q)
        let second = g.node(.concat(axis: 1), q, g.node(.unary(.sigmoid), first))
        g.output(second)
        try KernelHarness.check(g, inputShape: [batch, 2, 3, 4], "one tensor in two concats n\(batch)")
    }

    /// Concats along non-channel axes (spatial, the anchor axis after a reshape, negative axes) are copies.
    @Test(arguments: batches, [2, 3, -1, -2])
    func concatAlongOtherAxes(batch: Int, axis: Int) throws {
        var g = TestGraph(seed: 26)
        let x = g.input()
        let a = g.node(.unary(.sigmoid), x)
        let b = g.node(.binary(.mul), x, g.floats([1], [0.5]))
        g.output(g.node(.concat(axis: axis), a, b, a))
        try KernelHarness.check(g, inputShape: [batch, 2, 3, 4], "concat axis \(axis) n\(batch)")
    }

    /// The YOLOv8 head: per-level conv outputs reshaped to [N, C, -1] (views), concatenated along the anchors
    /// (copies), split into box and class rows, decoded with a Sigmoid, concatenated back along channels.
    @Test(arguments: batches)
    func headPlumbing(batch: Int) throws {
        var g = TestGraph(seed: 27)
        let x = g.input()
        let p3 = g.conv(x, cin: 3, cout: 6, k: 3, silu: true)
        let p4 = g.conv(p3, cin: 6, cout: 6, k: 3, stride: 2, silu: true)
        let levels = [p3, p4].map { g.node(.reshape(allowZero: false), $0, g.ints([0, 6, -1])) }
        let cat = g.node(.concat(axis: 2), levels[0], levels[1])
        let parts = g.nodes(.split(axis: 1, sizes: [4, 2]), [cat, g.ints([4, 2])], outputs: 2)
        let box = g.node(.binary(.mul), parts[0], g.floats([1], [8]))
        g.output(g.node(.concat(axis: 1), box, g.node(.unary(.sigmoid), parts[1])))
        var options = KernelHarness.Options()
        options.fuse = true
        let outcome = try KernelHarness.check(g, inputShape: [batch, 3, 8, 6], options: options, "head n\(batch)")
        #expect(Self.executedCount(outcome, "Reshape") == 0, "\(outcome.executedOperators)")
        #expect(Self.executedCount(outcome, "Split") == 0, "\(outcome.executedOperators)")
    }

    /// Split outputs concatenated back in their own order are one buffer (a pure view); in reverse order they are
    /// copied.
    @Test(arguments: batches)
    func splitThenConcat(batch: Int) throws {
        for reversed in [false, true] {
            var g = TestGraph(seed: 28)
            let x = g.input()
            let s = g.node(.unary(.sigmoid), x)
            let parts = g.nodes(.split(axis: 1, sizes: [1, 2, 3]), [s], outputs: 3)
            let order = reversed ? parts.reversed() : parts
            g.output(g.node(.binary(.add), g.nodes(.concat(axis: 1), order, outputs: 1)[0], g.floats([1], [1])))
            let outcome = try KernelHarness.check(
                g, inputShape: [batch, 6, 3, 2], "split then concat reversed \(reversed) n\(batch)")
            #expect((Self.concatStep(outcome) != nil) == reversed, "\(outcome.executedOperators)")
        }
    }

    /// Splits along other axes and into equal parts (no sizes) are executed, not views.
    @Test(arguments: batches, [1, 2, 3, -1])
    func splitAlongAxes(batch: Int, axis: Int) throws {
        var g = TestGraph(seed: 29)
        let x = g.input()
        let s = g.node(.unary(.sigmoid), x)
        let parts = g.nodes(.split(axis: axis, sizes: nil), [s], outputs: 2)
        g.output(g.node(.concat(axis: axis), parts[1], g.node(.binary(.mul), parts[0], g.floats([1], [2]))))
        try KernelHarness.check(g, inputShape: [batch, 4, 6, 8], "split axis \(axis) n\(batch)")
    }

    struct SliceCase: Sendable, CustomTestStringConvertible {
        var starts: [Int64]
        var ends: [Int64]
        var axes: [Int64]?
        var steps: [Int64]?
        /// Whether the plan makes it a view.
        var view: Bool
        var testDescription: String {
            "starts \(starts) ends \(ends) axes \(axes.map { "\($0)" } ?? "-") steps \(steps.map { "\($0)" } ?? "-")"
        }
    }

    static let sliceCases: [SliceCase] = [
        SliceCase(starts: [1], ends: [3], axes: [1], steps: nil, view: true),
        SliceCase(starts: [0], ends: [Int64.max], axes: [1], steps: [1], view: true),
        SliceCase(starts: [-2], ends: [Int64.max], axes: [-3], steps: nil, view: true),
        SliceCase(starts: [1], ends: [-1], axes: [2], steps: nil, view: false),
        SliceCase(starts: [0, 1], ends: [2, 4], axes: [1, 3], steps: nil, view: false),
        SliceCase(starts: [0], ends: [5], axes: [3], steps: [2], view: false),
        SliceCase(starts: [-1], ends: [Int64.min], axes: [2], steps: [-1], view: false),
        SliceCase(starts: [3, 0], ends: [0, 2], axes: [1, 2], steps: [-2, 1], view: false),
        SliceCase(starts: [0, 0, 0, 0], ends: [Int64.max, 3, 2, 5], axes: nil, steps: nil, view: false),
    ]

    @Test(arguments: sliceCases, batches)
    func sliceMatchesReference(c: SliceCase, batch: Int) throws {
        var g = TestGraph(seed: 30)
        let x = g.input()
        let s = g.node(.unary(.sigmoid), x)
        let sliced = g.node(
            .slice, s, g.ints(c.starts), g.ints(c.ends), c.axes.map { g.ints($0) }, c.steps.map { g.ints($0) })
        // Consumed by a kernel that reads views (Conv needs one run per image; Mul needs a contiguous tensor).
        g.output(g.node(.binary(.mul), sliced, g.floats([1], [2])))
        let outcome = try KernelHarness.check(g, inputShape: [batch, 4, 3, 5], "slice \(c.testDescription) n\(batch)")
        let sliceExecuted = Self.executedCount(outcome, "Slice") > 0
        // At batch 3 a channel slice is a view with gaps; a whole-axis slice is a view at any batch.
        #expect(sliceExecuted == !c.view, "\(outcome.executedOperators)")
    }

    /// Reshapes of views with gaps: to a shape that keeps the batch axis (a view again) and to one that merges it
    /// (a copy), then consumed by kernels.
    @Test(arguments: batches)
    func reshapesOfViews(batch: Int) throws {
        for target: [Int64] in [[0, 6, -1], [-1, 5], [0, 2, 3, 15], [-1]] {
            var g = TestGraph(seed: 31)
            let x = g.input()
            let c = g.conv(x, cin: 2, cout: 10, k: 1, pad: 0)
            let parts = g.nodes(.split(axis: 1, sizes: [4, 6]), [c], outputs: 2)
            let r = g.node(.reshape(allowZero: false), parts[1], g.ints(target))
            g.output(g.node(.unary(.sigmoid), r))
            try KernelHarness.check(g, inputShape: [batch, 2, 3, 5], "reshape of a split view to \(target) n\(batch)")
        }
    }

    /// Nested concats: the inner concat's buffer moves into the outer one; a conv reads a channel view of it.
    @Test(arguments: batches)
    func nestedConcats(batch: Int) throws {
        var g = TestGraph(seed: 32)
        let x = g.input()
        let a = g.conv(x, cin: 3, cout: 2, k: 1, pad: 0)
        let b = g.conv(x, cin: 3, cout: 3, k: 3)
        let inner = g.node(.concat(axis: 1), a, b)
        let c = g.conv(inner, cin: 5, cout: 4, k: 3)
        let outer = g.node(.concat(axis: 1), c, inner)
        g.output(g.conv(outer, cin: 9, cout: 3, k: 1, pad: 0))
        var options = KernelHarness.Options()
        options.optimized = ["Conv"]
        let outcome = try KernelHarness.check(
            g, inputShape: [batch, 3, 5, 4], options: options, "nested concats n\(batch)")
        #expect(Self.executedCount(outcome, "Concat") == 0, "\(outcome.executedOperators)")
    }
}
