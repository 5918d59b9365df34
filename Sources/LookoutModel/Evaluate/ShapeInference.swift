/// Output shapes and element types of an operator from its inputs' shapes, types and (where an input is a
/// constant) values. Inputs that fix a shape — Reshape's target, Slice's bounds, Resize's scales — must be
/// constants by the time a node is specialised; the message says so when they are not.
package enum ShapeInference {
    package struct InputInfo: Sendable {
        package var shape: [Int]
        package var dataType: DataType
        package var constant: TensorValue?

        package init(shape: [Int], dataType: DataType, constant: TensorValue? = nil) {
            self.shape = shape
            self.dataType = dataType
            self.constant = constant
        }
    }

    static func conv(_ x: [Int], _ w: [Int], _ b: [Int]?, _ a: ConvAttributes, _ context: String) throws(ModelError)
        -> [Int]
    {
        guard x.count == 4 else {
            throw .unsupported("\(context): only 2-D convolution (4-D input) is supported, input is \(x)")
        }
        guard w.count == 4, w[2] > 0, w[3] > 0 else {
            throw .invalid("\(context): weight shape \(w) is not a 4-D kernel")
        }
        guard a.group > 0, x[1] % a.group == 0, w[0] % a.group == 0, w[1] * a.group == x[1] else {
            throw .invalid("\(context): input \(x) and weight \(w) disagree for group \(a.group)")
        }
        if a.kernel.h != 0 && (a.kernel.h != w[2] || a.kernel.w != w[3]) {
            throw .invalid("\(context): kernel_shape \(a.kernel) differs from weight \(w)")
        }
        if let b, b != [w[0]] { throw .invalid("\(context): bias shape \(b) does not match \(w[0]) output channels") }
        var attributes = a
        attributes.kernel = (w[2], w[3])
        let out = attributes.outputSize(inputH: x[2], inputW: x[3])
        guard out.h > 0, out.w > 0 else { throw .invalid("\(context): input \(x) is too small for kernel \(w)") }
        return [x[0], w[0], out.h, out.w]
    }

    static func pool(_ x: [Int], _ a: PoolAttributes, _ context: String) throws(ModelError) -> [Int] {
        guard x.count == 4 else {
            throw .unsupported("\(context): only 2-D pooling (4-D input) is supported, input is \(x)")
        }
        let out = a.outputSize(inputH: x[2], inputW: x[3])
        guard out.h > 0, out.w > 0 else { throw .invalid("\(context): input \(x) is too small for the pool window") }
        return [x[0], x[1], out.h, out.w]
    }

    /// Shapes and types of the outputs of `op` applied to `inputs` (nil for omitted optional inputs).
    package static func infer(
        _ op: Operator, inputs: [InputInfo?], outputCount: Int, context: String
    ) throws(ModelError) -> [(shape: [Int], dataType: DataType)] {
        func input(_ i: Int) throws(ModelError) -> InputInfo {
            guard i < inputs.count, let value = inputs[i] else { throw .invalid("\(context): input \(i) is required") }
            return value
        }
        func constant(_ i: Int, _ what: String) throws(ModelError) -> TensorValue? {
            guard i < inputs.count, let value = inputs[i] else { return nil }
            guard let c = value.constant else {
                throw .unsupported("\(context): the \(what) input must be computable when the model is loaded")
            }
            return c
        }

        func intList(_ value: TensorValue?) -> [Int]? { value?.ints.map { Int(clamping: $0) } }

        switch op {
        case .conv(let a), .convSiLU(let a, _):
            let x = try input(0)
            return [
                (
                    try conv(x.shape, try input(1).shape, inputs.count > 2 ? inputs[2]?.shape : nil, a, context),
                    x.dataType
                )
            ]
        case .maxPool(let a):
            let x = try input(0)
            return [(try pool(x.shape, a, context), x.dataType)]
        case .resize(let a):
            let x = try input(0)
            let scales = try constant(2, "scales")
            let sizes = try constant(3, "sizes")
            return [
                (
                    try ShapeRules.resize(x.shape, scales: scales?.floats, sizes: sizes?.ints, axes: a.axes, context)
                        .shape, x.dataType
                )
            ]
        case .softmax(let axis, _):
            let x = try input(0)
            _ = try ShapeRules.normalizeAxis(axis, rank: x.shape.count, context)
            return [(x.shape, x.dataType)]
        case .unary(let kind):
            let x = try input(0)
            return [(x.shape, kind == .not ? .bool : x.dataType)]
        case .binary(let kind):
            let a = try input(0)
            let b = try input(1)
            let shape = try ShapeRules.broadcast([a.shape, b.shape], context)
            let comparison: Set<Operator.BinaryKind> = [
                .equal, .less, .greater, .lessOrEqual, .greaterOrEqual, .and, .or, .xor,
            ]
            return [(shape, comparison.contains(kind) ? .bool : a.dataType)]
        case .variadic:
            let all = inputs.compactMap { $0 }
            guard let first = all.first else { throw .invalid("\(context): no inputs") }
            return [(try ShapeRules.broadcast(all.map(\.shape), context), first.dataType)]
        case .whereSelect:
            let shape = try ShapeRules.broadcast([try input(0).shape, try input(1).shape, try input(2).shape], context)
            return [(shape, try input(1).dataType)]
        case .clip, .identity:
            let x = try input(0)
            return [(x.shape, x.dataType)]
        case .cast(let type): return [(try input(0).shape, type)]
        case .shape(let start, let end):
            return [([Reference.shapeSlice(try input(0).shape, start: start, end: end).count], .int64)]
        case .reshape(let allowZero):
            let x = try input(0)
            guard let target = try constant(1, "shape") else {
                throw .invalid("\(context): the shape input is required")
            }
            return [(try ShapeRules.reshape(x.shape, target: target.ints, allowZero: allowZero, context), x.dataType)]
        case .flatten(let axis):
            let x = try input(0)
            let a = try ShapeRules.normalizeAxis(axis, rank: x.shape.count + 1, context)
            return [([x.shape[..<a].reduce(1, *), x.shape[a...].reduce(1, *)], x.dataType)]
        case .squeeze(let axes):
            let x = try input(0)
            let fromInput = intList(try constant(1, "axes"))
            let list = axes ?? fromInput
            return [(try ShapeRules.squeeze(x.shape, axes: list, context), x.dataType)]
        case .unsqueeze(let axes):
            let x = try input(0)
            let fromInput = intList(try constant(1, "axes"))
            guard let list = axes ?? fromInput else {
                throw .invalid("\(context): axes are required")
            }
            return [(try ShapeRules.unsqueeze(x.shape, axes: list, context), x.dataType)]
        case .transpose(let perm):
            let x = try input(0)
            let p = try ShapeRules.permutation(perm, rank: x.shape.count, context)
            return [(p.map { x.shape[$0] }, x.dataType)]
        case .concat(let axis):
            let parts = inputs.compactMap { $0 }
            let (shape, _) = try ShapeRules.concat(parts.map(\.shape), axis: axis, context)
            return [(shape, parts[0].dataType)]
        case .split(let axis, let sizes):
            let x = try input(0)
            let a = try ShapeRules.normalizeAxis(axis, rank: x.shape.count, context)
            let fromInput = intList(try constant(1, "split"))
            let list = sizes ?? fromInput
            let parts = try ShapeRules.splitSizes(x.shape[a], sizes: list, outputs: outputCount, context)
            return parts.map { size in
                var shape = x.shape
                shape[a] = size
                return (shape, x.dataType)
            }
        case .slice:
            let x = try input(0)
            guard let starts = try constant(1, "starts"), let ends = try constant(2, "ends") else {
                throw .invalid("\(context): starts and ends are required")
            }
            let params = try ShapeRules.slice(
                x.shape, starts: starts.ints, ends: ends.ints, axes: try constant(3, "axes")?.ints,
                steps: try constant(4, "steps")?.ints, context)
            return [(params.map(\.count), x.dataType)]
        case .gather(let axis):
            let x = try input(0)
            let indices = try input(1)
            let a = try ShapeRules.normalizeAxis(axis, rank: x.shape.count, context)
            return [(Array(x.shape[..<a]) + indices.shape + Array(x.shape[(a + 1)...]), x.dataType)]
        case .expand:
            let x = try input(0)
            guard let target = try constant(1, "shape") else {
                throw .invalid("\(context): the shape input is required")
            }
            return [(try ShapeRules.expand(x.shape, to: target.ints, context), x.dataType)]
        case .tile:
            let x = try input(0)
            guard let repeats = try constant(1, "repeats")?.ints, repeats.count == x.shape.count,
                repeats.allSatisfy({ $0 >= 0 && $0 < (1 << 31) })
            else { throw .invalid("\(context): repeats do not match the input rank") }
            return [(zip(x.shape, repeats).map { $0 * Int($1) }, x.dataType)]
        case .reduce(_, let axes, let keepDims, let noop):
            let x = try input(0)
            let fromInput = intList(try constant(1, "axes"))
            let list = axes ?? fromInput
            var reduced = Set<Int>()
            if let list, !list.isEmpty {
                for a in list { reduced.insert(try ShapeRules.normalizeAxis(a, rank: x.shape.count, context)) }
            } else if noop {
                return [(x.shape, x.dataType)]
            } else {
                reduced = Set(0..<x.shape.count)
            }
            let shape =
                keepDims
                ? x.shape.enumerated().map { reduced.contains($0.offset) ? 1 : $0.element }
                : x.shape.enumerated().filter { !reduced.contains($0.offset) }.map(\.element)
            return [(shape, x.dataType)]
        case .matMul:
            let a = try input(0)
            return [(try ShapeRules.matMul(a.shape, try input(1).shape, context).output, a.dataType)]
        case .topK(let axis, _):
            let x = try input(0)
            guard let k = try constant(1, "k") else { throw .invalid("\(context): the k input is required") }
            let a = try ShapeRules.normalizeAxis(axis, rank: x.shape.count, context)
            var shape = x.shape
            shape[a] = try ShapeRules.topKCount(k.ints, length: x.shape[a], context)
            return [(shape, x.dataType), (shape, .int64)]
        case .gatherElements(let axis):
            let x = try input(0)
            let indices = try input(1)
            guard !indices.dataType.isFloatingPoint else {
                throw .invalid("\(context): indices are \(indices.dataType); they must be integers")
            }
            _ = try ShapeRules.gatherElements(x.shape, indices.shape, axis: axis, context)
            return [(indices.shape, x.dataType)]
        case .range, .constantOfShape, .constant:
            throw .unsupported("\(context): \(op.name) needs constant inputs to be computed when the model is loaded")
        }
    }
}
