import Testing

@testable import LookoutCPU
@testable import LookoutModel

/// Conv, fused Conv+SiLU(+residual) and MaxPool kernels against the reference evaluator over many parameter
/// combinations, batch 1 and 3.
@Suite struct ConvPoolKernelTests {
    struct ConvCase: Sendable, CustomTestStringConvertible {
        var cin = 4, cout = 6, group = 1
        var kernel = (h: 3, w: 3)
        var stride = (h: 1, w: 1)
        var dilation = (h: 1, w: 1)
        var pads = (top: 1, left: 1, bottom: 1, right: 1)
        var autoPad = "NOTSET"
        var size = (h: 9, w: 11)
        var bias = true
        var batch = 1

        var attributes: ConvAttributes {
            ConvAttributes(
                kernel: kernel, strides: stride, dilations: dilation, pads: pads, autoPad: autoPad, group: group)
        }

        var testDescription: String {
            "c\(cin)->\(cout) g\(group) k\(kernel.h)x\(kernel.w) s\(stride.h)x\(stride.w) d\(dilation.h)x\(dilation.w) "
                + "p\(pads.top),\(pads.left),\(pads.bottom),\(pads.right) \(autoPad) \(size.h)x\(size.w)\(bias ? "" : " nobias") n\(batch)"
        }
    }

    static let convCases: [ConvCase] = {
        var cases: [ConvCase] = []
        for batch in [1, 3] {
            for k in [1, 3, 5] {
                for s in [1, 2] {
                    var c = ConvCase()
                    c.kernel = (k, k)
                    c.stride = (s, s)
                    c.pads = (k / 2, k / 2, k / 2, k / 2)
                    c.batch = batch
                    cases.append(c)
                    c.pads = (0, 0, 0, 0)
                    c.bias = false
                    cases.append(c)
                }
            }
            var c = ConvCase()
            c.batch = batch
            // Asymmetric pads, rectangular kernels and strides.
            for pads in [(0, 1, 1, 0), (2, 0, 1, 1), (1, 2, 0, 0)] {
                c.pads = pads
                cases.append(c)
            }
            c.pads = (1, 0, 1, 0)
            c.kernel = (3, 1)
            c.stride = (2, 1)
            cases.append(c)
            c.kernel = (1, 3)
            c.pads = (0, 1, 0, 1)
            c.stride = (1, 2)
            cases.append(c)
            // auto_pad.
            for mode in ["SAME_UPPER", "SAME_LOWER", "VALID"] {
                for (k, s) in [(3, 1), (3, 2), (5, 2), (2, 2)] {
                    var a = ConvCase()
                    a.batch = batch
                    a.autoPad = mode
                    a.kernel = (k, k)
                    a.stride = (s, s)
                    a.pads = (0, 0, 0, 0)
                    cases.append(a)
                }
            }
            // Dilations.
            var d = ConvCase()
            d.batch = batch
            d.dilation = (2, 2)
            d.pads = (2, 2, 2, 2)
            cases.append(d)
            d.dilation = (2, 1)
            d.kernel = (3, 5)
            d.pads = (1, 0, 2, 1)
            d.stride = (2, 1)
            cases.append(d)
            // Groups: 2 groups, depthwise, depthwise with a channel multiplier.
            for (cin, cout, group) in [(4, 6, 2), (4, 4, 4), (4, 8, 4), (6, 3, 3)] {
                var g = ConvCase()
                g.batch = batch
                (g.cin, g.cout, g.group) = (cin, cout, group)
                cases.append(g)
                g.kernel = (1, 1)
                g.pads = (0, 0, 0, 0)
                cases.append(g)
            }
            // 1×1 that is not a plain GEMM: stride 2, padding.
            var p = ConvCase()
            p.batch = batch
            p.kernel = (1, 1)
            p.stride = (2, 2)
            p.pads = (0, 0, 0, 0)
            cases.append(p)
            p.stride = (1, 1)
            p.pads = (1, 1, 1, 1)
            cases.append(p)
            // Tiny and odd inputs.
            var t = ConvCase()
            t.batch = batch
            t.size = (1, 1)
            cases.append(t)
            t.size = (2, 17)
            t.kernel = (5, 5)
            t.pads = (2, 2, 2, 2)
            cases.append(t)
        }
        return cases
    }()

    @Test(arguments: convCases)
    func convMatchesReference(c: ConvCase) throws {
        var g = TestGraph(seed: c.cin * 31 + c.kernel.h)
        let x = g.input()
        let w = g.weights([c.cout, c.cin / c.group, c.kernel.h, c.kernel.w])
        let b: ValueID? = c.bias ? g.weights([c.cout]) : nil
        g.output(g.node(.conv(c.attributes), x, w, b))
        var options = KernelHarness.Options()
        options.optimized = ["Conv"]
        try KernelHarness.check(
            g, inputShape: [c.batch, c.cin, c.size.h, c.size.w], options: options, c.testDescription)
    }

    enum Residual: String, CaseIterable, Sendable { case none, before, after }

