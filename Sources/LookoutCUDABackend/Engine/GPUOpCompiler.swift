import CLookoutCUDA
import LookoutModel

/// Turns an `ExecutionPlan` laid out by a `GPUMemoryPlan` into the engine's launches: parameter blocks with
/// arena- and pool-relative addresses, and for each convolution the kernels that can run it.
struct GPUOpCompiler {
    let plan: ExecutionPlan
    let memory: GPUMemoryPlan
    /// Whether cuDNN is loaded: eligible convolutions then get cuDNN's description and KRSC fp16 weights.
    var cudnnWeights = false
    /// Run Ultralytics' attention (MatMul → Softmax → Transpose → MatMul) as one fused tensor-core launch.
    var fusedAttention = true

    /// The operators the backend runs, for error messages.
    static let supported =
        "Conv (with bias, SiLU, residual Add), MaxPool, Resize (nearest), Concat, Split, Slice, Reshape, Flatten, Squeeze, "
        + "Unsqueeze, Identity, Transpose, Cast, Expand, Softmax, Sigmoid, Relu, Exp, Log, Sqrt, Neg, Abs, Reciprocal, "
        + "Tanh, Add, Sub, Mul, Div, Pow, Min, Max, Mod and Div on integers, MatMul, ReduceMax, TopK, GatherElements"

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
        let consumers = plan.graph.consumers()
        let attention = attentionPatterns()
        let replaced = Set(attention.values.flatMap(\.replaced))
        var fusedNext = false
        for (i, step) in plan.steps.enumerated() {
            if fusedNext {
                fusedNext = false
            } else if replaced.contains(step.node) {
                // Computed inside the fused attention launch of a later step.
            } else if let pattern = attention[step.node] {
                let node = plan.graph.nodes[step.node]
                let context = "operator '\(node.op.name)' (node '\(node.name)')"
                ops.append(
                    try matMul(node, attention: pattern, constants: &constants) { why in
                        GPUBackendError(.unsupported, "\(context) \(why) on the CUDA backend")
                    })
            } else if i + 1 < plan.steps.count,
                let fused = try softmaxDot(step, plan.steps[i + 1], consumers: consumers, constants: &constants)
            {
                ops.append(.softmax(fused))
                fusedNext = true
            } else {
                try compile(step, into: &ops, constants: &constants)
            }
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
        let inputs = node.inputs.map(operand)
        // Integer tensors (end-to-end heads' indices): only the operators that move or select them, and integer
        // Mod and Div, take them.
        let integers =
            node.outputs.contains { !graph[$0].dataType.isFloatingPoint }
            || inputs.contains { if case .tensor(let v, _)? = $0 { v.element == .i32 } else { false } }
        if integers {
            switch node.op {
            case .reshape, .flatten, .squeeze, .unsqueeze, .identity, .cast, .concat, .expand, .split, .slice,
                .transpose, .topK, .gatherElements, .binary(.mod), .binary(.div), .binary(.add), .binary(.sub),
                .binary(.mul):
                break
            default:
                throw unsupported(
                    "computes on \(graph[node.outputs[0]].dataType) values at run time, which is not supported")
            }
        }
        switch node.op {
        case .conv(let attributes), .convSiLU(let attributes, _):
            ops.append(.conv(try convolution(node, attributes, inputs, constants: &constants, unsupported)))

        case .maxPool(let attributes):
            guard case .tensor(let x, let xa)? = inputs[0], x.shape.count == 4 else {
                throw unsupported("needs a 4-D tensor input")
            }
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
            guard y.shape[0] == x.shape[0], y.shape[1] == x.shape[1] else {
                throw unsupported("resizes the batch or channel axis")
            }
            var scales: [Float]?
            if inputs.count > 2, case .constant(let s, _)? = inputs[2], !s.floats.isEmpty { scales = s.floats }
            var sizes: [Int64]?
            if inputs.count > 3, case .constant(let s, _)? = inputs[3], !s.ints.isEmpty { sizes = s.ints }
            guard
                let resolved = try? ShapeRules.resize(x.shape, scales: scales, sizes: sizes, axes: attributes.axes, ""),
                resolved.shape == y.shape
            else { throw unsupported("has scales or sizes that are not constants") }
            let (h, w, oh, ow) = (x.shape[2], x.shape[3], y.shape[2], y.shape[3])
            let rows = (0..<oh).map {
                Int32(
                    Reference.nearestIndex(
                        $0, scale: resolved.scales[2], inputSize: h, outputSize: oh, attributes: attributes))
            }
            let cols = (0..<ow).map {
                Int32(
                    Reference.nearestIndex(
                        $0, scale: resolved.scales[3], inputSize: w, outputSize: ow, attributes: attributes))
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
                defer { start += y.shape[a] }
                guard !memory.inPlaceSplitOutputs.contains(outputID) else { continue }
                var part = x
                part.shape = y.shape
                let address = Self.offset(xa, by: start * x.strides[a] * x.element.bytes)
                ops.append(
                    .elementwise(try copy(.tensor(part, address), to: y, at: ya, constants: &constants, unsupported)))
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
            ops.append(
                .elementwise(try copy(.tensor(part, address), to: y, at: ya, constants: &constants, unsupported)))

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
                    ops.append(
                        .elementwise(try copy(.tensor(reshaped, xa), to: y, at: ya, constants: &constants, unsupported))
                    )
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
                ops.append(
                    .elementwise(try copy(.constant(reshaped, name), to: y, at: ya, constants: &constants, unsupported))
                )
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
                ysOuter: Int64(yo.stride), ysLength: Int64(yl.stride), ysInner: Int64(yi.stride),
                outer: Int32(xo.count),
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

        case .binary(let kind) where integers:
            let op: EngineKernelSource.Op
            switch kind {
            case .mod: op = .integerMod
            case .div: op = .integerDiv
            case .add: op = .add
            case .sub: op = .sub
            default: op = .mul
            }
            guard inputs.count == 2, let a = inputs[0], let b = inputs[1] else { throw unsupported("needs two inputs") }
            let (y, ya) = output(node.outputs[0])
            ops.append(.elementwise(try elementwise(op, a, b, to: y, at: ya, constants: &constants, unsupported)))

        case .expand:
            guard let input = inputs[0] else { throw unsupported("has no input") }
            let (y, ya) = output(node.outputs[0])
            ops.append(.elementwise(try copy(input, to: y, at: ya, constants: &constants, unsupported)))

        case .matMul:
            ops.append(try matMul(node, attention: nil, constants: &constants, unsupported))

        case .reduce(.max, let axes, _, _):
            ops.append(try reduceMax(node, axes: axes, unsupported))

        case .topK(let axis, let largest):
            ops.append(try topK(node, axis: axis, largest: largest, unsupported))

        case .gatherElements(let axis):
            ops.append(try gatherElements(node, axis: axis, constants: &constants, unsupported))

        case .binary(let kind):
            let op: EngineKernelSource.Op
            switch kind {
            case .mod: throw unsupported("is Mod on floating-point values, which is not implemented")
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
                .elementwise(
                    try elementwise(kind == .min ? .min : .max, a, b, to: y, at: ya, constants: &constants, unsupported)
                ))

        default:
            throw unsupported("is not implemented")
        }
    }
}
