import LookoutModel

/// numpy-style MatMul (the attention of YOLO11's C2PSA and YOLO26's PSA blocks): one OpenBLAS GEMM per broadcast
/// batch item, the items spread over the workers. Operands are contiguous tensors or constants.
struct MatMulKernel: CPUKernel {
    let a: CPUOperand
    let b: CPUOperand
    let output: CPUTensor
    let m: Int, n: Int, k: Int
    /// Element offsets of each batch item's A and B matrices.
    let aOffsets: [Int]
    let bOffsets: [Int]

    init?(a: CPUOperand?, b: CPUOperand?, output: CPUTensor) {
        guard let a, let b, output.layout.isContiguous, !output.isInteger else { return nil }
        for operand in [a, b] {
            switch operand {
            case .tensor(let t): guard t.layout.isContiguous, !t.isInteger else { return nil }
            case .constant(let c): guard c.isFloat else { return nil }
            }
        }
        guard let geometry = try? ShapeRules.matMul(a.shape, b.shape, ""), geometry.output == output.shape else {
            return nil
        }
        self.a = a
        self.b = b
        self.output = output
        (m, n, k) = (geometry.m, geometry.n, geometry.k)
        let aStrides = ShapeRules.broadcastStrides(geometry.aBatch, to: geometry.batch)
        let bStrides = ShapeRules.broadcastStrides(geometry.bBatch, to: geometry.batch)
        let count = geometry.batch.reduce(1, *)
        var aOffsets: [Int] = []
        var bOffsets: [Int] = []
        var index = [Int](repeating: 0, count: geometry.batch.count)
        for _ in 0..<count {
            aOffsets.append(zip(index, aStrides).reduce(0) { $0 + $1.0 * $1.1 } * geometry.m * geometry.k)
            bOffsets.append(zip(index, bStrides).reduce(0) { $0 + $1.0 * $1.1 } * geometry.k * geometry.n)
            var d = index.count - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < geometry.batch[d] { break }
                index[d] = 0
                d -= 1
            }
        }
        self.aOffsets = aOffsets
        self.bOffsets = bOffsets
    }

    func execute(_ context: CPUContext) {
        a.withPointer(context) { pa in
            b.withPointer(context) { pb in
                let y = context.arena + output.layout.offset
                let (m, n, k) = (m, n, k)
                CPUParallel.forEachRange(aOffsets.count) { items in
                    for item in items {
                        BLAS.sgemm(
                            m: m, n: n, k: k, a: pa + aOffsets[item], lda: k, b: pb + bOffsets[item], ldb: n,
                            c: y + item * m * n, ldc: n)
                    }
                }
            }
        }
    }
}

/// ReduceMax over one axis of a contiguous float tensor (YOLO26's end-to-end head: the best class score of each
/// anchor), rows spread over the workers.
struct ReduceMaxKernel: CPUKernel {
    let input: CPUTensor
    let output: CPUTensor
    let outer: Int, length: Int, inner: Int

    init?(axes: [Int]?, inputs: [CPUOperand?], output: CPUTensor) {
        guard case .tensor(let x)? = inputs.first ?? nil, x.layout.isContiguous, !x.isInteger,
            output.layout.isContiguous, !x.shape.isEmpty
        else { return nil }
        var list = axes
        if list == nil, inputs.count > 1, case .constant(let c)? = inputs[1] { list = c.ints.map { Int($0) } }
        guard let list, list.count == 1,
            let axis = try? ShapeRules.normalizeAxis(list[0], rank: x.shape.count, "")
        else { return nil }
        self.input = x
        self.output = output
        outer = x.shape[..<axis].reduce(1, *)
        length = x.shape[axis]
        inner = x.shape[(axis + 1)...].reduce(1, *)
        guard length > 0, outer * inner == output.count else { return nil }
    }

    func execute(_ context: CPUContext) {
        let x = UnsafePointer(context.arena + input.layout.offset)
        let y = context.arena + output.layout.offset
        let (length, inner) = (length, inner)
        CPUParallel.forEachRange(outer, minimumChunk: max(1, 4096 / max(length * inner, 1))) { rows in
            for o in rows {
                for i in 0..<inner {
                    var best = x[o * length * inner + i]
                    for j in 1..<length {
                        let v = x[(o * length + j) * inner + i]
                        // NaN wins, as in numpy's and onnxruntime's max.
                        if v > best || v.isNaN { best = v }
                        if best.isNaN { break }
                    }
                    y[o * inner + i] = best
                }
            }
        }
    }
}

extension CPUOperand {
    /// A pointer to the operand's elements for the duration of `body` (constants as floats).
    func withPointer(_ context: CPUContext, _ body: (UnsafePointer<Float>) -> Void) {
        switch self {
        case .tensor(let t): body(UnsafePointer(context.arena + t.layout.offset))
        case .constant(let c): c.floats.withUnsafeBufferPointer { body($0.baseAddress!) }
        }
    }
}
