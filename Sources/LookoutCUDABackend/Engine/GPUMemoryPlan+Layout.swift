import LookoutModel

/// Which buffers of the GPU plan are channels-last (and so fp16), and which of the CPU plan's split copies the GPU
/// reads in place.
extension GPUMemoryPlan {
    /// The plan's view forest: each value's parent and how it sits in it.
    typealias Forest = [ValueID: (ValueID, Relation)]

    static func root(_ v: ValueID, in parent: Forest) -> ValueID {
        var current = v
        while let entry = parent[current] { current = entry.0 }
        return current
    }

    /// Outputs of a Split the CPU plan copies (its axis is not the outermost, as in the attention's
    /// `[B, heads, q|k|v, N]` split of the qkv convolution) that only element-wise steps and the attention's
    /// nodes read: those take strided inputs, so the GPU reads them in place as slices of the split's input — with
    /// the qkv convolution's output channels-last, Q and K stay its fp16 channels instead of fp32 copies. An output
    /// a view node reads (V, reshaped to an image for the positional convolution) stays a copy.
    static func inPlaceSplitOutputs(_ plan: ExecutionPlan, parent: Forest) -> [(value: ValueID, slice: Relation)] {
        let graph = plan.graph
        let stepNodes = Set(plan.steps.map(\.node))
        let consumers = graph.consumers()
        let outputs = Set(graph.outputs)
        let attentionNodes = Set(
            GPUOpCompiler.attentionPatterns(in: plan).flatMap { node, pattern in [node] + pattern.replaced })
        func readsStrided(_ node: Int) -> Bool {
            guard stepNodes.contains(node) else { return false }
            if attentionNodes.contains(node) { return true }
            switch graph.nodes[node].op {
            case .unary, .binary: return true
            default: return false
            }
        }
        var result: [(value: ValueID, slice: Relation)] = []
        for step in plan.steps {
            let node = graph.nodes[step.node]
            guard case .split(let axis, _) = node.op, let x = node.inputs.first ?? nil, plan.layouts[x] != nil else {
                continue
            }
            let rank = graph.shape(x).count
            let a = axis < 0 ? axis + rank : axis
            var start = 0
            for output in node.outputs {
                defer { start += graph.shape(output)[a] }
                guard plan.layouts[output] != nil, parent[output] == nil, !outputs.contains(output),
                    graph.shape(output).count == rank, let readers = consumers[output], !readers.isEmpty,
                    readers.allSatisfy(readsStrided)
                else { continue }
                result.append((output, .slice(axis: a, start: start)))
            }
        }
        return result
    }

    /// The channels-last buffers: for each root, the member whose image shape `[N, C, H, W]` is stored channels-last
    /// (pixels C apart, channel stride 1) — the root itself, or for an attention tensor `[B, heads, d, H*W]` its
    /// reshape to `[B, heads*d, H, W]`, so that the image a convolution or element-wise op reads is channels-last.
    ///
    /// The convolution path spreads from the graph input through Conv, MaxPool and Resize (a channels-last
    /// input), through element-wise ops and channel concats (any channels-last input image: YOLO11's and YOLO26's
    /// attention residuals, ffn and C2PSA concat; in YOLOv8 such ops already sat inside a channels-last concat
    /// buffer), and into the attention's head-split tensors (V and the attention output) whose image reshape is
    /// read by a step. Every kernel takes strided operands, so a layout changes speed and fp16 rounding only.
    static func channelsLastLayouts(
        _ plan: ExecutionPlan, parent: Forest, members: [ValueID: [ValueID]]
    ) -> [ValueID: ValueID] {
        let graph = plan.graph
        let stepNodes = Set(plan.steps.map(\.node))
        let consumers = graph.consumers()
        func root(_ v: ValueID) -> ValueID { Self.root(v, in: parent) }
        var layout: [ValueID: ValueID] = [:]
        let input = graph.inputs[0]
        if graph.shape(root(input)).count == 4 { layout[root(input)] = root(input) }

        /// A 4-D value that is its channels-last buffer's image or a channel slice of it.
        func isImage(_ v: ValueID) -> Bool {
            let shape = graph.shape(v)
            guard shape.count == 4, let member = layout[root(v)] else { return false }
            let image = graph.shape(member)
            return shape[0] == image[0] && shape[2] == image[2] && shape[3] == image[3]
        }
        /// Marks `v`'s buffer channels-last for its own image when `v` is that image or a channel slice of it.
        func markImage(_ v: ValueID) -> Bool {
            let r = root(v)
            let shape = graph.shape(v)
            let rootShape = graph.shape(r)
            guard layout[r] == nil, shape.count == 4, rootShape.count == 4, shape[0] == rootShape[0],
                shape[2] == rootShape[2], shape[3] == rootShape[3]
            else { return false }
            layout[r] = r
            return true
        }
        /// Marks a head-split root `[B, h, d, N]` channels-last through its reshape `[B, h*d, H, W]` (H*W = N)
        /// that a step reads.
        func markHeads(_ r: ValueID) -> Bool {
            let shape = graph.shape(r)
            guard layout[r] == nil, parent[r] == nil, shape.count == 4 else { return false }
            for m in members[r, default: []] where m != r {
                let image = graph.shape(m)
                guard image.count == 4, image[0] == shape[0], image[1] == shape[1] * shape[2],
                    image[2] * image[3] == shape[3],
                    consumers[m, default: []].contains(where: stepNodes.contains)
                else { continue }
                var current = m
                while let entry = parent[current], entry.1 == .reshape { current = entry.0 }
                guard current == r, rootStrides(r, image: m, graph) != nil else { continue }
                layout[r] = m
                return true
            }
            return false
        }

        var changed = true
        while changed {
            changed = false
            for index in plan.steps.map(\.node) {
                let node = graph.nodes[index]
                let tensorInputs = node.inputs.compactMap { $0 }.filter { plan.layouts[$0] != nil }
                switch node.op {
                case .conv, .convSiLU, .maxPool, .resize:
                    guard let x = node.inputs.first ?? nil, layout[root(x)] != nil else { continue }
                    let r = root(node.outputs[0])
                    if layout[r] == nil && graph.shape(r).count == 4 {
                        layout[r] = r
                        changed = true
                    }
                case .unary, .binary, .variadic:
                    guard tensorInputs.contains(where: isImage) else { continue }
                    if markImage(node.outputs[0]) { changed = true }
                case .concat(let axis):
                    let output = node.outputs[0]
                    guard graph.shape(output).count == 4, axis == 1 || axis == -3,
                        tensorInputs.contains(where: isImage)
                    else { continue }
                    if markImage(output) { changed = true }
                default:
                    // The attention's head-split tensors: V (a Split copy) and the attention's output (a MatMul).
                    guard tensorInputs.contains(where: { layout[root($0)] != nil }) else { continue }
                    for output in node.outputs where markHeads(output) { changed = true }
                }
            }
        }
        return layout
    }

    /// Strides of root `r` that make its member `image` channels-last, or nil when no strides do.
    static func rootStrides(_ r: ValueID, image: ValueID, _ graph: Graph) -> [Int]? {
        let shape = graph.shape(image)
        guard image != r else { return channelsLastStrides(shape) }
        return viewStrides(shape, channelsLastStrides(shape), graph.shape(r))
    }

    /// `[N, C, H, W]` stored as NHWC.
    static func channelsLastStrides(_ shape: [Int]) -> [Int] {
        let (c, h, w) = (shape[1], shape[2], shape[3])
        return [c * h * w, 1, w * c, c]
    }
}
