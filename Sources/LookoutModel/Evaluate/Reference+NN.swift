#if canImport(Glibc)
    import Glibc
#endif

extension Reference {
    static func conv(
        _ x: TensorValue, _ w: TensorValue, _ b: TensorValue?, _ attributes: ConvAttributes, silu: Bool,
        residual: TensorValue?, _ context: String
    ) throws(ModelError) -> TensorValue {
        let outShape = try ShapeInference.conv(x.shape, w.shape, b?.shape, attributes, context)
        let (n, cin, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (cout, oh, ow) = (outShape[1], outShape[2], outShape[3])
        let (kh, kw) = (w.shape[2], w.shape[3])
        let group = attributes.group
        let cinPerGroup = cin / group
        let coutPerGroup = cout / group
        let p = attributes.resolvedPads(inputH: h, inputW: wd)
        let xs = x.floats
        let ws = w.floats
        let bs = b?.floats
        var out = [Float](repeating: 0, count: n * cout * oh * ow)
        for batch in 0..<n {
            for oc in 0..<cout {
                let g = oc / coutPerGroup
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        var sum: Float = bs?[oc] ?? 0
                        for icg in 0..<cinPerGroup {
                            let ic = g * cinPerGroup + icg
                            for ky in 0..<kh {
                                let iy = oy * attributes.strides.h - p.top + ky * attributes.dilations.h
                                if iy < 0 || iy >= h { continue }
                                for kx in 0..<kw {
                                    let ix = ox * attributes.strides.w - p.left + kx * attributes.dilations.w
                                    if ix < 0 || ix >= wd { continue }
                                    sum +=
                                        xs[((batch * cin + ic) * h + iy) * wd + ix]
                                        * ws[((oc * cinPerGroup + icg) * kh + ky) * kw + kx]
                                }
                            }
                        }
                        if silu { sum = sum / (1 + Glibc.exp(-sum)) }
                        out[((batch * cout + oc) * oh + oy) * ow + ox] = sum
                    }
                }
            }
        }
        if let residual {
            guard residual.shape == outShape else {
                throw .invalid("\(context): residual shape \(residual.shape) differs from \(outShape)")
            }
            let r = residual.floats
            for i in out.indices { out[i] += r[i] }
        }
        return TensorValue(dataType: x.dataType, shape: outShape, floats: out)
    }

    static func maxPool(_ x: TensorValue, _ attributes: PoolAttributes, _ context: String) throws(ModelError)
        -> TensorValue
    {
        let outShape = try ShapeInference.pool(x.shape, attributes, context)
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (oh, ow) = (outShape[2], outShape[3])
        let p = attributes.resolvedPads(inputH: h, inputW: w)
        let xs = x.floats
        var out = [Float](repeating: 0, count: n * c * oh * ow)
        for plane in 0..<(n * c) {
            for oy in 0..<oh {
                for ox in 0..<ow {
                    var best = -Float.infinity
                    for ky in 0..<attributes.kernel.h {
                        let iy = oy * attributes.strides.h - p.top + ky * attributes.dilations.h
                        if iy < 0 || iy >= h { continue }
                        for kx in 0..<attributes.kernel.w {
                            let ix = ox * attributes.strides.w - p.left + kx * attributes.dilations.w
                            if ix < 0 || ix >= w { continue }
                            best = Swift.max(best, xs[(plane * h + iy) * w + ix])
                        }
                    }
                    out[(plane * oh + oy) * ow + ox] = best
                }
            }
        }
        return TensorValue(dataType: x.dataType, shape: outShape, floats: out)
    }

    /// The input coordinate an output index maps to under a coordinate transformation mode.
    package static func resizeCoordinate(_ o: Int, scale: Float, inputSize: Int, outputSize: Int, mode: String) -> Float
    {
        let x = Float(o)
        switch mode {
        case "asymmetric": return x / scale
        case "align_corners":
            return outputSize == 1 ? 0 : x * Float(inputSize - 1) / Float(outputSize - 1)
        case "pytorch_half_pixel": return outputSize > 1 ? (x + 0.5) / scale - 0.5 : 0
        case "half_pixel_symmetric":
            let adjustment = Float(outputSize) / (scale * Float(inputSize))
            let center = Float(inputSize) / 2
            return center * (1 - adjustment) + (x + 0.5) / scale - 0.5
        default: return (x + 0.5) / scale - 0.5
        }
    }

    /// The source index nearest-neighbour resize reads for output index `o`.
    package static func nearestIndex(
        _ o: Int, scale: Float, inputSize: Int, outputSize: Int, attributes: ResizeAttributes
    ) -> Int {
        let x = resizeCoordinate(
            o, scale: scale, inputSize: inputSize, outputSize: outputSize, mode: attributes.coordinateTransformation)
        var i: Float
        switch attributes.nearestMode {
        case "floor": i = x.rounded(.down)
        case "ceil": i = x.rounded(.up)
        case "round_prefer_ceil": i = (x + 0.5).rounded(.down)
        default: i = x == x.rounded(.down) + 0.5 ? x.rounded(.down) : x.rounded()
        }
        return Swift.min(Swift.max(Int(i), 0), inputSize - 1)
    }

    static func resize(
        _ x: TensorValue, scales: TensorValue?, sizes: TensorValue?, _ attributes: ResizeAttributes, _ context: String
    ) throws(ModelError) -> TensorValue {
        let (outShape, scaleList) = try ShapeRules.resize(
            x.shape, scales: scales?.floats, sizes: sizes?.ints, axes: attributes.axes, context)
        let rank = x.shape.count
        let xs = x.floats
        let strides = ShapeRules.contiguousStrides(x.shape)
        let count = try TensorValue.elementCount(outShape, context: context)
        var out = [Float](repeating: 0, count: count)
        var index = [Int](repeating: 0, count: rank)
        switch attributes.mode {
        case .nearest:
            let maps: [[Int]] = (0..<rank).map { axis in
                (0..<outShape[axis]).map {
                    nearestIndex(
                        $0, scale: scaleList[axis], inputSize: x.shape[axis], outputSize: outShape[axis],
                        attributes: attributes)
                }
            }
            for i in 0..<count {
                var offset = 0
                for d in 0..<rank { offset += maps[d][index[d]] * strides[d] }
                out[i] = xs[offset]
                advance(&index, outShape)
            }
        case .linear:
            // N-linear interpolation over every resized axis, clamped at the borders.
            let taps: [[(Int, Int, Float)]] = (0..<rank).map { axis in
                (0..<outShape[axis]).map { o in
                    if outShape[axis] == x.shape[axis] && scaleList[axis] == 1 { return (o, o, 0) }
                    let c = resizeCoordinate(
                        o, scale: scaleList[axis], inputSize: x.shape[axis], outputSize: outShape[axis],
                        mode: attributes.coordinateTransformation)
                    let clamped = Swift.min(Swift.max(c, 0), Float(x.shape[axis] - 1))
                    let lo = Int(clamped.rounded(.down))
                    let hi = Swift.min(lo + 1, x.shape[axis] - 1)
                    return (lo, hi, clamped - Float(lo))
                }
            }
            for i in 0..<count {
                var sum: Float = 0
                for corner in 0..<(1 << rank) {
                    var weight: Float = 1
                    var offset = 0
                    for d in 0..<rank {
                        let (lo, hi, f) = taps[d][index[d]]
                        let useHi = corner >> d & 1 == 1
                        weight *= useHi ? f : 1 - f
                        offset += (useHi ? hi : lo) * strides[d]
                    }
                    if weight != 0 { sum += weight * xs[offset] }
                }
                out[i] = sum
                advance(&index, outShape)
            }
        }
        return TensorValue(dataType: x.dataType, shape: outShape, floats: out)
    }

    static func advance(_ index: inout [Int], _ shape: [Int]) {
        var d = shape.count - 1
        while d >= 0 {
            index[d] += 1
            if index[d] < shape[d] { return }
            index[d] = 0
            d -= 1
        }
    }

    static func softmax(_ x: TensorValue, axis: Int, legacy: Bool, _ context: String) throws(ModelError) -> TensorValue
    {
        let a = try ShapeRules.normalizeAxis(axis, rank: x.shape.count, context)
        let outer = x.shape[..<a].reduce(1, *)
        let length = legacy ? x.shape[a...].reduce(1, *) : x.shape[a]
        let inner = legacy ? 1 : x.shape[(a + 1)...].reduce(1, *)
        var values = x.floats
        for o in 0..<outer {
            for i in 0..<inner {
                let base = o * length * inner + i
                var maximum = -Float.infinity
                for k in 0..<length { maximum = Swift.max(maximum, values[base + k * inner]) }
                var sum: Float = 0
                for k in 0..<length {
                    let e = Glibc.exp(values[base + k * inner] - maximum)
                    values[base + k * inner] = e
                    sum += e
                }
                for k in 0..<length { values[base + k * inner] /= sum }
            }
        }
        return TensorValue(dataType: x.dataType, shape: x.shape, floats: values)
    }

    static func reduce(
        _ kind: Operator.ReduceKind, _ x: TensorValue, axes: [Int]?, keepDims: Bool, noopWithEmptyAxes: Bool,
        _ context: String
    ) throws(ModelError) -> TensorValue {
        let rank = x.shape.count
        var reduced = Set<Int>()
        if let axes, !axes.isEmpty {
            for a in axes { reduced.insert(try ShapeRules.normalizeAxis(a, rank: rank, context)) }
        } else if noopWithEmptyAxes {
            return x
        } else {
            reduced = Set(0..<rank)
        }
        let outShapeKeep = x.shape.enumerated().map { reduced.contains($0.offset) ? 1 : $0.element }
        let outShape =
            keepDims ? outShapeKeep : x.shape.enumerated().filter { !reduced.contains($0.offset) }.map(\.element)
        let outCount = outShapeKeep.reduce(1, *)
        let outStrides = ShapeRules.contiguousStrides(outShapeKeep)
        let isFloat = x.isFloat
        let fx = isFloat ? x.floats : []
        let ix = isFloat ? [] : x.ints
        var accF = [Float](
            repeating: kind == .max ? -.infinity : (kind == .min ? .infinity : (kind == .prod ? 1 : 0)), count: outCount
        )
        var accI = [Int64](
            repeating: kind == .max ? .min : (kind == .min ? .max : (kind == .prod ? 1 : 0)), count: outCount)
        var index = [Int](repeating: 0, count: rank)
        for i in 0..<x.count {
            var o = 0
            for d in 0..<rank where !reduced.contains(d) { o += index[d] * outStrides[d] }
            if isFloat {
                switch kind {
                case .sum, .mean: accF[o] += fx[i]
                case .max: accF[o] = Swift.max(accF[o], fx[i])
                case .min: accF[o] = Swift.min(accF[o], fx[i])
                case .prod: accF[o] *= fx[i]
                }
            } else {
                switch kind {
                case .sum, .mean: accI[o] &+= ix[i]
                case .max: accI[o] = Swift.max(accI[o], ix[i])
                case .min: accI[o] = Swift.min(accI[o], ix[i])
                case .prod: accI[o] &*= ix[i]
                }
            }
            advance(&index, x.shape)
        }
        let n = Swift.max(x.count / Swift.max(outCount, 1), 1)
        if isFloat {
            if kind == .mean { accF = accF.map { $0 / Float(n) } }
            return TensorValue(dataType: x.dataType, shape: outShape, floats: accF)
        }
        if kind == .mean { accI = accI.map { $0 / Int64(n) } }
        return TensorValue(dataType: x.dataType, shape: outShape, ints: accI)
    }
}
