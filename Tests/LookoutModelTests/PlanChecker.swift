@testable import LookoutModel

/// An independent check of an `ExecutionPlan`'s memory: written from the plan's graph and layouts alone, not from
/// the planner's own bookkeeping.
///
/// 1. Layouts: every run-time value has one, of its element count, inside the arena.
/// 2. Lifetimes: two values whose live ranges overlap never share arena elements unless one is a view of the other
///    (connected through view nodes or a Concat slot that is not copied).
/// 3. Data: executing the plan symbolically (each element tagged with the value and index it holds) delivers to every
///    executed step exactly the elements its inputs name, and the outputs at the end.
struct PlanChecker {
    let plan: ExecutionPlan
    var graph: Graph { plan.graph }
    let runtime: [ValueID]
    let executed: Set<Int>
    let producer: [ValueID: Int]

    init(_ plan: ExecutionPlan) {
        self.plan = plan
        var values = Set(plan.graph.inputs)
        for node in plan.graph.nodes {
            for output in node.outputs where plan.graph.constants[output] == nil { values.insert(output) }
        }
        runtime = values.sorted()
        executed = Set(plan.steps.map(\.node))
        producer = plan.graph.producers()
    }

    /// Arena element of logical element `i` of `v`.
    func address(_ v: ValueID, _ i: Int) -> Int {
        let l = plan.layouts[v]!
        return l.offset + (i / l.blockSize) * l.blockStride + i % l.blockSize
    }

    func runs(_ v: ValueID) -> [Range<Int>] {
        let l = plan.layouts[v]!
        return (0..<l.blocks).map { b in (l.offset + b * l.blockStride)..<(l.offset + b * l.blockStride + l.blockSize) }
    }

    // MARK: 1. Layouts

    func layoutProblems() -> [String] {
        var problems: [String] = []
        for v in runtime {
            guard let l = plan.layouts[v] else {
                problems.append("\(graph[v].name) has no layout")
                continue
            }
            if l.count != graph[v].elementCount {
                problems.append("\(graph[v].name): layout of \(l.count) elements for \(graph[v].elementCount)")
            }
            if l.blocks > 1 && l.blockStride < l.blockSize {
                problems.append("\(graph[v].name): overlapping blocks \(l)")
            }
            for run in runs(v) where run.lowerBound < 0 || run.upperBound > plan.arenaElements {
                problems.append("\(graph[v].name): run \(run) outside the arena of \(plan.arenaElements)")
            }
        }
        return problems
    }

    // MARK: 2. Lifetimes

    /// Values connected by aliasing: view nodes (not executed) and Concat inputs that are not copied.
    func aliasGroups() -> [ValueID: Int] {
        var parent: [ValueID: ValueID] = [:]
        func find(_ v: ValueID) -> ValueID {
            var r = v
            while let p = parent[r], p != r { r = p }
            return r
        }
        func union(_ a: ValueID, _ b: ValueID) { parent[find(a)] = find(b) }
        for v in runtime { parent[v] = v }
        let copied = Dictionary(uniqueKeysWithValues: plan.steps.map { ($0.node, Set($0.copiedInputs)) })
        for (index, node) in graph.nodes.enumerated() {
            let isView = !executed.contains(index)
            let isConcat: Bool
            if case .concat = node.op { isConcat = true } else { isConcat = false }
            guard isView || isConcat else { continue }
            for (k, input) in node.inputs.enumerated() {
                guard let input, parent[input] != nil else { continue }
                if isConcat && !isView && copied[index, default: []].contains(k) { continue }
                for output in node.outputs where parent[output] != nil { union(input, output) }
            }
        }
        var ids: [ValueID: Int] = [:]
        for v in runtime { ids[v] = find(v).index }
        return ids
    }

    func liveRanges() -> [ValueID: ClosedRange<Int>] {
        let inputs = Set(graph.inputs)
        let outputs = Set(graph.outputs)
        var first: [ValueID: Int] = [:]
        var last: [ValueID: Int] = [:]
        for v in runtime {
            first[v] = inputs.contains(v) ? -1 : producer[v]!
            last[v] = outputs.contains(v) ? graph.nodes.count : first[v]!
        }
        for (index, node) in graph.nodes.enumerated() {
            for case let input? in node.inputs where last[input] != nil { last[input] = max(last[input]!, index) }
        }
        return Dictionary(uniqueKeysWithValues: runtime.map { ($0, first[$0]!...last[$0]!) })
    }

