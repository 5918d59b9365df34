import CLookoutKernels
import LookoutModel

/// Sigmoid over a run-time tensor, run by run.
struct SigmoidKernel: CPUKernel {
    let input: CPUTensor
    let output: CPUTensor

    func execute(_ context: CPUContext) {
        if input.layout.isContiguous && output.layout.isContiguous {
            let x = context.arena + input.layout.offset
            let y = context.arena + output.layout.offset
            CPUParallel.forEachRange(input.count, minimumChunk: 65536) { range in
                lk_sigmoid(x + range.lowerBound, y + range.lowerBound, range.count)
            }
            return
        }
        let staging = context.scratch
        input.read(from: context.arena, start: 0, count: input.count, into: staging)
        lk_sigmoid(staging, staging, input.count)
        output.write(to: context.arena, start: 0, count: output.count, from: staging)
    }

    var scratchElements: Int { input.layout.isContiguous && output.layout.isContiguous ? 0 : input.count }
}

/// Add/Sub/Mul/Div/Pow/Min/Max with NumPy broadcasting, executed as runs along the last axis.
struct BinaryKernel: CPUKernel {
    let op: Int32
    let a: CPUOperand
    let b: CPUOperand
    let output: CPUTensor
    let shape: [Int]
    let stridesA: [Int]
    let stridesB: [Int]

    init?(kind: Operator.BinaryKind, a: CPUOperand?, b: CPUOperand?, output: CPUTensor) {
        let op: LKBinary
        switch kind {
        case .add: op = LKBinaryAdd
        case .sub: op = LKBinarySub
        case .mul: op = LKBinaryMul
        case .div: op = LKBinaryDiv
        case .pow: op = LKBinaryPow
        default: return nil
        }
        guard let a, let b, output.layout.isContiguous else { return nil }
        for operand in [a, b] {
            if case .tensor(let t) = operand, !t.layout.isContiguous { return nil }
        }
        guard let shape = try? ShapeRules.broadcast([a.shape, b.shape], ""), shape == output.shape, !shape.isEmpty
        else {
            return nil
        }
        self.op = Int32(op.rawValue)
        self.a = a
        self.b = b
        self.output = output
        self.shape = shape
        self.stridesA = ShapeRules.broadcastStrides(a.shape, to: shape)
        self.stridesB = ShapeRules.broadcastStrides(b.shape, to: shape)
    }

    func execute(_ context: CPUContext) {
        withPointer(a, context) { pa in
            withPointer(b, context) { pb in
                let y = context.arena + output.layout.offset
                let inner = shape[shape.count - 1]
                let outer = output.count / max(inner, 1)
                let sa = stridesA[shape.count - 1]
                let sb = stridesB[shape.count - 1]
                // The index odometer lives on the stack: no allocation per run.
                withUnsafeTemporaryAllocation(of: Int.self, capacity: shape.count) { index in
                    index.initialize(repeating: 0)
                    var oa = 0
                    var ob = 0
                    for row in 0..<outer {
                        lk_binary(op, pa + oa, sa, pb + ob, sb, y + row * inner, inner)
                        var d = shape.count - 2
                        while d >= 0 {
                            index[d] += 1
                            oa += stridesA[d]
                            ob += stridesB[d]
                            if index[d] < shape[d] { break }
                            oa -= stridesA[d] * shape[d]
                            ob -= stridesB[d] * shape[d]
                            index[d] = 0
                            d -= 1
                        }
                    }
                }
            }
        }
    }

    private func withPointer(_ operand: CPUOperand, _ context: CPUContext, _ body: (UnsafePointer<Float>) -> Void) {
        switch operand {
        case .tensor(let t): body(UnsafePointer(context.arena + t.layout.offset))
        case .constant(let c): c.floats.withUnsafeBufferPointer { body($0.baseAddress!) }
        }
    }
}

/// Copies a tensor into another's place (Concat inputs that could not become views, reshapes that could not).
struct CopyKernel: CPUKernel {
    let input: CPUTensor
    let output: CPUTensor

    func execute(_ context: CPUContext) {
        let staging = context.scratch
        input.read(from: context.arena, start: 0, count: input.count, into: staging)
        output.write(to: context.arena, start: 0, count: output.count, from: staging)
    }

    var scratchElements: Int { input.count }
}

