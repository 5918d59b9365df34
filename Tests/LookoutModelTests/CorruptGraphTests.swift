import Foundation
import Testing

@testable import LookoutModel

/// What byte flips can do to a model, made on purpose: absurd constants feeding shape plumbing (Range, Reshape,
/// Slice, Split, ConstantOfShape, Expand, Tile, integer arithmetic) and absurd attributes. Specialisation must
/// refuse them with a `ModelError`: no overflow trap, no allocation of gigabytes.
@Suite struct CorruptGraphTests {
    /// A graph `x → op(x, constants…) → y` where the operator's other inputs are constants, or a constant-only
    /// subgraph feeding a Reshape of `x`.
    struct Builder {
        var graph = Graph()
        let x: ValueID

        init() {
            graph.opset = 17
            x = graph.addValue(Value(name: "x", dataType: .float, shape: nil))
            graph.inputs = [x]
        }

        mutating func constant(_ value: TensorValue) -> ValueID {
            let id = graph.addValue(Value(name: "c\(graph.values.count)", dataType: value.dataType, shape: value.shape))
            graph.constants[id] = value
            return id
        }

        mutating func ints(_ values: [Int64]) -> ValueID {
            constant(TensorValue(dataType: .int64, shape: [values.count], ints: values))
        }

        mutating func scalar(_ value: Int64) -> ValueID {
            constant(TensorValue(dataType: .int64, shape: [], ints: [value]))
        }

        mutating func float(_ value: Float) -> ValueID {
            constant(TensorValue(dataType: .float, shape: [], floats: [value]))
        }

        mutating func node(_ op: Operator, _ inputs: ValueID?...) -> ValueID {
            let out = graph.addValue(Value(name: "v\(graph.values.count)", dataType: .float, shape: nil))
            graph.nodes.append(Node(name: "/\(op.name)_\(graph.nodes.count)", op: op, inputs: inputs, outputs: [out]))
            return out
        }

        /// Makes `value` matter: y = x + Sum(value) is too much plumbing; instead add it (broadcast) to x when it is a
        /// float tensor, or reshape x by it when it is a shape.
        mutating func finish(_ value: ValueID) { graph.outputs = [value] }
    }

    /// Specialises for a [1, 3, 8, 8] input; the failure must be a ModelError (a trap would end the test run).
    static func specialize(_ b: Builder) -> ModelError? {
        do {
            _ = try b.graph.specialized(inputShapes: [[1, 3, 8, 8]])
            return nil
        } catch {
            return error
        }
    }

