extension Reference {
    /// A tensor whose element i is `x`'s element `sources[i]`.
    static func gatherElements(_ x: TensorValue, shape: [Int], sources: [Int]) -> TensorValue {
        switch x.storage {
        case .floats(let f): TensorValue(dataType: x.dataType, shape: shape, floats: sources.map { f[$0] })
        case .ints(let i): TensorValue(dataType: x.dataType, shape: shape, ints: sources.map { i[$0] })
        }
    }

    /// Source offsets for reading `shape` out of a tensor with `strides` starting at `base`.
    static func offsets(shape: [Int], strides: [Int], base: Int = 0) -> [Int] {
        let count = shape.reduce(1, *)
        var result = [Int](repeating: 0, count: count)
        var index = [Int](repeating: 0, count: shape.count)
        var offset = base
        for i in 0..<count {
            result[i] = offset
            var d = shape.count - 1
            while d >= 0 {
                index[d] += 1
                offset += strides[d]
                if index[d] < shape[d] { break }
                offset -= strides[d] * shape[d]
                index[d] = 0
                d -= 1
            }
        }
        return result
    }

    static func reshaped(_ x: TensorValue, _ shape: [Int]) -> TensorValue {
        var y = x
        y.shape = shape
        return y
    }

    static func layout(_ op: Operator, inputs: [TensorValue?], outputCount: Int, context: String) throws(ModelError)
        -> [TensorValue]
    {
        func input(_ i: Int) throws(ModelError) -> TensorValue {
            guard i < inputs.count, let value = inputs[i] else { throw .invalid("\(context): input \(i) is required") }
            return value
        }
        func optional(_ i: Int) -> TensorValue? { i < inputs.count ? inputs[i] : nil }

        switch op {
        case .reshape(let allowZero):
            let x = try input(0)
            return [
                reshaped(x, try ShapeRules.reshape(x.shape, target: try input(1).ints, allowZero: allowZero, context))
            ]
        case .flatten(let axis):
            let x = try input(0)
            let a = try ShapeRules.normalizeAxis(axis, rank: x.shape.count + 1, context)
            return [reshaped(x, [x.shape[..<a].reduce(1, *), x.shape[a...].reduce(1, *)])]
        case .squeeze(let axes):
            let x = try input(0)
            return [
                reshaped(x, try ShapeRules.squeeze(x.shape, axes: axes ?? optional(1)?.ints.map { Int($0) }, context))
            ]
        case .unsqueeze(let axes):
            let x = try input(0)
            guard let list = axes ?? optional(1)?.ints.map({ Int($0) }) else {
                throw .invalid("\(context): axes are required")
            }
            return [reshaped(x, try ShapeRules.unsqueeze(x.shape, axes: list, context))]
        case .transpose(let perm):
            let x = try input(0)
            let p = try ShapeRules.permutation(perm, rank: x.shape.count, context)
            let strides = ShapeRules.contiguousStrides(x.shape)
            let shape = p.map { x.shape[$0] }
            return [gatherElements(x, shape: shape, sources: offsets(shape: shape, strides: p.map { strides[$0] }))]
        case .concat(let axis):
            let parts = inputs.compactMap { $0 }
            let (shape, a) = try ShapeRules.concat(parts.map(\.shape), axis: axis, context)
            let first = parts[0]
            let outer = shape[..<a].reduce(1, *)
            let inner = shape[(a + 1)...].reduce(1, *)
            if first.isFloat {
                var values: [Float] = []
                values.reserveCapacity(shape.reduce(1, *))
                let arrays = parts.map(\.floats)
                for o in 0..<outer {
                    for (part, array) in zip(parts, arrays) {
                        let block = part.shape[a] * inner
                        values.append(contentsOf: array[(o * block)..<((o + 1) * block)])
                    }
                }
                return [TensorValue(dataType: first.dataType, shape: shape, floats: values)]
            }
            var values: [Int64] = []
            let arrays = parts.map(\.ints)
            for o in 0..<outer {
                for (part, array) in zip(parts, arrays) {
                    let block = part.shape[a] * inner
                    values.append(contentsOf: array[(o * block)..<((o + 1) * block)])
                }
            }
            return [TensorValue(dataType: first.dataType, shape: shape, ints: values)]
        case .split(let axis, let sizes):
            let x = try input(0)
            let a = try ShapeRules.normalizeAxis(axis, rank: x.shape.count, context)
            let parts = try ShapeRules.splitSizes(
                x.shape[a], sizes: sizes ?? optional(1)?.ints.map { Int($0) }, outputs: outputCount, context)
            let strides = ShapeRules.contiguousStrides(x.shape)
            var start = 0
            var results: [TensorValue] = []
            for size in parts {
                var shape = x.shape
                shape[a] = size
                results.append(
                    gatherElements(
                        x, shape: shape, sources: offsets(shape: shape, strides: strides, base: start * strides[a])))
                start += size
            }
            return results
        case .slice:
            let x = try input(0)
            let params = try ShapeRules.slice(
                x.shape, starts: try input(1).ints, ends: try input(2).ints, axes: optional(3)?.ints,
                steps: optional(4)?.ints, context)
            let strides = ShapeRules.contiguousStrides(x.shape)
            let base = zip(params, strides).reduce(0) { $0 + $1.0.start * $1.1 }
            let shape = params.map(\.count)
            return [
                gatherElements(
                    x, shape: shape,
                    sources: offsets(shape: shape, strides: zip(params, strides).map { $0.step * $1 }, base: base))
            ]
        case .gather(let axis):
            let x = try input(0)
            let indices = try input(1)
            let a = try ShapeRules.normalizeAxis(axis, rank: x.shape.count, context)
            let d = x.shape[a]
            var idx: [Int] = []
            for i in indices.ints {
                let n = i < 0 ? Int(i) + d : Int(i)
                guard n >= 0, n < d else { throw .invalid("\(context): index \(i) out of range for axis of size \(d)") }
                idx.append(n)
            }
            let outer = x.shape[..<a].reduce(1, *)
            let inner = x.shape[(a + 1)...].reduce(1, *)
            var sources: [Int] = []
            sources.reserveCapacity(outer * idx.count * inner)
            for o in 0..<outer {
                for i in idx {
                    let base = (o * d + i) * inner
                    for k in 0..<inner { sources.append(base + k) }
                }
            }
            let shape = Array(x.shape[..<a]) + indices.shape + Array(x.shape[(a + 1)...])
            return [gatherElements(x, shape: shape, sources: sources)]
        case .expand:
            let x = try input(0)
            let shape = try ShapeRules.expand(x.shape, to: try input(1).ints, context)
            _ = try TensorValue.elementCount(shape, context: context)
            return [
                gatherElements(
                    x, shape: shape,
                    sources: offsets(shape: shape, strides: ShapeRules.broadcastStrides(x.shape, to: shape)))
            ]
        case .tile:
            let x = try input(0)
            let repeats = try input(1).ints
            guard repeats.count == x.shape.count, repeats.allSatisfy({ $0 >= 0 && $0 < (1 << 31) }) else {
                throw .invalid("\(context): repeats \(repeats) do not match rank \(x.shape.count)")
            }
            let shape = zip(x.shape, repeats).map { $0 * Int($1) }
            let count = try TensorValue.elementCount(shape, context: context)
            let strides = ShapeRules.contiguousStrides(x.shape)
            var sources = [Int](repeating: 0, count: count)
            var index = [Int](repeating: 0, count: shape.count)
            for i in 0..<count {
                var offset = 0
                for dim in 0..<shape.count { offset += (index[dim] % x.shape[dim]) * strides[dim] }
                sources[i] = offset
                var dim = shape.count - 1
                while dim >= 0 {
                    index[dim] += 1
                    if index[dim] < shape[dim] { break }
                    index[dim] = 0
                    dim -= 1
                }
            }
            return [gatherElements(x, shape: shape, sources: sources)]
        default:
            throw .unsupported("\(context): operator \(op.name) cannot be evaluated")
        }
    }
}
