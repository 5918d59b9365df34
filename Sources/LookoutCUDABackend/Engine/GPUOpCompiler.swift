import CLookoutCUDA
import LookoutModel

/// Turns an `ExecutionPlan` laid out by a `GPUMemoryPlan` into the engine's launches: parameter blocks with
/// arena- and pool-relative addresses, and for each convolution the kernels that can run it.
struct GPUOpCompiler {
    let plan: ExecutionPlan
    let memory: GPUMemoryPlan

    /// The operators the backend runs, for error messages.
    static let supported =
        "Conv (with bias, SiLU, residual Add), MaxPool, Resize (nearest), Concat, Split, Slice, Reshape, Flatten, Squeeze, "
        + "Unsqueeze, Identity, Transpose, Cast, Softmax, Sigmoid, Relu, Exp, Log, Sqrt, Neg, Abs, Reciprocal, Tanh, "
        + "Add, Sub, Mul, Div, Pow, Min, Max"

    /// A node input: a run-time tensor (its view and address) or a constant.
    enum Operand {
        case tensor(GPUView, GPUAddress)
        case constant(TensorValue, String)

        var shape: [Int] {
            switch self {
            case .tensor(let v, _): v.shape
            case .constant(let c, _): c.shape
            }
        }
    }

    func operand(_ id: ValueID?) -> Operand? {
        guard let id else { return nil }
        if let constant = plan.graph.constants[id] { return .constant(constant, plan.graph[id].name) }
        guard let view = memory.views[id] else { return nil }
        return .tensor(view, .arena(memory.byteOffset(id)))
    }

    func output(_ id: ValueID) -> (GPUView, GPUAddress) {
        (memory.views[id]!, .arena(memory.byteOffset(id)))
    }

    func compile(constants: inout ConstantPool) throws(GPUBackendError) -> [GPUOp] {
        try compileWithSteps(constants: &constants).ops
    }

    /// The launches, and for each plan step the number of launches up to and including it.
    func compileWithSteps(constants: inout ConstantPool) throws(GPUBackendError) -> (ops: [GPUOp], stepEnds: [Int]) {
        var ops: [GPUOp] = []
        var ends: [Int] = []
        for step in plan.steps {
            try compile(step, into: &ops, constants: &constants)
            ends.append(ops.count)
        }
        return (ops, ends)
    }

