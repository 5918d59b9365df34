import CLookoutCUDA
import LookoutCUDA

extension GPUOpCompiler {
    /// cuDNN's description of the convolution in `p`, or nil when cuDNN is not a candidate for it: it needs fp16
    /// channels-last input and output (cuDNN writes the raw fp16 convolution and our epilogue finishes it in place,
    /// so the output must hold fp16) and padding it can express (`CUDNNConvolutionShape.unsupportedReason`).
    static func cudnnShape(_ p: LookoutConvParams) -> CUDNNConvolutionShape? {
        guard p.xHalf == 1, p.yHalf == 1, p.xsC == 1, p.ysC == 1, p.group >= 1 else { return nil }
        let shape = CUDNNConvolutionShape(
            input: [Int(p.batch), Int(p.inC), Int(p.inH), Int(p.inW)],
            inputStrides: [Int(p.xsN), Int(p.xsC), Int(p.xsH), Int(p.xsW)],
            filter: [Int(p.outC), Int(p.inC / p.group), Int(p.kH), Int(p.kW)],
            output: [Int(p.batch), Int(p.outC), Int(p.outH), Int(p.outW)],
            outputStrides: [Int(p.ysN), Int(p.ysC), Int(p.ysH), Int(p.ysW)],
            padding: (Int(p.padT), Int(p.padL)), stride: (Int(p.strideH), Int(p.strideW)),
            dilation: (Int(p.dilH), Int(p.dilW)), groups: Int(p.group))
        return shape.unsupportedReason == nil ? shape : nil
    }

    /// ONNX weights `[k][c / groups][r][s]` as cuDNN's NHWC filters: dense `[k][r][s][c / groups]`.
    static func krscWeights(_ weights: [Float], outChannels k: Int, channelsPerGroup c: Int, kh r: Int, kw s: Int)
        -> [Float]
    {
        precondition(weights.count == k * c * r * s, "\(weights.count) weights for [\(k)][\(c)][\(r)][\(s)]")
        var dense = [Float](repeating: 0, count: weights.count)
        for co in 0..<k {
            for ci in 0..<c {
                for i in 0..<r {
                    for j in 0..<s {
                        dense[((co * r + i) * s + j) * c + ci] = weights[((co * c + ci) * r + i) * s + j]
                    }
                }
            }
        }
        return dense
    }
}
