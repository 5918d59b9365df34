/// The operators YOLO11 and YOLO26 added to the detection exports: MatMul (the attention of C2PSA/PSA blocks),
/// and TopK and GatherElements (YOLO26's end-to-end head, which picks its `max_det` boxes in the graph).
extension Reference {
    /// numpy `matmul`: `[..., M, K] × [..., K, N] → [..., M, N]`, leading axes broadcast, a 1-D operand promoted
    /// (and its axis removed again) as numpy does. Sums in Double, rounded once.
    static func matMul(_ a: TensorValue, _ b: TensorValue, _ context: String) throws(ModelError) -> TensorValue {
        let geometry = try ShapeRules.matMul(a.shape, b.shape, context)
        let fa = a.floats
        let fb = b.floats
        let m = geometry.m
        let n = geometry.n
        let k = geometry.k
        let batches = geometry.batch.reduce(1, *)
        let aStrides = ShapeRules.broadcastStrides(geometry.aBatch, to: geometry.batch)
        let bStrides = ShapeRules.broadcastStrides(geometry.bBatch, to: geometry.batch)
        var out = [Float](repeating: 0, count: batches * m * n)
        var index = [Int](repeating: 0, count: geometry.batch.count)
        for batch in 0..<batches {
            var aBase = 0
            var bBase = 0
            for d in 0..<index.count {
                aBase += index[d] * aStrides[d]
                bBase += index[d] * bStrides[d]
            }
            aBase *= m * k
            bBase *= k * n
            for i in 0..<m {
                for j in 0..<n {
                    var sum = 0.0
                    for p in 0..<k { sum += Double(fa[aBase + i * k + p]) * Double(fb[bBase + p * n + j]) }
                    out[batch * m * n + i * n + j] = Float(sum)
                }
            }
            advance(&index, geometry.batch)
        }
        if a.isFloat { return TensorValue(dataType: a.dataType, shape: geometry.output, floats: out) }
        return TensorValue(
            dataType: a.dataType, shape: geometry.output, ints: out.map { Int64($0.rounded(.towardZero)) })
    }

    /// ONNX TopK: the `k` largest (smallest) along `axis`, sorted, ties in index order; values and int64 indices.
    static func topK(_ x: TensorValue, k: TensorValue, axis: Int, largest: Bool, _ context: String) throws(ModelError)
        -> [TensorValue]
    {
        let a = try ShapeRules.normalizeAxis(axis, rank: x.shape.count, context)
        let count = try ShapeRules.topKCount(k.ints, length: x.shape[a], context)
        let outer = x.shape[..<a].reduce(1, *)
        let length = x.shape[a]
        let inner = x.shape[(a + 1)...].reduce(1, *)
        var shape = x.shape
        shape[a] = count
        let values = x.floats
        var picked = [Int64](repeating: 0, count: outer * count * inner)
        var order = [Int](repeating: 0, count: length)
        for o in 0..<outer {
            for i in 0..<inner {
                let base = o * length * inner + i
                for j in 0..<length { order[j] = j }
                // A NaN ranks first (as an infinity in the direction of the search).
                func key(_ j: Int) -> Float {
                    let v = values[base + j * inner]
                    return v.isNaN ? (largest ? .infinity : -.infinity) : v
                }
                func before(_ p: Int, _ q: Int) -> Bool {
                    let u = key(p)
                    let v = key(q)
                    if u != v { return largest ? u > v : u < v }
                    return p < q
                }
                order.sort(by: before)
                for j in 0..<count { picked[(o * count + j) * inner + i] = Int64(order[j]) }
            }
        }
        var out = [Float](repeating: 0, count: picked.count)
        for o in 0..<outer {
            for j in 0..<count {
                for i in 0..<inner {
                    let at = (o * count + j) * inner + i
                    out[at] = values[o * length * inner + Int(picked[at]) * inner + i]
                }
            }
        }
        let chosen: TensorValue
        if x.isFloat {
            chosen = TensorValue(dataType: x.dataType, shape: shape, floats: out)
        } else {
            let ints = x.ints
            var selected = [Int64](repeating: 0, count: picked.count)
            for o in 0..<outer {
                for j in 0..<count {
                    for i in 0..<inner {
                        let at = (o * count + j) * inner + i
                        selected[at] = ints[o * length * inner + Int(picked[at]) * inner + i]
                    }
                }
            }
            chosen = TensorValue(dataType: x.dataType, shape: shape, ints: selected)
        }
        return [chosen, TensorValue(dataType: .int64, shape: shape, ints: picked)]
    }