    func compile(_ step: PlanStep, into ops: inout [GPUOp], constants: inout ConstantPool) throws(GPUBackendError) {
        let graph = plan.graph
        let node = graph.nodes[step.node]
        let context = "operator '\(node.op.name)' (node '\(node.name)')"
        func unsupported(_ why: String) -> GPUBackendError {
            GPUBackendError(.unsupported, "\(context) \(why) on the CUDA backend; it runs \(Self.supported)")
        }
        for output in node.outputs where !graph[output].dataType.isFloatingPoint {
            throw unsupported("computes \(graph[output].dataType) values at run time, which is not supported")
        }
        let inputs = node.inputs.map(operand)
        switch node.op {
        case .conv(let attributes), .convSiLU(let attributes, _):
            ops.append(.conv(try convolution(node, attributes, inputs, constants: &constants, unsupported)))

        case .maxPool(let attributes):
            guard case .tensor(let x, let xa)? = inputs[0], x.shape.count == 4 else { throw unsupported("needs a 4-D tensor input") }
            let (y, ya) = output(node.outputs[0])
            let pads = attributes.resolvedPads(inputH: x.shape[2], inputW: x.shape[3])
            var p = Self.spatial(x: x, y: y, op: .maxPool, xAddress: xa, yAddress: ya)
            (p.kH, p.kW) = (Int32(attributes.kernel.h), Int32(attributes.kernel.w))
            (p.strideH, p.strideW) = (Int32(attributes.strides.h), Int32(attributes.strides.w))
            (p.padT, p.padL) = (Int32(pads.top), Int32(pads.left))
            (p.dilH, p.dilW) = (Int32(attributes.dilations.h), Int32(attributes.dilations.w))
            ops.append(.elementwise(ElementwiseOp(params: p, a: xa, b: .none, c: .none, y: ya, kernel: .spatial)))

        case .resize(let attributes):
            guard attributes.mode == .nearest, case .tensor(let x, let xa)? = inputs[0], x.shape.count == 4 else {
                throw unsupported("is supported only as nearest-neighbour resize of a 4-D tensor")
            }
            let (y, ya) = output(node.outputs[0])
            guard y.shape[0] == x.shape[0], y.shape[1] == x.shape[1] else { throw unsupported("resizes the batch or channel axis") }
            var scales: [Float]?
            if inputs.count > 2, case .constant(let s, _)? = inputs[2], !s.floats.isEmpty { scales = s.floats }
            var sizes: [Int64]?
            if inputs.count > 3, case .constant(let s, _)? = inputs[3], !s.ints.isEmpty { sizes = s.ints }
            guard let resolved = try? ShapeRules.resize(x.shape, scales: scales, sizes: sizes, axes: attributes.axes, ""),
                resolved.shape == y.shape
            else { throw unsupported("has scales or sizes that are not constants") }
            let (h, w, oh, ow) = (x.shape[2], x.shape[3], y.shape[2], y.shape[3])
            let rows = (0..<oh).map {
                Int32(Reference.nearestIndex($0, scale: resolved.scales[2], inputSize: h, outputSize: oh, attributes: attributes))
            }
            let cols = (0..<ow).map {
                Int32(Reference.nearestIndex($0, scale: resolved.scales[3], inputSize: w, outputSize: ow, attributes: attributes))
            }
            let p = Self.spatial(x: x, y: y, op: .resizeNearest, xAddress: xa, yAddress: ya)
            let rowTable = constants.ints(key: "resize-rows \(node.name) \(rows.count)", rows)
            let colTable = constants.ints(key: "resize-cols \(node.name) \(cols.count)", cols)
            ops.append(.elementwise(ElementwiseOp(params: p, a: xa, b: rowTable, c: colTable, y: ya, kernel: .spatial)))

        case .concat(let axis):
            let (y, ya) = output(node.outputs[0])
            let a = axis < 0 ? axis + y.shape.count : axis
            var start = 0
            for (k, input) in inputs.enumerated() {
                guard let input else { continue }
                defer { start += input.shape[a] }
                guard step.copiedInputs.contains(k), !memory.elidedCopies.contains([step.node, k]) else { continue }
                var slot = y
                slot.shape = input.shape
                let slotAddress: GPUAddress = {
                    if case .arena(let bytes) = ya { return .arena(bytes + start * y.strides[a] * y.element.bytes) }
                    return ya
                }()
                ops.append(.elementwise(try copy(input, to: slot, at: slotAddress, constants: &constants, unsupported)))
            }

        case .split(let axis, _):
            guard case .tensor(let x, let xa)? = inputs[0] else { throw unsupported("splits a constant") }
            let a = axis < 0 ? axis + x.shape.count : axis
            var start = 0
            for outputID in node.outputs {
                let (y, ya) = output(outputID)
                var part = x
                part.shape = y.shape
                let address = Self.offset(xa, by: start * x.strides[a] * x.element.bytes)
                ops.append(.elementwise(try copy(.tensor(part, address), to: y, at: ya, constants: &constants, unsupported)))
                start += y.shape[a]
            }

        case .slice:
            guard case .tensor(let x, let xa)? = inputs[0] else { throw unsupported("slices a constant") }
            func ints(_ i: Int) -> [Int64]? {
                guard i < node.inputs.count, let id = node.inputs[i] else { return nil }
                return graph.constants[id]?.ints
            }
            guard let starts = ints(1), let ends = ints(2),
                let axes = try? ShapeRules.slice(x.shape, starts: starts, ends: ends, axes: ints(3), steps: ints(4), "")
            else { throw unsupported("has slice bounds that are not constants") }
            var part = x
            var offset = 0
            for (d, s) in axes.enumerated() {
                offset += s.start * x.strides[d]
                part.shape[d] = s.count
                part.strides[d] = x.strides[d] * s.step
            }
            let (y, ya) = output(node.outputs[0])
            let address = Self.offset(xa, by: offset * x.element.bytes)
            ops.append(.elementwise(try copy(.tensor(part, address), to: y, at: ya, constants: &constants, unsupported)))

        case .transpose(let perm):
            guard case .tensor(let x, let xa)? = inputs[0],
                let p = try? ShapeRules.permutation(perm, rank: x.shape.count, "")
            else { throw unsupported("needs a tensor input and a valid permutation") }
            var permuted = x
            permuted.shape = p.map { x.shape[$0] }
            permuted.strides = p.map { x.strides[$0] }
            let (y, ya) = output(node.outputs[0])
            ops.append(.elementwise(try copy(.tensor(permuted, xa), to: y, at: ya, constants: &constants, unsupported)))

        case .reshape, .flatten, .squeeze, .unsqueeze, .identity, .cast:
            guard let input = inputs[0] else { throw unsupported("has no input") }
            let (y, ya) = output(node.outputs[0])
            switch input {
            case .tensor(let x, let xa):
                if let strides = GPUMemoryPlan.viewStrides(x.shape, x.strides, y.shape) {
                    var reshaped = x
                    reshaped.shape = y.shape
                    reshaped.strides = strides
                    ops.append(.elementwise(try copy(.tensor(reshaped, xa), to: y, at: ya, constants: &constants, unsupported)))
                } else if let strides = GPUMemoryPlan.viewStrides(y.shape, y.strides, x.shape) {
                    var target = y
                    target.shape = x.shape
                    target.strides = strides
                    ops.append(.elementwise(try copy(input, to: target, at: ya, constants: &constants, unsupported)))
                } else {
                    throw unsupported("reshapes strided data in a way no view expresses")
                }
            case .constant(let c, let name):
                let reshaped = TensorValue(dataType: .float, shape: y.shape, floats: c.floats)
                ops.append(.elementwise(try copy(.constant(reshaped, name), to: y, at: ya, constants: &constants, unsupported)))
            }

        case .softmax(let axis, let legacy):
            guard case .tensor(let x, let xa)? = inputs[0] else { throw unsupported("needs a tensor input") }
            let (y, ya) = output(node.outputs[0])
            let rank = x.shape.count
            let a = axis < 0 ? axis + rank : axis
            guard a >= 0, a < rank else { throw unsupported("has an axis outside the tensor") }
            func merged(_ view: GPUView, _ dims: Range<Int>) -> (count: Int, stride: Int)? {
                // Dimensions `dims` as one: each must step over the next exactly.
                var count = 1
                var stride = 1
                for d in dims.reversed() where view.shape[d] != 1 {
                    if count > 1 && view.strides[d] != stride * count { return nil }
                    if count == 1 { stride = view.strides[d] }
                    count *= view.shape[d]
                }
                return (count, stride)
            }
            let lengthDims = legacy ? a..<rank : a..<(a + 1)
            let innerDims = legacy ? rank..<rank : (a + 1)..<rank
            guard let xo = merged(x, 0..<a), let xl = merged(x, lengthDims), let xi = merged(x, innerDims),
                let yo = merged(y, 0..<a), let yl = merged(y, lengthDims), let yi = merged(y, innerDims)
            else { throw unsupported("runs over dimensions that are not contiguous in memory") }
            let p = LookoutSoftmaxParams(
                x: 0, y: 0, xsOuter: Int64(xo.stride), xsLength: Int64(xl.stride), xsInner: Int64(xi.stride),
                ysOuter: Int64(yo.stride), ysLength: Int64(yl.stride), ysInner: Int64(yi.stride), outer: Int32(xo.count),
                length: Int32(xl.count), inner: Int32(xi.count), xHalf: x.element == .f16 ? 1 : 0,
                yHalf: y.element == .f16 ? 1 : 0, reserved: 0)
            ops.append(.softmax(SoftmaxOp(params: p, x: xa, y: ya)))

        case .unary(let kind):
            let op: EngineKernelSource.Op
            switch kind {
            case .sigmoid: op = .sigmoid
            case .relu: op = .relu
            case .exp: op = .exp
            case .log: op = .log
            case .sqrt: op = .sqrt
            case .neg: op = .neg
            case .abs: op = .abs
            case .reciprocal: op = .reciprocal
            case .tanh: op = .tanh
            default: throw unsupported("is not implemented")
            }
            guard let input = inputs[0] else { throw unsupported("has no input") }
            let (y, ya) = output(node.outputs[0])
            ops.append(.elementwise(try elementwise(op, input, nil, to: y, at: ya, constants: &constants, unsupported)))

        case .binary(let kind):
            let op: EngineKernelSource.Op
            switch kind {
            case .add: op = .add
            case .sub: op = .sub
            case .mul: op = .mul
            case .div: op = .div
            case .pow: op = .pow
            default: throw unsupported("is not implemented")
            }
            guard inputs.count == 2, let a = inputs[0], let b = inputs[1] else { throw unsupported("needs two inputs") }
            let (y, ya) = output(node.outputs[0])
            ops.append(.elementwise(try elementwise(op, a, b, to: y, at: ya, constants: &constants, unsupported)))

        case .variadic(let kind) where (kind == .min || kind == .max) && inputs.count == 2:
            guard let a = inputs[0], let b = inputs[1] else { throw unsupported("needs two inputs") }
            let (y, ya) = output(node.outputs[0])
            ops.append(
                .elementwise(try elementwise(kind == .min ? .min : .max, a, b, to: y, at: ya, constants: &constants, unsupported)))

        default:
            throw unsupported("is not implemented")
        }
    }

