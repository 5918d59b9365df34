/// Identifies a tensor (value) of a `Graph`.
package struct ValueID: Hashable, Sendable, Comparable, CustomStringConvertible {
    package let index: Int
    package init(_ index: Int) { self.index = index }
    package static func < (a: ValueID, b: ValueID) -> Bool { a.index < b.index }
    package var description: String { "%\(index)" }
}

/// A tensor of the graph: its name in the model, element type and shape. Shapes are known (`shape != nil`) for
/// every value of a specialised graph.
package struct Value: Sendable {
    package var name: String
    package var dataType: DataType
    package var shape: [Int]?
    /// For graph inputs: the declared dimensions, with `nil` for symbolic ones.
    package var declaredShape: [Int?]?

    package var elementCount: Int { shape?.reduce(1, *) ?? 0 }
}

package struct Node: Sendable {
    package var name: String
    package var op: Operator
    /// Node inputs; `nil` marks an omitted optional input.
    package var inputs: [ValueID?]
    package var outputs: [ValueID]
}

/// The typed graph Lookout optimises and executes. After `specialized(…)` every shape is concrete, every value
/// computable from constants is a constant, and only operations on run-time data remain as nodes.
package struct Graph: Sendable {
    package var values: [Value] = []
    package var nodes: [Node] = []
    package var inputs: [ValueID] = []
    package var outputs: [ValueID] = []
    package var constants: [ValueID: TensorValue] = [:]
    package var opset: Int = 0

    package init() {}

    package subscript(id: ValueID) -> Value {
        get { values[id.index] }
        set { values[id.index] = newValue }
    }

    mutating func addValue(_ value: Value) -> ValueID {
        values.append(value)
        return ValueID(values.count - 1)
    }

    /// The shape of a value of a specialised graph.
    package func shape(_ id: ValueID) -> [Int] { values[id.index].shape ?? [] }

    /// For each value, the indices of the nodes that read it.
    package func consumers() -> [ValueID: [Int]] {
        var result: [ValueID: [Int]] = [:]
        for (i, node) in nodes.enumerated() {
            for case let input? in node.inputs { result[input, default: []].append(i) }
        }
        return result
    }

    /// For each value produced by a node, that node's index.
    package func producers() -> [ValueID: Int] {
        var result: [ValueID: Int] = [:]
        for (i, node) in nodes.enumerated() {
            for output in node.outputs { result[output] = i }
        }
        return result
    }

    /// How many nodes of each operator the graph holds, most frequent first.
    package func operatorCounts() -> [(String, Int)] {
        var counts: [String: Int] = [:]
        for node in nodes { counts[node.op.name, default: 0] += 1 }
        return counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
    }

    /// Total number of parameters held in floating-point constants.
    package var parameterCount: Int {
        constants.values.reduce(0) { $0 + ($1.isFloat ? $1.count : 0) }
    }
}
