import LookoutModel

extension CPUExecutor {
    /// One timed run: milliseconds per plan step, labelled "op node-name", in execution order.
    package func profile(input: [Float]) -> [(label: String, milliseconds: Double)] {
        var timings: [(String, Double)] = []
        _ = run(
            fill: { buffer in _ = buffer.update(from: input) }, read: { _ in 0 },
            observe: { index, seconds in
                let node = self.plan.graph.nodes[self.plan.steps[index].node]
                timings.append(("\(node.op.name) \(node.name)", seconds * 1000))
            })
        return timings
    }
}
