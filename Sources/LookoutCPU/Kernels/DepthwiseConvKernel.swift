import CLookoutKernels

/// A depthwise convolution (one filter per channel: group = input = output channels) computed directly, one plane
/// per task: `lk_depthwise_conv` accumulates the taps of 16 output pixels in registers over a zero-padded copy of
/// the plane, then bias, SiLU and the residual run over the plane while it is in cache. As im2col + GEMM every
/// channel was a one-row GEMM (m = 1, k = 9): the head of YOLO11/YOLO26 spent ~4 ms in six such layers.
struct DepthwiseConvKernel: CPUKernel {
    let conv: ConvKernel
    /// Scratch elements of one worker's padded plane.
    let planeScratch: Int

    init?(conv: ConvKernel) {
        guard conv.group > 1, conv.group == conv.channels, conv.outChannels == conv.channels else { return nil }
        self.conv = conv
        planeScratch = Self.padded(
            lk_depthwise_scratch(
                Int32(conv.kernelH), Int32(conv.kernelW), Int32(conv.strideH), Int32(conv.strideW),
                Int32(conv.dilationH), Int32(conv.dilationW), Int32(conv.outHeight), Int32(conv.outWidth)))
    }

    /// Rounded to whole cache lines, so that workers' planes never share one.
    private static func padded(_ elements: Int) -> Int { (elements + 15) / 16 * 16 }

    var scratchElements: Int { conv.workers * planeScratch }

    func execute(_ context: CPUContext) {
        let c = conv
        let inPlane = c.height * c.width
        let outPlane = c.outHeight * c.outWidth
        let taps = c.kernelH * c.kernelW
        c.weights.withUnsafeBufferPointer { w in
            c.bias.withOptionalPointer { bias in
                CPUParallel.forEachTask(c.batch * c.channels) { worker, task in
                    let (n, channel) = task.quotientAndRemainder(dividingBy: c.channels)
                    let x = c.input.image(n, batch: c.batch, in: context.arena) + channel * inPlane
                    let y = c.output.image(n, batch: c.batch, in: context.arena) + channel * outPlane
                    lk_depthwise_conv(
                        x, Int32(c.height), Int32(c.width), w.baseAddress! + channel * taps, Int32(c.kernelH),
                        Int32(c.kernelW), Int32(c.strideH), Int32(c.strideW), Int32(c.padTop), Int32(c.padLeft),
                        Int32(c.dilationH), Int32(c.dilationW), Int32(c.outHeight), Int32(c.outWidth), y,
                        context.scratch + worker * planeScratch)
                    if bias == nil && c.residual == nil && c.activation == Int32(LKActivationNone.rawValue) {
                        return
                    }
                    let r = c.residual.map { $0.image(n, batch: c.batch, in: context.arena) + channel * outPlane }
                    lk_bias_activation(y, 0, bias.map { $0 + channel }, c.activation, r, 0, 0, 1, outPlane)
                }
            }
        }
    }
}
