import LookoutModel

/// TopK along the last non-unit axis of a contiguous float tensor: a bounded heap of `k` indices per row in
/// scratch (nothing allocated per run), then the heap sorted. Order as ONNX and onnxruntime give it: larger
/// (smaller) values first, equal values by index, NaN first. Values go out as fp32, indices as `Int32` bits.
struct TopKKernel: CPUKernel {
    let input: CPUTensor
    let values: CPUTensor
    let indices: CPUTensor
    let rows: Int, length: Int, k: Int
    let largest: Bool

    init?(axis: Int, largest: Bool, inputs: [CPUOperand?], outputs: [CPUTensor]) {
        guard case .tensor(let x)? = inputs.first ?? nil, !x.isInteger, x.layout.isContiguous, outputs.count == 2,
            outputs.allSatisfy(\.layout.isContiguous), !outputs[0].isInteger, outputs[1].isInteger,
            inputs.count > 1, case .constant(let kValue)? = inputs[1],
            let a = try? ShapeRules.normalizeAxis(axis, rank: x.shape.count, ""),
            x.shape[(a + 1)...].allSatisfy({ $0 == 1 }),
            let k = try? ShapeRules.topKCount(kValue.ints, length: x.shape[a], "")
        else { return nil }
        input = x
        values = outputs[0]
        indices = outputs[1]
        length = x.shape[a]
        rows = x.shape[..<a].reduce(1, *)
        self.k = k
        self.largest = largest
    }

    var scratchElements: Int { rows * k }

    func execute(_ context: CPUContext) {
        guard k > 0 else { return }
        let x = UnsafePointer(context.arena + input.layout.offset)
        let outValues = context.arena + values.layout.offset
        let outIndices = context.arena + indices.layout.offset
        let (length, k, largest) = (length, k, largest)
        context.scratch.withMemoryRebound(to: Int32.self, capacity: rows * k) { scratch in
            CPUParallel.forEachRange(rows) { range in
                for row in range {
                    let data = x + row * length
                    let heap = scratch + row * k
                    Self.select(data, length: length, k: k, largest: largest, into: heap)
                    for j in 0..<k {
                        let index = heap[j]
                        outValues[row * k + j] = data[Int(index)]
                        outIndices[row * k + j] = Float(bitPattern: UInt32(bitPattern: index))
                    }
                }
            }
        }
    }

    /// Leaves the indices of the `k` best elements of `data` in `heap`, best first.
    static func select(
        _ data: UnsafePointer<Float>, length: Int, k: Int, largest: Bool, into heap: UnsafeMutablePointer<Int32>
    ) {
        @inline(__always) func key(_ i: Int32) -> Float {
            let v = data[Int(i)]
            return v.isNaN ? (largest ? .infinity : -.infinity) : v
        }
        /// Whether element `p` ranks before element `q`.
        @inline(__always) func before(_ p: Int32, _ q: Int32) -> Bool {
            let u = key(p)
            let v = key(q)
            if u != v { return largest ? u > v : u < v }
            return p < q
        }
        @inline(__always) func swap(_ i: Int, _ j: Int) {
            let t = heap[i]
            heap[i] = heap[j]
            heap[j] = t
        }
        // A heap whose root is the worst of the kept elements.
        func siftDown(_ start: Int, _ count: Int) {
            var parent = start
            while true {
                var worst = parent
                let left = 2 * parent + 1
                let right = left + 1
                if left < count && before(heap[worst], heap[left]) { worst = left }
                if right < count && before(heap[worst], heap[right]) { worst = right }
                if worst == parent { return }
                swap(parent, worst)
                parent = worst
            }
        }
        for i in 0..<k { heap[i] = Int32(i) }
        for i in stride(from: k / 2 - 1, through: 0, by: -1) { siftDown(i, k) }
        var i = k
        while i < length {
            let candidate = Int32(i)
            if before(candidate, heap[0]) {
                heap[0] = candidate
                siftDown(0, k)
            }
            i += 1
        }
        // Heap sort: the worst goes to the end each round, so the array ends best first.
        var count = k
        while count > 1 {
            swap(0, count - 1)
            count -= 1
            siftDown(0, count)
        }
    }
}

/// GatherElements on contiguous tensors: each output element reads the data element its index names along the
/// axis. Data may be floats or integer bits (copied unchanged); indices are an integer tensor or constant.
/// An index out of range reads element 0 of its row (the plan cannot fail at run time; ONNX calls the result
/// undefined) — onnxruntime rejects it, which the reference implementation reports at load for constant indices.
struct GatherElementsKernel: CPUKernel {
    let data: CPUTensor
    let indices: CPUOperand
    let output: CPUTensor
    let axis: Int
    let dataStrides: [Int]
    let outputShape: [Int]

    init?(axis: Int, inputs: [CPUOperand?], output: CPUTensor) {
        guard inputs.count == 2, case .tensor(let x)? = inputs[0], let indices = inputs[1], x.layout.isContiguous,
            output.layout.isContiguous, x.isInteger == output.isInteger,
            let a = try? ShapeRules.gatherElements(x.shape, indices.shape, axis: axis, "")
        else { return nil }
        switch indices {
        case .tensor(let t): guard t.isInteger, t.layout.isContiguous else { return nil }
        case .constant(let c): guard !c.isFloat else { return nil }
        }
        data = x
        self.indices = indices
        self.output = output
        self.axis = a
        dataStrides = ShapeRules.contiguousStrides(x.shape)
        outputShape = indices.shape
    }

    func execute(_ context: CPUContext) {
        let x = UnsafePointer(context.arena + data.layout.offset)
        let y = context.arena + output.layout.offset
        let length = data.shape[axis]
        let rank = outputShape.count
        let count = output.count
        withIndices(context) { index in
            for i in 0..<count {
                var rest = i
                var offset = 0
                for d in stride(from: rank - 1, through: 0, by: -1) {
                    let coordinate = rest % outputShape[d]
                    rest /= outputShape[d]
                    var position = coordinate
                    if d == axis {
                        position = index(i)
                        if position < 0 { position += length }
                        if position < 0 || position >= length { position = 0 }
                    }
                    offset += position * dataStrides[d]
                }
                y[i] = x[offset]
            }
        }
    }

    private func withIndices(_ context: CPUContext, _ body: ((Int) -> Int) -> Void) {
        switch indices {
        case .tensor(let t):
            let base = UnsafePointer(context.arena + t.layout.offset)
            body { Int(Int32(bitPattern: base[$0].bitPattern)) }
        case .constant(let c):
            if case .ints(let values) = c.storage {
                values.withUnsafeBufferPointer { buffer in body { Int(clamping: buffer[$0]) } }
            }
        }
    }
}
