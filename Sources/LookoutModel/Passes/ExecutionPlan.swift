/// Where a run-time tensor lives in the activation arena.
///
/// A tensor is `blocks` contiguous runs of `blockSize` elements, run b starting at `offset + b * blockStride`.
/// Tensors that own their memory have one run per batch item laid end to end (`blockStride == blockSize`); views
/// made by Concat/Split along channels keep their batch items apart by the parent's per-item size.
package struct TensorLayout: Sendable, Equatable {
    package var offset: Int
    package var blocks: Int
    package var blockSize: Int
    package var blockStride: Int

    package var count: Int { blocks * blockSize }
    package var isContiguous: Bool { blocks == 1 || blockStride == blockSize }
}

/// One executed operation of a plan.
package struct PlanStep: Sendable {
    /// The node in `ExecutionPlan.graph.nodes`.
    package var node: Int
    /// For Concat: which inputs must be copied into the output (the others already live there).
    package var copiedInputs: [Int]
}

/// A specialised, optimised graph with every run-time tensor assigned a place in one arena and the list of
/// operations left to execute once views have absorbed Concat, Split, Slice and reshapes. Backend-neutral: the
/// CPU backend runs it in fp32, a GPU backend in fp16 with the same element offsets.
package struct ExecutionPlan: Sendable {
    package var graph: Graph
    package var steps: [PlanStep]
    package var layouts: [ValueID: TensorLayout]
    /// Elements the arena needs (the peak of the plan).
    package var arenaElements: Int
    /// Elements all run-time tensors would need without views or reuse.
    package var unplannedElements: Int
    /// Number of distinct buffers after views, before reuse.
    package var bufferCount: Int
    /// Nodes executed as views (no work at run time).
    package var viewNodes: Int

    package var batch: Int { graph.shape(graph.inputs[0]).first ?? 1 }

    package func layout(_ id: ValueID) -> TensorLayout {
        guard let layout = layouts[id] else { preconditionFailure("value \(id) has no layout") }
        return layout
    }

    /// Peak activation bytes for `bytesPerElement` (4 for fp32, 2 for fp16).
    package func peakBytes(bytesPerElement: Int) -> Int { arenaElements * bytesPerElement }
}
