#if canImport(Glibc)
    import Glibc
#endif

extension Reference {
    /// Applies a binary function with NumPy broadcasting, in Float for floating inputs and Int64 otherwise.
    static func elementwise(
        _ a: TensorValue, _ b: TensorValue, _ context: String, resultType: DataType? = nil,
        _ floatOp: (Float, Float) -> Float, _ intOp: (Int64, Int64) -> Int64
    ) throws(ModelError) -> TensorValue {
        let shape = try ShapeRules.broadcast([a.shape, b.shape], context)
        let count = try TensorValue.elementCount(shape, context: context)
        let sa = ShapeRules.broadcastStrides(a.shape, to: shape)
        let sb = ShapeRules.broadcastStrides(b.shape, to: shape)
        var ia = [Int](repeating: 0, count: count)
        var ib = [Int](repeating: 0, count: count)
        var index = [Int](repeating: 0, count: shape.count)
        var oa = 0
        var ob = 0
        for i in 0..<count {
            ia[i] = oa
            ib[i] = ob
            var d = shape.count - 1
            while d >= 0 {
                index[d] += 1
                oa += sa[d]
                ob += sb[d]
                if index[d] < shape[d] { break }
                oa -= sa[d] * shape[d]
                ob -= sb[d] * shape[d]
                index[d] = 0
                d -= 1
            }
        }
        let type = resultType ?? a.dataType
        if a.isFloat || b.isFloat {
            let fa = a.floats
            let fb = b.floats
            let values = (0..<count).map { floatOp(fa[ia[$0]], fb[ib[$0]]) }
            if type.isFloatingPoint { return TensorValue(dataType: type, shape: shape, floats: values) }
            return TensorValue(
                dataType: type, shape: shape, ints: TensorValue(dataType: .float, shape: shape, floats: values).ints)
        }
        let xa = a.ints
        let xb = b.ints
        return TensorValue(dataType: type, shape: shape, ints: (0..<count).map { intOp(xa[ia[$0]], xb[ib[$0]]) })
    }

    static func binary(_ kind: Operator.BinaryKind, _ a: TensorValue, _ b: TensorValue, _ context: String)
        throws(ModelError) -> TensorValue
    {
        func flag(_ condition: Bool) -> Float { condition ? 1 : 0 }
        func flag64(_ condition: Bool) -> Int64 { condition ? 1 : 0 }
        switch kind {
        case .add: return try elementwise(a, b, context, { $0 + $1 }, { $0 &+ $1 })
        case .sub: return try elementwise(a, b, context, { $0 - $1 }, { $0 &- $1 })
        case .mul: return try elementwise(a, b, context, { $0 * $1 }, { $0 &* $1 })
        case .div:
            // Integer division truncates toward zero (onnxruntime's behaviour); division by zero yields 0.
            return try elementwise(
                a, b, context, { $0 / $1 }, { $1 == 0 ? 0 : $0.dividedReportingOverflow(by: $1).partialValue })
        case .pow:
            return try elementwise(
                a, b, context, { Glibc.pow($0, $1) },
                { base, exponent in
                    guard exponent >= 0 else { return 0 }
                    var result: Int64 = 1
                    for _ in 0..<Swift.min(exponent, 64) { result = result &* base }
                    return result
                })
        case .mod:
            return try elementwise(
                a, b, context,
                { x, y in
                    let r = fmodf(x, y)
                    return (r != 0 && (r < 0) != (y < 0)) ? r + y : r
                },
                { x, y in
                    guard y != 0 else { return 0 }
                    let r = x.remainderReportingOverflow(dividingBy: y).partialValue
                    return (r != 0 && (r < 0) != (y < 0)) ? r + y : r
                })
        case .fmod:
            return try elementwise(
                a, b, context, { fmodf($0, $1) },
                { $1 == 0 ? 0 : $0.remainderReportingOverflow(dividingBy: $1).partialValue })
        case .equal: return try elementwise(a, b, context, resultType: .bool, { flag($0 == $1) }, { flag64($0 == $1) })
        case .less: return try elementwise(a, b, context, resultType: .bool, { flag($0 < $1) }, { flag64($0 < $1) })
        case .greater: return try elementwise(a, b, context, resultType: .bool, { flag($0 > $1) }, { flag64($0 > $1) })
        case .lessOrEqual:
            return try elementwise(a, b, context, resultType: .bool, { flag($0 <= $1) }, { flag64($0 <= $1) })
        case .greaterOrEqual:
            return try elementwise(a, b, context, resultType: .bool, { flag($0 >= $1) }, { flag64($0 >= $1) })
        case .and:
            return try elementwise(
                a, b, context, resultType: .bool, { flag($0 != 0 && $1 != 0) }, { flag64($0 != 0 && $1 != 0) })
        case .or:
            return try elementwise(
                a, b, context, resultType: .bool, { flag($0 != 0 || $1 != 0) }, { flag64($0 != 0 || $1 != 0) })
        case .xor:
            return try elementwise(
                a, b, context, resultType: .bool, { flag(($0 != 0) != ($1 != 0)) }, { flag64(($0 != 0) != ($1 != 0)) })
        }
    }

