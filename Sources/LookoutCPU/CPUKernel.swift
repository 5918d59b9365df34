import LookoutModel

/// Memory a step runs in: the activation arena and a scratch area shared by all steps.
struct CPUContext {
    let arena: UnsafeMutablePointer<Float>
    let scratch: UnsafeMutablePointer<Float>
    let batch: Int
}

/// One compiled step of a plan.
protocol CPUKernel {
    /// Scratch elements the kernel needs while it runs.
    var scratchElements: Int { get }
    func execute(_ context: CPUContext)
}

extension CPUKernel {
    var scratchElements: Int { 0 }
}

/// A node input: a run-time tensor in the arena or a constant.
enum CPUOperand {
    case tensor(CPUTensor)
    case constant(TensorValue)

    var shape: [Int] {
        switch self {
        case .tensor(let t): t.shape
        case .constant(let c): c.shape
        }
    }

    /// The operand as a tensor value: floats, or integers read from their `Int32` bit patterns.
    func value(_ context: CPUContext) -> TensorValue {
        switch self {
        case .constant(let c): return c
        case .tensor(let t):
            let raw = values(context)
            guard t.isInteger else { return TensorValue(dataType: .float, shape: t.shape, floats: raw) }
            return TensorValue(
                dataType: t.dataType, shape: t.shape, ints: raw.map { Int64(Int32(bitPattern: $0.bitPattern)) })
        }
    }

    /// The operand's elements, contiguous (copied out of the arena for tensors; integer tensors as their bits).
    func values(_ context: CPUContext) -> [Float] {
        switch self {
        case .constant(let c): return c.floats
        case .tensor(let t):
            return [Float](unsafeUninitializedCapacity: t.count) { buffer, n in
                if let base = buffer.baseAddress { t.read(from: context.arena, start: 0, count: t.count, into: base) }
                n = t.count
            }
        }
    }
}
