import LookoutModel

/// Element type of a tensor on the GPU: fp16 on the convolution path, fp32 in the tail, int32 for the integer tensors
/// of end-to-end heads (indices and class ids; ONNX's int64 values there stay far below 2^31).
package enum GPUElement: Sendable, Equatable {
    case f16, f32, i32
    package var bytes: Int { self == .f16 ? 2 : 4 }
    /// The kernels' element kind code (`aHalf`, `xHalf`, … fields): 0 fp32, 1 fp16, 2 int32.
    package var kind: Int32 {
        switch self {
        case .f32: 0
        case .f16: 1
        case .i32: 2
        }
    }
}

/// Arithmetic precision of the engine: fp16 activations on the convolution path (the default), or fp32 everywhere.
public enum GPUPrecision: String, Sendable, CaseIterable {
    case fp16, fp32
}

/// How one value of the plan lives in GPU memory: in which buffer, where its logical element 0 is, and the stride
/// of each logical dimension (elements). Views of one buffer share its element type and physical order.
struct GPUView: Equatable {
    var buffer: Int
    var offset: Int
    var shape: [Int]
    var strides: [Int]
    var element: GPUElement

    var count: Int { shape.reduce(1, *) }
    /// 4-D with channel stride 1: the tensor-core convolution's layout.
    var isChannelsLast: Bool { shape.count == 4 && (strides[1] == 1 || shape[1] == 1) }
}

/// One buffer of the GPU arena: a root of the plan's views (with everything aliasing it), its element type and
/// physical order, its live range in node order and its place in the arena.
struct GPUBuffer {
    var root: ValueID
    var element: GPUElement
    var channelsLast: Bool
    var elements: Int
    var first: Int
    var last: Int
    var byteOffset = 0
    var bytes: Int { elements * element.bytes }
}

/// The plan's memory on the GPU.
///
/// The CPU plan (`ExecutionPlan`) decides which tensors are views of which (Concat/Split/Slice/Reshape become views)
/// and their lifetimes; its element offsets assume one element size and row-major (NCHW) order. The GPU keeps the
/// views and the lifetimes but changes the storage of each buffer: channels-last (NHWC) for the convolution path —
/// a channel slice is then strided, its pixels `C_parent` elements apart, which the kernels take as a row stride —
/// in fp16; row-major fp32 for the tail (box decode, DFL, scores) and the output. Buffers are placed again by the
/// planner's rule (largest first, lowest free offset over the live range) with byte sizes.
struct GPUMemoryPlan {
    let views: [ValueID: GPUView]
    let buffers: [GPUBuffer]
    /// Bytes the arena needs.
    let peakBytes: Int
    /// The CPU plan's peak at this precision's activation size (fp16: 2 bytes an element), for comparison.
    let planPeakBytes: Int

    /// Buffers start on this many bytes (16 is what the 16-byte vector loads need).
    static let alignment = 256

    enum Relation: Equatable {
        case reshape
        case slice(axis: Int, start: Int)
        /// A slice of the parent (`length` along `axis` from `start`) seen with the child's shape.
        case reshapedSlice(axis: Int, start: Int, length: Int)
    }

    /// Concat inputs the plan copies but the GPU writes in place: (node, input index). Their producer (a
    /// convolution, which takes any output strides) writes straight into the concat's slot.
    let elidedCopies: Set<[Int]>
    /// Split outputs the plan copies but the GPU reads in place, as slices of the split's input.
    let inPlaceSplitOutputs: Set<ValueID>

