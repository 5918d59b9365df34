import CLookoutCUDA
import LookoutCUDA
import LookoutCore
import LookoutModel

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// Settings of the CUDA engine.
package struct CUDAEngineOptions: Sendable {
    /// fp16 activations on the convolution path (default), or fp32 everywhere (direct kernels: slow, exact-ish).
    package var precision: GPUPrecision = .fp16
    /// Time every candidate kernel of each convolution when a shape is first prepared, and keep the fastest that
    /// agrees with the reference kernel (cached on disk). Off: the default kernel per layer.
    package var tune = true
    /// Replay each shape as one CUDA graph (off: launch the kernels one by one).
    package var graphs = true
    /// Where tuning results are kept (nil: not kept).
    package var tuningDirectory: String?
    /// Offer cuDNN's algorithms to the tuner for fp16 channels-last convolutions when libcudnn.so.9 loads.
    package var cudnn = true
    /// Run Ultralytics' attention blocks (YOLO11's C2PSA, YOLO26's PSA) as one fused tensor-core launch each
    /// (off: MatMul, Softmax and Transpose launches).
    package var fusedAttention = true

    package init() {}
}

/// A model on one GPU: kernels loaded once, weights uploaded once, and per input shape a compiled instance
/// (arena, launches, CUDA graph). One user at a time (the engine's stream is its own).
package final class CUDAEngine: @unchecked Sendable {
    package let model: DetectionModel
    package let context: CUDAContext
    package let kernels: EngineKernels
    package let options: CUDAEngineOptions
    package let stream: CUDAStream
    private var pool = ConstantPool()
    private var constants: ConstantBuffer?
    private var instances: [[Int]: CUDAModelInstance] = [:]
    private var tuning: TuningCache
    /// cuDNN on this engine's context, when it loaded.
    let cudnnHandle: CUDNNHandle?
    /// One line: the cuDNN in use, or "cuDNN: not used (why)".
    package let cudnnStatus: String

    package init(
        model: DetectionModel, context: CUDAContext, kernels: EngineKernels,
        options: CUDAEngineOptions = CUDAEngineOptions()
    ) throws {
        self.model = model
        self.context = context
        self.kernels = kernels
        self.options = options
        self.stream = try CUDAStream(context: context)
        let (cudnnHandle, cudnnLine) = Self.loadCUDNN(options: options, context: context)
        self.cudnnHandle = cudnnHandle
        self.cudnnStatus = cudnnLine
        // A different cuDNN proposes different algorithms, and choices made with the Hopper kernels loaded are kept
        // apart from those made without: both are part of the cache's name.
        self.tuning = TuningCache(
            directory: options.tuningDirectory, device: context.device.name + (kernels.wgmma.isEmpty ? "" : " wgmma"),
            cudnnVersion: cudnnHandle?.cudnn.version ?? 0)
        log.append(cudnnLine)
        log.append("wgmma kernels: \(kernels.wgmmaStatus)")
    }

    /// The loaded cuDNN's version ("9.14.0"), or nil when cuDNN is not a candidate.
    package var cudnnVersion: String? { cudnnHandle?.cudnn.versionString }

    /// Log lines of what preparing did (compile, tuning, memory), for reports.
    package internal(set) var log: [String] = []

    /// The compiled instance for `shape` ([batch, 3, height, width]), made on first use: plan, GPU layout,
    /// launches, weight upload, tuning, graph capture.
    package func instance(shape: [Int]) throws -> CUDAModelInstance {
        if let existing = instances[shape] { return existing }
        try context.bind()
        let plan = try model.plan(forInputShape: shape)
        let memory = try GPUMemoryPlan(plan: plan, precision: options.precision)
        var compiler = GPUOpCompiler(plan: plan, memory: memory, cudnnWeights: cudnnHandle != nil)
        compiler.fusedAttention = options.fusedAttention
        var ops = try compiler.compile(constants: &pool)
        addCUDNNCandidates(&ops)
        if constants == nil || constants!.count < pool.bytes.count {
            constants = try ConstantBuffer(context: context, bytes: pool.bytes, stream: stream)
        }
        let instance = try CUDAModelInstance(
            engine: self, plan: plan, memory: memory, compiler: compiler, ops: ops, constants: constants!)
        if options.tune {
            ops = try tune(instance)
            instance.ops = ops
        }
        try instance.prepareCUDNNWorkspace()
        if options.graphs {
            do {
                try instance.capture()
            } catch  where instance.usesCUDNN {
                // The legacy cudnnConvolutionForward is capturable with its workspace given; should a cuDNN build
                // not be, the layers go back to their best NVRTC kernels rather than the engine failing.
                let moved = Self.withoutCUDNN(&instance.ops)
                ops = instance.ops
                log.append("cuDNN: graph capture failed (\(error)); \(moved) layers moved back to NVRTC kernels")
                try instance.prepareCUDNNWorkspace()
                try instance.capture()
            }
        }
        let convs = ops.compactMap {
            if case .conv(let c) = $0 { return c.kernel.description }
            return nil
        }
        var counts: [String: Int] = [:]
        for name in convs { counts[name, default: 0] += 1 }
        log.append(
            "shape \(shape): \(ops.count) launches, convolutions \(counts.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")); "
                + "activations \(memory.peakBytes) B (CPU plan at \(options.precision == .fp16 ? "fp16" : "fp32"): \(memory.planPeakBytes) B)"
                + (instance.cudnnWorkspaceBytes > 0 ? "; cuDNN workspace \(instance.cudnnWorkspaceBytes) B" : ""))
        instances[shape] = instance
        return instance
    }

    /// Chooses each convolution's kernel. The network runs once, in order, on a random input, so every layer sees
    /// real activations (a layer's input buffer is later reused by other tensors, some of them fp32: running a
    /// layer out of order would read those bits as fp16, NaNs included). At each convolution the reference
    /// (direct) kernel's output is kept, every candidate is run, compared with it and timed, the fastest that
    /// agrees wins; then the layer's output is left in place for the layers after it.
    func tune(_ instance: CUDAModelInstance) throws -> [GPUOp] {
        var ops = instance.ops
        var memory = instance.launchMemory
        // cuDNN's candidates share one temporary workspace, as large as the largest any of them needs; the
        // instance keeps one sized for the layers that choose cuDNN.
        let cudnnBytes = Self.cudnnWorkspaceBytes(ops, candidates: true)
        var cudnnWorkspace: DeviceScratch?
        if cudnnBytes > 0 { cudnnWorkspace = try DeviceScratch(context: context, byteCount: cudnnBytes) }
        memory.cudnnWorkspace = cudnnWorkspace?.address ?? 0
        memory.cudnnWorkspaceBytes = cudnnBytes
        try instance.fillInputRandom(seed: 1234)
        let scratchCount =
            ops.map {
                if case .conv(let c) = $0 { return c.output.count }
                return 0
            }.max() ?? 1
        let check = try ConvCandidateCheck(context: context, kernels: kernels, stream: stream, elements: scratchCount)
        var tuned = 0
        var cached = 0
        var choseCUDNN = 0
        var rejected: [String] = []
        for index in ops.indices {
            guard case .conv(var op) = ops[index], op.candidates.count > 1 else {
                try kernels.launch(ops[index], memory: memory, on: stream)
                continue
            }
            if let known = tuning.kernel(for: op.signature),
                let kernel = op.candidates.first(where: { $0.key == known && kernels.canLaunch($0) })
            {
                // cuDNN may refuse at launch what it proposed (alignment): the layer is then timed again.
                if try launchCandidate(op, kernel, memory) == nil {
                    if kernel.isCUDNN { op.nvrtcKernel = op.kernel }  // the compiler's default: not timed this time
                    op.kernel = kernel
                    ops[index] = .conv(op)
                    cached += 1
                    if kernel.isCUDNN { choseCUDNN += 1 }
                    continue
                }
            }
            try check.runReference(op, instance: instance, memory: memory)
            var timed: [(kernel: ConvKernel, ms: Double)] = []
            for kernel in op.candidates where kernel != .direct && kernels.canLaunch(kernel) {
                let difference: Float
                let largest: Float
                do {
                    (difference, largest) = try check.compare(op, kernel: kernel, instance: instance, memory: memory)
                } catch let error as CUDAError where kernel.isCUDNN {
                    rejected.append("\(op.signature): \(kernel) failed: \(error)")
                    continue
                }
                guard ConvCandidateCheck.agrees(difference: difference, largest: largest) else {
                    rejected.append("\(op.signature): \(kernel) differs by \(difference) (largest \(largest))")
                    continue
                }
                timed.append(
                    (kernel, try check.time(op, kernel: kernel, instance: instance, memory: memory, repeats: 5)))
            }
            timed = try Self.closeCalls(timed) { kernel, repeats in
                try check.time(op, kernel: kernel, instance: instance, memory: memory, repeats: repeats)
            }
            op.kernel = timed.min { $0.ms < $1.ms }?.kernel ?? .direct
            if op.kernel.isCUDNN {
                op.nvrtcKernel = timed.filter { !$0.kernel.isCUDNN }.min { $0.ms < $1.ms }?.kernel ?? .direct
                choseCUDNN += 1
            }
            ops[index] = .conv(op)
            tuning.record(op.kernel.key, for: op.signature)
            tuned += 1
            try kernels.launch(op, kernel: op.kernel, memory: memory, on: stream)
        }
        try stream.synchronize()
        withExtendedLifetime(cudnnWorkspace) {}
        tuning.save()
        let cudnnSummary =
            cudnnHandle.map { "; cuDNN \($0.cudnn.versionString) chosen for \(choseCUDNN)/\(tuned + cached)" } ?? ""
        log.append(
            "tuning: \(tuned) convolutions timed, \(cached) from the cache" + cudnnSummary
                + (rejected.isEmpty
                    ? "" : "; \(rejected.count) candidates rejected: " + rejected.prefix(5).joined(separator: "; ")))
        return ops
    }
}

