import CLookoutCUDA
import LookoutModel

extension GPUOpCompiler {
    static func offset(_ address: GPUAddress, by bytes: Int) -> GPUAddress {
        if case .arena(let base) = address { return .arena(base + bytes) }
        if case .constant(let base) = address { return .constant(base + bytes) }
        return address
    }

    /// Max pooling / nearest resize parameters: dimensions 2..5 are (n, h, w, c). Channels-last fp16 with whole
    /// 16-byte channel groups go 8 channels a thread.
    static func spatial(
        x: GPUView, y: GPUView, op: EngineKernelSource.Op, xAddress: GPUAddress = .none, yAddress: GPUAddress = .none
    )
        -> LookoutElementwiseParams
    {
        var p = LookoutElementwiseParams()
        var channels = y.shape[1]
        var xc = x.strides[1]
        var yc = y.strides[1]
        var code = op
        let aligned = { (a: GPUAddress) -> Bool in a.byteOffset.map { $0 % 16 == 0 } ?? false }
        if x.element == .f16 && y.element == .f16 && xc == 1 && yc == 1 && channels % 8 == 0
            && [x.strides[0], x.strides[2], x.strides[3], y.strides[0], y.strides[2], y.strides[3]].allSatisfy({
                $0 % 8 == 0
            })
            && aligned(xAddress) && aligned(yAddress)
        {
            channels /= 8
            xc = 8
            yc = 8
            code = op == .maxPool ? .maxPool8 : .resizeNearest8
        }
        p.op = code.rawValue
        setTuple(&p.shape, [1, 1, y.shape[0], y.shape[2], y.shape[3], channels])
        setTuple(&p.aStride, [0, 0, x.strides[0], x.strides[2], x.strides[3], xc])
        setTuple(&p.yStride, [0, 0, y.strides[0], y.strides[2], y.strides[3], yc])
        p.count = Int64(y.shape[0] * y.shape[2] * y.shape[3] * channels)
        p.aHalf = x.element == .f16 ? 1 : 0
        p.yHalf = y.element == .f16 ? 1 : 0
        (p.inH, p.inW) = (Int32(x.shape[2]), Int32(x.shape[3]))
        setDivisors(&p)
        return p
    }

    /// Fills the multiply-high divisors of every dimension (the kernels' 32-bit index decomposition).
    static func setDivisors(_ p: inout LookoutElementwiseParams) {
        let shape = tupleArray(p.shape)
        var multipliers = [UInt32](repeating: 0, count: 6)
        var shifts = [UInt32](repeating: 0, count: 6)
        for d in 0..<6 {
            (multipliers[d], shifts[d]) = FastDivision.magic(UInt32(max(shape[d], 1)))
        }
        p.divMul = (multipliers[0], multipliers[1], multipliers[2], multipliers[3], multipliers[4], multipliers[5])
        p.divShift = (shifts[0], shifts[1], shifts[2], shifts[3], shifts[4], shifts[5])
    }

    func copy(
        _ input: Operand, to y: GPUView, at ya: GPUAddress, constants: inout ConstantPool,
        _ unsupported: (String) -> GPUBackendError
    ) throws(GPUBackendError) -> ElementwiseOp {
        try elementwise(.copy, input, nil, to: y, at: ya, constants: &constants, unsupported)
    }