    static func offset(_ address: GPUAddress, by bytes: Int) -> GPUAddress {
        if case .arena(let base) = address { return .arena(base + bytes) }
        if case .constant(let base) = address { return .constant(base + bytes) }
        return address
    }

    /// Max pooling / nearest resize parameters: dimensions 2..5 are (n, h, w, c). Channels-last fp16 with whole
    /// 16-byte channel groups go 8 channels a thread.
    static func spatial(x: GPUView, y: GPUView, op: EngineKernelSource.Op, xAddress: GPUAddress = .none, yAddress: GPUAddress = .none)
        -> LookoutElementwiseParams
    {
        var p = LookoutElementwiseParams()
        var channels = y.shape[1]
        var xc = x.strides[1]
        var yc = y.strides[1]
        var code = op
        let aligned = { (a: GPUAddress) -> Bool in a.byteOffset.map { $0 % 16 == 0 } ?? false }
        if x.element == .f16 && y.element == .f16 && xc == 1 && yc == 1 && channels % 8 == 0
            && [x.strides[0], x.strides[2], x.strides[3], y.strides[0], y.strides[2], y.strides[3]].allSatisfy({ $0 % 8 == 0 })
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
        guard a.shape.count <= rank, (b?.shape.count ?? 0) <= rank else { throw unsupported("broadcasts to a higher rank") }
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
            shape[last] % group == 0, ys.dropLast().allSatisfy({ $0 % group == 0 }), asr.dropLast().allSatisfy({ $0 % group == 0 }),
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
        p.aHalf = aElement == .f16 ? 1 : 0
        p.bHalf = bResolved?.2 == .f16 ? 1 : 0
        p.yHalf = y.element == .f16 ? 1 : 0
        Self.setDivisors(&p)
        return ElementwiseOp(params: p, a: aa, b: bResolved?.0 ?? .none, c: .none, y: ya, kernel: .elementwise)
    }