    func lifetimeProblems() -> [String] {
        let groups = aliasGroups()
        let live = liveRanges()
        var problems: [String] = []
        for (i, u) in runtime.enumerated() {
            let ru = runs(u)
            for v in runtime[(i + 1)...] where groups[u] != groups[v] && live[u]!.overlaps(live[v]!) {
                for a in ru {
                    for b in runs(v) where a.overlaps(b) {
                        problems.append(
                            "\(graph[u].name) \(live[u]!) and \(graph[v].name) \(live[v]!) share elements \(a.clamped(to: b))"
                        )
                    }
                }
            }
        }
        return problems
    }

    /// The most elements live at once (distinct alias groups, each counted by the elements it covers): no plan can
    /// use less arena than this.
    func liveLowerBound() -> Int {
        let groups = aliasGroups()
        let live = liveRanges()
        var pieces: [Int: [Range<Int>]] = [:]
        var span: [Int: ClosedRange<Int>] = [:]
        for v in runtime {
            let g = groups[v]!
            pieces[g, default: []].append(contentsOf: runs(v))
            span[g] =
                span[g].map { min($0.lowerBound, live[v]!.lowerBound)...max($0.upperBound, live[v]!.upperBound) }
                ?? live[v]!
        }
        // Elements each group covers: the length of the union of its runs.
        var extent: [Int: Int] = [:]
        for (g, list) in pieces {
            var total = 0
            var end = Int.min
            for run in list.sorted(by: { $0.lowerBound < $1.lowerBound }) {
                total += max(0, run.upperBound - max(run.lowerBound, end))
                end = max(end, run.upperBound)
            }
            extent[g] = total
        }
        var best = 0
        for t in -1...graph.nodes.count {
            best = max(best, span.filter { $0.value.contains(t) }.reduce(0) { $0 + extent[$1.key]! })
        }
        return best
    }

    // MARK: 3. Data

    /// What element `i` of `v` holds: the same tag for a view and the element it shows.
    mutating func tags(_ v: ValueID) -> [Int] {
        if let known = memo[v] { return known }
        let count = graph[v].elementCount
        var result: [Int]
        if let c = graph.constants[v] {
            result = (0..<c.count).map { -(((v.index + 1) << 32) | $0) }
        } else if let p = producer[v], let mapped = mappedTags(v, node: graph.nodes[p], executed: executed.contains(p))
        {
            result = mapped
        } else {
            result = (0..<count).map { ((v.index + 1) << 32) | $0 }
        }
        memo[v] = result
        return result
    }

    private var memo: [ValueID: [Int]] = [:]

