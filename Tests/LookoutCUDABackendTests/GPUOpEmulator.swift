import CLookoutCUDA
import Foundation
import LookoutModel

@testable import LookoutCUDABackend

/// Runs the engine's launches on the CPU, element by element, from the same parameter blocks the kernels get:
/// the tests check the GPU plan (views, strides, placement, parameter blocks, weight repacking) against the CPU
/// backend without a GPU. Device addresses are fake bases that map to host byte arrays.
final class GPUOpEmulator {
    struct Region {
        var base: UInt64
        var bytes: [UInt8]
    }
    var regions: [Region] = []

    func add(base: UInt64, bytes: [UInt8]) { regions.append(Region(base: base, bytes: bytes)) }

    func locate(_ address: UInt64) -> (Int, Int) {
        for (i, r) in regions.enumerated() where address >= r.base && address < r.base + UInt64(max(r.bytes.count, 1)) {
            return (i, Int(address - r.base))
        }
        preconditionFailure("address \(address) outside every region")
    }

    func load(_ base: UInt64, _ index: Int, half: Bool) -> Float {
        let (r, offset) = locate(base)
        let at = offset + index * (half ? 2 : 4)
        return regions[r].bytes.withUnsafeBytes { raw in
            half
                ? Float(Float16(bitPattern: raw.load(fromByteOffset: at, as: UInt16.self)))
                : raw.load(fromByteOffset: at, as: Float.self)
        }
    }

    func store(_ base: UInt64, _ index: Int, half: Bool, _ value: Float) {
        let (r, offset) = locate(base)
        let at = offset + index * (half ? 2 : 4)
        regions[r].bytes.withUnsafeMutableBytes { raw in
            if half {
                raw.storeBytes(of: Float16(value).bitPattern, toByteOffset: at, as: UInt16.self)
            } else {
                raw.storeBytes(of: value, toByteOffset: at, as: Float.self)
            }
        }
    }

    /// An element of kind 0 (fp32), 1 (fp16) or 2 (int32), as the kernels' `loadk`.
    func load(_ base: UInt64, _ index: Int, kind: Int32) -> Float {
        kind == 2 ? Float(loadInt(base, index)) : load(base, index, half: kind == 1)
    }

    /// Stores as the kernels' `storek`: a float into an int32 element truncates toward zero.
    func store(_ base: UInt64, _ index: Int, kind: Int32, _ value: Float) {
        guard kind == 2 else { return store(base, index, half: kind == 1, value) }
        let (r, offset) = locate(base)
        regions[r].bytes.withUnsafeMutableBytes {
            $0.storeBytes(of: Int32(value.rounded(.towardZero)), toByteOffset: offset + 4 * index, as: Int32.self)
        }
    }

    func loadInt(_ base: UInt64, _ index: Int) -> Int {
        let (r, offset) = locate(base)
        return regions[r].bytes.withUnsafeBytes { Int($0.load(fromByteOffset: offset + 4 * index, as: Int32.self)) }
    }

    static func silu(_ x: Float) -> Float { x / (1 + exp(-x)) }

    func run(_ op: GPUOp, arena: UInt64, constants: UInt64) {
        switch op {
        case .conv(let c):
            conv(
                c, c.resolved(arena: arena, constants: constants),
                dense: c.denseWeights.resolve(arena: arena, constants: constants))
        case .elementwise(let e) where e.kernel == .gatherElements:
            gatherElements(e.resolved(arena: arena, constants: constants))
        case .elementwise(let e):
            elementwise(e.resolved(arena: arena, constants: constants), spatial: e.kernel == .spatial)
        case .reduceMax(let r):
            reduceMax(r.resolved(arena: arena, constants: constants))
        case .matMul(let m):
            let p = m.resolved(arena: arena, constants: constants)
            if m.fused { attention(p) } else { matMul(p) }
        case .topK(let t):
            topK(t.resolved(arena: arena, constants: constants))
        case .softmax(let s):
            let p = s.resolved(arena: arena, constants: constants)
            if let dot = s.dot {
                softmaxDot(
                    p, dot, weights: dot.weights.resolve(arena: arena, constants: constants),
                    bias: dot.bias.resolve(arena: arena, constants: constants),
                    y: dot.y.resolve(arena: arena, constants: constants))
            } else {
                softmax(p)
            }
        }
    }

