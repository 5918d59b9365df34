extension Graph {
    /// Builds the typed graph of an ONNX model: every operator parsed and checked, every tensor name resolved,
    /// nodes in dependency order. Errors name the node and what is supported.
    package init(onnx model: ONNXModel) throws(ModelError) {
        self.init()
        opset = model.opset
        guard opset > 0 else { throw .malformed("no default-domain opset import") }
        guard opset >= 7, opset <= 23 else {
            throw .unsupported("opset \(opset) is not supported; supported: 7 to 23 (Ultralytics exports use 11 to 20)")
        }
        var ids: [String: ValueID] = [:]
        for tensor in model.graph.initializers {
            guard !tensor.name.isEmpty else { throw .malformed("an initializer has no name") }
            let value = try tensor.value(context: "initializer")
            let id = addValue(Value(name: tensor.name, dataType: value.dataType, shape: value.shape))
            ids[tensor.name] = id
            constants[id] = value
        }
        for info in model.graph.inputs where ids[info.name] == nil {
            guard !info.name.isEmpty else { throw .malformed("a graph input has no name") }
            let type = try DataType(onnx: info.elementType, context: "input '\(info.name)'")
            var declared: [Int?]?
            if let dims = info.shape {
                declared = dims.map { dim -> Int? in
                    if case .fixed(let v) = dim, v > 0, v < (1 << 31) { return Int(v) }
                    return nil
                }
            }
            let id = addValue(Value(name: info.name, dataType: type, shape: nil, declaredShape: declared))
            ids[info.name] = id
            inputs.append(id)
        }
        guard !inputs.isEmpty else { throw .invalid("the graph has no inputs") }

        // Resolve nodes in dependency order (Kahn's algorithm); ONNX requires topological order, we don't rely on it.
        let onnxNodes = model.graph.nodes
        var producerOf: [String: Int] = [:]
        for (index, node) in onnxNodes.enumerated() {
            for output in node.outputs where !output.isEmpty {
                guard ids[output] == nil, producerOf[output] == nil else {
                    throw .invalid(
                        "\(node.label) writes '\(output)', which another node or initializer already defines")
                }
                producerOf[output] = index
            }
        }
        // Report unsupported operators first: they are the most useful error on a foreign model.
        var operators: [Operator] = []
        operators.reserveCapacity(onnxNodes.count)
        for node in onnxNodes { operators.append(try Operator.parse(node, opset: opset)) }
        var waiting = [Int](repeating: 0, count: onnxNodes.count)
        var dependents: [[Int]] = Array(repeating: [], count: onnxNodes.count)
        for (index, node) in onnxNodes.enumerated() {
            for name in node.inputs where !name.isEmpty && ids[name] == nil {
                guard let producer = producerOf[name] else {
                    throw ModelError(
                        .missingTensor,
                        "\(node.label) reads '\(name)', which no node, graph input or initializer provides (missing initializer?)"
                    )
                }
                waiting[index] += 1
                dependents[producer].append(index)
            }
        }
        var ready = onnxNodes.indices.filter { waiting[$0] == 0 }
        var order: [Int] = []
        order.reserveCapacity(onnxNodes.count)
        while let index = ready.popLast() {
            order.append(index)
            for dependent in dependents[index] {
                waiting[dependent] -= 1
                if waiting[dependent] == 0 { ready.append(dependent) }
            }
        }
        if order.count != onnxNodes.count, let stuck = onnxNodes.indices.first(where: { waiting[$0] > 0 }) {
            throw .invalid("\(onnxNodes[stuck].label) is part of a cycle")
        }
        // Keep the file's order where it is already valid (stable, readable `inspect` output).
        order.sort()
        var isValidOrder = true
        var seen = Set(ids.keys)
        for index in order {
            if onnxNodes[index].inputs.contains(where: { !$0.isEmpty && !seen.contains($0) }) {
                isValidOrder = false
                break
            }
            for output in onnxNodes[index].outputs { seen.insert(output) }
        }
        if !isValidOrder {
            order = []
            var waitingAgain = [Int](repeating: 0, count: onnxNodes.count)
            for (index, node) in onnxNodes.enumerated() {
                waitingAgain[index] = node.inputs.filter { !$0.isEmpty && ids[$0] == nil }.count
            }
            var queue = onnxNodes.indices.filter { waitingAgain[$0] == 0 }.reversed() as [Int]
            while let index = queue.popLast() {
                order.append(index)
                for dependent in dependents[index] {
                    waitingAgain[dependent] -= 1
                    if waitingAgain[dependent] == 0 { queue.append(dependent) }
                }
            }
        }
        let parsed = order.map { (onnxNodes[$0], operators[$0]) }
        for (node, op) in parsed {
            var nodeInputs: [ValueID?] = []
            for name in node.inputs {
                if name.isEmpty {
                    nodeInputs.append(nil)
                    continue
                }
                guard let id = ids[name] else { throw .invalid("\(node.label) reads unknown '\(name)'") }
                nodeInputs.append(id)
            }
            var nodeOutputs: [ValueID] = []
            for name in node.outputs {
                let id = addValue(Value(name: name, dataType: .float, shape: nil))
                if !name.isEmpty { ids[name] = id }
                nodeOutputs.append(id)
            }
            let label = node.name.isEmpty ? (node.outputs.first ?? node.opType) : node.name
            nodes.append(Node(name: label, op: op, inputs: nodeInputs, outputs: nodeOutputs))
        }
        for info in model.graph.outputs {
            guard let id = ids[info.name] else {
                throw ModelError(.missingTensor, "graph output '\(info.name)' is not produced by any node")
            }
            outputs.append(id)
        }
        guard !outputs.isEmpty else { throw .invalid("the graph has no outputs") }
    }
}
