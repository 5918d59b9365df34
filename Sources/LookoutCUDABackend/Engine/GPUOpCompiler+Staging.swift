import LookoutModel

extension GPUOpCompiler {
    /// Row-major fp32 (NCHW for the input) outside the arena: host staging as the device sees it.
    static func contiguous(_ shape: [Int]) -> GPUView {
        GPUView(buffer: -1, offset: 0, shape: shape, strides: ShapeRules.contiguousStrides(shape), element: .f32)
    }

    /// Copies a row-major fp32 NCHW input at `staging` into the plan's input (channels-last fp16 by default).
    func inputCopy(from staging: GPUAddress) -> ElementwiseOp {
        let id = plan.graph.inputs[0]
        let (view, address) = output(id)
        var pool = ConstantPool()
        // A copy between two tensors of one shape cannot fail.
        return try! copy(.tensor(Self.contiguous(view.shape), staging), to: view, at: address, constants: &pool) {
            GPUBackendError(.unsupported, $0)
        }
    }

    /// Copies the plan's first output into row-major fp32 at `staging` (`[batch][4 + classes][anchors]`).
    func outputCopy(to staging: GPUAddress) -> ElementwiseOp {
        let id = plan.graph.outputs[0]
        let (view, address) = output(id)
        var pool = ConstantPool()
        return try! copy(.tensor(view, address), to: Self.contiguous(view.shape), at: staging, constants: &pool) {
            GPUBackendError(.unsupported, $0)
        }
    }
}

extension GPUOpCompiler {
    /// Copies `view` (at `address`) into row-major fp32 at the device address `scratch`.
    func gather(_ view: GPUView, at address: GPUAddress, into scratch: UInt64) -> ElementwiseOp {
        var pool = ConstantPool()
        return try! copy(
            .tensor(view, address), to: Self.contiguous(view.shape), at: .absolute(scratch), constants: &pool
        ) {
            GPUBackendError(.unsupported, $0)
        }
    }
}