    static func unary(_ kind: Operator.UnaryKind, _ x: TensorValue, _ context: String) throws(ModelError) -> TensorValue
    {
        if !x.isFloat {
            let values = x.ints
            let result: [Int64]
            switch kind {
            case .neg: result = values.map { 0 &- $0 }
            case .abs: result = values.map { $0 == .min ? $0 : Swift.abs($0) }
            case .not: result = values.map { $0 == 0 ? 1 : 0 }
            case .sign: result = values.map { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }
            case .relu: result = values.map { Swift.max($0, 0) }
            case .floor, .ceil, .round: result = values
            default: throw .unsupported("\(context): \(kind.rawValue) on integers is not supported")
            }
            return TensorValue(dataType: x.dataType, shape: x.shape, ints: result)
        }
        let f: (Float) -> Float =
            switch kind {
            case .sigmoid: { 1 / (1 + Glibc.exp(-$0)) }
            case .relu: { Swift.max($0, 0) }
            case .exp: { Glibc.exp($0) }
            case .log: { Glibc.log($0) }
            case .sqrt: { $0.squareRoot() }
            case .neg: { -$0 }
            case .abs: { Swift.abs($0) }
            case .floor: { $0.rounded(.down) }
            case .ceil: { $0.rounded(.up) }
            case .reciprocal: { 1 / $0 }
            case .tanh: { Glibc.tanh($0) }
            case .not: { $0 == 0 ? 1 : 0 }
            case .round: { $0.rounded(.toNearestOrEven) }
            case .sign: { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }
            case .erf: { Glibc.erf($0) }
            }
        return TensorValue(dataType: x.dataType, shape: x.shape, floats: x.floats.map(f))
    }

    static func whereSelect(_ condition: TensorValue, _ a: TensorValue, _ b: TensorValue, _ context: String)
        throws(ModelError) -> TensorValue
    {
        let shape = try ShapeRules.broadcast([condition.shape, a.shape, b.shape], context)
        let count = try TensorValue.elementCount(shape, context: context)
        let sc = ShapeRules.broadcastStrides(condition.shape, to: shape)
        let sa = ShapeRules.broadcastStrides(a.shape, to: shape)
        let sb = ShapeRules.broadcastStrides(b.shape, to: shape)
        let cond = condition.ints
        var picks: [(Bool, Int)] = []
        picks.reserveCapacity(count)
        var index = [Int](repeating: 0, count: shape.count)
        for _ in 0..<count {
            var oc = 0
            var oa = 0
            var ob = 0
            for d in 0..<shape.count {
                oc += index[d] * sc[d]
                oa += index[d] * sa[d]
                ob += index[d] * sb[d]
            }
            picks.append(cond[oc] != 0 ? (true, oa) : (false, ob))
            var d = shape.count - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < shape[d] { break }
                index[d] = 0
                d -= 1
            }
        }
        if a.isFloat {
            let fa = a.floats
            let fb = b.floats
            return TensorValue(dataType: a.dataType, shape: shape, floats: picks.map { $0.0 ? fa[$0.1] : fb[$0.1] })
        }
        let xa = a.ints
        let xb = b.ints
        return TensorValue(dataType: a.dataType, shape: shape, ints: picks.map { $0.0 ? xa[$0.1] : xb[$0.1] })
    }
}