extension CUDAEngine {
    /// A first timing of 5 launches decides little between kernels a few percent apart (one decision covers every
    /// layer of the same signature): the candidates within 15% of the fastest (at most 4) are timed again, 30
    /// launches each, three times in turn, and keep their best time; the others keep their first.
    static func closeCalls(
        _ timed: [(kernel: ConvKernel, ms: Double)], time: (ConvKernel, Int) throws -> Double
    ) rethrows -> [(kernel: ConvKernel, ms: Double)] {
        guard let fastest = timed.map(\.ms).min() else { return timed }
        let close = timed.indices.filter { timed[$0].ms <= 1.15 * fastest }.sorted { timed[$0].ms < timed[$1].ms }
            .prefix(4)
        guard close.count > 1 else { return timed }
        var result = timed
        for index in close { result[index].ms = .infinity }
        for _ in 0..<3 {
            for index in close { result[index].ms = min(result[index].ms, try time(timed[index].kernel, 30)) }
        }
        return result
    }

    /// Launches a candidate; a cuDNN candidate's failure is returned (the tuner rejects it), any other is thrown.
    func launchCandidate(_ op: ConvOp, _ kernel: ConvKernel, _ memory: LaunchMemory) throws(CUDAError) -> CUDAError? {
        do {
            try kernels.launch(op, kernel: kernel, memory: memory, on: stream)
            return nil
        } catch {
            if kernel.isCUDNN { return error }
            throw error
        }
    }
}

