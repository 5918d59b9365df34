import CLookoutCUDA

/// An instantiated CUDA graph: work captured once from a stream and replayed with one launch.
package final class CUDAGraph: @unchecked Sendable {
    package let context: CUDAContext
    let graph: LookoutCUgraph
    let exec: LookoutCUgraphExec

    init(context: CUDAContext, graph: LookoutCUgraph, exec: LookoutCUgraphExec) {
        self.context = context
        self.graph = graph
        self.exec = exec
    }

    deinit {
        _ = context.api.cuGraphExecDestroy(exec)
        _ = context.api.cuGraphDestroy(graph)
    }

    /// Replays the captured work on `stream`.
    package func launch(on stream: CUDAStream) throws(CUDAError) {
        try context.api.check(context.api.cuGraphLaunch(exec, stream.handle), "cuGraphLaunch")
    }
}

extension CUDAStream {
    /// Captures the work `body` queues on this stream (nothing runs) and instantiates it as a graph.
    package func capture(_ body: (CUDAStream) throws -> Void) throws -> CUDAGraph {
        try context.bind()
        try api.check(api.cuStreamBeginCapture(handle, 1), "cuStreamBeginCapture")  // thread-local capture mode
        var graph: LookoutCUgraph? = nil
        do {
            try body(self)
        } catch {
            _ = api.cuStreamEndCapture(handle, &graph)
            if let graph { _ = api.cuGraphDestroy(graph) }
            throw error
        }
        try api.check(api.cuStreamEndCapture(handle, &graph), "cuStreamEndCapture")
        var exec: LookoutCUgraphExec? = nil
        let status = api.cuGraphInstantiateWithFlags(&exec, graph, 0)
        if status != 0 {
            _ = api.cuGraphDestroy(graph)
            throw api.error(status, call: "cuGraphInstantiateWithFlags")
        }
        return CUDAGraph(context: context, graph: graph!, exec: exec!)
    }
}
