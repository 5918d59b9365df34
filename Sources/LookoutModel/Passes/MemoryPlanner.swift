/// Builds an `ExecutionPlan`: views first (aliases in a forest of values), then offsets for the remaining buffers
/// by their live ranges, greedily by size (largest first, lowest free offset).
package enum MemoryPlanner {
    /// Elements per allocation are rounded up to this (64 bytes in fp32) so every buffer starts aligned.
    package static let alignment = 16

    struct Alias {
        var parent: ValueID
        /// Offset within each of the parent's blocks.
        var offset: Int
    }

    package static func plan(_ graph: Graph) throws(ModelError) -> ExecutionPlan {
        let batch = graph.shape(graph.inputs[0]).first ?? 1
        let blocks = batch > 1 ? batch : 1
        let runtime = runtimeValues(graph)
        var parents: [ValueID: Alias] = [:]
        let outputSet = Set(graph.outputs)
        let inputSet = Set(graph.inputs)

        func participates(_ v: ValueID) -> Bool {
            guard runtime.contains(v) else { return false }
            let shape = graph.shape(v)
            return blocks == 1 || shape.first == batch
        }
        func root(_ v: ValueID) -> (ValueID, Int) {
            var current = v
            var offset = 0
            while let alias = parents[current] {
                offset += alias.offset
                current = alias.parent
            }
            return (current, offset)
        }
        func perBlock(_ v: ValueID) -> Int { graph.values[v.index].elementCount / blocks }
        /// Whether slicing `shape` on `axis` gives one contiguous run per block.
        func slicesContiguously(_ shape: [Int], axis: Int) -> Bool {
            shape[(blocks > 1 ? 1 : 0)..<axis].reduce(1, *) == 1 && (blocks == 1 || axis >= 1)
        }
        func normalized(_ axis: Int, _ rank: Int) -> Int { axis < 0 ? axis + rank : axis }

        var viewNode = [Bool](repeating: false, count: graph.nodes.count)
        var copied: [Int: [Int]] = [:]

        // Reshapes, splits and slices: outputs become views of their input.
        for (index, node) in graph.nodes.enumerated() {
            guard let input = node.inputs.first ?? nil, participates(input) else { continue }
            switch node.op {
            case _ where node.op.isReshapeLike:
                let output = node.outputs[0]
                guard participates(output), !outputSet.contains(output) || !inputSet.contains(input),
                    graph.values[output.index].dataType == graph.values[input.index].dataType
                else { continue }
                parents[output] = Alias(parent: input, offset: 0)
                viewNode[index] = true
            case .split(let axis, _):
                let shape = graph.shape(input)
                let a = normalized(axis, shape.count)
                guard slicesContiguously(shape, axis: a), node.outputs.allSatisfy(participates) else { continue }
                let inner = shape[(a + 1)...].reduce(1, *)
                var start = 0
                for output in node.outputs {
                    parents[output] = Alias(parent: input, offset: start * inner)
                    start += graph.shape(output)[a]
                }
                viewNode[index] = true
            case .slice:
                let shape = graph.shape(input)
                let out = graph.shape(node.outputs[0])
                func constantInput(_ i: Int) -> [Int64]? {
                    guard i < node.inputs.count, let id = node.inputs[i] else { return nil }
                    return graph.constants[id]?.ints
                }
                guard participates(node.outputs[0]), let starts = constantInput(1), let ends = constantInput(2),
                    let params = try? ShapeRules.slice(
                        shape, starts: starts, ends: ends, axes: constantInput(3), steps: constantInput(4), "")
                else { continue }
                // A full-length slice with a step other than 1 (a reversal) changes its axis too.
                let changed = params.enumerated().filter {
                    $0.element.count != shape[$0.offset] || $0.element.step != 1
                }
                guard changed.count <= 1 else { continue }
                guard let axis = changed.first?.offset else {
                    parents[node.outputs[0]] = Alias(parent: input, offset: 0)
                    viewNode[index] = true
                    continue
                }
                guard params[axis].step == 1, slicesContiguously(shape, axis: axis), out[axis] == params[axis].count
                else { continue }
                parents[node.outputs[0]] = Alias(
                    parent: input, offset: params[axis].start * shape[(axis + 1)...].reduce(1, *))
                viewNode[index] = true
            default: continue
            }
        }

        // Concats: each input's buffer moves into its slot of the output when nothing else claims that region.
        for (index, node) in graph.nodes.enumerated() {
            guard case .concat(let axis) = node.op else { continue }
            let output = node.outputs[0]
            let shape = graph.shape(output)
            let a = normalized(axis, shape.count)
            guard participates(output), slicesContiguously(shape, axis: a) else {
                copied[index] = Array(node.inputs.indices)
                continue
            }
            let inner = shape[(a + 1)...].reduce(1, *)
            let outSize = perBlock(output)
            var slots: [(input: Int, value: ValueID, start: Int, end: Int)] = []
            var start = 0
            for (i, input) in node.inputs.enumerated() {
                guard let input else { continue }
                let size = graph.shape(input)[a] * inner
                slots.append((i, input, start, start + size))
                start += size
            }
            // Where each slot's root would have to sit inside the output.
            var rootPlacement: [ValueID: Int] = [:]
            var rootConsistent: [ValueID: Bool] = [:]
            let (outputRoot, _) = root(output)
            for slot in slots
            where participates(slot.value) && !inputSet.contains(slot.value) && !outputSet.contains(slot.value) {
                let (r, offsetInRoot) = root(slot.value)
                guard r != outputRoot, !inputSet.contains(r), !outputSet.contains(r) else { continue }
                let place = slot.start - offsetInRoot
                if let existing = rootPlacement[r], existing != place {
                    rootConsistent[r] = false
                    continue
                }
                rootPlacement[r] = place
                if rootConsistent[r] == nil { rootConsistent[r] = true }
            }
            var placedRoots: [ValueID: Int] = [:]
            for (r, place) in rootPlacement where rootConsistent[r] == true && parents[r] == nil {
                let end = place + perBlock(r)
                guard place >= 0, end <= outSize else { continue }
                // The root's region may only cover slots whose inputs live in that same root.
                let clashes = slots.contains { slot in
                    slot.start < end && slot.end > place && root(slot.value).0 != r
                }
                if !clashes { placedRoots[r] = place }
            }
            var copies: [Int] = []
            for slot in slots {
                let (r, offsetInRoot) = root(slot.value)
                if let place = placedRoots[r], place + offsetInRoot == slot.start { continue }
                copies.append(slot.input)
            }
            for (r, place) in placedRoots { parents[r] = Alias(parent: output, offset: place) }
            if copies.isEmpty { viewNode[index] = true } else { copied[index] = copies }
        }

        // Buffers: one per root, live from its first definition to its last use (graph inputs from the start,
        // outputs to the end).
        let producers = graph.producers()
        var firstDef: [ValueID: Int] = [:]
        var lastUse: [ValueID: Int] = [:]
        for v in runtime {
            let (r, _) = root(v)
            let def = inputSet.contains(v) ? -1 : (producers[v] ?? -1)
            firstDef[r] = min(firstDef[r] ?? Int.max, def)
            lastUse[r] = max(lastUse[r] ?? -1, def)
        }
        for (index, node) in graph.nodes.enumerated() {
            for case let input? in node.inputs where runtime.contains(input) {
                let (r, _) = root(input)
                lastUse[r] = max(lastUse[r] ?? -1, index)
            }
        }
        for output in graph.outputs where runtime.contains(output) {
            lastUse[root(output).0] = graph.nodes.count
        }
        let roots = firstDef.keys.sorted()
        var unplanned = 0
        for v in runtime { unplanned += align(graph.values[v.index].elementCount) }

        // Greedy by size: biggest first, at the lowest offset free for its whole live range.
        struct Placed {
            var offset: Int
            var size: Int
            var first: Int
            var last: Int
        }
        var placed: [ValueID: Placed] = [:]
        var arena = 0
        let order = roots.sorted {
            let a = graph.values[$0.index].elementCount
            let b = graph.values[$1.index].elementCount
            return a != b ? a > b : $0 < $1
        }
        for r in order {
            let size = align(graph.values[r.index].elementCount)
            let first = firstDef[r] ?? -1
            let last = lastUse[r] ?? first
            let overlapping = placed.values.filter { $0.first <= last && first <= $0.last }.sorted {
                $0.offset < $1.offset
            }
            var offset = 0
            for other in overlapping {
                if offset + size <= other.offset { break }
                offset = max(offset, other.offset + other.size)
            }
            placed[r] = Placed(offset: offset, size: size, first: first, last: last)
            arena = max(arena, offset + size)
        }

        var layouts: [ValueID: TensorLayout] = [:]
        for v in runtime {
            let (r, offset) = root(v)
            guard let p = placed[r] else { continue }
            let count = graph.values[v.index].elementCount
            let b = participates(v) ? blocks : 1
            let rootPerBlock = graph.values[r.index].elementCount / b
            layouts[v] = TensorLayout(
                offset: p.offset + offset, blocks: b, blockSize: count / b,
                blockStride: b > 1 ? rootPerBlock : count / b)
        }
        var steps: [PlanStep] = []
        for (index, _) in graph.nodes.enumerated() where !viewNode[index] {
            steps.append(PlanStep(node: index, copiedInputs: copied[index] ?? []))
        }
        guard arena <= TensorValue.maxElements else {
            throw ModelError(.tooLarge, "the activations need \(arena * 4 / (1 << 20)) MiB, more than Lookout allows")
        }
        return ExecutionPlan(
            graph: graph, steps: steps, layouts: layouts, arenaElements: arena, unplannedElements: unplanned,
            bufferCount: roots.count, viewNodes: viewNode.filter { $0 }.count)
    }

    static func align(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }

    /// Values computed at run time: graph inputs and node outputs that are not constants.
    static func runtimeValues(_ graph: Graph) -> Set<ValueID> {
        var result = Set(graph.inputs)
        for node in graph.nodes {
            for output in node.outputs where graph.constants[output] == nil { result.insert(output) }
        }
        return result
    }
}
