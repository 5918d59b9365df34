import CLookoutCUDA
import LookoutModel

/// The launches of the operators YOLO11 and YOLO26 added: MatMul, the fused attention, and the end-to-end head's
/// ReduceMax, TopK, GatherElements and integer Mod/Div.
extension GPUOpCompiler {
    /// Ultralytics' Attention as exported: Transpose(Q) → MatMul(·, K) → Softmax(-1) → Transpose → MatMul(V, ·),
    /// every intermediate read once and not a graph output. Keyed by the last MatMul's node: (Q, K, V) and the
    /// nodes the fused launch replaces.
    struct AttentionPattern {
        var q: ValueID, k: ValueID, v: ValueID
        var replaced: [Int]
    }

    /// The attention patterns of the plan the fused kernel can run (key dimension a multiple of 16 up to 64, value
    /// dimension a multiple of 8 up to 128), by the node index of their final MatMul.
    func attentionPatterns() -> [Int: AttentionPattern] {
        guard fusedAttention else { return [:] }
        return Self.attentionPatterns(in: plan).filter { _, pattern in
            [pattern.q, pattern.k, pattern.v].allSatisfy { memory.views[$0] != nil }
        }
    }

    /// The attention patterns of `plan` by their final MatMul's node, from the graph alone (the memory plan needs
    /// them before any view exists: the fused launch reads Q, K and V at that node, later than the graph says).
    static func attentionPatterns(in plan: ExecutionPlan) -> [Int: AttentionPattern] {
        let graph = plan.graph
        let producers = graph.producers()
        let consumers = graph.consumers()
        let outputs = Set(graph.outputs)
        let stepNodes = Set(plan.steps.map(\.node))
        func single(_ v: ValueID, readBy node: Int) -> Bool {
            consumers[v] == [node] && !outputs.contains(v) && plan.layouts[v] != nil
        }
        func isSwapLast(_ op: Operator, rank: Int) -> Bool {
            guard case .transpose(let perm) = op, rank >= 2,
                let p = try? ShapeRules.permutation(perm, rank: rank, "")
            else { return false }
            return p == Array(0..<(rank - 2)) + [rank - 1, rank - 2]
        }
        var patterns: [Int: AttentionPattern] = [:]
        for (index, node) in graph.nodes.enumerated() where stepNodes.contains(index) {
            guard case .matMul = node.op, node.inputs.count == 2, let v = node.inputs[0], let t2 = node.inputs[1],
                let t2Node = producers[t2], single(t2, readBy: index),
                isSwapLast(graph.nodes[t2Node].op, rank: graph.shape(t2).count),
                let s = graph.nodes[t2Node].inputs.first ?? nil, let sNode = producers[s], single(s, readBy: t2Node),
                case .softmax(let axis, false) = graph.nodes[sNode].op,
                axis == -1 || axis == graph.shape(s).count - 1,
                let m1 = graph.nodes[sNode].inputs.first ?? nil, let m1Node = producers[m1],
                single(m1, readBy: sNode), case .matMul = graph.nodes[m1Node].op,
                graph.nodes[m1Node].inputs.count == 2, let t1 = graph.nodes[m1Node].inputs[0],
                let k = graph.nodes[m1Node].inputs[1], let t1Node = producers[t1], single(t1, readBy: m1Node),
                isSwapLast(graph.nodes[t1Node].op, rank: graph.shape(t1).count),
                let q = graph.nodes[t1Node].inputs.first ?? nil,
                [q, k, v].allSatisfy({ plan.layouts[$0] != nil }),
                [t1Node, m1Node, sNode, t2Node].allSatisfy(stepNodes.contains)
            else { continue }
            let qs = graph.shape(q)
            let ks = graph.shape(k)
            let vs = graph.shape(v)
            let rank = qs.count
            guard rank >= 2, ks.count == rank, vs.count == rank, rank <= 4,
                qs.dropLast(2) == ks.dropLast(2), qs.dropLast(2) == vs.dropLast(2),
                qs[rank - 2] == ks[rank - 2], ks[rank - 1] == vs[rank - 1],
                qs[rank - 2] % 16 == 0, qs[rank - 2] <= EngineKernelSource.attentionKeyLimit,
                vs[rank - 2] % 8 == 0, vs[rank - 2] <= EngineKernelSource.attentionValueLimit
            else { continue }
            patterns[index] = AttentionPattern(q: q, k: k, v: v, replaced: [t1Node, m1Node, sNode, t2Node])
        }
        return patterns
    }

