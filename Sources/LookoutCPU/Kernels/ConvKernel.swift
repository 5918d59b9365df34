import CLookoutKernels
import LookoutModel

/// Convolution as GEMM: 1×1 stride-1 convolutions multiply the weights straight into the input; others unfold
/// the input (im2col) into scratch first. Bias, SiLU and a residual add run in one pass over the output.
struct ConvKernel: CPUKernel {
    let input: CPUTensor
    let output: CPUTensor
    let residual: CPUTensor?
    let weights: [Float]
    let bias: [Float]?
    let activation: Int32
    let batch: Int
    let group: Int
    let channels: Int, height: Int, width: Int
    let outChannels: Int, outHeight: Int, outWidth: Int
    let kernelH: Int, kernelW: Int, strideH: Int, strideW: Int, dilationH: Int, dilationW: Int
    let padTop: Int, padLeft: Int
    let pointwise: Bool

    init?(node: Node, attributes: ConvAttributes, inputs: [CPUOperand?], output: CPUTensor, batch: Int) {
        guard case .tensor(let x)? = inputs[0], case .constant(let w)? = inputs[1], x.shape.count == 4,
            w.shape.count == 4, x.supportsImages(batch: batch), output.supportsImages(batch: batch)
        else { return nil }
        var bias: [Float]?
        if inputs.count > 2, let b = inputs[2] {
            guard case .constant(let value) = b else { return nil }
            bias = value.floats
        }
        var residual: CPUTensor?
        var silu = false
        if case .convSiLU(_, let hasResidual) = node.op {
            silu = true
            if hasResidual {
                guard inputs.count > 3, case .tensor(let r)? = inputs[3], r.supportsImages(batch: batch) else { return nil }
                residual = r
            }
        }
        self.input = x
        self.output = output
        self.residual = residual
        self.weights = w.floats
        self.bias = bias
        self.activation = silu ? Int32(LKActivationSiLU.rawValue) : Int32(LKActivationNone.rawValue)
        self.batch = batch
        self.group = attributes.group
        (channels, height, width) = (x.shape[1], x.shape[2], x.shape[3])
        (outChannels, outHeight, outWidth) = (output.shape[1], output.shape[2], output.shape[3])
        (kernelH, kernelW) = (w.shape[2], w.shape[3])
        (strideH, strideW) = attributes.strides
        (dilationH, dilationW) = attributes.dilations
        let pads = attributes.resolvedPads(inputH: height, inputW: width)
        (padTop, padLeft) = (pads.top, pads.left)
        pointwise = kernelH == 1 && kernelW == 1 && strideH == 1 && strideW == 1 && pads == (0, 0, 0, 0)
    }

    var scratchElements: Int {
        pointwise ? 0 : (channels / group) * kernelH * kernelW * outHeight * outWidth
    }

    func execute(_ context: CPUContext) {
        let cinPerGroup = channels / group
        let coutPerGroup = outChannels / group
        let k = cinPerGroup * kernelH * kernelW
        let pixels = outHeight * outWidth
        weights.withUnsafeBufferPointer { w in
            for n in 0..<batch {
                let x = input.image(n, batch: batch, in: context.arena)
                let y = output.image(n, batch: batch, in: context.arena)
                for g in 0..<group {
                    let b: UnsafePointer<Float>
                    if pointwise {
                        b = UnsafePointer(x + g * cinPerGroup * height * width)
                    } else {
                        let xg = x + g * cinPerGroup * height * width
                        CPUParallel.forEachRange(cinPerGroup, minimumChunk: max(1, 65536 / max(pixels, 1))) { range in
                            lk_im2col(xg, Int32(height), Int32(width), Int32(kernelH), Int32(kernelW), Int32(strideH),
                                      Int32(strideW), Int32(padTop), Int32(padLeft), Int32(dilationH), Int32(dilationW),
                                      Int32(outHeight), Int32(outWidth), Int32(range.lowerBound), Int32(range.upperBound),
                                      context.scratch)
                        }
                        b = UnsafePointer(context.scratch)
                    }
                    BLAS.sgemm(
                        m: coutPerGroup, n: pixels, k: k, a: w.baseAddress! + g * coutPerGroup * k, lda: k, b: b, ldb: pixels,
                        c: y + g * coutPerGroup * pixels, ldc: pixels)
                }
                if bias == nil && residual == nil && activation == Int32(LKActivationNone.rawValue) { continue }
                let r = residual?.image(n, batch: batch, in: context.arena)
                bias.withOptionalPointer { biasPointer in
                    CPUParallel.forEachRange(outChannels, minimumChunk: max(1, 32768 / max(pixels, 1))) { rows in
                        lk_bias_activation(y, pixels, biasPointer, activation, r, pixels, rows.lowerBound, rows.upperBound, pixels)
                    }
                }
            }
        }
    }
}

extension Optional where Wrapped == [Float] {
    func withOptionalPointer<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        switch self {
        case .some(let array): array.withUnsafeBufferPointer { body($0.baseAddress) }
        case .none: body(nil)
        }
    }
}