    func convolution(
        _ node: Node, _ attributes: ConvAttributes, _ inputs: [Operand?], constants: inout ConstantPool,
        _ unsupported: (String) -> GPUBackendError
    ) throws(GPUBackendError) -> ConvOp {
        guard case .tensor(let x, let xa)? = inputs[0], x.shape.count == 4 else { throw unsupported("needs a 4-D tensor input") }
        guard case .constant(let w, let wName)? = inputs[1], w.shape.count == 4 else { throw unsupported("needs constant 4-D weights") }
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
            throw GPUBackendError(.tooLarge, "\(node.name): \(n * y.shape[2] * y.shape[3]) output pixels exceed the kernels' 32-bit pixel index; use a smaller batch")
        }
        let (cout, oh, ow) = (y.shape[1], y.shape[2], y.shape[3])
        let (kh, kw) = (w.shape[2], w.shape[3])
        let group = attributes.group
        let pads = attributes.resolvedPads(inputH: h, inputW: wd)
        let k = kh * kw * cin
        let kPad = (k + EngineKernelSource.kTile - 1) / EngineKernelSource.kTile * EngineKernelSource.kTile
        let coutPad = (cout + EngineKernelSource.channelPad - 1) / EngineKernelSource.channelPad * EngineKernelSource.channelPad
        let weights = w.floats
        let key = "\(wName) \(w.shape)"
        let w32 = constants.floats(key: "w " + key, weights)
        var bias: GPUAddress = .none
        if let biasValues {
            bias = constants.floats(key: "b \(node.name) \(cout)", biasValues + [Float](repeating: 0, count: coutPad - cout))
        }

