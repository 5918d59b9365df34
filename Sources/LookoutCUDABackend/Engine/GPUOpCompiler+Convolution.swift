import CLookoutCUDA
import LookoutModel

extension GPUOpCompiler {
    func convolution(
        _ node: Node, _ attributes: ConvAttributes, _ inputs: [Operand?], constants: inout ConstantPool,
        _ unsupported: (String) -> GPUBackendError
    ) throws(GPUBackendError) -> ConvOp {
        guard case .tensor(let x, let xa)? = inputs[0], x.shape.count == 4 else {
            throw unsupported("needs a 4-D tensor input")
        }
        guard case .constant(let w, let wName)? = inputs[1], w.shape.count == 4 else {
            throw unsupported("needs constant 4-D weights")
        }
        var biasValues: [Float]?
        if inputs.count > 2, let b = inputs[2] {
            guard case .constant(let value, _) = b else { throw unsupported("needs a constant bias") }
            biasValues = value.floats
        }
        var silu = false
        var residual: (GPUView, GPUAddress)?
        if case .convSiLU(_, let hasResidual) = node.op {
            silu = true
            if hasResidual {
                guard inputs.count > 3, case .tensor(let r, let ra)? = inputs[3], r.shape.count == 4 else {
                    throw unsupported("needs a tensor residual")
                }
                residual = (r, ra)
            }
        }
        let (y, ya) = output(node.outputs[0])
        let (n, cin, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        guard n * y.shape[2] * y.shape[3] < Int(Int32.max) else {
            throw GPUBackendError(
                .tooLarge,
                "\(node.name): \(n * y.shape[2] * y.shape[3]) output pixels exceed the kernels' 32-bit pixel index; use a smaller batch"
            )
        }
        let (cout, oh, ow) = (y.shape[1], y.shape[2], y.shape[3])
        let (kh, kw) = (w.shape[2], w.shape[3])
        let group = attributes.group
        let pads = attributes.resolvedPads(inputH: h, inputW: wd)
        let k = kh * kw * cin
        let kPad = (k + EngineKernelSource.kTile - 1) / EngineKernelSource.kTile * EngineKernelSource.kTile
        let coutPad =
            (cout + EngineKernelSource.channelPad - 1) / EngineKernelSource.channelPad * EngineKernelSource.channelPad
        let weights = w.floats
        let key = "\(wName) \(w.shape)"
        let w32 = constants.floats(key: "w " + key, weights)
        var bias: GPUAddress = .none
        if let biasValues {
            bias = constants.floats(
                key: "b \(node.name) \(cout)", biasValues + [Float](repeating: 0, count: coutPad - cout))
        }

        let xBytes = { () -> Int in
            if case .arena(let b) = xa { return b }
            return 0
        }()
        let yBytes = { () -> Int in
            if case .arena(let b) = ya { return b }
            return 0
        }()
        let tensorCores =
            group == 1 && x.element == .f16 && x.strides[1] == 1 && cin % 8 == 0 && x.strides[0] % 8 == 0
            && x.strides[2] % 8 == 0 && x.strides[3] % 8 == 0 && xBytes % 16 == 0
            // Channels-last outputs are stored two channels at a time (aligned pairs); others element by element.
            && (y.strides[1] != 1
                || (y.strides[0] % 2 == 0 && y.strides[2] % 2 == 0 && y.strides[3] % 2 == 0
                    && yBytes % (2 * y.element.bytes) == 0))
        var candidates: [ConvKernel] = []
        var w16: GPUAddress = .none
        if tensorCores {
            // [coutPad][kPad], k = (kh * kW + kw) * cin + c: the order the kernel gathers channels-last taps in.
            w16 = constants.halves(key: "w16 " + key + " \(kPad)x\(coutPad)") {
                var packed = [Float](repeating: 0, count: coutPad * kPad)
                for co in 0..<cout {
                    for c in 0..<cin {
                        for i in 0..<kh {
                            for j in 0..<kw {
                                packed[co * kPad + (i * kw + j) * cin + c] = weights[((co * cin + c) * kh + i) * kw + j]
                            }
                        }
                    }
                }
                return packed
            }
            var widest = 16
            while widest < cout && widest < EngineKernelSource.channelPad { widest *= 2 }
            candidates += EngineKernelSource.convTiles.filter { $0.bn <= widest }.map { .mma($0) }
            candidates += EngineKernelSource.haloTiles.filter {
                $0.bn <= widest
                    && $0.runs(
                        kernel: (kh, kw), stride: (attributes.strides.h, attributes.strides.w),
                        dilation: (attributes.dilations.h, attributes.dilations.w), group: group, inputChannels: cin)
            }.map { .halo($0) }
            candidates += EngineKernelSource.pointwiseTiles.filter {
                $0.bn <= widest
                    && $0.runs(
                        kernel: (kh, kw), stride: (attributes.strides.h, attributes.strides.w), pads: pads,
                        group: group,
                        inputChannels: cin)
            }.map { .pointwise($0) }
            // The Hopper tiles (the tuner skips them where their module was not loaded).
            candidates += EngineKernelSource.wgmmaTiles.filter { $0.bn <= widest }.map { .wgmma($0) }
            // Split K where a layer has few output tiles but a long K (deep layers at small batches).
            let m = n * oh * ow
            for tile in EngineKernelSource.splitTiles where tile.bn <= widest {
                let kTiles = (k + tile.bk - 1) / tile.bk
                let outputTiles = ((m + tile.bm - 1) / tile.bm) * ((cout + tile.bn - 1) / tile.bn)
                guard outputTiles < 2 * 132 else { continue }
                for splits in EngineKernelSource.splitCounts
                where kTiles >= 4 * splits && outputTiles * splits <= 8 * 132 {
                    candidates.append(.mmaSplit(tile, splits))
                }
            }
        }
        // The first-layer kernel rounds the input to fp16 (as the fp16 engine stores it anyway): fp16 inputs only.
        let firstTiles = EngineKernelSource.firstTiles.filter {
            x.element == .f16
                && $0.runs(
                    kernel: (kh, kw), stride: (attributes.strides.h, attributes.strides.w),
                    dilation: (attributes.dilations.h, attributes.dilations.w), group: group, inputChannels: cin,
                    outputChannels: cout)
        }
        var firstWeights: GPUAddress = .none
        if !firstTiles.isEmpty {
            // Its own fp16 weights, [rows][88] with k = tap * 8 + c, beside the tensor-core weights: a 3x3 layer of
            // 8 input channels (YOLO11's C3k2 bottleneck) has both, and each kernel reads its own layout.
            let rows = (cout + 15) / 16 * 16
            firstWeights = constants.halves(key: "first " + key) {
                var packed = [Float](repeating: 0, count: rows * 88)
                for co in 0..<cout {
                    for c in 0..<cin {
                        for tap in 0..<9 { packed[co * 88 + tap * 8 + c] = weights[(co * cin + c) * 9 + tap] }
                    }
                }
                return packed
            }
            candidates += firstTiles.map { .first($0) }
        }
        if group == 1 && cin * kh * kw <= 64 && cout <= 64 {
            candidates.append(.small(EngineKernelSource.smallConvWidths.first { $0 >= cout }!))
        }
        candidates.append(.direct)
        let residualView = residual?.0
        var p = LookoutConvParams()
        (p.xsN, p.xsC, p.xsH, p.xsW) = (
            Int64(x.strides[0]), Int64(x.strides[1]), Int64(x.strides[2]), Int64(x.strides[3])
        )
        if let r = residualView {
            (p.rsN, p.rsC, p.rsH, p.rsW) = (
                Int64(r.strides[0]), Int64(r.strides[1]), Int64(r.strides[2]), Int64(r.strides[3])
            )
            p.rHalf = r.element == .f16 ? 1 : 0
            p.hasResidual = 1
        }
        (p.ysN, p.ysC, p.ysH, p.ysW) = (
            Int64(y.strides[0]), Int64(y.strides[1]), Int64(y.strides[2]), Int64(y.strides[3])
        )
        (p.batch, p.inC, p.inH, p.inW) = (Int32(n), Int32(cin), Int32(h), Int32(wd))
        (p.outC, p.outH, p.outW, p.group) = (Int32(cout), Int32(oh), Int32(ow), Int32(group))
        (p.kH, p.kW, p.strideH, p.strideW) = (
            Int32(kh), Int32(kw), Int32(attributes.strides.h), Int32(attributes.strides.w)
        )
        (p.padT, p.padL, p.dilH, p.dilW) = (
            Int32(pads.top), Int32(pads.left), Int32(attributes.dilations.h), Int32(attributes.dilations.w)
        )
        (p.K, p.kPad, p.M, p.silu) = (Int32(k), Int32(kPad), Int32(n * oh * ow), silu ? 1 : 0)
        p.xHalf = x.element == .f16 ? 1 : 0
        p.yHalf = y.element == .f16 ? 1 : 0
        let signature =
            "conv n\(n) \(cin)x\(h)x\(wd)>\(cout)x\(oh)x\(ow) k\(kh)x\(kw) s\(attributes.strides.h)x\(attributes.strides.w) "
            + "p\(pads.top),\(pads.left) d\(attributes.dilations.h)x\(attributes.dilations.w) g\(group) x\(x.strides)\(x.element) "
            + "y\(y.strides)\(y.element) r\(residualView.map { "\($0.strides)\($0.element)" } ?? "-") silu\(silu)"
        let preferred = candidates.first {
            if case .mma(let t) = $0 { return t.bm == 64 && t.bn == 64 }
            return false
        }
        var op = ConvOp(
            params: p, x: xa, w16: w16, w32: w32, bias: bias, residual: residual?.1 ?? .none, y: ya,
            kernel: preferred ?? candidates[0], candidates: candidates, output: y, outputAddress: ya,
            signature: signature, firstWeights: firstWeights)
        if cudnnWeights, let shape = Self.cudnnShape(p) {
            op.cudnnShape = shape
            if tensorCores && k == kPad {
                // The tensor-core weights' rows are already dense KRSC when K needs no padding.
                op.denseWeights = w16
            } else {
                op.denseWeights = constants.halves(key: "krsc " + key) {
                    Self.krscWeights(weights, outChannels: cout, channelsPerGroup: cin / group, kh: kh, kw: kw)
                }
            }
        }
        return op
    }
}