    /// Up to two batch dimensions of `shape` (leading axes) with each operand's strides, merging neighbours that
    /// step over each other; nil when more remain.
    static func batchAxes(_ shape: [Int], _ strides: [[Int]]) -> (sizes: [Int], strides: [[Int]])? {
        var sizes: [Int] = []
        var merged: [[Int]] = strides.map { _ in [] }
        for d in shape.indices where shape[d] != 1 {
            if let last = sizes.indices.last,
                strides.indices.allSatisfy({ merged[$0][last] == strides[$0][d] * shape[d] })
            {
                sizes[last] *= shape[d]
                for o in strides.indices { merged[o][last] = strides[o][d] }
            } else {
                sizes.append(shape[d])
                for o in strides.indices { merged[o].append(strides[o][d]) }
            }
        }
        guard sizes.count <= 2 else { return nil }
        while sizes.count < 2 {
            sizes.insert(1, at: 0)
            for o in strides.indices { merged[o].insert(0, at: 0) }
        }
        return (sizes, merged)
    }

    /// A matrix operand as (address, strides over the output's batch axes broadcast, row stride, column stride,
    /// element), promoting a 1-D operand as numpy does (`asRow`: a vector on the left is one row).
    func matrixOperand(
        _ operand: Operand, batchRank: Int, batchShape: [Int], asRow: Bool, constants: inout ConstantPool
    ) -> (address: GPUAddress, batch: [Int], row: Int, col: Int, element: GPUElement) {
        var shape: [Int]
        var strides: [Int]
        let address: GPUAddress
        let element: GPUElement
        switch operand {
        case .tensor(let view, let at):
            (shape, strides, address, element) = (view.shape, view.strides, at, view.element)
        case .constant(let value, let name):
            shape = value.shape
            strides = ShapeRules.contiguousStrides(value.shape)
            address = constants.floats(key: "const \(name) \(value.shape)", value.floats)
            element = .f32
        }
        if shape.count == 1 {
            if asRow {
                shape = [1] + shape
                strides = [0] + strides
            } else {
                shape = shape + [1]
                strides = strides + [0]
            }
        }
        let lead = batchRank - (shape.count - 2)
        let batch = (0..<batchRank).map { d -> Int in
            guard d >= lead else { return 0 }
            return shape[d - lead] == 1 && batchShape[d] != 1 ? 0 : strides[d - lead]
        }
        return (address, batch, strides[strides.count - 2], strides[strides.count - 1], element)
    }

    /// MatMul, or the fused attention for `pattern`.
    func matMul(
        _ node: Node, attention pattern: AttentionPattern?, constants: inout ConstantPool,
        _ unsupported: (String) -> GPUBackendError
    ) throws(GPUBackendError) -> GPUOp {
        let (y, ya) = output(node.outputs[0])
        guard y.element != .i32 else { throw unsupported("multiplies integer matrices") }
        if let pattern {
            // Q [.., d, queries], K [.., d, keys], V [.., dv, keys] → O [.., dv, queries].
            guard let q = operand(pattern.q), let k = operand(pattern.k), let v = operand(pattern.v) else {
                throw unsupported("has an attention input without a GPU view")
            }
            let rank = y.shape.count
            let batchShape = Array(y.shape.prefix(rank - 2))
            let qm = matrixOperand(q, batchRank: rank - 2, batchShape: batchShape, asRow: true, constants: &constants)
            let km = matrixOperand(k, batchRank: rank - 2, batchShape: batchShape, asRow: true, constants: &constants)
            let vm = matrixOperand(v, batchRank: rank - 2, batchShape: batchShape, asRow: true, constants: &constants)
            let ys = Array(y.strides.prefix(rank - 2))
            guard let axes = Self.batchAxes(batchShape, [qm.batch, km.batch, vm.batch, ys]) else {
                throw unsupported("has more than two batch axes that do not merge")
            }
            var p = LookoutMatMulParams()
            setPair(&p.aBatch, axes.strides[0])
            setPair(&p.bBatch, axes.strides[1])
            setPair(&p.cBatch, axes.strides[2])
            setPair(&p.yBatch, axes.strides[3])
            (p.aRow, p.aCol, p.bRow, p.bCol) = (Int64(qm.row), Int64(qm.col), Int64(km.row), Int64(km.col))
            (p.cRow, p.cCol, p.yRow, p.yCol) = (
                Int64(vm.row), Int64(vm.col), Int64(y.strides[rank - 2]), Int64(y.strides[rank - 1])
            )
            (p.batch0, p.batch1) = (Int32(axes.sizes[0]), Int32(axes.sizes[1]))
            let qShape = q.shape
            let kShape = k.shape
            p.m = Int32(qShape[qShape.count - 1])
            p.k = Int32(qShape[qShape.count - 2])
            p.kv = Int32(kShape[kShape.count - 1])
            p.n = Int32(y.shape[rank - 2])
            (p.aHalf, p.bHalf, p.cHalf, p.yHalf) = (qm.element.kind, km.element.kind, vm.element.kind, y.element.kind)
            return .matMul(MatMulOp(params: p, a: qm.address, b: km.address, c: vm.address, y: ya, fused: true))
        }
        guard node.inputs.count == 2, let a = operand(node.inputs[0]), let b = operand(node.inputs[1]) else {
            throw unsupported("needs two inputs")
        }
        let geometry: ShapeRules.MatMulGeometry
        do { geometry = try ShapeRules.matMul(a.shape, b.shape, "") } catch {
            throw unsupported("has shapes that do not multiply")
        }
        let batchRank = geometry.batch.count
        let am = matrixOperand(a, batchRank: batchRank, batchShape: geometry.batch, asRow: true, constants: &constants)
        let bm = matrixOperand(b, batchRank: batchRank, batchShape: geometry.batch, asRow: false, constants: &constants)
        // The output's strides over (batch…, m, n), with the axes of 1-D operands put back (stride 0).
        var yFull = y.strides
        if a.shape.count == 1 { yFull.insert(0, at: yFull.count - (b.shape.count == 1 ? 0 : 1)) }
        if b.shape.count == 1 { yFull.append(0) }
        guard yFull.count == batchRank + 2,
            let axes = Self.batchAxes(geometry.batch, [am.batch, bm.batch, Array(yFull.prefix(batchRank))])
        else {
            throw unsupported("has more than two batch axes that do not merge")
        }
        var p = LookoutMatMulParams()
        setPair(&p.aBatch, axes.strides[0])
        setPair(&p.bBatch, axes.strides[1])
        setPair(&p.yBatch, axes.strides[2])
        (p.aRow, p.aCol, p.bRow, p.bCol) = (Int64(am.row), Int64(am.col), Int64(bm.row), Int64(bm.col))
        (p.yRow, p.yCol) = (Int64(yFull[batchRank]), Int64(yFull[batchRank + 1]))
        (p.batch0, p.batch1) = (Int32(axes.sizes[0]), Int32(axes.sizes[1]))
        (p.m, p.n, p.k) = (Int32(geometry.m), Int32(geometry.n), Int32(geometry.k))
        (p.aHalf, p.bHalf, p.yHalf) = (am.element.kind, bm.element.kind, y.element.kind)
        guard am.element != .i32, bm.element != .i32 else { throw unsupported("multiplies integer matrices") }
        return .matMul(MatMulOp(params: p, a: am.address, b: bm.address, c: .none, y: ya, fused: false))
    }