    func conv(_ op: ConvOp, _ p: LookoutConvParams, dense: UInt64) {
        var usesHalfWeights = op.kernel.isSplit
        if case .mma = op.kernel { usesHalfWeights = true }
        // cuDNN: fp16 weights dense in KRSC order, the convolution rounded to the fp16 output before the epilogue.
        let cudnn = op.kernel.isCUDNN
        let outHW = Int(p.outH * p.outW)
        let cinG = Int(p.inC / p.group)
        let coutG = Int(p.outC / p.group)
        for m in 0..<Int(p.M) {
            let img = m / outHW
            let pix = m % outHW
            let oh = pix / Int(p.outW)
            let ow = pix % Int(p.outW)
            for co in 0..<Int(p.outC) {
                var acc: Float = 0
                let g = co / coutG
                for ci in 0..<cinG {
                    let c = g * cinG + ci
                    for kh in 0..<Int(p.kH) {
                        let ih = oh * Int(p.strideH) - Int(p.padT) + kh * Int(p.dilH)
                        if ih < 0 || ih >= Int(p.inH) { continue }
                        for kw in 0..<Int(p.kW) {
                            let iw = ow * Int(p.strideW) - Int(p.padL) + kw * Int(p.dilW)
                            if iw < 0 || iw >= Int(p.inW) { continue }
                            let x = load(
                                p.x, img * Int(p.xsN) + c * Int(p.xsC) + ih * Int(p.xsH) + iw * Int(p.xsW),
                                half: p.xHalf != 0)
                            let w: Float
                            if cudnn {
                                w = load(dense, ((co * Int(p.kH) + kh) * Int(p.kW) + kw) * cinG + ci, half: true)
                            } else if usesHalfWeights {
                                // The repacked fp16 weights, in the tensor-core kernel's k order.
                                w = load(p.w16, co * Int(p.kPad) + (kh * Int(p.kW) + kw) * Int(p.inC) + c, half: true)
                            } else {
                                w = load(p.w32, ((co * cinG + ci) * Int(p.kH) + kh) * Int(p.kW) + kw, half: false)
                            }
                            acc += x * w
                        }
                    }
                }
                var v = cudnn ? Float(Float16(acc)) : acc
                if p.bias != 0 { v += load(p.bias, co, half: false) }
                if p.silu != 0 { v = Self.silu(v) }
                if p.hasResidual != 0 {
                    v += load(
                        p.residual, img * Int(p.rsN) + co * Int(p.rsC) + oh * Int(p.rsH) + ow * Int(p.rsW),
                        half: p.rHalf != 0)
                }
                store(
                    p.y, img * Int(p.ysN) + co * Int(p.ysC) + oh * Int(p.ysH) + ow * Int(p.ysW), half: p.yHalf != 0, v)
            }
        }
    }