    /// Conv → Sigmoid → Mul fuses into ConvSiLU; a following Add of a tensor of the same shape folds in as the
    /// residual when that tensor is computed before the convolution (`before`), and stays an Add otherwise.
    @Test(arguments: [1, 3], [(1, 1), (3, 1), (3, 2)])
    func convSiLUWithAndWithoutResidual(batch: Int, kernelStride: (Int, Int)) throws {
        let (k, s) = kernelStride
        for residual in Residual.allCases {
            var g = TestGraph(seed: 3 + k)
            let x = g.input()
            // A run-time residual of the conv's output shape: another convolution of the input.
            var r: ValueID?
            if residual == .before { r = g.conv(x, cin: 4, cout: 8, k: 1, stride: s, pad: 0) }
            let y = g.conv(x, cin: 4, cout: 8, k: k, stride: s, silu: true)
            if residual == .after { r = g.conv(x, cin: 4, cout: 8, k: 1, stride: s, pad: 0) }
            if let r {
                g.output(g.node(.binary(.add), r, y))
            } else {
                g.output(y)
            }
            var options = KernelHarness.Options()
            options.fuse = true
            options.optimized = ["ConvSiLU", "ConvSiLUAdd", "Conv"]
            let label = "ConvSiLU k\(k) s\(s) n\(batch) residual \(residual)"
            let outcome = try KernelHarness.check(g, inputShape: [batch, 4, 10, 7], options: options, label)
            let ops = outcome.plan.graph.nodes.map(\.op.name)
            #expect(!ops.contains("Sigmoid") && !ops.contains("Mul"), "\(label): \(ops)")
            switch residual {
            case .none: #expect(ops == ["ConvSiLU"], "\(label)")
            case .before: #expect(ops == ["Conv", "ConvSiLUAdd"], "\(label)")
            case .after: #expect(ops == ["ConvSiLU", "Conv", "Add"], "\(label)")
            }
        }
    }

    /// The C2f bottleneck's residual: y = x + SiLU(conv(SiLU(conv(x)))), with x a run-time tensor that stays live.
    @Test(arguments: [1, 3])
    func bottleneckResidualFolds(batch: Int) throws {
        var g = TestGraph(seed: 11)
        let x0 = g.input()
        let x = g.conv(x0, cin: 3, cout: 6, k: 3, silu: true)
        let h = g.conv(x, cin: 6, cout: 6, k: 3, silu: true)
        let y = g.conv(h, cin: 6, cout: 6, k: 3, silu: true)
        g.output(g.node(.binary(.add), x, y))
        var options = KernelHarness.Options()
        options.fuse = true
        options.optimized = ["ConvSiLU", "ConvSiLUAdd"]
        let outcome = try KernelHarness.check(
            g, inputShape: [batch, 3, 8, 8], options: options, "bottleneck n\(batch)")
        #expect(outcome.plan.graph.nodes.map(\.op.name) == ["ConvSiLU", "ConvSiLU", "ConvSiLUAdd"])
    }

    struct PoolCase: Sendable, CustomTestStringConvertible {
        var kernel = (h: 3, w: 3)
        var stride = (h: 1, w: 1)
        var dilation = (h: 1, w: 1)
        var pads = (top: 0, left: 0, bottom: 0, right: 0)
        var autoPad = "NOTSET"
        var ceil = false
        var size = (h: 9, w: 8)
        var batch = 1

        var attributes: PoolAttributes {
            PoolAttributes(
                kernel: kernel, strides: stride, dilations: dilation, pads: pads, autoPad: autoPad, ceilMode: ceil)
        }

        var testDescription: String {
            "k\(kernel.h)x\(kernel.w) s\(stride.h)x\(stride.w) d\(dilation.h)x\(dilation.w) p\(pads.top),\(pads.left),\(pads.bottom),\(pads.right) "
                + "\(autoPad)\(ceil ? " ceil" : "") \(size.h)x\(size.w) n\(batch)"
        }
    }

    static let poolCases: [PoolCase] = {
        var cases: [PoolCase] = []
        for batch in [1, 3] {
            for ceil in [false, true] {
                for (k, s) in [(2, 2), (3, 2), (3, 1), (5, 1), (5, 3)] {
                    for pad in [0, 1, k / 2] where pad < k {
                        var c = PoolCase()
                        (c.kernel, c.stride, c.pads, c.ceil, c.batch) = (
                            (k, k), (s, s), (pad, pad, pad, pad), ceil, batch
                        )
                        cases.append(c)
                    }
                }
                var a = PoolCase()
                (a.kernel, a.stride, a.pads, a.ceil, a.batch) = ((3, 2), (2, 1), (1, 0, 0, 1), ceil, batch)
                cases.append(a)
                a.dilation = (2, 2)
                a.kernel = (3, 3)
                a.stride = (2, 2)
                a.pads = (2, 1, 2, 1)
                cases.append(a)
            }
            for mode in ["SAME_UPPER", "SAME_LOWER", "VALID"] {
                var c = PoolCase()
                (c.kernel, c.stride, c.autoPad, c.batch) = ((3, 3), (2, 2), mode, batch)
                cases.append(c)
            }
            // SPPF: k5 s1 p2 on a 20×20 map.
            var sppf = PoolCase()
            (sppf.kernel, sppf.pads, sppf.size, sppf.batch) = ((5, 5), (2, 2, 2, 2), (20, 20), batch)
            cases.append(sppf)
        }
        return cases
    }()

    @Test(arguments: poolCases)
    func maxPoolMatchesReference(c: PoolCase) throws {
        var g = TestGraph()
        let x = g.input()
        g.output(g.node(.maxPool(c.attributes), x))
        var options = KernelHarness.Options()
        options.optimized = ["MaxPool"]
        try KernelHarness.check(g, inputShape: [c.batch, 3, c.size.h, c.size.w], options: options, c.testDescription)
    }
}
