extension Graph {
    /// The graph for concrete input shapes: every shape known, everything computable from constants folded
    /// (the shape plumbing of dynamic exports, anchors, strides), unused nodes and constants removed.
    ///
    /// `inputShapes` gives one shape per graph input, in order.
    package func specialized(inputShapes: [[Int]]) throws(ModelError) -> Graph {
        guard inputShapes.count == inputs.count else {
            throw ModelError(
                .invalidInput, "the model has \(inputs.count) inputs, \(inputShapes.count) shapes were given")
        }
        var g = self
        for (id, shape) in zip(inputs, inputShapes) {
            let name = values[id.index].name
            if let declared = values[id.index].declaredShape {
                guard declared.count == shape.count else {
                    throw ModelError(.invalidInput, "input '\(name)' has rank \(declared.count), got shape \(shape)")
                }
                for (d, s) in zip(declared, shape) where d != nil && d != s {
                    throw ModelError(
                        .invalidInput,
                        "input '\(name)' has fixed shape \(declared.map { $0.map(String.init) ?? "?" }), got \(shape)")
                }
            }
            guard shape.allSatisfy({ $0 > 0 }) else {
                throw ModelError(.invalidInput, "input '\(name)': invalid shape \(shape)")
            }
            _ = try TensorValue.elementCount(shape, context: "input '\(name)'")
            g.values[id.index].shape = shape
        }

        var kept: [Node] = []
        for node in nodes {
            let context = "operator '\(node.op.name)' (node '\(node.name)')"
            var infos: [ShapeInference.InputInfo?] = []
            var allConstant = true
            for input in node.inputs {
                guard let input else {
                    infos.append(nil)
                    continue
                }
                guard let shape = g.values[input.index].shape else {
                    throw .invalid("\(context): the shape of '\(g.values[input.index].name)' is unknown")
                }
                let constant = g.constants[input]
                if constant == nil { allConstant = false }
                infos.append(.init(shape: shape, dataType: g.values[input.index].dataType, constant: constant))
            }
            // Shape needs only its input's shape, which is known even for run-time tensors.
            if case .shape = node.op, let first = infos.first ?? nil, first.constant == nil {
                infos[0]?.constant = TensorValue(dataType: first.dataType, shape: first.shape, ints: [])
                allConstant = true
            }
            if allConstant {
                try Graph.checkFoldedSize(node.op, infos, outputCount: node.outputs.count, context: context)
                let inputValues: [TensorValue?] = infos.map { $0?.constant }
                let results = try Reference.evaluate(
                    node.op, inputs: inputValues, outputCount: node.outputs.count, context: context)
                guard results.count == node.outputs.count else {
                    throw .invalid("\(context): produced \(results.count) outputs")
                }
                for (output, result) in zip(node.outputs, results) {
                    g.values[output.index].shape = result.shape
                    g.values[output.index].dataType = result.dataType
                    g.constants[output] = result
                }
                continue
            }
            let results = try ShapeInference.infer(
                node.op, inputs: infos, outputCount: node.outputs.count, context: context)
            guard results.count == node.outputs.count else {
                throw .invalid("\(context): has \(node.outputs.count) outputs, expected \(results.count)")
            }
            for (output, result) in zip(node.outputs, results) {
                _ = try TensorValue.elementCount(result.shape, context: context)
                g.values[output.index].shape = result.shape
                g.values[output.index].dataType = result.dataType
            }
            kept.append(node)
        }
        g.nodes = kept
        g.removeUnused()
        return g
    }

    /// The most elements a constant computed at load time may have. Folding computes shape plumbing, anchors and
    /// strides (about 3 million elements for an 8192×8192 input); a corrupt file can ask for billions, so the size is
    /// checked before anything is allocated.
    package static let maxFoldedElements = 1 << 26

    static func checkFoldedSize(
        _ op: Operator, _ infos: [ShapeInference.InputInfo?], outputCount: Int, context: String
    ) throws(ModelError) {
        let shapes: [[Int]]
        switch op {
        case .shape, .constant:
            return
        case .constantOfShape:
            shapes = [(infos.first??.constant?.ints ?? []).map { Int(clamping: $0) }]
        case .range:
            let v = infos.map { $0?.constant?.floats.first.map(Double.init) ?? 0 }
            guard v.count == 3 else { return }
            let n = ((v[1] - v[0]) / v[2]).rounded(.up)
            guard !(n > Double(maxFoldedElements)) else {
                throw ModelError(.tooLarge, "\(context): Range(\(v[0]), \(v[1]), \(v[2])) would have \(n) elements")
            }
            return
        default:
            shapes = try ShapeInference.infer(op, inputs: infos, outputCount: outputCount, context: context).map(
                \.shape)
        }
        for shape in shapes {
            let count = try TensorValue.elementCount(shape, context: context)
            guard count <= maxFoldedElements else {
                throw ModelError(
                    .tooLarge, "\(context): computing it at load time would make a constant of shape \(shape)")
            }
        }
    }

    /// Drops nodes whose outputs nothing reads and constants no node reads (graph outputs stay).
    mutating func removeUnused() {
        var live = Set(outputs)
        var keep = [Bool](repeating: false, count: nodes.count)
        for (i, node) in nodes.enumerated().reversed() where node.outputs.contains(where: live.contains) {
            keep[i] = true
            for case let input? in node.inputs { live.insert(input) }
        }
        nodes = nodes.enumerated().filter { keep[$0.offset] }.map(\.element)
        constants = constants.filter { live.contains($0.key) }
    }
}