    /// ReduceMax over one axis (the softmax descriptor's outer × length × inner).
    func reduceMax(_ node: Node, axes: [Int]?, _ unsupported: (String) -> GPUBackendError) throws(GPUBackendError)
        -> GPUOp
    {
        guard case .tensor(let x, let xa)? = operand(node.inputs[0]), x.element != .i32 else {
            throw unsupported("needs a floating-point tensor input")
        }
        var list = axes
        if list == nil, node.inputs.count > 1, case .constant(let c, _)? = operand(node.inputs[1]) {
            list = c.ints.map { Int($0) }
        }
        guard let list, list.count == 1, let a = try? ShapeRules.normalizeAxis(list[0], rank: x.shape.count, "")
        else { throw unsupported("reduces over more than one axis") }
        let (y, ya) = output(node.outputs[0])
        // The output without the reduced axis (keepdims or not): its strides for the outer and inner positions.
        var yStrides = y.strides
        if yStrides.count == x.shape.count - 1 { yStrides.insert(0, at: a) }
        func merged(_ shape: [Int], _ strides: [Int], _ dims: Range<Int>) -> (count: Int, stride: Int)? {
            var count = 1
            var stride = 1
            for d in dims.reversed() where shape[d] != 1 {
                if count > 1 && strides[d] != stride * count { return nil }
                if count == 1 { stride = strides[d] }
                count *= shape[d]
            }
            return (count, stride)
        }
        let rank = x.shape.count
        guard let xo = merged(x.shape, x.strides, 0..<a), let xi = merged(x.shape, x.strides, (a + 1)..<rank),
            let yo = merged(x.shape, yStrides, 0..<a), let yi = merged(x.shape, yStrides, (a + 1)..<rank)
        else { throw unsupported("reduces over dimensions that are not contiguous in memory") }
        let p = LookoutSoftmaxParams(
            x: 0, y: 0, xsOuter: Int64(xo.stride), xsLength: Int64(x.strides[a]), xsInner: Int64(xi.stride),
            ysOuter: Int64(yo.stride), ysLength: 0, ysInner: Int64(yi.stride), outer: Int32(xo.count),
            length: Int32(x.shape[a]), inner: Int32(xi.count), xHalf: x.element.kind, yHalf: y.element.kind,
            reserved: 0)
        return .reduceMax(SoftmaxOp(params: p, x: xa, y: ya))
    }

