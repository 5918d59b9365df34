import CLookoutCUDA
import LookoutCUDA
import LookoutModel

/// A model compiled for one input shape on one GPU: its activation arena (sized by the GPU memory plan), its
/// launches with the tuned kernel per convolution, and the CUDA graph that replays them. The input lives in the
/// arena, where the GPU letterbox (or the host upload path) writes it; the output is read where the plan put it.
package final class CUDAModelInstance: @unchecked Sendable {
    unowned let engine: CUDAEngine
    package let plan: ExecutionPlan
    let memory: GPUMemoryPlan
    let compiler: GPUOpCompiler
    var ops: [GPUOp]
    let constants: ConstantBuffer
    let arena: DeviceBuffer
    /// Split-K partial sums (fp32, zero between uses), sized for the largest convolution that may split.
    let workspace: DeviceScratch?
    /// cuDNN's workspace: as large as the largest that the layers which chose cuDNN need (none if none did).
    private(set) var cudnnWorkspace: DeviceScratch?
    private var graph: CUDAGraph?
    /// Host-fill path: fp32 NCHW input and fp32 output staging on the device, and pinned host copies.
    private var inputStaging: DeviceBuffer?
    private var outputStaging: DeviceBuffer?
    private var hostInput: HostBuffer?
    private var hostOutput: HostBuffer?

    init(
        engine: CUDAEngine, plan: ExecutionPlan, memory: GPUMemoryPlan, compiler: GPUOpCompiler, ops: [GPUOp],
        constants: ConstantBuffer
    ) throws {
        self.engine = engine
        self.plan = plan
        self.memory = memory
        self.compiler = compiler
        self.ops = ops
        self.constants = constants
        self.arena = try DeviceBuffer(context: engine.context, byteCount: memory.peakBytes)
        // One fp32 slice of M x outC per split.
        let splitBytes =
            ops.map { op -> Int in
                guard case .conv(let c) = op else { return 0 }
                let splits =
                    (c.candidates + [c.kernel]).map { kernel -> Int in
                        if case .mmaSplit(_, let s) = kernel { return s }
                        return 0
                    }.max() ?? 0
                return splits * Int(c.params.M) * Int(c.params.outC) * 4
            }.max() ?? 0
        if splitBytes > 0 {
            let workspace = try DeviceScratch(context: engine.context, byteCount: splitBytes)
            try engine.stream.fill(workspace.buffer, byte: 0)
            self.workspace = workspace
        } else {
            self.workspace = nil
        }
    }

    var launchMemory: LaunchMemory {
        LaunchMemory(
            arena: arenaAddress, constants: constants.address, workspace: workspace?.address ?? 0,
            cudnnWorkspace: cudnnWorkspace?.address ?? 0, cudnnWorkspaceBytes: cudnnWorkspace?.byteCount ?? 0)
    }

    /// Sizes cuDNN's workspace for the kernels chosen (before the graph is captured: its address is baked in).
    func prepareCUDNNWorkspace() throws(CUDAError) {
        let bytes = CUDAEngine.cudnnWorkspaceBytes(ops, candidates: false)
        guard bytes != (cudnnWorkspace?.byteCount ?? 0) else { return }
        cudnnWorkspace = nil
        if bytes > 0 { cudnnWorkspace = try DeviceScratch(context: engine.context, byteCount: bytes) }
    }

    /// Whether any convolution runs on cuDNN.
    var usesCUDNN: Bool {
        ops.contains { if case .conv(let c) = $0 { c.kernel.isCUDNN } else { false } }
    }

    /// Bytes of cuDNN's workspace.
    package var cudnnWorkspaceBytes: Int { cudnnWorkspace?.byteCount ?? 0 }

    /// Each convolution's kernel, in launch order: (the layer's signature, the kernel), for reports.
    package var convolutionKernels: [(layer: String, kernel: String)] {
        ops.compactMap {
            if case .conv(let c) = $0 { return (c.signature, c.kernel.description) }
            return nil
        }
    }

    /// Bytes of the split-K workspace (not activations: the partial sums of one layer at a time).
    package var workspaceBytes: Int { workspace?.byteCount ?? 0 }

    package var shape: [Int] { plan.graph.shape(plan.graph.inputs[0]) }
    package var batch: Int { shape[0] }
    /// Bytes of the activation arena, and the CPU plan's peak at the same precision (what it is compared with).
    package var activationBytes: Int { memory.peakBytes }
    package var planPeakBytes: Int { memory.planPeakBytes }
    var arenaAddress: UInt64 { arena.pointer().address }

    /// The launches' kernels, for reports (one entry per launch).
    package var launchNames: [String] { ops.map(\.name) }

    /// Where the model input is: a batch of `shape` images for the GPU letterbox to write into.
    package var input: InputTensor {
        let id = plan.graph.inputs[0]
        let view = memory.views[id]!
        return InputTensor(
            address: arenaAddress &+ UInt64(memory.byteOffset(id)), element: view.element,
            channelsLast: view.isChannelsLast && view.strides[1] == 1, shape: view.shape, strides: view.strides)
    }

    /// Where the first output is (fp32; `[batch][4 + classes][anchors]` with these strides).
    package var output: OutputTensor {
        let id = plan.graph.outputs[0]
        let view = memory.views[id]!
        return OutputTensor(
            address: arenaAddress &+ UInt64(memory.byteOffset(id)), shape: view.shape, strides: view.strides)
    }

    func fillInputRandom(seed: UInt32) throws(CUDAError) {
        let input = self.input
        // The input is dense (its own buffer): shape's element count from its address on.
        try engine.kernels.fillRandom(
            input.address, count: input.shape.reduce(1, *), half: input.element == .f16, seed: seed, on: engine.stream)
    }

    /// Launches every op on `stream` (no graph).
    package func runEager(on stream: CUDAStream? = nil) throws(CUDAError) {
        let stream = stream ?? engine.stream
        for op in ops { try engine.kernels.launch(op, memory: launchMemory, on: stream) }
    }

    func capture() throws {
        let stream = engine.stream
        graph = try stream.capture { s in try self.runEager(on: s) }
    }

    /// Queues one inference on `stream`: the graph's replay (or the launches when graphs are off). The input must
    /// already be in `input`; the output is in `output` when the stream reaches this point.
    package func enqueue(on stream: CUDAStream? = nil) throws(CUDAError) {
        if let graph { try graph.launch(on: stream ?? engine.stream) } else { try runEager(on: stream) }
    }

    private func prepareStaging() throws(CUDAError) {
        guard inputStaging == nil else { return }
        let context = engine.context
        let inputCount = shape.reduce(1, *)
        let outputCount = output.shape.reduce(1, *)
        inputStaging = try DeviceBuffer(context: context, byteCount: inputCount * 4)
        outputStaging = try DeviceBuffer(context: context, byteCount: outputCount * 4)
        hostInput = try HostBuffer.pinned(byteCount: inputCount * 4, context: context)
        hostOutput = try HostBuffer.pinned(byteCount: outputCount * 4, context: context)
    }

    /// Host input path: `fill` writes the NCHW fp32 input into pinned staging; it is uploaded and converted into
    /// the arena's input on the engine's stream (asynchronously).
    package func upload(fill: (UnsafeMutableBufferPointer<Float>) throws -> Void) throws {
        try engine.context.bind()
        try prepareStaging()
        let inputCount = shape.reduce(1, *)
        try hostInput!.withUnsafeMutableBytes { raw in
            try fill(
                UnsafeMutableBufferPointer(
                    start: raw.baseAddress!.assumingMemoryBound(to: Float.self), count: inputCount))
        }
        let stream = engine.stream
        try stream.copy(hostInput!, to: inputStaging!)
        let toInput = compiler.inputCopy(from: .absolute(inputStaging!.pointer().address))
        try engine.kernels.launch(.elementwise(toInput), memory: launchMemory, on: stream)
    }

    /// Queues on `stream` the conversion of an fp32 NCHW batch at `staging` (device memory, `shape`'s element count)
    /// into the model input: the path of inputs letterboxed on the CPU and uploaded by the caller.
    package func enqueueInputConversion(from staging: DevicePointer, on stream: CUDAStream) throws(CUDAError) {
        let toInput = compiler.inputCopy(from: .absolute(staging.address))
        try engine.kernels.launch(.elementwise(toInput), memory: launchMemory, on: stream)
    }

    /// Copies the output (as it will be once the queued work is done) to the host as row-major fp32
    /// `[batch][4 + classes][anchors]`, waits, and lends it to `read`.
    package func download<R>(read: (UnsafeBufferPointer<Float>) throws -> R) throws -> R {
        try engine.context.bind()
        try prepareStaging()
        let stream = engine.stream
        let outputCount = output.shape.reduce(1, *)
        let fromOutput = compiler.outputCopy(to: .absolute(outputStaging!.pointer().address))
        try engine.kernels.launch(.elementwise(fromOutput), memory: launchMemory, on: stream)
        try stream.copy(outputStaging!, to: hostOutput!)
        try stream.synchronize()
        return try hostOutput!.withUnsafeBytes { raw in
            try read(
                UnsafeBufferPointer(start: raw.baseAddress!.assumingMemoryBound(to: Float.self), count: outputCount))
        }
    }

    /// The host path end to end: upload, run, download. Synchronous.
    package func run<R>(
        fill: (UnsafeMutableBufferPointer<Float>) throws -> Void, read: (UnsafeBufferPointer<Float>) throws -> R
    ) throws -> R {
        try upload(fill: fill)
        try enqueue()
        return try download(read: read)
    }
}