/// Concat: inputs that already live in their slot (views) are skipped; the others are copied in.
struct ConcatKernel: CPUKernel {
    let axis: Int
    let inputs: [CPUOperand?]
    let copied: [Int]
    let output: CPUTensor
    /// Where each input's run starts within one outer slice of the output (nil for omitted inputs).
    let starts: [Int?]

    init(axis: Int, inputs: [CPUOperand?], copied: [Int], output: CPUTensor) {
        self.axis = axis
        self.inputs = inputs
        self.copied = copied
        self.output = output
        let shape = output.shape
        let a = axis < 0 ? axis + shape.count : axis
        let inner = shape[(a + 1)...].reduce(1, *)
        var start = 0
        var starts: [Int?] = []
        for input in inputs {
            guard let input else {
                starts.append(nil)
                continue
            }
            starts.append(start)
            start += input.shape[a] * inner
        }
        self.starts = starts
    }

    func execute(_ context: CPUContext) {
        let shape = output.shape
        let a = axis < 0 ? axis + shape.count : axis
        let outer = shape[..<a].reduce(1, *)
        let inner = shape[(a + 1)...].reduce(1, *)
        let total = shape[a] * inner
        for i in copied {
            guard let input = inputs[i], let slot = starts[i] else { continue }
            let run = input.shape[a] * inner
            switch input {
            case .constant(let c):
                c.floats.withUnsafeBufferPointer { values in
                    for o in 0..<outer {
                        output.write(
                            to: context.arena, start: o * total + slot, count: run, from: values.baseAddress! + o * run)
                    }
                }
            case .tensor(let t) where t.layout.isContiguous:
                // Straight from the input's place into the output's runs, the outer slices spread over the cores.
                let source = context.arena + t.layout.offset
                CPUParallel.forEachRange(outer, minimumChunk: max(1, 16384 / max(run, 1))) { range in
                    for o in range {
                        output.write(to: context.arena, start: o * total + slot, count: run, from: source + o * run)
                    }
                }
            case .tensor(let t):
                for o in 0..<outer {
                    t.read(from: context.arena, start: o * run, count: run, into: context.scratch)
                    output.write(to: context.arena, start: o * total + slot, count: run, from: context.scratch)
                }
            }
        }
    }

    var scratchElements: Int {
        let shape = output.shape
        let a = axis < 0 ? axis + shape.count : axis
        let inner = shape[(a + 1)...].reduce(1, *)
        return copied.compactMap { inputs[$0]?.shape[a] }.map { $0 * inner }.max() ?? 0
    }
}

/// Split along an axis when the planner could not make its outputs views of the input (the attention's
/// q/k/v split of YOLO11 and YOLO26, along the head's channel axis of a [N, heads, channels, tokens] tensor): per
/// outer slice, each output's run is copied from its place in the input's run, outer slices spread over the cores.
struct SplitKernel: CPUKernel {
    let axis: Int
    let input: CPUTensor
    let outputs: [CPUTensor]
    let scratchElements: Int

    init?(axis: Int, input: CPUOperand?, outputs: [CPUTensor]) {
        guard case .tensor(let x)? = input, !outputs.isEmpty, !x.isInteger else { return nil }
        let rank = x.shape.count
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0, a < rank, outputs.allSatisfy({ $0.shape.count == rank }),
            outputs.reduce(0, { $0 + $1.shape[a] }) == x.shape[a]
        else { return nil }
        self.axis = a
        self.input = x
        self.outputs = outputs
        let inner = x.shape[(a + 1)...].reduce(1, *)
        scratchElements = x.layout.isContiguous ? 0 : (outputs.map { $0.shape[a] }.max() ?? 0) * inner
    }

    func execute(_ context: CPUContext) {
        let shape = input.shape
        let outer = shape[..<axis].reduce(1, *)
        let inner = shape[(axis + 1)...].reduce(1, *)
        let total = shape[axis] * inner
        var start = 0
        for output in outputs {
            let run = output.shape[axis] * inner
            let slot = start
            if input.layout.isContiguous {
                let source = context.arena + input.layout.offset
                CPUParallel.forEachRange(outer, minimumChunk: max(1, 16384 / max(run, 1))) { range in
                    for o in range {
                        output.write(to: context.arena, start: o * run, count: run, from: source + o * total + slot)
                    }
                }
            } else {
                for o in 0..<outer {
                    input.read(from: context.arena, start: o * total + slot, count: run, into: context.scratch)
                    output.write(to: context.arena, start: o * run, count: run, from: context.scratch)
                }
            }
            start += run
        }
    }
}
