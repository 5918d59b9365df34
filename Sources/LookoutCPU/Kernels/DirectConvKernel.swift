import CLookoutKernels

/// A convolution with few output channels (≤ 16, no groups, no dilation, not 1×1) computed directly: 16 output
/// pixels of every output channel accumulate in registers over the input channels and taps (`lk_direct_conv`), on
/// a zero-padded copy of a band of input rows, with bias, SiLU and the residual applied to the band after. As
/// im2col + GEMM such layers are GEMMs of 8 or 16 rows whose columns (k × pixels, 14 MB for YOLO11's 16→8 3×3
/// at 160×160) go through memory: the stem 3→16 and YOLO11/YOLO26's C3k2 bottlenecks of 8 channels.
struct DirectConvKernel: CPUKernel {
    let conv: ConvKernel
    /// Weights as [block of 16 output channels][input channel][tap][16], zeros past the last output channel.
    let packed: [Float]
    /// Output rows per task, tasks per image, and scratch elements per worker.
    let band: Int, bands: Int, perWorker: Int

    /// Widest output the kernel keeps in registers.
    static let maximumOutputChannels = 16

    init?(conv: ConvKernel, scratchBytes: Int = 256 * 1024) {
        guard conv.group == 1, conv.outChannels <= Self.maximumOutputChannels, conv.dilationH == 1,
            conv.dilationW == 1, conv.kernelH * conv.kernelW > 1, conv.outHeight > 0, conv.outWidth > 0
        else { return nil }
        self.conv = conv
        let taps = conv.kernelH * conv.kernelW
        let (m, c) = (conv.outChannels, conv.channels)
        let blocks = (m + 15) / 16
        var packed = [Float](repeating: 0, count: blocks * c * taps * 16)
        for o in 0..<m {
            for i in 0..<c {
                for t in 0..<taps {
                    packed[(((o / 16) * c + i) * taps + t) * 16 + o % 16] = conv.weights[(o * c + i) * taps + t]
                }
            }
        }
        self.packed = packed
        // Bands whose padded rows fit the scratch budget, and at least four per worker.
        func scratch(_ rows: Int) -> Int {
            lk_direct_conv_scratch(
                Int32(c), Int32(conv.kernelH), Int32(conv.kernelW), Int32(conv.strideH), Int32(conv.strideW),
                Int32(conv.outWidth), Int32(rows))
        }
        var band = max(1, conv.outHeight / (4 * conv.workers))
        while band > 1 && scratch(band) * 4 > scratchBytes { band -= 1 }
        self.band = band
        bands = (conv.outHeight + band - 1) / band
        perWorker = (scratch(band) + 15) / 16 * 16
    }

    var scratchElements: Int { conv.workers * perWorker }

    func execute(_ context: CPUContext) {
        let c = conv
        let pixels = c.outHeight * c.outWidth
        packed.withUnsafeBufferPointer { w in
            c.bias.withOptionalPointer { bias in
                CPUParallel.forEachTask(c.batch * bands) { worker, task in
                    let (n, b) = task.quotientAndRemainder(dividingBy: bands)
                    let oy0 = b * band
                    let oy1 = min(c.outHeight, oy0 + band)
                    let x = c.input.image(n, batch: c.batch, in: context.arena)
                    let y = c.output.image(n, batch: c.batch, in: context.arena)
                    lk_direct_conv(
                        x, Int32(c.channels), Int32(c.height), Int32(c.width), w.baseAddress!, Int32(c.outChannels),
                        Int32(c.kernelH), Int32(c.kernelW), Int32(c.strideH), Int32(c.strideW), Int32(c.padTop),
                        Int32(c.padLeft), Int32(c.outHeight), Int32(c.outWidth), Int32(oy0), Int32(oy1), y,
                        context.scratch + worker * perWorker)
                    if bias == nil && c.residual == nil && c.activation == Int32(LKActivationNone.rawValue) {
                        return
                    }
                    let p0 = oy0 * c.outWidth
                    let r = c.residual.map { $0.image(n, batch: c.batch, in: context.arena) + p0 }
                    lk_bias_activation(
                        y + p0, pixels, bias, c.activation, r, pixels, 0, c.outChannels, (oy1 - oy0) * c.outWidth)
                }
            }
        }
    }
}
