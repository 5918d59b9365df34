import Testing

@testable import LookoutCPU
@testable import LookoutModel

/// The direct convolution for layers of ≤ 16 output channels against the reference evaluator: partial channel
/// groups (3, 6, 13), odd plane sizes (vector tails), strides 1–3, asymmetric padding, SiLU with a residual, batch 3.
@Suite struct DirectConvKernelTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var cin = 8, cout = 16
        var kernel = (h: 3, w: 3)
        var stride = (h: 1, w: 1)
        var pads = (top: 1, left: 1, bottom: 1, right: 1)
        var size = (h: 11, w: 37)
        var batch = 1

        var attributes: ConvAttributes {
            ConvAttributes(
                kernel: kernel, strides: stride, dilations: (1, 1), pads: pads, autoPad: "NOTSET", group: 1)
        }

        var testDescription: String {
            "c\(cin)->\(cout) k\(kernel.h)x\(kernel.w) s\(stride.h)x\(stride.w) "
                + "p\(pads.top),\(pads.left),\(pads.bottom),\(pads.right) \(size.h)x\(size.w) n\(batch)"
        }
    }

    static let cases: [Case] = {
        var cases: [Case] = []
        for batch in [1, 3] {
            for (cin, cout) in [(3, 16), (16, 8), (8, 16), (5, 13), (2, 3)] {
                for (k, s) in [(3, 1), (3, 2), (5, 1), (3, 3)] {
                    var c = Case()
                    (c.cin, c.cout, c.kernel, c.stride, c.batch) = (cin, cout, (k, k), (s, s), batch)
                    c.pads = (k / 2, k / 2, k / 2, k / 2)
                    cases.append(c)
                }
            }
            var c = Case()
            c.batch = batch
            for (pads, size) in [((0, 0, 0, 0), (9, 16)), ((0, 1, 1, 0), (2, 3)), ((2, 0, 1, 2), (20, 33))] {
                (c.pads, c.size) = (pads, size)
                cases.append(c)
            }
            c.pads = (1, 0, 1, 2)
            c.kernel = (3, 5)
            c.stride = (2, 1)
            cases.append(c)
            c.stride = (1, 2)
            cases.append(c)
        }
        return cases
    }()

    @Test(arguments: cases)
    func directMatchesReference(c: Case) throws {
        var g = TestGraph(seed: c.cin * 13 + c.cout)
        let x = g.input()
        let w = g.weights([c.cout, c.cin, c.kernel.h, c.kernel.w])
        g.output(g.node(.conv(c.attributes), x, w, g.weights([c.cout])))
        let outcome = try KernelHarness.check(
            g, inputShape: [c.batch, c.cin, c.size.h, c.size.w], options: KernelHarness.Options(),
            c.testDescription)
        let kernel = try CPUExecutor.compile(outcome.plan.steps[0], plan: outcome.plan, tuning: CPUTuning())
        #expect(kernel is DirectConvKernel, "\(c.testDescription): \(type(of: kernel))")
    }

    /// YOLO11's C3k2 bottleneck at n scale: 3×3 16→8 and 8→16 with SiLU, the second adding the block's input.
    @Test(arguments: [1, 3])
    func bottleneckOfEightChannels(batch: Int) throws {
        var g = TestGraph(seed: 17)
        let x = g.input()
        let h = g.conv(x, cin: 16, cout: 8, k: 3, silu: true)
        let y = g.conv(h, cin: 8, cout: 16, k: 3, silu: true)
        g.output(g.node(.binary(.add), x, y))
        var options = KernelHarness.Options()
        options.fuse = true
        let outcome = try KernelHarness.check(g, inputShape: [batch, 16, 19, 42], options: options, "n\(batch)")
        #expect(outcome.executedOperators == ["ConvSiLU", "ConvSiLUAdd"])
        for step in outcome.plan.steps {
            let kernel = try CPUExecutor.compile(step, plan: outcome.plan, tuning: CPUTuning())
            #expect(kernel is DirectConvKernel, "\(type(of: kernel))")
        }
    }
}
