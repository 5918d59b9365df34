import CLookoutKernels
import LookoutModel

/// Softmax along one axis (opset ≥ 13), or over the coerced 2-D tail (opset < 13).
struct SoftmaxKernel: CPUKernel {
    let input: CPUTensor
    let output: CPUTensor
    let outer: Int, length: Int, inner: Int

    init?(axis: Int, legacy: Bool, input: CPUOperand?, output: CPUTensor) {
        guard case .tensor(let x)? = input, x.layout.isContiguous, output.layout.isContiguous else { return nil }
        let a = axis < 0 ? axis + x.shape.count : axis
        guard a >= 0, a < x.shape.count else { return nil }
        self.input = x
        self.output = output
        outer = x.shape[..<a].reduce(1, *)
        length = legacy ? x.shape[a...].reduce(1, *) : x.shape[a]
        inner = legacy ? 1 : x.shape[(a + 1)...].reduce(1, *)
    }

    func execute(_ context: CPUContext) {
        let x = context.arena + input.layout.offset
        let y = context.arena + output.layout.offset
        if outer >= CPUParallel.workers * 4 || inner < 512 {
            CPUParallel.forEachRange(outer, minimumChunk: max(1, 16384 / max(length * inner, 1))) { range in
                let base = range.lowerBound * length * inner
                lk_softmax(x + base, y + base, range.count, length, inner, inner)
            }
        } else {
            // Few long blocks (the DFL softmax: 16 bins × 33,600 columns): split the columns instead.
            for o in 0..<outer {
                let base = o * length * inner
                CPUParallel.forEachRange(inner, minimumChunk: 1024) { range in
                    lk_softmax(x + base + range.lowerBound, y + base + range.lowerBound, 1, length, inner, range.count)
                }
            }
        }
    }
}

/// Transpose of a contiguous tensor.
struct TransposeKernel: CPUKernel {
    let input: CPUTensor
    let output: CPUTensor
    let shape: [Int64]
    let strides: [Int64]

    init?(perm: [Int]?, input: CPUOperand?, output: CPUTensor) {
        guard case .tensor(let x)? = input, x.layout.isContiguous, output.layout.isContiguous, x.shape.count <= 8,
            let p = try? ShapeRules.permutation(perm, rank: x.shape.count, "")
        else { return nil }
        let inStrides = ShapeRules.contiguousStrides(x.shape)
        self.input = x
        self.output = output
        self.shape = p.map { Int64(x.shape[$0]) }
        self.strides = p.map { Int64(inStrides[$0]) }
    }

    func execute(_ context: CPUContext) {
        // Split along the outermost output axis longer than 1: each slice is a transpose of one rank less.
        let axis = shape.firstIndex { $0 > 1 } ?? 0
        let slices = shape.isEmpty ? 1 : Int(shape[axis])
        let sliceCount = shape.isEmpty ? 1 : Int(shape[(axis + 1)...].reduce(1, *))
        let x = context.arena + input.layout.offset
        let y = context.arena + output.layout.offset
        shape.withUnsafeBufferPointer { s in
            strides.withUnsafeBufferPointer { st in
                if slices <= 1 || sliceCount * slices < 32768 {
                    lk_transpose(x, y, Int32(shape.count), s.baseAddress, st.baseAddress)
                    return
                }
                let rank = Int32(shape.count - axis - 1)
                let step = Int(strides[axis])
                CPUParallel.forEachRange(slices) { range in
                    for i in range {
                        lk_transpose(
                            x + i * step, y + i * sliceCount, rank, s.baseAddress! + axis + 1,
                            st.baseAddress! + axis + 1)
                    }
                }
            }
        }
    }
}

/// Any operator through the reference implementation: inputs gathered, evaluated, outputs scattered back.
/// Used for operators that are rare at run time in YOLO graphs.
struct ReferenceKernel: CPUKernel {
    let op: Operator
    let inputs: [CPUOperand?]
    let outputs: [CPUTensor]
    let context: String

    func execute(_ context: CPUContext) {
        let values: [TensorValue?] = inputs.map { $0?.value(context) }
        // Shapes and operators were validated when the plan was made; a failure here is a broken invariant.
        guard
            let results = try? Reference.evaluate(op, inputs: values, outputCount: outputs.count, context: self.context)
        else {
            preconditionFailure("\(self.context): reference evaluation failed on validated shapes")
        }
        for (output, result) in zip(outputs, results) {
            let floats =
                output.isInteger
                ? result.ints.map { Float(bitPattern: UInt32(bitPattern: Int32(clamping: $0))) } : result.floats
            floats.withUnsafeBufferPointer {
                output.write(to: context.arena, start: 0, count: output.count, from: $0.baseAddress!)
            }
        }
    }
}
