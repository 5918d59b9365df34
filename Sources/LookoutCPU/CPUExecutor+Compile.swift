import LookoutModel

extension CPUExecutor {
    static func compile(_ step: PlanStep, plan: ExecutionPlan, tuning: CPUTuning) throws(ModelError) -> any CPUKernel {
        let graph = plan.graph
        let node = graph.nodes[step.node]
        let context = "operator '\(node.op.name)' (node '\(node.name)')"
        for output in node.outputs {
            let type = graph[output].dataType
            guard type != .string else {
                throw .unsupported("\(context) computes \(type) values at run time; the CPU backend does not")
            }
        }
        func tensor(_ id: ValueID) -> CPUTensor {
            CPUTensor(layout: plan.layout(id), shape: graph.shape(id), dataType: graph[id].dataType)
        }
        func operand(_ id: ValueID?) -> CPUOperand? {
            guard let id else { return nil }
            if let constant = graph.constants[id] { return .constant(constant) }
            return .tensor(tensor(id))
        }
        let inputs = node.inputs.map(operand)
        let outputs = node.outputs.map(tensor)
        let batch = plan.batch
        let computesOnIntegers =
            outputs.contains(where: \.isInteger)
            || inputs.contains { if case .tensor(let t)? = $0 { t.isInteger } else { false } }

        // Integer tensors: the data-movement kernels copy their bits; everything that computes on them runs in the
        // reference implementation (the end-to-end head's few hundred indices).
        if computesOnIntegers {
            switch node.op {
            case .concat(let axis)
            where inputs.allSatisfy({
                if case .tensor(let t)? = $0 { t.isInteger == outputs[0].isInteger } else { false }
            }):
                return ConcatKernel(axis: axis, inputs: inputs, copied: step.copiedInputs, output: outputs[0])
            case .identity, .reshape, .flatten, .squeeze, .unsqueeze:
                if case .tensor(let x)? = inputs[0] { return CopyKernel(input: x, output: outputs[0]) }
            case .topK(let axis, let largest):
                if let kernel = TopKKernel(axis: axis, largest: largest, inputs: inputs, outputs: outputs) {
                    return kernel
                }
            case .gatherElements(let axis):
                if let kernel = GatherElementsKernel(axis: axis, inputs: inputs, output: outputs[0]) { return kernel }
            default:
                break
            }
            return ReferenceKernel(op: node.op, inputs: inputs, outputs: outputs, context: context)
        }

        switch node.op {
        case .conv(let attributes), .convSiLU(let attributes, _):
            if let kernel = ConvKernel(
                node: node, attributes: attributes, inputs: inputs, output: outputs[0], batch: batch, tuning: tuning)
            {
                if let variant = WinogradConvKernel.variant(
                    for: kernel, choice: tuning.winograd, strideTwo: tuning.strideTwoWinograd)
                {
                    return WinogradConvKernel(conv: kernel, variant: variant, blockBytes: tuning.winogradBlockBytes)
                }
                if let depthwise = DepthwiseConvKernel(conv: kernel) { return depthwise }
                if let direct = DirectConvKernel(conv: kernel) { return direct }
                return kernel
            }
        case .maxPool(let attributes):
            if let kernel = MaxPoolKernel(attributes: attributes, input: inputs[0], output: outputs[0], batch: batch) {
                return kernel
            }
        case .resize(let attributes):
            if let kernel = NearestResizeKernel(
                attributes: attributes, inputs: inputs, output: outputs[0], batch: batch)
            {
                return kernel
            }
        case .unary(.sigmoid):
            if case .tensor(let x)? = inputs[0] { return SigmoidKernel(input: x, output: outputs[0]) }
        case .binary(let kind):
            if let kernel = BinaryKernel(
                kind: kind, a: inputs[0], b: inputs.count > 1 ? inputs[1] : nil, output: outputs[0])
            {
                return kernel
            }
        case .concat(let axis):
            return ConcatKernel(axis: axis, inputs: inputs, copied: step.copiedInputs, output: outputs[0])
        case .split(let axis, _):
            if let kernel = SplitKernel(axis: axis, input: inputs[0], outputs: outputs) { return kernel }
        case .softmax(let axis, let legacy):
            if let kernel = SoftmaxKernel(axis: axis, legacy: legacy, input: inputs[0], output: outputs[0]) {
                return kernel
            }
        case .transpose(let perm):
            if let kernel = TransposeKernel(perm: perm, input: inputs[0], output: outputs[0]) { return kernel }
        case .identity, .reshape, .flatten, .squeeze, .unsqueeze:
            if case .tensor(let x)? = inputs[0] { return CopyKernel(input: x, output: outputs[0]) }
        case .matMul:
            if let kernel = MatMulKernel(a: inputs[0], b: inputs[1], output: outputs[0]) { return kernel }
        case .reduce(.max, let axes, _, _):
            if let kernel = ReduceMaxKernel(axes: axes, inputs: inputs, output: outputs[0]) { return kernel }
        case .cast(let type) where type.isFloatingPoint:
            if case .tensor(let x)? = inputs[0], type != .float16 { return CopyKernel(input: x, output: outputs[0]) }
        default:
            break
        }
        return ReferenceKernel(op: node.op, inputs: inputs, outputs: outputs, context: context)
    }
}