/// The constant pool on the device.
final class ConstantBuffer: @unchecked Sendable {
    let buffer: DeviceBuffer
    let count: Int
    var address: UInt64 { buffer.pointer().address }

    init(context: CUDAContext, bytes: [UInt8], stream: CUDAStream) throws {
        count = bytes.count
        buffer = try DeviceBuffer(context: context, byteCount: max(bytes.count, 256))
        let host = try HostBuffer.pinned(byteCount: max(bytes.count, 1), context: context)
        host.withUnsafeMutableBytes { $0.copyBytes(from: bytes) }
        if !bytes.isEmpty { try stream.copy(host, to: buffer, byteCount: bytes.count) }
        try stream.synchronize()
    }
}

/// Kernel choices per convolution signature and device, kept as a small JSON file next to the NVRTC cache.
struct TuningCache {
    let file: String?
    private var entries: [String: String] = [:]
    private var dirty = false

    init(directory: String?, device: String, cudnnVersion: Int = 0) {
        let name = device.map { $0.isLetter || $0.isNumber ? $0 : "-" }
        // Both modules' sources (a changed kernel is tuned again) and the cuDNN version.
        let key = KernelCompiler.cacheKey(
            source: EngineKernelSource.source + EngineKernelSource.wgmmaSource,
            options: cudnnVersion == 0 ? [] : ["cudnn \(cudnnVersion)"], driverVersion: 0, nvrtcVersion: (0, 0))
        file = directory.map { Paths.join($0, "tuning-\(String(name))-\(key.prefix(12)).json") }
        if let file, let bytes = FileBytes.read(file),
            let object = try? JSONDecoder().decode([String: String].self, from: Data(bytes))
        {
            entries = object
        }
    }

    func kernel(for signature: String) -> String? { entries[signature] }

    mutating func record(_ kernel: String, for signature: String) {
        entries[signature] = kernel
        dirty = true
    }

    mutating func save() {
        guard dirty, let file else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        if let data = try? encoder.encode(entries) {
            // Written aside and renamed, so a concurrent reader never sees half a file.
            let temporary = file + ".\(getpid()).tmp"
            if (try? FileBytes.write(Array(data), to: temporary)) != nil { _ = rename(temporary, file) }
        }
        dirty = false
    }
}

extension CUDAEngine {
    /// Runs `plan` (which may name any value as its output) with the default kernels, launches up to and
    /// including those of step `lastStep`, and returns the output row-major fp32: the self-test compares every
    /// step's result with the CPU backend this way. Not cached, not tuned.
    package func probe(plan: ExecutionPlan, lastStep: Int, input: [Float]) throws -> [Float] {
        try context.bind()
        let memory = try GPUMemoryPlan(plan: plan, precision: options.precision)
        let compiler = GPUOpCompiler(plan: plan, memory: memory)
        var probePool = ConstantPool()
        let (ops, ends) = try compiler.compileWithSteps(constants: &probePool)
        let probeConstants = try ConstantBuffer(context: context, bytes: probePool.bytes, stream: stream)
        let instance = try CUDAModelInstance(
            engine: self, plan: plan, memory: memory, compiler: compiler, ops: Array(ops.prefix(ends[lastStep])),
            constants: probeConstants)
        try instance.upload { buffer in
            precondition(buffer.count == input.count, "probe input has \(input.count) values, the plan \(buffer.count)")
            _ = buffer.update(from: input)
        }
        try instance.runEager()
        return try instance.download { Array($0) }
    }
}