    func elementwise(_ p: LookoutElementwiseParams, spatial: Bool) {
        let shape = tupleArray(p.shape)
        let a = tupleArray(p.aStride)
        let b = tupleArray(p.bStride)
        let y = tupleArray(p.yStride)
        for t in 0..<Int(p.count) {
            var r = t
            var index = [Int](repeating: 0, count: 6)
            for d in stride(from: 5, through: 0, by: -1) {
                index[d] = r % shape[d]
                r /= shape[d]
            }
            if spatial && p.op >= 140 {
                // 8 channels a thread: c counts groups, a[5] and y[5] are 8.
                let (n, oh, ow, c8) = (index[2], index[3], index[4], index[5])
                for e in 0..<8 {
                    let base = n * a[2] + c8 * a[5] + e
                    var v: Float = -.infinity
                    if p.op == 140 {
                        for kh in 0..<Int(p.kH) {
                            let ih = oh * Int(p.strideH) - Int(p.padT) + kh * Int(p.dilH)
                            if ih < 0 || ih >= Int(p.inH) { continue }
                            for kw in 0..<Int(p.kW) {
                                let iw = ow * Int(p.strideW) - Int(p.padL) + kw * Int(p.dilW)
                                if iw < 0 || iw >= Int(p.inW) { continue }
                                v = max(v, load(p.a, base + ih * a[3] + iw * a[4], half: true))
                            }
                        }
                    } else {
                        v = load(p.a, base + loadInt(p.b, oh) * a[3] + loadInt(p.c, ow) * a[4], half: true)
                    }
                    store(p.y, n * y[2] + oh * y[3] + ow * y[4] + c8 * y[5] + e, half: true, v)
                }
                continue
            }
            if spatial {
                let (n, oh, ow, c) = (index[2], index[3], index[4], index[5])
                let base = n * a[2] + c * a[5]
                var v: Float
                if p.op == EngineKernelSource.Op.maxPool.rawValue {
                    v = -.infinity
                    for kh in 0..<Int(p.kH) {
                        let ih = oh * Int(p.strideH) - Int(p.padT) + kh * Int(p.dilH)
                        if ih < 0 || ih >= Int(p.inH) { continue }
                        for kw in 0..<Int(p.kW) {
                            let iw = ow * Int(p.strideW) - Int(p.padL) + kw * Int(p.dilW)
                            if iw < 0 || iw >= Int(p.inW) { continue }
                            v = max(v, load(p.a, base + ih * a[3] + iw * a[4], half: p.aHalf != 0))
                        }
                    }
                } else {
                    let ih = loadInt(p.b, oh)
                    let iw = loadInt(p.c, ow)
                    v = load(p.a, base + ih * a[3] + iw * a[4], half: p.aHalf != 0)
                }
                store(p.y, n * y[2] + oh * y[3] + ow * y[4] + c * y[5], half: p.yHalf != 0, v)
                continue
            }
            let oa = zip(index, a).reduce(0) { $0 + $1.0 * $1.1 }
            let ob = zip(index, b).reduce(0) { $0 + $1.0 * $1.1 }
            let oy = zip(index, y).reduce(0) { $0 + $1.0 * $1.1 }
            if p.op == 100 {
                for e in 0..<(p.aHalf == 1 ? 8 : 4) {
                    if p.aHalf == 2 {
                        store(p.y, oy + e, kind: 2, Float(loadInt(p.a, oa + e)))
                    } else {
                        store(p.y, oy + e, half: p.yHalf != 0, load(p.a, oa + e, half: p.aHalf != 0))
                    }
                }
                continue
            }
            if p.op == 30 || p.op == 31 {
                let x = Int(load(p.a, oa, kind: p.aHalf).rounded(.towardZero))
                let d = Int(load(p.b, ob, kind: p.bHalf).rounded(.towardZero))
                var r = 0
                if d != 0 {
                    if p.op == 31 {
                        r = x / d
                    } else {
                        r = x % d
                        if r != 0 && (r < 0) != (d < 0) { r += d }
                    }
                }
                store(p.y, oy, kind: p.yHalf, Float(r))
                continue
            }
            var v = load(p.a, oa, kind: p.aHalf)
            let other = p.op >= 20 ? load(p.b, ob, kind: p.bHalf) : 0
            switch p.op {
            case 0: break
            case 1: v = 1 / (1 + exp(-v))
            case 2: v = max(v, 0)
            case 20: v += other
            case 21: v -= other
            case 22: v *= other
            case 23: v /= other
            case 24: v = pow(v, other)
            case 25: v = min(v, other)
            case 26: v = max(v, other)
            default: preconditionFailure("op \(p.op) not emulated")
            }
            store(p.y, oy, kind: p.yHalf, v)
        }
    }

