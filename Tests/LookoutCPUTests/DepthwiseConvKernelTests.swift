import Testing

@testable import LookoutCPU
@testable import LookoutModel

/// The direct depthwise convolution (group = input = output channels) against the reference evaluator: odd plane
/// sizes (vector tails), strides 1–3, asymmetric padding, dilation, fused SiLU and residual, batch 1 and 3.
@Suite struct DepthwiseConvKernelTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var channels = 5
        var kernel = (h: 3, w: 3)
        var stride = (h: 1, w: 1)
        var dilation = (h: 1, w: 1)
        var pads = (top: 1, left: 1, bottom: 1, right: 1)
        var size = (h: 13, w: 37)
        var bias = true
        var batch = 1

        var attributes: ConvAttributes {
            ConvAttributes(
                kernel: kernel, strides: stride, dilations: dilation, pads: pads, autoPad: "NOTSET", group: channels)
        }

        var testDescription: String {
            "c\(channels) k\(kernel.h)x\(kernel.w) s\(stride.h)x\(stride.w) d\(dilation.h)x\(dilation.w) "
                + "p\(pads.top),\(pads.left),\(pads.bottom),\(pads.right) \(size.h)x\(size.w)"
                + "\(bias ? "" : " nobias") n\(batch)"
        }
    }

    static let cases: [Case] = {
        var cases: [Case] = []
        for batch in [1, 3] {
            for (k, s) in [(3, 1), (3, 2), (5, 1), (5, 2), (3, 3), (1, 1)] {
                for size in [(13, 37), (20, 20), (1, 1), (6, 16), (9, 33)] {
                    var c = Case()
                    (c.kernel, c.stride, c.size, c.batch) = ((k, k), (s, s), size, batch)
                    c.pads = (k / 2, k / 2, k / 2, k / 2)
                    cases.append(c)
                }
            }
            var c = Case()
            c.batch = batch
            // Asymmetric pads, none, rectangular kernels and strides, dilation.
            for pads in [(0, 0, 0, 0), (0, 1, 1, 0), (2, 0, 1, 2), (1, 2, 0, 0)] {
                c.pads = pads
                cases.append(c)
            }
            c.pads = (1, 0, 1, 2)
            c.kernel = (3, 5)
            c.stride = (2, 1)
            cases.append(c)
            c.stride = (1, 2)
            c.bias = false
            cases.append(c)
            var d = Case()
            d.batch = batch
            d.dilation = (2, 2)
            d.pads = (2, 2, 2, 2)
            cases.append(d)
            d.stride = (2, 2)
            d.size = (17, 41)
            cases.append(d)
        }
        return cases
    }()

    @Test(arguments: cases)
    func depthwiseMatchesReference(c: Case) throws {
        var g = TestGraph(seed: c.channels * 7 + c.kernel.h)
        let x = g.input()
        let w = g.weights([c.channels, 1, c.kernel.h, c.kernel.w])
        let b: ValueID? = c.bias ? g.weights([c.channels]) : nil
        g.output(g.node(.conv(c.attributes), x, w, b))
        let outcome = try KernelHarness.check(
            g, inputShape: [c.batch, c.channels, c.size.h, c.size.w], options: KernelHarness.Options(),
            c.testDescription)
        let kernel = try CPUExecutor.compile(outcome.plan.steps[0], plan: outcome.plan, tuning: CPUTuning())
        #expect(kernel is DepthwiseConvKernel, "\(c.testDescription): \(type(of: kernel))")
    }

    /// YOLO's DWConv: depthwise 3×3 + SiLU, with and without a residual added after it.
    @Test(arguments: [1, 3], [1, 2])
    func depthwiseSiLUAndResidual(batch: Int, stride: Int) throws {
        for residual in [false, true] {
            var g = TestGraph(seed: 5 + stride)
            let x = g.input()
            let r = residual ? g.conv(x, cin: 16, cout: 16, k: 1, stride: stride, pad: 0) : nil
            let y = g.conv(x, cin: 16, cout: 16, k: 3, stride: stride, group: 16, silu: true)
            if let r {
                g.output(g.node(.binary(.add), r, y))
            } else {
                g.output(y)
            }
            var options = KernelHarness.Options()
            options.fuse = true
            let label = "DWConv+SiLU s\(stride) n\(batch)\(residual ? " residual" : "")"
            let outcome = try KernelHarness.check(g, inputShape: [batch, 16, 21, 35], options: options, label)
            let fused = try #require(outcome.plan.steps.last)
            #expect(outcome.executedOperators.last == (residual ? "ConvSiLUAdd" : "ConvSiLU"), "\(label)")
            let kernel = try CPUExecutor.compile(fused, plan: outcome.plan, tuning: CPUTuning())
            #expect(kernel is DepthwiseConvKernel, "\(label): \(type(of: kernel))")
        }
    }
}