    /// ONNX GatherElements: the output has the indices' shape; along `axis` the index picks the element, negative
    /// indices count from the end, and an index out of range is an error naming it.
    static func gatherElements(_ x: TensorValue, indices: TensorValue, axis: Int, _ context: String)
        throws(ModelError) -> TensorValue
    {
        let a = try ShapeRules.gatherElements(x.shape, indices.shape, axis: axis, context)
        let dataStrides = ShapeRules.contiguousStrides(x.shape)
        let length = x.shape[a]
        let positions = indices.ints
        var sources = [Int](repeating: 0, count: positions.count)
        var index = [Int](repeating: 0, count: indices.shape.count)
        for i in 0..<positions.count {
            var p = positions[i]
            if p < 0 { p += Int64(length) }
            guard p >= 0, p < Int64(length) else {
                throw .invalid("\(context): index \(positions[i]) is out of range for axis \(a) of length \(length)")
            }
            var offset = 0
            for d in 0..<index.count { offset += (d == a ? Int(p) : index[d]) * dataStrides[d] }
            sources[i] = offset
            advance(&index, indices.shape)
        }
        return gatherElements(x, shape: indices.shape, sources: sources)
    }
}

extension ShapeRules {
    /// The shapes of a numpy-style matrix product.
    package struct MatMulGeometry: Equatable, Sendable {
        /// Broadcast leading axes of the output, and each operand's own leading axes (as broadcast sees them).
        package var batch: [Int]
        package var aBatch: [Int]
        package var bBatch: [Int]
        package var m: Int
        package var k: Int
        package var n: Int
        /// The output shape, with the axes of promoted 1-D operands removed.
        package var output: [Int]
    }

    package static func matMul(_ a: [Int], _ b: [Int], _ context: @autoclosure () -> String) throws(ModelError)
        -> MatMulGeometry
    {
        guard !a.isEmpty, !b.isEmpty else { throw .invalid("\(context()): MatMul of a scalar") }
        let a2 = a.count == 1 ? [1] + a : a
        let b2 = b.count == 1 ? b + [1] : b
        let m = a2[a2.count - 2]
        let k = a2[a2.count - 1]
        guard b2[b2.count - 2] == k else {
            throw .invalid(
                "\(context()): MatMul of \(a) and \(b): inner dimensions \(k) and \(b2[b2.count - 2]) differ")
        }
        let n = b2[b2.count - 1]
        let aBatch = Array(a2.dropLast(2))
        let bBatch = Array(b2.dropLast(2))
        let batch = try broadcast([aBatch, bBatch], context())
        var output = batch
        if a.count > 1 { output.append(m) }
        if b.count > 1 { output.append(n) }
        func padded(_ s: [Int]) -> [Int] { Array(repeating: 1, count: batch.count - s.count) + s }
        return MatMulGeometry(
            batch: batch, aBatch: padded(aBatch), bBatch: padded(bBatch), m: m, k: k, n: n, output: output)
    }

    /// TopK's `k` (a one-element input), checked against the axis length.
    package static func topKCount(_ k: [Int64], length: Int, _ context: @autoclosure () -> String) throws(ModelError)
        -> Int
    {
        guard k.count == 1, let value = k.first, value >= 0 else {
            throw .invalid("\(context()): k must be one non-negative integer, got \(k)")
        }
        guard value <= Int64(length) else {
            throw .invalid("\(context()): k = \(value) is larger than the axis (\(length))")
        }
        return Int(value)
    }

    /// Checks a GatherElements: equal ranks, and every index axis no longer than the data's except along `axis`.
    /// Returns the normalised axis.
    package static func gatherElements(
        _ data: [Int], _ indices: [Int], axis: Int, _ context: @autoclosure () -> String
    ) throws(ModelError) -> Int {
        let a = try normalizeAxis(axis, rank: data.count, context())
        guard indices.count == data.count else {
            throw .invalid("\(context()): indices \(indices) and data \(data) have different ranks")
        }
        for d in 0..<data.count where d != a && indices[d] > data[d] {
            throw .invalid("\(context()): indices \(indices) do not fit data \(data) on axis \(d)")
        }
        return a
    }
}
