import CLookoutCUDA
import LookoutCUDA

extension LookoutConvParams: KernelArgument {}
extension LookoutElementwiseParams: KernelArgument {}
extension LookoutSoftmaxParams: KernelArgument {}
extension LookoutNMSParams: KernelArgument {}
extension LookoutMatMulParams: KernelArgument {}
extension LookoutTopKParams: KernelArgument {}

/// The engine's kernels loaded on one device (compiled by NVRTC once, then from the disk cache), and how each op
/// is launched.
package final class EngineKernels: @unchecked Sendable {
    package let module: CUDAModule
    package let origin: KernelCompiler.Origin
    /// Seconds spent compiling or loading the module.
    package let loadSeconds: Double
    let mma: [EngineKernelSource.ConvTile: CUDAFunction]
    let mmaSplit: [EngineKernelSource.ConvTile: CUDAFunction]
    /// The Hopper module (sm_90a), when asked for and the device is compute capability 9.0; else nil.
    package let wgmmaModule: CUDAModule?
    /// What became of the Hopper kernels: not asked for, not this device, compiled, loaded from the cache, or the
    /// compiler's error (the engine then runs without them).
    package let wgmmaStatus: String
    let wgmma: [EngineKernelSource.WGMMATile: CUDAFunction]
    let splitEpilogue: CUDAFunction
    let halo: [EngineKernelSource.HaloTile: CUDAFunction]
    let first: [EngineKernelSource.FirstTile: CUDAFunction]
    /// By entry point (tiles that differ only in tiles per block share a kernel).
    let pointwise: [String: CUDAFunction]
    let small: [Int: CUDAFunction]
    let direct: CUDAFunction
    let cudnnEpilogue: CUDAFunction
    let elementwise: CUDAFunction
    let spatial: CUDAFunction
    let softmax: CUDAFunction
    let softmaxDot: CUDAFunction
    let fillRandom: CUDAFunction
    let maxDifference: CUDAFunction
    let matMul: CUDAFunction
    let attention: CUDAFunction
    let reduceMax: CUDAFunction
    let topK: CUDAFunction
    let gatherElements: CUDAFunction

    /// `wgmma`: also load the Hopper kernels (compiled for sm_90a) where the device is compute capability 9.0 and
    /// NVRTC knows sm_90; a compile or load failure is kept in `wgmmaStatus`, not thrown. Off by default until a GPU
    /// run has shown them correct: a faulting kernel (illegal instruction, misaligned address) leaves a sticky error
    /// that no later launch in the process survives, and the tuner launches every candidate.
    package init(compiler: KernelCompiler, wgmma: Bool = false) throws {
        let start = ContinuousClock.now
        (module, origin) = try compiler.module(source: EngineKernelSource.source, name: "lookout_engine")
        loadSeconds =
            Double((ContinuousClock.now - start).components.attoseconds) / 1e18
            + Double((ContinuousClock.now - start).components.seconds)
        mma = try Self.functions(module, EngineKernelSource.convTiles) { ($0.entryPoint, $0.sharedBytes) }
        mmaSplit = try Self.functions(module, EngineKernelSource.splitTiles) {
            ($0.entryPoint + "_splitk", $0.sharedBytes)
        }
        (wgmmaModule, self.wgmma, wgmmaStatus) = Self.loadWGMMA(compiler: compiler, requested: wgmma)
        splitEpilogue = try module.function("lookout_conv_splitk_epilogue")
        halo = try Self.functions(module, EngineKernelSource.haloTiles) { ($0.entryPoint, $0.sharedBytes) }
        first = try Self.functions(module, EngineKernelSource.firstTiles) { ($0.entryPoint, $0.sharedBytes) }
        pointwise = try Self.functions(module, EngineKernelSource.pointwiseKernels) { ($0.entryPoint, $0.sharedBytes) }
            .reduce(
                into: [:]
            ) { $0[$1.key.entryPoint] = $1.value }
        var small: [Int: CUDAFunction] = [:]
        for width in EngineKernelSource.smallConvWidths {
            small[width] = try module.function("lookout_conv_small_\(width)")
        }
        self.small = small
        direct = try module.function("lookout_conv_direct")
        cudnnEpilogue = try module.function("lookout_conv_cudnn_epilogue")
        elementwise = try module.function("lookout_elementwise")
        spatial = try module.function("lookout_spatial")
        softmax = try module.function("lookout_softmax")
        softmaxDot = try module.function("lookout_softmax_dot")
        fillRandom = try module.function("lookout_fill_random")
        maxDifference = try module.function("lookout_max_difference")
        matMul = try module.function("lookout_matmul")
        attention = try module.function("lookout_attention")
        reduceMax = try module.function("lookout_reduce_max")
        topK = try module.function("lookout_topk")
        gatherElements = try module.function("lookout_gather_elements")
    }

    static func loadWGMMA(compiler: KernelCompiler, requested: Bool) -> (
        CUDAModule?, [EngineKernelSource.WGMMATile: CUDAFunction], String
    ) {
        guard requested else {
            return (nil, [:], "off (EngineOptions.wgmma, or LOOKOUT_WGMMA=1 for the CLI, turns it on)")
        }
        let capability = compiler.context.device.computeCapability
        guard capability == (9, 0) else {
            return (nil, [:], "not used on compute capability \(capability.0).\(capability.1)")
        }
        let architectures = compiler.nvrtc.supportedArchitectures
        guard architectures.isEmpty || architectures.contains(90) else {
            return (
                nil, [:], "NVRTC \(compiler.nvrtc.version.major).\(compiler.nvrtc.version.minor) cannot target sm_90"
            )
        }
        do {
            let (module, origin) = try compiler.module(
                source: EngineKernelSource.wgmmaSource, name: "lookout_engine_wgmma",
                architecture: EngineKernelSource.wgmmaArchitecture)
            let functions = try Self.functions(module, EngineKernelSource.wgmmaTiles) {
                ($0.entryPoint, $0.sharedBytes)
            }
            return (
                module, functions,
                "\(functions.count) tiles (\(origin.rawValue), \(EngineKernelSource.wgmmaArchitecture))"
            )
        } catch {
            return (nil, [:], "unavailable: \(error)")
        }
    }

    /// Each tile's kernel from `module` (`entry` gives its name and dynamic shared memory; more than 48 KiB has to be
    /// allowed per function).
    static func functions<Tile: Hashable>(_ module: CUDAModule, _ tiles: [Tile], entry: (Tile) -> (String, Int)) throws
        -> [Tile: CUDAFunction]
    {
        var functions: [Tile: CUDAFunction] = [:]
        for tile in tiles {
            let (name, sharedBytes) = entry(tile)
            let function = try module.function(name)
            if sharedBytes > 48 * 1024 { try function.allowDynamicSharedMemory(sharedBytes) }
            functions[tile] = function
        }
        return functions
    }

    /// Whether `kernel` can be launched here (the Hopper kernels only where their module was loaded).
    func canLaunch(_ kernel: ConvKernel) -> Bool {
        if case .wgmma(let tile) = kernel { return wgmma[tile] != nil }
        return true
    }

    static func blocks(_ count: Int, _ perBlock: Int, limit: Int = 8192) -> Int {
        max(1, min((count + perBlock - 1) / perBlock, limit))
    }

    func launch(_ op: GPUOp, memory: LaunchMemory, on stream: CUDAStream) throws(CUDAError) {
        let arena = memory.arena
        let constants = memory.constants
        switch op {
        case .conv(let c):
            try launch(c, kernel: c.kernel, memory: memory, on: stream)
        case .elementwise(let e):
            let p = e.resolved(arena: arena, constants: constants)
            let function =
                switch e.kernel {
                case .elementwise: elementwise
                case .spatial: spatial
                case .gatherElements: gatherElements
                }
            try function.launch(grid: Dim3(Self.blocks(Int(p.count), 256)), block: Dim3(256), on: stream, p)
        case .reduceMax(let r):
            let p = r.resolved(arena: arena, constants: constants)
            try reduceMax.launch(
                grid: Dim3(Self.blocks(Int(p.outer) * Int(p.inner), 256)), block: Dim3(256), on: stream, p)
        case .matMul(let m):
            let p = m.resolved(arena: arena, constants: constants)
            let batches = Int(p.batch0) * Int(p.batch1)
            if m.fused {
                try attention.launch(grid: Dim3((Int(p.m) + 63) / 64, 1, batches), block: Dim3(128), on: stream, p)
            } else {
                try matMul.launch(
                    grid: Dim3((Int(p.n) + 15) / 16, (Int(p.m) + 15) / 16, batches), block: Dim3(256), on: stream, p)
            }
        case .topK(let t):
            let p = t.resolved(arena: arena, constants: constants)
            try topK.launch(grid: Dim3(Int(p.rows)), block: Dim3(256), on: stream, p)
        case .softmax(let s):
            let p = s.resolved(arena: arena, constants: constants)
            let grid = Dim3(Self.blocks(Int(p.outer) * Int(p.inner), 256))
            if let dot = s.dot {
                try softmaxDot.launch(
                    grid: grid, block: Dim3(256), on: stream, p,
                    dot.weights.resolve(arena: arena, constants: constants),
                    dot.bias.resolve(arena: arena, constants: constants),
                    dot.y.resolve(arena: arena, constants: constants),
                    dot.ysOuter, dot.ysInner, dot.yHalf)
            } else {
                try softmax.launch(grid: grid, block: Dim3(256), on: stream, p)
            }
        }
    }

    func launch(_ op: ConvOp, kernel: ConvKernel, memory: LaunchMemory, on stream: CUDAStream) throws(CUDAError) {
        var p = op.resolved(arena: memory.arena, constants: memory.constants, for: kernel)
        let m = Int(p.M)
        let cout = Int(p.outC)
        switch kernel {
        case .mma(let tile):
            try mma[tile]!.launch(
                grid: Dim3((m + tile.bm - 1) / tile.bm, (cout + tile.bn - 1) / tile.bn), block: Dim3(tile.threads),
                sharedBytes: tile.sharedBytes, on: stream, p)
        case .mmaSplit(let tile, let splits):
            precondition(memory.workspace != 0, "split-K without a workspace")
            p.workspace = memory.workspace
            p.splits = Int32(splits)
            try mmaSplit[tile]!.launch(
                grid: Dim3((m + tile.bm - 1) / tile.bm, (cout + tile.bn - 1) / tile.bn, splits),
                block: Dim3(tile.threads),
                sharedBytes: tile.sharedBytes, on: stream, p)
            try splitEpilogue.launch(
                grid: Dim3(Self.blocks(m * cout, 256, limit: 4096)), block: Dim3(256), on: stream, p)
        case .wgmma(let tile):
            guard let function = wgmma[tile] else { preconditionFailure("\(kernel) launched without the wgmma module") }
            try function.launch(
                grid: Dim3((m + tile.bm - 1) / tile.bm, (cout + tile.bn - 1) / tile.bn), block: Dim3(tile.threads),
                sharedBytes: tile.sharedBytes, on: stream, p)
        case .halo(let tile):
            let (blocks, channelBlocks) = tile.grid(
                batch: Int(p.batch), outH: Int(p.outH), outW: Int(p.outW), outC: cout)
            try halo[tile]!.launch(
                grid: Dim3(blocks, channelBlocks), block: Dim3(EngineKernelSource.HaloTile.threads),
                sharedBytes: tile.sharedBytes,
                on: stream, p)
        case .first(let tile):
            try first[tile]!.launch(
                grid: Dim3(tile.grid(batch: Int(p.batch), outH: Int(p.outH), outW: Int(p.outW))),
                block: Dim3(EngineKernelSource.FirstTile.threads), sharedBytes: tile.sharedBytes, on: stream, p)
        case .pointwise(let tile):
            let (blocks, channelBlocks) = tile.grid(m: m, outC: cout)
            try pointwise[tile.entryPoint]!.launch(
                grid: Dim3(blocks, channelBlocks), block: Dim3(EngineKernelSource.PointwiseTile.threads),
                sharedBytes: tile.sharedBytes, on: stream, p)
        case .small(let width):
            try small[width]!.launch(grid: Dim3((m + 127) / 128), block: Dim3(128), on: stream, p)
        case .direct:
            try direct.launch(grid: Dim3(Self.blocks(m * cout, 256, limit: 1 << 20)), block: Dim3(256), on: stream, p)
        case .cudnn(let algorithm):
            guard let cudnn = op.cudnn else {
                preconditionFailure("a cuDNN kernel for a layer without cuDNN descriptors")
            }
            try cudnn.forward(
                algorithm, x: p.x, w: op.denseWeights.resolve(arena: memory.arena, constants: memory.constants), y: p.y,
                workspace: memory.cudnnWorkspace, workspaceBytes: memory.cudnnWorkspaceBytes, on: stream)
            guard p.bias != 0 || p.silu != 0 || p.hasResidual != 0 else { return }
            let perThread = cout % 8 == 0 ? 8 : 1
            try cudnnEpilogue.launch(
                grid: Dim3(Self.blocks(m * cout / perThread, 256, limit: 4096)), block: Dim3(256), on: stream, p)
        }
    }

    /// Fills `count` elements at `address` with pseudo-random values in [-1, 1).
    func fillRandom(_ address: UInt64, count: Int, half: Bool, seed: UInt32, on stream: CUDAStream) throws(CUDAError) {
        try fillRandom.launch(
            grid: Dim3(Self.blocks(count, 256)), block: Dim3(256), on: stream, address, Int64(count),
            Int32(half ? 1 : 0), seed)
    }
}