    static func expectRejected(_ b: Builder, _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let error = specialize(b)
        #expect(error != nil, "\(label) was accepted", sourceLocation: sourceLocation)
        if let error { #expect(!error.description.contains("\n"), sourceLocation: sourceLocation) }
    }

    @Test func hugeFloatRangeIsRejected() {
        for (start, limit, delta) in [
            (Float(0), Float(1e30), Float(1)), (0, 1, 1e-30), (-1e38, 1e38, 1), (0, .infinity, 1), (0, 1, .nan),
        ] {
            var b = Builder()
            let r = b.node(.range, b.float(start), b.float(limit), b.float(delta))
            b.finish(b.node(.binary(.add), b.x, r))
            Self.expectRejected(b, "Range(\(start), \(limit), \(delta))")
        }
    }

    @Test func hugeIntegerRangeIsRejected() {
        for (start, limit, delta) in [
            (Int64(0), Int64.max, Int64(1)), (0, .max, 2), (0, .min, -2), (.min, .max, 1), (.max, .min, .min),
            (0, 1 << 40, 1),
        ] {
            var b = Builder()
            let r = b.node(.range, b.scalar(start), b.scalar(limit), b.scalar(delta))
            b.finish(b.node(.reshape(allowZero: false), b.x, r))
            Self.expectRejected(b, "Range(\(start), \(limit), \(delta))")
        }
    }

    /// Shapes of about 2^28–2^31 elements pass the element-count check but would allocate gigabytes at load time.
    @Test func hugeFoldedConstantsAreRejected() {
        let shapes: [[Int64]] = [[1 << 30], [1 << 15, 1 << 15], [1 << 28, 2], [1 << 31]]
        for shape in shapes {
            var b = Builder()
            let filled = b.node(.constantOfShape(TensorValue(dataType: .int64, shape: [1], ints: [7])), b.ints(shape))
            b.finish(b.node(.binary(.add), b.x, b.node(.cast(.float), filled)))
            Self.expectRejected(b, "ConstantOfShape \(shape)")

            var e = Builder()
            let expanded = e.node(.expand, e.float(1), e.ints(shape))
            e.finish(e.node(.binary(.add), e.x, expanded))
            Self.expectRejected(e, "Expand to \(shape)")
        }
        var t = Builder()
        let tiled = t.node(
            .tile, t.constant(TensorValue(dataType: .float, shape: [2], floats: [1, 2])), t.ints([1 << 29]))
        t.finish(t.node(.binary(.add), t.x, tiled))
        Self.expectRejected(t, "Tile × 2^29")
    }

    @Test func overflowingReshapeTargetsAreRejected() {
        for target: [Int64] in [
            [1 << 31, 1 << 31, 1 << 31], [1 << 31, 1 << 31, -1],
            [Int64(Int32.max), Int64(Int32.max), Int64(Int32.max), 0],
        ] {
            var b = Builder()
            b.finish(b.node(.reshape(allowZero: false), b.x, b.ints(target)))
            Self.expectRejected(b, "Reshape to \(target)")
        }
    }

    @Test func extremeSliceStepsDoNotTrap() {
        for (starts, ends, steps) in [
            ([Int64(0)], [Int64(3)], [Int64.max]), ([2], [0], [Int64.min]), ([Int64.max], [Int64.min], [-1]),
            ([Int64.min], [Int64.max], [Int64.max]),
        ] {
            var b = Builder()
            b.finish(b.node(.slice, b.x, b.ints(starts), b.ints(ends), b.ints([1]), b.ints(steps)))
            // Either a valid slice or a ModelError: no trap.
            _ = Self.specialize(b)
        }
    }

    @Test func extremeSplitSizesAreRejected() {
        for sizes: [Int64] in [
            [Int64.min, Int64.min, 3], [Int64.max, Int64.max, 3], [-1, 4, 0], [1 << 62, 1 << 62, 1 << 62],
        ] {
            var b = Builder()
            let out = b.graph.addValue(Value(name: "s", dataType: .float, shape: nil))
            let out2 = b.graph.addValue(Value(name: "t", dataType: .float, shape: nil))
            let out3 = b.graph.addValue(Value(name: "u", dataType: .float, shape: nil))
            b.graph.nodes.append(
                Node(
                    name: "/Split", op: .split(axis: 1, sizes: nil), inputs: [b.x, b.ints(sizes)],
                    outputs: [out, out2, out3]))
            b.finish(out)
            Self.expectRejected(b, "Split \(sizes)")
        }
    }

    /// Integer arithmetic on shape values: Int64.min / -1, % -1, float results cast back to integers.
    @Test func integerArithmeticEdgesDoNotTrap() {
        let kinds: [Operator.BinaryKind] = [.div, .mod, .fmod, .mul, .add, .sub, .pow]
        for kind in kinds {
            for (a, c) in [(Int64.min, Int64(-1)), (Int64.max, 2), (Int64.min, 0), (-7, Int64.min)] {
                var b = Builder()
                let v = b.node(.binary(kind), b.ints([a]), b.ints([c]))
                // Used as a Reshape target: the value is computed at load time.
                b.finish(b.node(.reshape(allowZero: false), b.x, b.node(.binary(.add), b.ints([0, 0, 0, 0]), v)))
                _ = Self.specialize(b)
            }
            // An integer tensor combined with a float constant (a corrupt data type): NaN and huge results.
            for f in [Float.nan, .infinity, 1e30] {
                var b = Builder()
                let v = b.node(.binary(kind), b.ints([1, 3, 8, 8]), b.float(f))
                b.finish(b.node(.reshape(allowZero: false), b.x, v))
                _ = Self.specialize(b)
            }
        }
    }

    /// Attributes far out of range are refused at parse time, before any size arithmetic.
    @Test func absurdAttributesAreRejected() throws {
        func node(_ op: String, _ attributes: [String: ONNXAttribute]) -> ONNXNode {
            ONNXNode(name: "/n", opType: op, domain: "", inputs: ["x", "w"], outputs: ["y"], attributes: attributes)
        }
        let huge: Int64 = 1 << 39
        let cases: [ONNXNode] = [
            node("MaxPool", ["kernel_shape": .ints([huge, huge]), "dilations": .ints([huge, huge])]),
            node(
                "MaxPool",
                [
                    "kernel_shape": .ints([3, 3]), "strides": .ints([huge, 1]),
                    "pads": .ints([huge, huge, huge, huge]),
                ]),
            node("Conv", ["dilations": .ints([huge, huge]), "kernel_shape": .ints([3, 3])]),
        ]
        for onnx in cases {
            do {
                let op = try Operator.parse(onnx, opset: 17)
                // If parsing accepts it, shape inference must refuse it without trapping.
                var b = Builder()
                let w = b.constant(
                    TensorValue(dataType: .float, shape: [1, 3, 3, 3], floats: [Float](repeating: 0, count: 27)))
                b.finish(b.node(op, b.x, w))
                Self.expectRejected(b, "\(onnx.opType) \(onnx.attributes)")
            } catch {
                #expect(!error.description.contains("\n"))
            }
        }
        // A zero-size weight lets a kernel dimension be huge without any bytes behind it.
        var b = Builder()
        let w = b.constant(TensorValue(dataType: .float, shape: [1, 3, 1 << 31, 0], floats: []))
        let attributes = ConvAttributes(
            kernel: (0, 0), strides: (1, 1), dilations: (1 << 39, 1 << 39), pads: (0, 0, 0, 0), autoPad: "NOTSET",
            group: 1)
        b.finish(b.node(.conv(attributes), b.x, w))
        Self.expectRejected(b, "Conv with a [1, 3, 2^31, 0] weight")
    }
}
