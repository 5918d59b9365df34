import Foundation
import Testing

@testable import LookoutCPU
@testable import LookoutModel

/// Deterministic pseudo-random numbers (SplitMix64).
struct SeededRandom {
    var state: UInt64

    init(seed: Int) { state = UInt64(truncatingIfNeeded: seed) &* 0x9E37_79B9_7F4A_7C15 }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [lo, hi).
    mutating func float(_ lo: Float = -1, _ hi: Float = 1) -> Float {
        lo + (hi - lo) * Float(next() >> 40) / Float(1 << 24)
    }

    mutating func floats(_ count: Int, _ lo: Float = -1, _ hi: Float = 1) -> [Float] {
        (0..<count).map { _ in float(lo, hi) }
    }

    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }
}

/// A small graph built in code: one run-time input, constants, nodes, outputs.
struct TestGraph {
    var graph = Graph()
    private var random: SeededRandom

    init(seed: Int = 1, opset: Int = 17) {
        graph.opset = opset
        random = SeededRandom(seed: seed)
    }

    mutating func input(name: String = "x") -> ValueID {
        let id = graph.addValue(Value(name: name, dataType: .float, shape: nil))
        graph.inputs.append(id)
        return id
    }

    mutating func constant(_ value: TensorValue) -> ValueID {
        let id = graph.addValue(Value(name: "const\(graph.values.count)", dataType: value.dataType, shape: value.shape))
        graph.constants[id] = value
        return id
    }

    /// A float constant of `shape` with values uniform in [lo, hi).
    mutating func weights(_ shape: [Int], _ lo: Float = -1, _ hi: Float = 1) -> ValueID {
        constant(TensorValue(dataType: .float, shape: shape, floats: random.floats(shape.reduce(1, *), lo, hi)))
    }

    mutating func floats(_ shape: [Int], _ values: [Float]) -> ValueID {
        constant(TensorValue(dataType: .float, shape: shape, floats: values))
    }

    mutating func ints(_ values: [Int64]) -> ValueID {
        constant(TensorValue(dataType: .int64, shape: [values.count], ints: values))
    }

    @discardableResult
    mutating func nodes(_ op: Operator, _ inputs: [ValueID?], outputs: Int) -> [ValueID] {
        let ids = (0..<outputs).map { k in
            graph.addValue(
                Value(name: "\(op.name.lowercased())\(graph.nodes.count)_\(k)", dataType: .float, shape: nil))
        }
        graph.nodes.append(Node(name: "/\(op.name)_\(graph.nodes.count)", op: op, inputs: inputs, outputs: ids))
        return ids
    }

    mutating func node(_ op: Operator, _ inputs: ValueID?...) -> ValueID { nodes(op, inputs, outputs: 1)[0] }

    mutating func output(_ id: ValueID) { graph.outputs.append(id) }

    // Common operators.
    mutating func conv(
        _ x: ValueID, cin: Int, cout: Int, k: Int = 1, stride: Int = 1, pad: Int? = nil, group: Int = 1,
        silu: Bool = false
    ) -> ValueID {
        let p = pad ?? k / 2
        let attributes = ConvAttributes(
            kernel: (k, k), strides: (stride, stride), dilations: (1, 1), pads: (p, p, p, p), autoPad: "NOTSET",
            group: group)
        let c = node(.conv(attributes), x, weights([cout, cin / group, k, k], -0.5, 0.5), weights([cout], -0.2, 0.2))
        guard silu else { return c }
        return node(.binary(.mul), c, node(.unary(.sigmoid), c))
    }
}

/// Runs test graphs on the CPU executor and compares with `Reference.evaluate`, node by node.
enum KernelHarness {
    struct Options {
        /// Apply `fuseConvActivations()` before planning (the executed graph); the reference always evaluates the
        /// unfused graph.
        var fuse = false
        /// Operators (by `Operator.name`) whose steps must compile to an optimised kernel, not `ReferenceKernel`.
        var optimized: Set<String> = []
        /// Input values uniform in this range.
        var inputRange: ClosedRange<Float> = -1...1
        var absolute: Float = 1e-5
        var relative: Float = 1e-4
        /// Compare every intermediate value too (each as the graph output of its own plan).
        var eachNode = true
    }

