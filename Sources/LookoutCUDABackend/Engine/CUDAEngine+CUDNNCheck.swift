import LookoutCUDA

/// One layer's cuDNN candidates, each checked against the direct kernel (the tuner's tolerance) and timed beside
/// the kernel the tuner chose for the layer.
package struct CUDNNLayerCheck: Sendable {
    package struct Run: Sendable {
        package let algorithm: String
        /// Mean of 5 launches (cuDNN + epilogue), or nil when the launch failed.
        package let milliseconds: Double?
        package let difference: Float
        package let largest: Float
        /// Why the candidate failed (launch error or too far from the reference), or nil.
        package let failure: String?
    }
    /// What the layer is (1x1, 3x3 s2, residual, strided output…) and its signature.
    package let kind: String
    package let layer: String
    package let chosen: String
    package let chosenMilliseconds: Double
    /// The fastest of the engine's own kernels that agrees with the reference (timed here), and its time.
    package let nvrtc: String
    package let nvrtcMilliseconds: Double
    package let runs: [Run]
}

extension CUDAEngine {
    /// For `shape`'s instance (tuned as usual), runs the network once in order on a random input and, at up to one
    /// layer of each kind (1x1, 3x3 stride 1, 3x3 stride 2, with a residual, writing a channel slice), runs every
    /// cuDNN candidate against the direct kernel and times it beside the tuner's choice. Then, with every layer
    /// that has cuDNN algorithms forced onto cuDNN's first, compares one graph replay with eager launches bit for
    /// bit. Nil when cuDNN is not loaded.
    package func checkCUDNN(shape: [Int]) throws -> (
        layers: [CUDNNLayerCheck], forcedLayers: Int, graphEqualsEager: Bool
    )? {
        guard cudnnHandle != nil else { return nil }
        let instance = try instance(shape: shape)
        try context.bind()
        let ops = instance.ops
        func kind(_ c: ConvOp) -> String {
            let p = c.params
            if p.ysW != Int64(p.outC) { return "strided output" }
            if p.hasResidual != 0 { return "residual" }
            if p.kH == 1 && p.kW == 1 { return "1x1" }
            return "\(p.kH)x\(p.kW) s\(p.strideH)"
        }
        var selected: [Int: String] = [:]
        for (index, op) in ops.enumerated() {
            guard case .conv(let c) = op, c.cudnn != nil, c.candidates.contains(where: \.isCUDNN) else { continue }
            let k = kind(c)
            if !selected.values.contains(k) { selected[index] = k }
        }
        var memory = instance.launchMemory
        let cudnnBytes = Self.cudnnWorkspaceBytes(ops, candidates: true)
        var scratch: DeviceScratch?
        if cudnnBytes > 0 { scratch = try DeviceScratch(context: context, byteCount: cudnnBytes) }
        defer { withExtendedLifetime(scratch) {} }
        memory.cudnnWorkspace = scratch?.address ?? 0
        memory.cudnnWorkspaceBytes = cudnnBytes

        let count =
            ops.map {
                if case .conv(let c) = $0 { return c.output.count }
                return 0
            }.max() ?? 1
        let reference = try DeviceBuffer(context: context, byteCount: max(count, 1) * 4)
        let candidate = try DeviceBuffer(context: context, byteCount: max(count, 1) * 4)
        let result = try DeviceBuffer(context: context, byteCount: 8)
        let host = try HostBuffer.pinned(byteCount: 8, context: context)
        let start = try CUDAEvent(context: context)
        let end = try CUDAEvent(context: context)
        func time(_ op: ConvOp, _ kernel: ConvKernel) throws -> Double {
            try start.record(on: stream)
            for _ in 0..<5 { try kernels.launch(op, kernel: kernel, memory: memory, on: stream) }
            try end.record(on: stream)
            try end.synchronize()
            return try end.milliseconds(since: start) / 5
        }
        var layers: [CUDNNLayerCheck] = []
        try instance.fillInputRandom(seed: 4321)
        for (index, op) in ops.enumerated() {
            guard case .conv(let c) = op, let k = selected[index] else {
                try kernels.launch(op, memory: memory, on: stream)
                continue
            }
            try kernels.launch(c, kernel: .direct, memory: memory, on: stream)
            try kernels.launch(
                .elementwise(
                    instance.compiler.gather(c.output, at: c.outputAddress, into: reference.pointer().address)),
                memory: memory, on: stream)
            let gather = instance.compiler.gather(c.output, at: c.outputAddress, into: candidate.pointer().address)
            // Runs `kernel`, compares it with the reference and times it.
            func measure(_ kernel: ConvKernel) throws -> CUDNNLayerCheck.Run {
                do {
                    try kernels.launch(c, kernel: kernel, memory: memory, on: stream)
                } catch {
                    return .init(
                        algorithm: kernel.description, milliseconds: nil, difference: 0, largest: 0, failure: "\(error)"
                    )
                }
                try kernels.launch(.elementwise(gather), memory: memory, on: stream)
                try stream.fill(result, byte: 0)
                try kernels.maxDifference.launch(
                    grid: Dim3(EngineKernels.blocks(c.output.count, 256, limit: 1024)), block: Dim3(256), on: stream,
                    candidate.pointer().address, reference.pointer().address, Int64(c.output.count),
                    result.pointer().address)
                try stream.copy(result, to: host)
                try stream.synchronize()
                let (difference, largest) = host.withUnsafeBytes {
                    ($0.load(as: Float.self), $0.load(fromByteOffset: 4, as: Float.self))
                }
                let agrees = difference <= 0.02 * max(largest, 1)
                return .init(
                    algorithm: kernel.description, milliseconds: try time(c, kernel), difference: difference,
                    largest: largest,
                    failure: agrees ? nil : "differs by \(difference) (largest \(largest))")
            }
            let runs = try c.candidates.filter(\.isCUDNN).map(measure)
            var nvrtc: (String, Double) = ("direct", try time(c, .direct))
            for kernel in c.candidates where !kernel.isCUDNN && kernel != .direct && kernels.canLaunch(kernel) {
                let run = try measure(kernel)
                if run.failure == nil, let ms = run.milliseconds, ms < nvrtc.1 { nvrtc = (run.algorithm, ms) }
            }
            let chosenMilliseconds = try time(c, c.kernel)
            layers.append(
                CUDNNLayerCheck(
                    kind: k, layer: c.signature, chosen: c.kernel.description, chosenMilliseconds: chosenMilliseconds,
                    nvrtc: nvrtc.0, nvrtcMilliseconds: nvrtc.1, runs: runs))
            try kernels.launch(c, kernel: c.kernel, memory: memory, on: stream)
        }
        try stream.synchronize()

        // Every layer with cuDNN algorithms on cuDNN's first: eager launches, then the same captured as a graph.
        var forced = ops
        var forcedLayers = 0
        for index in forced.indices {
            guard case .conv(var c) = forced[index], let first = c.candidates.first(where: \.isCUDNN) else { continue }
            c.kernel = first
            forced[index] = .conv(c)
            forcedLayers += 1
        }
        try instance.fillInputRandom(seed: 99)
        for op in forced { try kernels.launch(op, memory: memory, on: stream) }
        let eager = try instance.download { Array($0) }
        let graph = try stream.capture { s in
            for op in forced { try self.kernels.launch(op, memory: memory, on: s) }
        }
        try instance.fillInputRandom(seed: 99)
        try graph.launch(on: stream)
        let replayed = try instance.download { Array($0) }
        return (layers, forcedLayers, eager == replayed)
    }
}