    init(plan: ExecutionPlan, precision: GPUPrecision) throws(GPUBackendError) {
        let graph = plan.graph
        let stepNodes = Set(plan.steps.map(\.node))
        let copiedBy = Dictionary(plan.steps.map { ($0.node, Set($0.copiedInputs)) }, uniquingKeysWith: { a, _ in a })
        var parent: [ValueID: (ValueID, Relation)] = [:]
        func root(_ v: ValueID) -> ValueID {
            var current = v
            while let entry = parent[current] { current = entry.0 }
            return current
        }
        func sliceRelation(child: ValueID, parent p: ValueID, axis hint: Int?) throws(GPUBackendError) -> Relation {
            let sc = graph.shape(child)
            let sp = graph.shape(p)
            guard let lc = plan.layouts[child], let lp = plan.layouts[p], sc.count == sp.count else {
                throw GPUBackendError(.invalidPlan, "view \(child) of \(p): shapes \(sc) and \(sp) differ in rank")
            }
            let differing = sc.indices.filter { sc[$0] != sp[$0] }
            guard let axis = hint ?? differing.first, differing.allSatisfy({ $0 == axis }) else {
                if differing.isEmpty && lc.offset == lp.offset { return .reshape }
                throw GPUBackendError(
                    .invalidPlan, "view \(child) of \(p): shapes \(sc) and \(sp) differ on several axes")
            }
            let inner = sp[(axis + 1)...].reduce(1, *)
            let difference = lc.offset - lp.offset
            guard inner > 0, difference >= 0, difference % inner == 0, difference / inner + sc[axis] <= sp[axis] else {
                throw GPUBackendError(
                    .invalidPlan, "view \(child) of \(p) does not start on a whole index of axis \(axis)")
            }
            return .slice(axis: axis, start: difference / inner)
        }

        // 1. The views the planner made, in its order: reshapes, splits and slices first, then concat placements.
        for (index, node) in graph.nodes.enumerated() where !stepNodes.contains(index) {
            guard let input = node.inputs.first ?? nil else { continue }
            switch node.op {
            case _ where node.op.isReshapeLike:
                parent[node.outputs[0]] = (input, .reshape)
            case .split, .slice:
                for output in node.outputs {
                    parent[output] = (input, try sliceRelation(child: output, parent: input, axis: nil))
                }
            case .concat:
                continue
            default:
                throw GPUBackendError(
                    .invalidPlan,
                    "node '\(node.name)' (\(node.op.name)) became a view, which the GPU backend does not expect")
            }
        }
        for (index, node) in graph.nodes.enumerated() {
            guard case .concat(let axis) = node.op, let output = node.outputs.first, plan.layouts[output] != nil else {
                continue
            }
            let rank = graph.shape(output).count
            let a = axis < 0 ? axis + rank : axis
            let copied = stepNodes.contains(index) ? (copiedBy[index] ?? []) : []
            for (k, input) in node.inputs.enumerated() where !copied.contains(k) {
                guard let input, plan.layouts[input] != nil else { continue }
                let r = root(input)
                guard r != root(output), parent[r] == nil else { continue }
                parent[r] = (output, try sliceRelation(child: r, parent: output, axis: a))
            }
        }

        // 1b. Copies into a row-major concat (the detect head's per-level outputs, joined along the anchors) from
        // a convolution's output (or a reshape of it): the convolution writes its slot directly, with strides.
        var elided = Set<[Int]>()
        let producers = graph.producers()
        var consumerCount: [ValueID: Int] = [:]
        for node in graph.nodes { for case let v? in node.inputs { consumerCount[v, default: 0] += 1 } }
        for step in plan.steps where !step.copiedInputs.isEmpty {
            let node = graph.nodes[step.node]
            guard case .concat(let axis) = node.op, let output = node.outputs.first, parent[output] == nil else {
                continue
            }
            let outShape = graph.shape(output)
            guard outShape.count != 4 else { continue }  // row-major outputs only (4-D ones may be channels-last)
            let a = axis < 0 ? axis + outShape.count : axis
            var start = 0
            for (k, input) in node.inputs.enumerated() {
                guard let input else { continue }
                defer { start += graph.shape(input)[a] }
                guard step.copiedInputs.contains(k), plan.layouts[input] != nil else { continue }
                // input = reshape(...(X)) with X produced by a convolution, used only along this chain.
                var chain = [input]
                while let entry = parent[chain.last!], entry.1 == .reshape { chain.append(entry.0) }
                let x = chain.last!
                guard parent[x] == nil, let producer = producers[x], stepNodes.contains(producer),
                    graph.shape(x).count == 4, !graph.outputs.contains(x),
                    chain.allSatisfy({ consumerCount[$0, default: 0] <= 1 })
                else { continue }
                switch graph.nodes[producer].op {
                case .conv, .convSiLU: break
                default: continue
                }
                let slotShape = graph.shape(input)
                var sliced = outShape
                sliced[a] = slotShape[a]
                let rowMajor = ShapeRules.contiguousStrides(outShape)
                guard sliced == slotShape, GPUMemoryPlan.viewStrides(slotShape, rowMajor, graph.shape(x)) != nil else {
                    continue
                }
                parent[x] = (output, .reshapedSlice(axis: a, start: start, length: slotShape[a]))
                elided.insert([step.node, k])
            }
        }
        self.elidedCopies = elided

        // 1c. Split outputs the GPU reads in place (the attention's Q and K).
        var inPlace = Set<ValueID>()
        for (value, slice) in Self.inPlaceSplitOutputs(plan, parent: parent) {
            guard let x = graph.nodes[producers[value]!].inputs.first ?? nil else { continue }
            parent[value] = (x, slice)
            inPlace.insert(value)
        }
        self.inPlaceSplitOutputs = inPlace

        // 2. Buffers (one per root) and their members.
        let values = plan.layouts.keys.sorted()
        var members: [ValueID: [ValueID]] = [:]
        for v in values { members[root(v), default: []].append(v) }
        let roots = members.keys.sorted()

        // 3. Channels-last where the convolution path reaches (GPUMemoryPlan+Layout.swift).
        var imageOf = Self.channelsLastLayouts(plan, parent: parent, members: members)
        let outputRoots = Set(graph.outputs.map(root))

        // 4. Views: the root's strides, then each member's from its parent's.
        var views: [ValueID: GPUView] = [:]
        var buffers: [GPUBuffer] = []
        func makeRoots() {
            views = [:]
            buffers = []
            for (index, r) in roots.enumerated() {
                let shape = graph.shape(r)
                let image = imageOf[r]
                let strides = image.flatMap { Self.rootStrides(r, image: $0, graph) }
                let isChannelsLast = strides != nil
                let allFourD = members[r, default: []].allSatisfy { graph.shape($0).count == 4 }
                let element: GPUElement =
                    !graph[r].dataType.isFloatingPoint
                    ? .i32 : precision == .fp16 && isChannelsLast && allFourD && !outputRoots.contains(r) ? .f16 : .f32
                views[r] = GPUView(
                    buffer: index, offset: 0, shape: shape, strides: strides ?? ShapeRules.contiguousStrides(shape),
                    element: element)
                buffers.append(
                    GPUBuffer(
                        root: r, element: element, channelsLast: isChannelsLast,
                        elements: max(graph.values[r.index].elementCount, 1),
                        first: Int.max, last: -1))
            }
        }
        func view(_ v: ValueID) throws(GPUBackendError) -> GPUView {
            if let known = views[v] { return known }
            guard let entry = parent[v] else { preconditionFailure("\(v) has neither a view nor a parent") }
            let (p, relation) = entry
            let pv = try view(p)
            let shape = graph.shape(v)
            var result = pv
            result.shape = shape
            switch relation {
            case .reshape:
                guard let strides = GPUMemoryPlan.viewStrides(pv.shape, pv.strides, shape) else {
                    throw GPUBackendError(
                        .unsupported,
                        "'\(graph[v].name)' reshapes \(pv.shape) to \(shape), which the GPU layout of its buffer cannot express as a view"
                    )
                }
                result.strides = strides
                if shape.count == 4 && shape[0] == 1 && strides[1] == 1 {
                    // A channels-last image of one: the batch stride its extent, as a channels-last root's (the
                    // one PyTorch's rule gives a size-1 axis means nothing to the kernels, but cuDNN checks it).
                    result.strides[0] = max(strides[2] * shape[2], strides[3] * shape[3], shape[1])
                }
            case .slice(let axis, let start):
                result.offset = pv.offset + start * pv.strides[axis]
            case .reshapedSlice(let axis, let start, let length):
                var slotShape = pv.shape
                slotShape[axis] = length
                guard let strides = GPUMemoryPlan.viewStrides(slotShape, pv.strides, shape) else {
                    throw GPUBackendError(
                        .invalidPlan, "'\(graph[v].name)' cannot be written into its concat slot in place")
                }
                result.offset = pv.offset + start * pv.strides[axis]
                result.strides = strides
            }
            views[v] = result
            return result
        }
        // A channels-last buffer whose member no view of that layout expresses (an image flattened across its
        // channels) goes back to row-major.
        makeRoots()
        var index = 0
        while index < values.count {
            do {
                _ = try view(values[index])
                index += 1
            } catch {
                let r = root(values[index])
                guard imageOf.removeValue(forKey: r) != nil else { throw error }
                makeRoots()
                index = 0
            }
        }

        // 5. Live ranges in node order (inputs from the start, outputs to the end), then placement.
        for v in values {
            let b = views[v]!.buffer
            let def = graph.inputs.contains(v) ? -1 : (producers[v] ?? -1)
            buffers[b].first = min(buffers[b].first, def)
            buffers[b].last = max(buffers[b].last, def)
        }
        for (index, node) in graph.nodes.enumerated() {
            for case let v? in node.inputs {
                if let b = views[v]?.buffer { buffers[b].last = max(buffers[b].last, index) }
            }
        }
        for v in graph.outputs { if let b = views[v]?.buffer { buffers[b].last = graph.nodes.count } }
        for (v, node) in Self.fusedReads(plan) {
            if let b = views[v]?.buffer { buffers[b].last = max(buffers[b].last, node) }
        }
        var peak = 0
        var placed: [Int] = []
        let order = buffers.indices.sorted {
            buffers[$0].bytes != buffers[$1].bytes ? buffers[$0].bytes > buffers[$1].bytes : $0 < $1
        }
        for b in order {
            let size = (buffers[b].bytes + Self.alignment - 1) / Self.alignment * Self.alignment
            let overlapping = placed.filter {
                buffers[$0].first <= buffers[b].last && buffers[b].first <= buffers[$0].last
            }
            .sorted { buffers[$0].byteOffset < buffers[$1].byteOffset }
            var offset = 0
            for other in overlapping {
                let otherSize = (buffers[other].bytes + Self.alignment - 1) / Self.alignment * Self.alignment
                if offset + size <= buffers[other].byteOffset { break }
                offset = max(offset, buffers[other].byteOffset + otherSize)
            }
            buffers[b].byteOffset = offset
            placed.append(b)
            peak = max(peak, offset + size)
        }
        self.views = views
        self.buffers = buffers
        self.peakBytes = max(peak, Self.alignment)
        self.planPeakBytes = plan.peakBytes(bytesPerElement: precision == .fp16 ? 2 : 4)
    }

