/// Shape arithmetic shared by shape inference and the reference evaluator, following the ONNX operator specs.
package enum ShapeRules {
    package static func normalizeAxis(_ axis: Int, rank: Int, _ context: @autoclosure () -> String) throws(ModelError)
        -> Int
    {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0, a < max(rank, 1) else {
            throw .invalid("\(context()): axis \(axis) is out of range for rank \(rank)")
        }
        return a
    }

    /// NumPy-style broadcast of several shapes.
    package static func broadcast(_ shapes: [[Int]], _ context: @autoclosure () -> String) throws(ModelError) -> [Int] {
        let rank = shapes.map(\.count).max() ?? 0
        var result = [Int](repeating: 1, count: rank)
        for shape in shapes {
            let offset = rank - shape.count
            for (i, d) in shape.enumerated() {
                let current = result[offset + i]
                if current == d || d == 1 { continue }
                if current == 1 {
                    result[offset + i] = d
                    continue
                }
                throw .invalid("\(context()): shapes \(shapes) cannot be broadcast together")
            }
        }
        return result
    }

    /// Strides (in elements) of `shape` read as broadcast to `target` (0 on broadcast dimensions).
    package static func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
        var strides = [Int](repeating: 0, count: target.count)
        var step = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            let t = i + target.count - shape.count
            strides[t] = shape[i] == 1 ? 0 : step
            step *= shape[i]
        }
        return strides
    }

    package static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var s = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[i] = s
            s *= shape[i]
        }
        return strides
    }

    /// The output shape of a Concat and the normalised axis; every other dimension must agree.
    package static func concat(_ shapes: [[Int]], axis: Int, _ context: @autoclosure () -> String) throws(ModelError)
        -> (shape: [Int], axis: Int)
    {
        guard let first = shapes.first else { throw .invalid("\(context()): no inputs") }
        let a = try normalizeAxis(axis, rank: first.count, context())
        var shape = first
        shape[a] = 0
        for part in shapes {
            guard part.count == first.count,
                part.enumerated().allSatisfy({ $0.offset == a || $0.element == first[$0.offset] })
            else { throw .invalid("\(context()): shapes \(shapes) cannot be concatenated on axis \(axis)") }
            shape[a] += part[a]
        }
        return (shape, a)
    }

    package static func reshape(_ input: [Int], target: [Int64], allowZero: Bool, _ context: @autoclosure () -> String)
        throws(ModelError) -> [Int]
    {
        let count = input.reduce(1, *)
        var result: [Int] = []
        var inferred: Int?
        for (i, t) in target.enumerated() {
            if t == -1 {
                guard inferred == nil else { throw .invalid("\(context()): more than one -1 in shape \(target)") }
                inferred = i
                result.append(1)
            } else if t == 0 && !allowZero {
                guard i < input.count else { throw .invalid("\(context()): 0 at position \(i) has no input dimension") }
                result.append(input[i])
            } else {
                guard t >= 0, t <= Int64(TensorValue.maxElements) else {
                    throw .invalid("\(context()): invalid shape \(target)")
                }
                result.append(Int(t))
            }
        }
        let known = try TensorValue.elementCount(result, context: context())
        if let inferred {
            guard known > 0, count % known == 0 else {
                throw .invalid("\(context()): cannot reshape \(input) to \(target)")
            }
            result[inferred] = count / known
        }
        guard result.reduce(1, *) == count else { throw .invalid("\(context()): cannot reshape \(input) to \(target)") }
        return result
    }

    package struct SliceAxis {
        package var start: Int
        package var step: Int
        package var count: Int
    }

    /// Per-dimension (start, step, count) of a Slice; untouched dimensions are (0, 1, d).
    package static func slice(
        _ shape: [Int], starts: [Int64], ends: [Int64], axes: [Int64]?, steps: [Int64]?,
        _ context: @autoclosure () -> String
    ) throws(ModelError) -> [SliceAxis] {
        var result = shape.map { SliceAxis(start: 0, step: 1, count: $0) }
        let axesList = axes ?? (0..<Int64(starts.count)).map { $0 }
        guard starts.count == ends.count, axesList.count == starts.count,
            steps.map({ $0.count == starts.count }) ?? true
        else { throw .invalid("\(context()): starts/ends/axes/steps lengths differ") }
        var seen = Set<Int>()
        for (i, rawAxis) in axesList.enumerated() {
            let axis = try normalizeAxis(Int(clamping: rawAxis), rank: shape.count, context())
            guard seen.insert(axis).inserted else { throw .invalid("\(context()): axis \(axis) repeated") }
            let d = Int64(shape[axis])
            let step = steps?[i] ?? 1
            guard step != 0 else { throw .invalid("\(context()): step 0") }
            var start = starts[i]
            var end = ends[i]
            if start < 0 { start += d }
            if end < 0 { end += d }
            let count: Int64
            if step > 0 {
                start = min(max(start, 0), d)
                end = min(max(end, 0), d)
                count = end > start ? (end - start - 1) / step + 1 : 0
            } else {
                start = min(max(start, 0), d - 1)
                end = min(max(end, -1), d - 1)
                count = start > end ? Int64((start - end - 1).magnitude / step.magnitude) + 1 : 0
            }
            // With two or more elements |step| < d; with one the step is irrelevant (and may be huge): make it 1.
            result[axis] = SliceAxis(start: Int(start), step: count > 1 ? Int(step) : 1, count: Int(count))
        }
        return result
    }

    package static func splitSizes(_ dim: Int, sizes: [Int]?, outputs: Int, _ context: @autoclosure () -> String)
        throws(ModelError) -> [Int]
    {
        if let sizes {
            // Bounded before summing: corrupt sizes must not overflow the sum.
            guard sizes.count == outputs, sizes.allSatisfy({ $0 >= 0 && $0 <= dim }), sizes.reduce(0, +) == dim else {
                throw .invalid("\(context()): split sizes \(sizes) do not add up to \(dim) over \(outputs) outputs")
            }
            return sizes
        }
        guard outputs > 0 else { throw .invalid("\(context()): no outputs") }
        // Opset 18 rule for uneven splits: ceil-sized parts, the last one smaller.
        let part = (dim + outputs - 1) / outputs
        var result: [Int] = []
        var left = dim
        for _ in 0..<outputs {
            result.append(min(part, left))
            left -= min(part, left)
        }
        return result
    }

    package static func unsqueeze(_ shape: [Int], axes: [Int], _ context: @autoclosure () -> String) throws(ModelError)
        -> [Int]
    {
        let rank = shape.count + axes.count
        var normalized: [Int] = []
        for a in axes { normalized.append(try normalizeAxis(a, rank: rank, context())) }
        guard Set(normalized).count == normalized.count else { throw .invalid("\(context()): repeated axes") }
        var result: [Int] = []
        var source = shape.makeIterator()
        for i in 0..<rank {
            if normalized.contains(i) { result.append(1) } else if let d = source.next() { result.append(d) }
        }
        return result
    }

    package static func squeeze(_ shape: [Int], axes: [Int]?, _ context: @autoclosure () -> String) throws(ModelError)
        -> [Int]
    {
        guard let axes else { return shape.filter { $0 != 1 } }
        var normalized = Set<Int>()
        for a in axes {
            let n = try normalizeAxis(a, rank: shape.count, context())
            guard shape[n] == 1 else { throw .invalid("\(context()): cannot squeeze axis \(a) of size \(shape[n])") }
            normalized.insert(n)
        }
        return shape.enumerated().filter { !normalized.contains($0.offset) }.map(\.element)
    }

    package static func permutation(_ perm: [Int]?, rank: Int, _ context: @autoclosure () -> String) throws(ModelError)
        -> [Int]
    {
        let p = perm ?? Array((0..<rank).reversed())
        guard p.count == rank, Set(p) == Set(0..<rank) else {
            throw .invalid("\(context()): perm \(p) is not a permutation of rank \(rank)")
        }
        return p
    }

    package static func expand(_ shape: [Int], to target: [Int64], _ context: @autoclosure () -> String)
        throws(ModelError) -> [Int]
    {
        var t: [Int] = []
        for d in target {
            guard d >= 0, d <= Int64(TensorValue.maxElements) else {
                throw .invalid("\(context()): invalid shape \(target)")
            }
            t.append(Int(d))
        }
        return try broadcast([shape, t], context())
    }

    /// Output size of Resize from scales (floor of input×scale) or explicit sizes.
    package static func resize(
        _ shape: [Int], scales: [Float]?, sizes: [Int64]?, axes: [Int]?, _ context: @autoclosure () -> String
    ) throws(ModelError) -> (shape: [Int], scales: [Float]) {
        let rank = shape.count
        var axisList: [Int] = Array(0..<rank)
        if let axes {
            axisList = []
            for a in axes { axisList.append(try normalizeAxis(a, rank: rank, context())) }
        }
        var outShape = shape
        var outScales = [Float](repeating: 1, count: rank)
        if let sizes, !sizes.isEmpty {
            guard sizes.count == axisList.count else {
                throw .invalid("\(context()): sizes \(sizes) do not match rank \(rank)")
            }
            for (i, axis) in axisList.enumerated() {
                guard sizes[i] > 0, sizes[i] < (1 << 24) else {
                    throw .invalid("\(context()): invalid size \(sizes[i])")
                }
                outShape[axis] = Int(sizes[i])
                outScales[axis] = Float(sizes[i]) / Float(max(shape[axis], 1))
            }
        } else if let scales, !scales.isEmpty {
            guard scales.count == axisList.count else {
                throw .invalid("\(context()): scales \(scales) do not match rank \(rank)")
            }
            for (i, axis) in axisList.enumerated() {
                guard scales[i] > 0, scales[i].isFinite, scales[i] < 1e4 else {
                    throw .invalid("\(context()): invalid scale \(scales[i])")
                }
                outShape[axis] = Int((Float(shape[axis]) * scales[i]).rounded(.down))
                outScales[axis] = scales[i]
            }
        } else {
            throw .invalid("\(context()): neither scales nor sizes given")
        }
        return (outShape, outScales)
    }
}