    /// The result of one run, for tests that inspect the plan.
    struct Outcome {
        var plan: ExecutionPlan
        var executedOperators: [String]
    }

    @discardableResult
    static func check(
        _ test: TestGraph, inputShape: [Int], seed: Int = 7, options: Options = Options(), _ label: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> Outcome {
        var specialized = try test.graph.specialized(inputShapes: [inputShape])
        let unfused = specialized
        if options.fuse { specialized.fuseConvActivations() }
        var random = SeededRandom(seed: seed)
        let x = random.floats(inputShape.reduce(1, *), options.inputRange.lowerBound, options.inputRange.upperBound)

        // The oracle: every node of the unfused graph through the reference evaluator.
        var values = unfused.constants
        values[unfused.inputs[0]] = TensorValue(dataType: .float, shape: inputShape, floats: x)
        for node in unfused.nodes {
            let inputs = node.inputs.map { $0.flatMap { values[$0] } }
            let outputs = try Reference.evaluate(
                node.op, inputs: inputs, outputCount: node.outputs.count, context: node.name)
            for (id, value) in zip(node.outputs, outputs) { values[id] = value }
        }

        let plan = try MemoryPlanner.plan(specialized)
        let executed = plan.steps.map { plan.graph.nodes[$0.node].op.name }
        for step in plan.steps {
            let node = plan.graph.nodes[step.node]
            guard options.optimized.contains(node.op.name) else { continue }
            let kernel = try CPUExecutor.compile(step, plan: plan, tuning: CPUTuning())
            #expect(
                !(kernel is ReferenceKernel),
                "\(label): \(node.op.name) '\(node.name)' fell back to the reference kernel",
                sourceLocation: sourceLocation)
        }
        try compare(plan, input: x, expected: values, label: label, options: options, sourceLocation: sourceLocation)

        if options.eachNode {
            let output = specialized.outputs[0]
            for node in specialized.nodes {
                for id in node.outputs where id != output && specialized.constants[id] == nil {
                    var variant = specialized
                    variant.outputs = [id]
                    variant.removeUnused()
                    try compare(
                        try MemoryPlanner.plan(variant), input: x, expected: values,
                        label: "\(label), output of \(node.op.name) '\(node.name)'", options: options,
                        sourceLocation: sourceLocation)
                }
            }
        }
        return Outcome(plan: plan, executedOperators: executed)
    }

    static func compare(
        _ plan: ExecutionPlan, input: [Float], expected values: [ValueID: TensorValue], label: String, options: Options,
        sourceLocation: SourceLocation
    ) throws {
        let output = plan.graph.outputs[0]
        let expected = try #require(values[output], "\(label): no reference value", sourceLocation: sourceLocation)
            .floats
        let y = try CPUExecutor(plan: plan).run(input: input)
        try #require(
            y.count == expected.count, "\(label): \(y.count) values, expected \(expected.count)",
            sourceLocation: sourceLocation)
        var bad: [String] = []
        var count = 0
        for i in 0..<y.count {
            let (a, b) = (y[i], expected[i])
            if a.isNaN && b.isNaN { continue }
            if a == b { continue }
            let diff = abs(a - b)
            if diff.isNaN || diff > options.absolute + options.relative * max(abs(a), abs(b)) {
                count += 1
                if bad.count < 4 { bad.append("[\(i)] \(a) vs \(b)") }
            }
        }
        #expect(
            count == 0,
            "\(label): \(count) of \(y.count) values differ from the reference: \(bad.joined(separator: ", "))",
            sourceLocation: sourceLocation)
    }
}
