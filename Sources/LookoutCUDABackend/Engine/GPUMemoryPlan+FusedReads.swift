import LookoutModel

extension GPUMemoryPlan {
    /// Values a fused launch reads at a later node than the graph does, with that node.
    ///
    /// The graph's live ranges assume every node runs. A fused launch breaks that: Ultralytics' attention
    /// (Transpose → MatMul → Softmax → Transpose → MatMul) is one launch at its final MatMul, which reads Q and K
    /// there although the graph last reads them at the first Transpose and MatMul; the softmax + DFL launch reads the
    /// softmax's input while it writes the convolution's output. Without the longer range the output (defined at
    /// that node) may be placed over Q or K and be written by some blocks while others still read them — a race
    /// that went unseen at batch 1 (every block resident at once) and broke YOLO11/YOLO26 at larger batches.
    /// Structural (a superset of what the compiler fuses): a longer range costs a little memory, never correctness.
    static func fusedReads(_ plan: ExecutionPlan) -> [(value: ValueID, node: Int)] {
        let graph = plan.graph
        var reads: [(value: ValueID, node: Int)] = []
        for (node, pattern) in GPUOpCompiler.attentionPatterns(in: plan) {
            reads += [pattern.q, pattern.k, pattern.v].map { ($0, node) }
        }
        for (step, next) in zip(plan.steps, plan.steps.dropFirst()) {
            let softmax = graph.nodes[step.node]
            let conv = graph.nodes[next.node]
            guard case .softmax = softmax.op, case .conv = conv.op, conv.inputs.first == softmax.outputs.first,
                let x = softmax.inputs.first ?? nil
            else { continue }
            reads.append((x, next.node))
        }
        return reads
    }
}
