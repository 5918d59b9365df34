#if canImport(Glibc)
    import Glibc
#endif

/// Straightforward implementations of every supported operator on `TensorValue`s.
///
/// Specialisation folds constant subgraphs with it, the CPU backend runs rare operators through it, and tests use
/// it as the oracle for the optimised kernels. Clarity over speed.
package enum Reference {
    /// Evaluates `op` on `inputs` (nil for omitted optional inputs), producing `outputCount` tensors.
    package static func evaluate(
        _ op: Operator, inputs: [TensorValue?], outputCount: Int, context: String
    ) throws(ModelError) -> [TensorValue] {
        func input(_ i: Int) throws(ModelError) -> TensorValue {
            guard i < inputs.count, let value = inputs[i] else { throw .invalid("\(context): input \(i) is required") }
            return value
        }
        func optional(_ i: Int) -> TensorValue? { i < inputs.count ? inputs[i] : nil }

        switch op {
        case .conv(let attributes):
            return [try conv(try input(0), try input(1), optional(2), attributes, silu: false, residual: nil, context)]
        case .convSiLU(let attributes, let residual):
            return [
                try conv(
                    try input(0), try input(1), optional(2), attributes, silu: true,
                    residual: residual ? try input(3) : nil, context)
            ]
        case .maxPool(let attributes): return [try maxPool(try input(0), attributes, context)]
        case .resize(let attributes):
            return [try resize(try input(0), scales: optional(2), sizes: optional(3), attributes, context)]
        case .softmax(let axis, let legacy): return [try softmax(try input(0), axis: axis, legacy: legacy, context)]
        case .unary(let kind): return [try unary(kind, try input(0), context)]
        case .binary(let kind): return [try binary(kind, try input(0), try input(1), context)]
        case .variadic(let kind):
            var result = try input(0)
            for i in 1..<Swift.max(inputs.count, 1) {
                let next = try input(i)
                switch kind {
                case .min: result = try elementwise(result, next, context, { Swift.min($0, $1) }, { Swift.min($0, $1) })
                case .max: result = try elementwise(result, next, context, { Swift.max($0, $1) }, { Swift.max($0, $1) })
                case .sum, .mean: result = try binary(.add, result, next, context)
                }
            }
            if kind == .mean {
                let n = Float(inputs.count)
                result = TensorValue(
                    dataType: result.dataType, shape: result.shape, floats: result.floats.map { $0 / n })
            }
            return [result]
        case .whereSelect: return [try whereSelect(try input(0), try input(1), try input(2), context)]
        case .clip(let lo, let hi):
            let x = try input(0)
            let minimum = optional(1)?.floats.first ?? lo ?? -.infinity
            let maximum = optional(2)?.floats.first ?? hi ?? .infinity
            if x.isFloat {
                return [
                    TensorValue(
                        dataType: x.dataType, shape: x.shape,
                        floats: x.floats.map { Swift.min(Swift.max($0, minimum), maximum) })
                ]
            }
            let lo64 = optional(1)?.ints.first ?? Int64.min
            let hi64 = optional(2)?.ints.first ?? Int64.max
            return [
                TensorValue(
                    dataType: x.dataType, shape: x.shape, ints: x.ints.map { Swift.min(Swift.max($0, lo64), hi64) })
            ]
        case .cast(let type): return [cast(try input(0), to: type)]
        case .identity: return [try input(0)]
        case .constant(let value): return [value]
        case .constantOfShape(let fill):
            let shapeValues = try input(0).ints
            var shape: [Int] = []
            for d in shapeValues {
                guard d >= 0, d <= Int64(TensorValue.maxElements) else {
                    throw .invalid("\(context): invalid shape \(shapeValues)")
                }
                shape.append(Int(d))
            }
            let count = try TensorValue.elementCount(shape, context: context)
            let value = fill ?? TensorValue(dataType: .float, shape: [1], floats: [0])
            if value.isFloat {
                return [
                    TensorValue(
                        dataType: value.dataType, shape: shape,
                        floats: Array(repeating: value.floats.first ?? 0, count: count))
                ]
            }
            return [
                TensorValue(
                    dataType: value.dataType, shape: shape, ints: Array(repeating: value.ints.first ?? 0, count: count))
            ]
        case .shape(let start, let end):
            let shape = try input(0).shape
            return [TensorValue.vector(shapeSlice(shape, start: start, end: end).map { Int64($0) })]
        case .range:
            return [try range(try input(0), try input(1), try input(2), context)]
        case .reduce(let kind, let axes, let keepDims, let noop):
            return [
                try reduce(
                    kind, try input(0), axes: axes ?? optional(1)?.ints.map { Int($0) }, keepDims: keepDims,
                    noopWithEmptyAxes: noop, context)
            ]
        case .matMul: return [try matMul(try input(0), try input(1), context)]
        case .topK(let axis, let largest):
            return try topK(try input(0), k: try input(1), axis: axis, largest: largest, context)
        case .gatherElements(let axis):
            return [try gatherElements(try input(0), indices: try input(1), axis: axis, context)]
        default:
            return try layout(op, inputs: inputs, outputCount: outputCount, context: context)
        }
    }

    static func shapeSlice(_ shape: [Int], start: Int, end: Int?) -> [Int] {
        let rank = shape.count
        func clampIndex(_ i: Int) -> Int { Swift.min(Swift.max(i < 0 ? i + rank : i, 0), rank) }
        let s = clampIndex(start)
        let e = clampIndex(end ?? rank)
        return e > s ? Array(shape[s..<e]) : []
    }

    /// Builds a tensor of the same kind (float or integer) as `like`.
    static func make(_ like: TensorValue, shape: [Int], floats: [Float]? = nil, ints: [Int64]? = nil) -> TensorValue {
        if let floats { return TensorValue(dataType: like.dataType, shape: shape, floats: floats) }
        return TensorValue(dataType: like.dataType, shape: shape, ints: ints ?? [])
    }

    static func cast(_ x: TensorValue, to type: DataType) -> TensorValue {
        if type.isFloatingPoint {
            var values = x.floats
            if type == .float16 { values = values.map { Float(Float16($0)) } }
            return TensorValue(dataType: type, shape: x.shape, floats: values)
        }
        if type == .bool { return TensorValue(dataType: type, shape: x.shape, ints: x.floats.map { $0 != 0 ? 1 : 0 }) }
        let ints: [Int64]
        switch x.storage {
        case .ints(let i): ints = i
        case .floats(let f): ints = f.map { $0.isFinite && abs($0) < 9.2e18 ? Int64($0.rounded(.towardZero)) : 0 }
        }
        let wrapped: [Int64] =
            switch type {
            case .int32: ints.map { Int64(Int32(truncatingIfNeeded: $0)) }
            case .uint8: ints.map { Int64(UInt8(truncatingIfNeeded: $0)) }
            case .int8: ints.map { Int64(Int8(truncatingIfNeeded: $0)) }
            case .int16: ints.map { Int64(Int16(truncatingIfNeeded: $0)) }
            case .uint16: ints.map { Int64(UInt16(truncatingIfNeeded: $0)) }
            case .uint32: ints.map { Int64(UInt32(truncatingIfNeeded: $0)) }
            default: ints
            }
        return TensorValue(dataType: type, shape: x.shape, ints: wrapped)
    }

    static func range(_ start: TensorValue, _ limit: TensorValue, _ delta: TensorValue, _ context: String)
        throws(ModelError) -> TensorValue
    {
        if start.isFloat {
            let s = start.floats.first ?? 0
            let l = limit.floats.first ?? 0
            let d = delta.floats.first ?? 0
            guard d != 0, d.isFinite, s.isFinite, l.isFinite else { throw .invalid("\(context): invalid range delta") }
            // Counted in Double: a corrupt limit or delta must give an error, not a trapping conversion.
            let steps = Swift.max(((Double(l) - Double(s)) / Double(d)).rounded(.up), 0)
            guard steps <= Double(TensorValue.maxElements) else {
                throw ModelError(.tooLarge, "\(context): range too long")
            }
            let n = Int(steps)
            return TensorValue(dataType: start.dataType, shape: [n], floats: (0..<n).map { s + Float($0) * d })
        }
        let s = start.ints.first ?? 0
        let l = limit.ints.first ?? 0
        let d = delta.ints.first ?? 0
        guard d != 0 else { throw .invalid("\(context): range delta is 0") }
        let (span, overflow) = l.subtractingReportingOverflow(s)
        guard !overflow else { throw .invalid("\(context): range overflows") }
        // ceil(span / d) for a span in the direction of d, else 0; (span ∓ 1) never overflows there.
        let n: Int64 = d > 0 ? (span > 0 ? (span - 1) / d + 1 : 0) : (span < 0 ? (span + 1) / d + 1 : 0)
        guard n <= Int64(TensorValue.maxElements) else { throw ModelError(.tooLarge, "\(context): range too long") }
        return TensorValue(dataType: start.dataType, shape: [Int(n)], ints: (0..<n).map { s + $0 * d })
    }
}
