import CLookoutCUDA
import LookoutModel

/// A Softmax whose only reader is a 1x1 convolution to one channel over the softmax's axis (YOLOv8's DFL: the
/// expected bin of each box side's distribution) runs as one launch: the softmax's values are weighted by the
/// convolution's and summed as they are made, so the [N, 16, 4, anchors] probabilities are never written and read
/// back. The arithmetic is the two kernels' own (the same softmax, then `fmaf` over the channels in order and the
/// bias), so the result is the same to the bit.
struct SoftmaxDot {
    /// fp32 weights, one per softmax position, in the constant pool.
    var weights: GPUAddress
    /// The bias's address (one fp32) or none.
    var bias: GPUAddress
    var y: GPUAddress
    /// The output's strides for the softmax's outer and inner positions.
    var ysOuter: Int64, ysInner: Int64
    var yHalf: Int32
}

extension GPUOpCompiler {
    /// The fused launch for plan steps `step` (a Softmax) and `next` (the convolution reading it), or nil when the
    /// pair is not that pattern.
    func softmaxDot(_ step: PlanStep, _ next: PlanStep, consumers: [ValueID: [Int]], constants: inout ConstantPool)
        throws(GPUBackendError) -> SoftmaxOp?
    {
        let graph = plan.graph
        let softmax = graph.nodes[step.node]
        let conv = graph.nodes[next.node]
        guard case .softmax(let axis, false) = softmax.op, case .conv(let attributes) = conv.op,
            conv.inputs.first == softmax.outputs[0], consumers[softmax.outputs[0]] == [next.node],
            !graph.outputs.contains(softmax.outputs[0]),
            case .tensor(let x, _)? = operand(softmax.inputs[0]), x.shape.count == 4, axis == 1 || axis == -3,
            case .constant(let w, _)? = operand(conv.inputs[1]), w.shape == [1, x.shape[1], 1, 1],
            attributes.kernel == (1, 1), attributes.strides == (1, 1), attributes.dilations == (1, 1),
            attributes.group == 1
        else { return nil }
        let pads = attributes.resolvedPads(inputH: x.shape[2], inputW: x.shape[3])
        guard pads == (0, 0, 0, 0) else { return nil }
        var biasValue: [Float]?
        if conv.inputs.count > 2, let b = conv.inputs[2] {
            guard case .constant(let value, _)? = operand(b), value.floats.count == 1 else { return nil }
            biasValue = value.floats
        }
        // The softmax as it would run alone; its probabilities must be fp32 (what the convolution would read).
        var single: [GPUOp] = []
        try compile(step, into: &single, constants: &constants)
        guard single.count == 1, case .softmax(var op) = single[0], op.params.yHalf == 0 else { return nil }
        // The output [N, 1, H, W]: the softmax's inner positions (h, w merged) must be evenly spaced in it.
        let (y, ya) = output(conv.outputs[0])
        guard y.shape == [x.shape[0], 1, x.shape[2], x.shape[3]],
            x.shape[3] == 1 || y.strides[2] == x.shape[3] * y.strides[3],
            Int(op.params.inner) == x.shape[2] * x.shape[3]
        else { return nil }
        let name = "softmax-dot \(conv.name)"
        op.dot = SoftmaxDot(
            weights: constants.floats(key: name + " w", w.floats),
            bias: biasValue.map { constants.floats(key: name + " b", $0) } ?? .none, y: ya,
            ysOuter: Int64(y.strides[0]), ysInner: Int64(x.shape[3] == 1 ? y.strides[2] : y.strides[3]),
            yHalf: y.element == .f16 ? 1 : 0)
        return op
    }
}