    static func strides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var step = 1
        for d in stride(from: shape.count - 1, through: 0, by: -1) {
            s[d] = step
            step *= shape[d]
        }
        return s
    }

    /// Source elements for `v` when `node` only moves data (always for Concat, whose slots may be filled by their
    /// producers; for the other data-movement operators when the plan made them views).
    private mutating func mappedTags(_ v: ValueID, node: Node, executed: Bool) -> [Int]? {
        let shape = graph.shape(v)
        let count = graph[v].elementCount
        switch node.op {
        case .concat(let axis):
            let a = axis < 0 ? axis + shape.count : axis
            let outer = shape[..<a].reduce(1, *)
            var result: [Int] = []
            result.reserveCapacity(count)
            let parts = node.inputs.compactMap { $0 }.map {
                (tags($0), graph.shape($0)[a] * shape[(a + 1)...].reduce(1, *))
            }
            for o in 0..<outer {
                for (partTags, run) in parts { result.append(contentsOf: partTags[(o * run)..<((o + 1) * run)]) }
            }
            return result
        case _ where executed:
            return nil
        case _ where node.op.isReshapeLike:
            return tags(node.inputs[0]!)
        case .split(let axis, _):
            let input = node.inputs[0]!
            let inShape = graph.shape(input)
            let a = axis < 0 ? axis + inShape.count : axis
            var start = 0
            for output in node.outputs {
                if output == v { break }
                start += graph.shape(output)[a]
            }
            let inStrides = Self.strides(inShape)
            return gather(tags(input), shape: shape, strides: inStrides, base: start * inStrides[a])
        case .slice:
            let input = node.inputs[0]!
            let inShape = graph.shape(input)
            func constant(_ i: Int) -> [Int64]? {
                i < node.inputs.count ? node.inputs[i].flatMap { graph.constants[$0]?.ints } : nil
            }
            guard
                let params = try? ShapeRules.slice(
                    inShape, starts: constant(1)!, ends: constant(2)!, axes: constant(3), steps: constant(4), "")
            else { return nil }
            let inStrides = Self.strides(inShape)
            let base = zip(params, inStrides).reduce(0) { $0 + $1.0.start * $1.1 }
            return gather(tags(input), shape: shape, strides: zip(params, inStrides).map { $0.step * $1 }, base: base)
        default:
            return nil
        }
    }

    private func gather(_ source: [Int], shape: [Int], strides: [Int], base: Int) -> [Int] {
        let count = shape.reduce(1, *)
        var result = [Int](repeating: 0, count: count)
        var index = [Int](repeating: 0, count: shape.count)
        var offset = base
        for i in 0..<count {
            result[i] = source[offset]
            var d = shape.count - 1
            while d >= 0 {
                index[d] += 1
                offset += strides[d]
                if index[d] < shape[d] { break }
                offset -= strides[d] * shape[d]
                index[d] = 0
                d -= 1
            }
        }
        return result
    }

    /// Runs the plan on tags; returns the first problems found (a step reading an element that was overwritten or
    /// never written, an output that does not hold its data).
    mutating func dataProblems(limit: Int = 8) -> [String] {
        var arena = [Int](repeating: 0, count: plan.arenaElements)
        var problems: [String] = []
        func write(_ v: ValueID, _ indices: Range<Int>? = nil) {
            let t = tags(v)
            for i in indices ?? 0..<t.count { arena[address(v, i)] = t[i] }
        }
        func verify(_ v: ValueID, _ what: String) {
            guard problems.count < limit else { return }
            let t = tags(v)
            var wrong = 0
            var first = -1
            for i in 0..<t.count where arena[address(v, i)] != t[i] {
                wrong += 1
                if first < 0 { first = i }
            }
            if wrong > 0 {
                problems.append(
                    "\(what): \(wrong) of \(t.count) elements of \(graph[v].name) are wrong (first: \(first) at arena \(address(v, first)))"
                )
            }
        }
        for input in graph.inputs { write(input) }
        for step in plan.steps {
            let node = graph.nodes[step.node]
            let label = "step \(node.op.name) '\(node.name)'"
            if case .concat(let axis) = node.op {
                let output = node.outputs[0]
                let shape = graph.shape(output)
                let a = axis < 0 ? axis + shape.count : axis
                let inner = shape[(a + 1)...].reduce(1, *)
                let outer = shape[..<a].reduce(1, *)
                var start = 0
                var slots: [Int: Int] = [:]
                for (k, input) in node.inputs.enumerated() {
                    guard let input else { continue }
                    slots[k] = start
                    start += graph.shape(input)[a] * inner
                }
                for k in step.copiedInputs {
                    guard let input = node.inputs[k], let slot = slots[k] else { continue }
                    if graph.constants[input] == nil { verify(input, "\(label) reads input \(k)") }
                    let run = graph.shape(input)[a] * inner
                    for o in 0..<outer { write(output, (o * start + slot)..<(o * start + slot + run)) }
                }
                verify(output, "\(label) output")
                continue
            }
            for case let input? in node.inputs where graph.constants[input] == nil { verify(input, "\(label) reads") }
            for output in node.outputs where plan.layouts[output] != nil { write(output) }
        }
        for output in graph.outputs { verify(output, "graph output") }
        return problems
    }
}