        let xBytes = { () -> Int in if case .arena(let b) = xa { return b }; return 0 }()
        let yBytes = { () -> Int in if case .arena(let b) = ya { return b }; return 0 }()
        let tensorCores =
            group == 1 && x.element == .f16 && x.strides[1] == 1 && cin % 8 == 0 && x.strides[0] % 8 == 0
            && x.strides[2] % 8 == 0 && x.strides[3] % 8 == 0 && xBytes % 16 == 0
            // Channels-last outputs are stored two channels at a time (aligned pairs); others element by element.
            && (y.strides[1] != 1
                || (y.strides[0] % 2 == 0 && y.strides[2] % 2 == 0 && y.strides[3] % 2 == 0 && yBytes % (2 * y.element.bytes) == 0))
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
            // Split K where a layer has few output tiles but a long K (deep layers at small batches).
            let m = n * oh * ow
            for tile in EngineKernelSource.splitTiles where tile.bn <= widest {
                let kTiles = (k + tile.bk - 1) / tile.bk
                let outputTiles = ((m + tile.bm - 1) / tile.bm) * ((cout + tile.bn - 1) / tile.bn)
                guard outputTiles < 2 * 132 else { continue }
                for splits in EngineKernelSource.splitCounts where kTiles >= 4 * splits && outputTiles * splits <= 8 * 132 {
                    candidates.append(.mmaSplit(tile, splits))
                }
            }
        }
        if group == 1 && cin * kh * kw <= 64 && cout <= 64 {
            candidates.append(.small(EngineKernelSource.smallConvWidths.first { $0 >= cout }!))
        }
        candidates.append(.direct)
        let residualView = residual?.0
        var p = LookoutConvParams()
        (p.xsN, p.xsC, p.xsH, p.xsW) = (Int64(x.strides[0]), Int64(x.strides[1]), Int64(x.strides[2]), Int64(x.strides[3]))
        if let r = residualView {
            (p.rsN, p.rsC, p.rsH, p.rsW) = (Int64(r.strides[0]), Int64(r.strides[1]), Int64(r.strides[2]), Int64(r.strides[3]))
            p.rHalf = r.element == .f16 ? 1 : 0
            p.hasResidual = 1
        }
        (p.ysN, p.ysC, p.ysH, p.ysW) = (Int64(y.strides[0]), Int64(y.strides[1]), Int64(y.strides[2]), Int64(y.strides[3]))
        (p.batch, p.inC, p.inH, p.inW) = (Int32(n), Int32(cin), Int32(h), Int32(wd))
        (p.outC, p.outH, p.outW, p.group) = (Int32(cout), Int32(oh), Int32(ow), Int32(group))
        (p.kH, p.kW, p.strideH, p.strideW) = (Int32(kh), Int32(kw), Int32(attributes.strides.h), Int32(attributes.strides.w))
        (p.padT, p.padL, p.dilH, p.dilW) = (Int32(pads.top), Int32(pads.left), Int32(attributes.dilations.h), Int32(attributes.dilations.w))
        (p.K, p.kPad, p.M, p.silu) = (Int32(k), Int32(kPad), Int32(n * oh * ow), silu ? 1 : 0)
        p.xHalf = x.element == .f16 ? 1 : 0
        p.yHalf = y.element == .f16 ? 1 : 0
        let signature =
            "conv n\(n) \(cin)x\(h)x\(wd)>\(cout)x\(oh)x\(ow) k\(kh)x\(kw) s\(attributes.strides.h)x\(attributes.strides.w) "
            + "p\(pads.top),\(pads.left) d\(attributes.dilations.h)x\(attributes.dilations.w) g\(group) x\(x.strides)\(x.element) "
            + "y\(y.strides)\(y.element) r\(residualView.map { "\($0.strides)\($0.element)" } ?? "-") silu\(silu)"
        let preferred = candidates.first { if case .mma(let t) = $0 { return t.bm == 64 && t.bn == 64 }; return false }
        return ConvOp(
            params: p, x: xa, w16: w16, w32: w32, bias: bias, residual: residual?.1 ?? .none, y: ya,
            kernel: preferred ?? candidates[0], candidates: candidates, output: y, outputAddress: ya, signature: signature)
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