    /// The softmax weighted and summed into one output per (outer, inner), as `lookout_softmax_dot`.
    func softmaxDot(_ p: LookoutSoftmaxParams, _ dot: SoftmaxDot, weights: UInt64, bias: UInt64, y: UInt64) {
        for o in 0..<Int(p.outer) {
            for i in 0..<Int(p.inner) {
                let xb = o * Int(p.xsOuter) + i * Int(p.xsInner)
                let values = (0..<Int(p.length)).map { load(p.x, xb + $0 * Int(p.xsLength), half: p.xHalf != 0) }
                let m = values.max() ?? 0
                let e = values.map { exp($0 - m) }
                let sum = e.reduce(0, +)
                var acc: Float = 0
                for k in 0..<Int(p.length) { acc = acc.addingProduct(e[k] / sum, load(weights, k, half: false)) }
                if bias != 0 { acc += load(bias, 0, half: false) }
                store(y, o * Int(dot.ysOuter) + i * Int(dot.ysInner), half: dot.yHalf != 0, acc)
            }
        }
    }

    func softmax(_ p: LookoutSoftmaxParams) {
        for o in 0..<Int(p.outer) {
            for i in 0..<Int(p.inner) {
                let xb = o * Int(p.xsOuter) + i * Int(p.xsInner)
                let yb = o * Int(p.ysOuter) + i * Int(p.ysInner)
                let values = (0..<Int(p.length)).map { load(p.x, xb + $0 * Int(p.xsLength), half: p.xHalf != 0) }
                let m = values.max() ?? 0
                let e = values.map { exp($0 - m) }
                let sum = e.reduce(0, +)
                for k in 0..<Int(p.length) { store(p.y, yb + k * Int(p.ysLength), half: p.yHalf != 0, e[k] / sum) }
            }
        }
    }

    /// `lookout_reduce_max`.
    func reduceMax(_ p: LookoutSoftmaxParams) {
        for o in 0..<Int(p.outer) {
            for i in 0..<Int(p.inner) {
                let xb = o * Int(p.xsOuter) + i * Int(p.xsInner)
                var m = load(p.x, xb, half: p.xHalf != 0)
                for k in 1..<max(Int(p.length), 1) where !m.isNaN {
                    let v = load(p.x, xb + k * Int(p.xsLength), half: p.xHalf != 0)
                    if v > m || v.isNaN { m = v }
                }
                store(p.y, o * Int(p.ysOuter) + i * Int(p.ysInner), half: p.yHalf != 0, m)
            }
        }
    }

    func batchOffsets(_ p: LookoutMatMulParams, _ z: Int) -> (a: Int, b: Int, c: Int, y: Int) {
        let b0 = z / Int(p.batch1)
        let b1 = z % Int(p.batch1)
        return (
            b0 * Int(p.aBatch.0) + b1 * Int(p.aBatch.1), b0 * Int(p.bBatch.0) + b1 * Int(p.bBatch.1),
            b0 * Int(p.cBatch.0) + b1 * Int(p.cBatch.1), b0 * Int(p.yBatch.0) + b1 * Int(p.yBatch.1)
        )
    }

    /// `lookout_matmul`: fp32 accumulation in k order.
    func matMul(_ p: LookoutMatMulParams) {
        for z in 0..<Int(p.batch0 * p.batch1) {
            let o = batchOffsets(p, z)
            for i in 0..<Int(p.m) {
                for j in 0..<Int(p.n) {
                    var acc: Float = 0
                    for q in 0..<Int(p.k) {
                        let a = load(p.a, o.a + i * Int(p.aRow) + q * Int(p.aCol), kind: p.aHalf)
                        let b = load(p.b, o.b + q * Int(p.bRow) + j * Int(p.bCol), kind: p.bHalf)
                        acc = acc.addingProduct(a, b)
                    }
                    store(p.y, o.y + i * Int(p.yRow) + j * Int(p.yCol), kind: p.yHalf, acc)
                }
            }
        }
    }