    /// A copy, unary or binary op over `y`'s shape with broadcasting; dimensions reordered so the output's
    /// smallest stride is innermost (coalesced writes).
    func elementwise(
        _ op: EngineKernelSource.Op, _ a: Operand, _ b: Operand?, to y: GPUView, at ya: GPUAddress,
        constants: inout ConstantPool, _ unsupported: (String) -> GPUBackendError
    ) throws(GPUBackendError) -> ElementwiseOp {
        let rank = y.shape.count
        func resolve(_ operand: Operand) -> (GPUAddress, [Int], GPUElement) {
            let shape: [Int]
            let strides: [Int]
            let address: GPUAddress
            let element: GPUElement
            switch operand {
            case .tensor(let view, let at):
                (shape, strides, address, element) = (view.shape, view.strides, at, view.element)
            case .constant(let value, let name):
                shape = value.shape
                strides = ShapeRules.contiguousStrides(value.shape)
                address = constants.floats(key: "const \(name) \(value.shape)", value.floats)
                element = .f32
            }
            let lead = rank - shape.count
            let broadcast = (0..<rank).map { d -> Int in
                guard d >= lead else { return 0 }
                return shape[d - lead] == 1 && y.shape[d] != 1 ? 0 : strides[d - lead]
            }
            return (address, broadcast, element)
        }
        let (aa, aStrides, aElement) = resolve(a)
        let bResolved = b.map(resolve)
        guard a.shape.count <= rank, (b?.shape.count ?? 0) <= rank else {
            throw unsupported("broadcasts to a higher rank")
        }
        guard y.count < Int(Int32.max) else { throw unsupported("has more than 2^31 elements") }
        // Iteration order: non-trivial dimensions by descending output stride, then neighbours that step over each
        // other in every operand merged (fewer divisions per element).
        let order = (0..<rank).filter { y.shape[$0] != 1 }.sorted { y.strides[$0] > y.strides[$1] }
        var shape = order.map { y.shape[$0] }
        var ys = order.map { y.strides[$0] }
        var asr = order.map { aStrides[$0] }
        var bsr = order.map { bResolved?.1[$0] ?? 0 }
        var d = shape.count - 1
        while d > 0 {
            let inner = shape[d]
            if ys[d - 1] == ys[d] * inner && asr[d - 1] == asr[d] * inner && bsr[d - 1] == bsr[d] * inner {
                shape[d - 1] *= inner
                (ys[d - 1], asr[d - 1], bsr[d - 1]) = (ys[d], asr[d], bsr[d])
                shape.remove(at: d)
                ys.remove(at: d)
                asr.remove(at: d)
                bsr.remove(at: d)
            }
            d -= 1
        }
        guard shape.count <= 6 else { throw unsupported("has more than 6 non-trivial dimensions") }
        var p = LookoutElementwiseParams()
        p.op = op.rawValue
        p.count = Int64(y.count)
        // A plain copy between equal types with a unit-stride innermost run of whole 16-byte groups: 16 bytes a thread.
        let elementBytes = aElement.bytes
        let group = 16 / elementBytes
        let aligned = { (a: GPUAddress) -> Bool in a.byteOffset.map { $0 % 16 == 0 } ?? false }
        if op == .copy && aElement == y.element, let last = shape.indices.last, ys[last] == 1, asr[last] == 1,
            shape[last] % group == 0, ys.dropLast().allSatisfy({ $0 % group == 0 }),
            asr.dropLast().allSatisfy({ $0 % group == 0 }),
            aligned(aa), aligned(ya)
        {
            shape[last] /= group
            ys[last] = group
            asr[last] = group
            p.op = EngineKernelSource.Op.copy16.rawValue
            p.count = Int64(y.count / group)
        }
        func pad(_ values: [Int], _ filler: Int) -> [Int] { Array(repeating: filler, count: 6 - values.count) + values }
        setTuple(&p.shape, pad(shape, 1))
        setTuple(&p.yStride, pad(ys, 0))
        setTuple(&p.aStride, pad(asr, 0))
        setTuple(&p.bStride, pad(bsr, 0))
        p.aHalf = aElement.kind
        p.bHalf = bResolved?.2.kind ?? 0
        p.yHalf = y.element.kind
        Self.setDivisors(&p)
        return ElementwiseOp(params: p, a: aa, b: bResolved?.0 ?? .none, c: .none, y: ya, kernel: .elementwise)
    }
}

/// Writes `values` into a C array imported as a 6-tuple.
func setTuple(_ tuple: inout (Int64, Int64, Int64, Int64, Int64, Int64), _ values: [Int]) {
    precondition(values.count == 6)
    tuple = (Int64(values[0]), Int64(values[1]), Int64(values[2]), Int64(values[3]), Int64(values[4]), Int64(values[5]))
}

func tupleArray(_ tuple: (Int64, Int64, Int64, Int64, Int64, Int64)) -> [Int] {
    [Int(tuple.0), Int(tuple.1), Int(tuple.2), Int(tuple.3), Int(tuple.4), Int(tuple.5)]
}

/// Division of 32-bit indices below 2^31 by a fixed divisor as `(umulhi(n, multiplier) + n) >> shift`.
enum FastDivision {
    static func magic(_ divisor: UInt32) -> (multiplier: UInt32, shift: UInt32) {
        precondition(divisor > 0)
        var shift: UInt32 = 0
        while (UInt64(1) << shift) < UInt64(divisor) { shift += 1 }
        let multiplier = (UInt64(1) << 32) * ((UInt64(1) << shift) - UInt64(divisor)) / UInt64(divisor) + 1
        return (UInt32(truncatingIfNeeded: multiplier), shift)
    }

    static func divide(_ n: UInt32, _ magic: (multiplier: UInt32, shift: UInt32)) -> UInt32 {
        let high = UInt32((UInt64(n) * UInt64(magic.multiplier)) >> 32)
        return UInt32((UInt64(high) + UInt64(n)) >> UInt64(magic.shift))
    }
}
