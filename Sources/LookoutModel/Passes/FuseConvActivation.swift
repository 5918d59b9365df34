extension Graph {
    /// Rewrites `y = Mul(Conv(x), Sigmoid(Conv(x)))` — how SiLU exports — into one `ConvSiLU` node, then folds a
    /// following residual `Add` into it when the shapes match exactly. Only run-time nodes are touched, so run it on
    /// a specialised graph.
    package mutating func fuseConvActivations() {
        fuseConvSiLU()
        foldResidualAdds()
    }

    private mutating func fuseConvSiLU() {
        let consumers = consumers()
        let outputSet = Set(outputs)
        var removed = Set<Int>()
        for (i, node) in nodes.enumerated() {
            guard case .conv(let attributes) = node.op, let c = node.outputs.first, !outputSet.contains(c),
                let users = consumers[c], users.count == 2
            else { continue }
            let (a, b) = (users[0], users[1])
            let sigmoidIndex: Int
            let mulIndex: Int
            if case .unary(.sigmoid) = nodes[a].op, case .binary(.mul) = nodes[b].op {
                (sigmoidIndex, mulIndex) = (a, b)
            } else if case .unary(.sigmoid) = nodes[b].op, case .binary(.mul) = nodes[a].op {
                (sigmoidIndex, mulIndex) = (b, a)
            } else {
                continue
            }
            let s = nodes[sigmoidIndex].outputs[0]
            guard !outputSet.contains(s), consumers[s] == [mulIndex] else { continue }
            let mulInputs = nodes[mulIndex].inputs
            guard mulInputs.count == 2, Set(mulInputs.compactMap { $0 }) == [c, s] else { continue }
            nodes[i].op = .convSiLU(attributes, residual: false)
            nodes[i].outputs = nodes[mulIndex].outputs
            removed.insert(sigmoidIndex)
            removed.insert(mulIndex)
        }
        nodes = nodes.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
    }

    private mutating func foldResidualAdds() {
        let consumers = consumers()
        let producers = producers()
        let outputSet = Set(outputs)
        var removed = Set<Int>()
        for (i, node) in nodes.enumerated() {
            guard case .convSiLU(let attributes, false) = node.op, let y = node.outputs.first, !outputSet.contains(y),
                let users = consumers[y], users.count == 1, case .binary(.add) = nodes[users[0]].op
            else { continue }
            let add = nodes[users[0]]
            guard add.inputs.count == 2, let other = add.inputs.first(where: { $0 != y }) ?? nil,
                add.inputs.contains(y), values[other.index].shape == values[y.index].shape, constants[other] == nil
            else { continue }
            // The residual must already exist when the convolution runs: it may not be produced after this node.
            if let p = producers[other], p > i { continue }
            nodes[i].op = .convSiLU(attributes, residual: true)
            nodes[i].inputs = [
                node.inputs[0], node.inputs.count > 1 ? node.inputs[1] : nil,
                node.inputs.count > 2 ? node.inputs[2] : nil, other,
            ]
            nodes[i].outputs = add.outputs
            removed.insert(users[0])
        }
        nodes = nodes.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
    }
}