    /// `lookout_attention`: Q, K, V rounded to fp16 as the kernel stages them, exact softmax, P rounded to fp16.
    func attention(_ p: LookoutMatMulParams) {
        func half(_ v: Float) -> Float { Float(Float16(v)) }
        for z in 0..<Int(p.batch0 * p.batch1) {
            let o = batchOffsets(p, z)
            for i in 0..<Int(p.m) {
                var scores = [Float](repeating: 0, count: Int(p.kv))
                for j in 0..<Int(p.kv) {
                    var acc: Float = 0
                    for e in 0..<Int(p.k) {
                        let q = half(load(p.a, o.a + e * Int(p.aRow) + i * Int(p.aCol), kind: p.aHalf))
                        let k = half(load(p.b, o.b + e * Int(p.bRow) + j * Int(p.bCol), kind: p.bHalf))
                        acc = acc.addingProduct(q, k)
                    }
                    scores[j] = acc
                }
                let m = scores.max() ?? 0
                let e = scores.map { exp($0 - m) }
                let sum = e.reduce(0, +)
                for c in 0..<Int(p.n) {
                    var acc: Float = 0
                    for j in 0..<Int(p.kv) {
                        let v = half(load(p.c, o.c + c * Int(p.cRow) + j * Int(p.cCol), kind: p.cHalf))
                        acc = acc.addingProduct(half(e[j]), v)
                    }
                    store(p.y, o.y + c * Int(p.yRow) + i * Int(p.yCol), kind: p.yHalf, acc / sum)
                }
            }
        }
    }

    /// `lookout_topk`: larger first (smaller for `largest` 0), equal values by index, NaN first.
    func topK(_ p: LookoutTopKParams) {
        for row in 0..<Int(p.rows) {
            let xb = row * Int(p.xsRow)
            let values = (0..<Int(p.length)).map { load(p.x, xb + $0 * Int(p.xsElem), half: p.xHalf != 0) }
            func key(_ i: Int) -> Float {
                let v = values[i]
                return v.isNaN ? (p.largest != 0 ? .infinity : -.infinity) : v
            }
            let order = values.indices.sorted {
                key($0) != key($1) ? (p.largest != 0 ? key($0) > key($1) : key($0) < key($1)) : $0 < $1
            }
            for j in 0..<Int(p.k) {
                store(p.values, row * Int(p.vsRow) + j * Int(p.vsElem), half: p.vHalf != 0, values[order[j]])
                store(p.indices, row * Int(p.isRow) + j * Int(p.isElem), kind: 2, Float(order[j]))
            }
        }
    }

    /// `lookout_gather_elements`: the axis in `kH`, its length in `kW`.
    func gatherElements(_ p: LookoutElementwiseParams) {
        let shape = tupleArray(p.shape)
        let a = tupleArray(p.aStride)
        let b = tupleArray(p.bStride)
        let y = tupleArray(p.yStride)
        for t in 0..<Int(p.count) {
            var r = t
            var index = [Int](repeating: 0, count: 6)
            for d in stride(from: 5, through: 0, by: -1) {
                index[d] = r % shape[d]
                r /= shape[d]
            }
            let ob = zip(index, b).reduce(0) { $0 + $1.0 * $1.1 }
            let oy = zip(index, y).reduce(0) { $0 + $1.0 * $1.1 }
            var position = Int(load(p.b, ob, kind: p.bHalf).rounded(.towardZero))
            if position < 0 { position += Int(p.kW) }
            if position < 0 || position >= Int(p.kW) { position = 0 }
            index[Int(p.kH)] = position
            let oa = zip(index, a).reduce(0) { $0 + $1.0 * $1.1 }
            store(p.y, oy, kind: p.yHalf, load(p.a, oa, kind: p.aHalf))
        }
    }
}