    /// Bytes from the arena's start to `v`'s logical element 0.
    func byteOffset(_ v: ValueID) -> Int {
        let view = views[v]!
        return buffers[view.buffer].byteOffset + view.offset * view.element.bytes
    }

    /// Strides of a view of `shape`/`strides` reshaped to `newShape`, or nil when no strides express it (PyTorch's
    /// `computeStride`: dimensions merge only where they are contiguous with each other).
    static func viewStrides(_ shape: [Int], _ strides: [Int], _ newShape: [Int]) -> [Int]? {
        let count = shape.reduce(1, *)
        guard count == newShape.reduce(1, *) else { return nil }
        if count == 0 || shape.isEmpty { return ShapeRules.contiguousStrides(newShape) }
        var result = [Int](repeating: 0, count: newShape.count)
        var viewD = newShape.count - 1
        var chunkBase = strides[strides.count - 1]
        var tensorNumel = 1
        var viewNumel = 1
        for tensorD in stride(from: shape.count - 1, through: 0, by: -1) {
            tensorNumel *= shape[tensorD]
            if tensorD == 0 || (shape[tensorD - 1] != 1 && strides[tensorD - 1] != tensorNumel * chunkBase) {
                while viewD >= 0 && (viewNumel < tensorNumel || newShape[viewD] == 1) {
                    result[viewD] = viewNumel * chunkBase
                    viewNumel *= newShape[viewD]
                    viewD -= 1
                }
                if viewNumel != tensorNumel { return nil }
                if tensorD > 0 {
                    chunkBase = strides[tensorD - 1]
                    tensorNumel = 1
                    viewNumel = 1
                }
            }
        }
        return viewD == -1 ? result : nil
    }
}