extension GPUOpCompiler {
    /// Row-major fp32 (NCHW for the input) outside the arena: host staging as the device sees it.
    static func contiguous(_ shape: [Int]) -> GPUView {
        GPUView(buffer: -1, offset: 0, shape: shape, strides: ShapeRules.contiguousStrides(shape), element: .f32)
    }

    /// Copies a row-major fp32 NCHW input at `staging` into the plan's input (channels-last fp16 by default).
    func inputCopy(from staging: GPUAddress) -> ElementwiseOp {
        let id = plan.graph.inputs[0]
        let (view, address) = output(id)
        var pool = ConstantPool()
        // A copy between two tensors of one shape cannot fail.
        return try! copy(.tensor(Self.contiguous(view.shape), staging), to: view, at: address, constants: &pool) {
            GPUBackendError(.unsupported, $0)
        }
    }

    /// Copies the plan's first output into row-major fp32 at `staging` (`[batch][4 + classes][anchors]`).
    func outputCopy(to staging: GPUAddress) -> ElementwiseOp {
        let id = plan.graph.outputs[0]
        let (view, address) = output(id)
        var pool = ConstantPool()
        return try! copy(.tensor(view, address), to: Self.contiguous(view.shape), at: staging, constants: &pool) {
            GPUBackendError(.unsupported, $0)
        }
    }
}

extension GPUOpCompiler {
    /// Copies `view` (at `address`) into row-major fp32 at the device address `scratch`.
    func gather(_ view: GPUView, at address: GPUAddress, into scratch: UInt64) -> ElementwiseOp {
        var pool = ConstantPool()
        return try! copy(.tensor(view, address), to: Self.contiguous(view.shape), at: .absolute(scratch), constants: &pool) {
            GPUBackendError(.unsupported, $0)
        }
    }
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