    /// TopK along an axis whose later axes are all 1 (each row's elements `xsElem` apart).
    func topK(_ node: Node, axis: Int, largest: Bool, _ unsupported: (String) -> GPUBackendError)
        throws(GPUBackendError) -> GPUOp
    {
        guard case .tensor(let x, let xa)? = operand(node.inputs[0]), x.element != .i32,
            node.inputs.count > 1, case .constant(let kValue, _)? = operand(node.inputs[1]),
            let a = try? ShapeRules.normalizeAxis(axis, rank: x.shape.count, ""),
            let k = try? ShapeRules.topKCount(kValue.ints, length: x.shape[a], "")
        else { throw unsupported("needs a floating-point tensor and a constant k") }
        guard k <= EngineKernelSource.topKLimit else {
            throw unsupported("keeps \(k) elements; the GPU kernel keeps at most \(EngineKernelSource.topKLimit)")
        }
        guard x.shape[(a + 1)...].allSatisfy({ $0 == 1 }) else { throw unsupported("selects along an inner axis") }
        let (values, va) = output(node.outputs[0])
        let (indices, ia) = output(node.outputs[1])
        let rows = x.shape[..<a].reduce(1, *)
        func rowStride(_ view: GPUView) -> Int? {
            // The rows (leading axes) must be one arithmetic sequence.
            var count = 1
            var stride = 0
            for d in (0..<a).reversed() where view.shape[d] != 1 {
                if count > 1 && view.strides[d] != stride * count { return nil }
                if count == 1 { stride = view.strides[d] }
                count *= view.shape[d]
            }
            return stride
        }
        guard let xr = rowStride(x), let vr = rowStride(values), let ir = rowStride(indices) else {
            throw unsupported("has rows that are not evenly spaced in memory")
        }
        let p = LookoutTopKParams(
            x: 0, values: 0, indices: 0, xsRow: Int64(xr), xsElem: Int64(x.strides[a]), vsRow: Int64(vr),
            vsElem: Int64(values.strides[a]), isRow: Int64(ir), isElem: Int64(indices.strides[a]),
            rows: Int32(rows), length: Int32(x.shape[a]), k: Int32(k), xHalf: x.element.kind,
            vHalf: values.element.kind, largest: largest ? 1 : 0, reserved0: 0, reserved1: 0)
        return .topK(TopKOp(params: p, x: xa, values: va, indices: ia))
    }

    /// GatherElements: the elementwise descriptor over the output's shape, the axis in `kH`, its length in `kW`.
    func gatherElements(
        _ node: Node, axis: Int, constants: inout ConstantPool,
        _ unsupported: (String) -> GPUBackendError
    ) throws(GPUBackendError) -> GPUOp {
        guard case .tensor(let x, let xa)? = operand(node.inputs[0]), let indices = operand(node.inputs[1]),
            let a = try? ShapeRules.gatherElements(x.shape, indices.shape, axis: axis, "")
        else { throw unsupported("needs a data tensor and indices of its rank") }
        let (y, ya) = output(node.outputs[0])
        let rank = y.shape.count
        guard rank <= 6 else { throw unsupported("has more than 6 dimensions") }
        let ib: GPUAddress
        let istrides: [Int]
        let ielement: GPUElement
        switch indices {
        case .tensor(let view, let at): (ib, istrides, ielement) = (at, view.strides, view.element)
        case .constant(let value, let name):
            ib = constants.floats(key: "const \(name) \(value.shape)", value.floats)
            istrides = ShapeRules.contiguousStrides(value.shape)
            ielement = .f32
        }
        func pad(_ values: [Int], _ filler: Int) -> [Int] { Array(repeating: filler, count: 6 - values.count) + values }
        var p = LookoutElementwiseParams()
        setTuple(&p.shape, pad(y.shape, 1))
        setTuple(&p.aStride, pad(x.strides, 0))
        setTuple(&p.bStride, pad(istrides, 0))
        setTuple(&p.yStride, pad(y.strides, 0))
        p.count = Int64(y.count)
        (p.aHalf, p.bHalf, p.yHalf) = (x.element.kind, ielement.kind, y.element.kind)
        p.kH = Int32(6 - rank + a)
        p.kW = Int32(x.shape[a])
        Self.setDivisors(&p)
        return .elementwise(ElementwiseOp(params: p, a: xa, b: ib, c: .none, y: ya, kernel: .gatherElements))
    }
}

/// Writes two values into a C array imported as a 2-tuple.
func setPair(_ tuple: inout (Int64, Int64), _ values: [Int]) {
    tuple = (Int64(values[0]), Int64(values[1]))
}