/// The model input in the arena.
package struct InputTensor: Sendable {
    package let address: UInt64
    package let element: GPUElement
    /// NHWC (what the GPU letterbox writes with `.nhwc`); else NCHW.
    package let channelsLast: Bool
    package let shape: [Int]
    package let strides: [Int]
}

/// The model output in the arena (fp32).
package struct OutputTensor: Sendable {
    package let address: UInt64
    package let shape: [Int]
    package let strides: [Int]
}

extension CUDAModelInstance {
    /// Each launch timed with events (median of `repeats` eager runs): (launch name, what it computes, ms).
    package func profile(repeats: Int = 5) throws -> [(name: String, detail: String, milliseconds: Double)] {
        let stream = engine.stream
        let memory = launchMemory
        let events = try (0...ops.count).map { _ in try CUDAEvent(context: engine.context) }
        var times = [[Double]](repeating: [], count: ops.count)
        for _ in 0..<repeats {
            try events[0].record(on: stream)
            for (i, op) in ops.enumerated() {
                try engine.kernels.launch(op, memory: memory, on: stream)
                try events[i + 1].record(on: stream)
            }
            try stream.synchronize()
            for i in ops.indices { times[i].append(try events[i + 1].milliseconds(since: events[i])) }
        }
        return ops.enumerated().map { i, op in
            let detail: String
            switch op {
            case .conv(let c): detail = c.signature
            case .elementwise(let e): detail = "count \(e.params.count) op \(e.params.op)"
            case .softmax(let s), .reduceMax(let s): detail = "\(s.params.outer)x\(s.params.length)x\(s.params.inner)"
            case .matMul(let m):
                detail =
                    "\(m.params.batch0 * m.params.batch1)x\(m.params.m)x\(m.params.n)x\(m.params.k)"
                    + (m.fused ? " over \(m.params.kv) keys" : "")
            case .topK(let t): detail = "\(t.params.rows) rows, top \(t.params.k) of \(t.params.length)"
            }
            let sorted = times[i].sorted()
            return (op.name, detail, sorted[sorted.count / 2])
        }
    }
}

/// A device allocation owned by a class (for optional or shared ownership).
final class DeviceScratch: @unchecked Sendable {
    let buffer: DeviceBuffer
    let address: UInt64
    let byteCount: Int

    init(context: CUDAContext, byteCount: Int) throws(CUDAError) {
        buffer = try DeviceBuffer(context: context, byteCount: byteCount)
        address = buffer.pointer().address
        self.byteCount = byteCount
    }
}
