import CLookoutCUDA
import Foundation
import LookoutCPU
import LookoutModel
import LookoutTestFixtures
import Testing

@testable import LookoutCUDABackend

enum BackendFixtures {
    static let dynamicModel = Fixtures.dynamicModel
    static let staticModel = Fixtures.staticModel

    static func input(count: Int, seed: UInt64) -> [Float] {
        var state = seed | 1
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(state >> 40) / Float(1 << 24)
        }
    }
}

/// The GPU plan run by the CPU emulator of the kernels equals the CPU backend: views, channels-last strides,
/// placement, parameter blocks and repacked weights are all exercised without a GPU.
@Suite struct GPUPlanTests {
    static let arenaBase: UInt64 = 1 << 40
    static let constantBase: UInt64 = 1 << 44
    static let stagingBase: UInt64 = 1 << 46

    /// Runs `plan` through the emulated GPU ops; returns the output, row-major.
    static func emulate(
        _ plan: ExecutionPlan, precision: GPUPrecision, input: [Float], cudnnWeights: Bool = false,
        fusedAttention: Bool = true, kernel: ((ConvOp) -> ConvKernel)? = nil
    ) throws -> [Float] {
        var pool = ConstantPool()
        return try emulate(
            plan, precision: precision, input: input, pool: &pool, cudnnWeights: cudnnWeights,
            fusedAttention: fusedAttention, kernel: kernel)
    }

    /// As above, with the constants going into `pool` (an engine's pool, shared by the plans of every input shape).
    static func emulate(
        _ plan: ExecutionPlan, precision: GPUPrecision, input: [Float], pool: inout ConstantPool,
        cudnnWeights: Bool = false, fusedAttention: Bool = true, kernel: ((ConvOp) -> ConvKernel)? = nil
    ) throws -> [Float] {
        let memory = try GPUMemoryPlan(plan: plan, precision: precision)
        let compiler = GPUOpCompiler(
            plan: plan, memory: memory, cudnnWeights: cudnnWeights, fusedAttention: fusedAttention)
        var ops = try compiler.compile(constants: &pool)
        if let kernel {
            for i in ops.indices {
                if case .conv(var c) = ops[i] {
                    c.kernel = kernel(c)
                    ops[i] = .conv(c)
                }
            }
        }
        let outputShape = plan.graph.shape(plan.graph.outputs[0])
        let outputCount = outputShape.reduce(1, *)
        let emulator = GPUOpEmulator()
        // Poison the arena: every element read must have been written first.
        emulator.add(base: arenaBase, bytes: [UInt8](repeating: 0xFF, count: memory.peakBytes))
        emulator.add(base: constantBase, bytes: pool.bytes + [0])
        emulator.add(base: stagingBase, bytes: input.withUnsafeBytes { Array($0) })
        emulator.add(base: stagingBase + (1 << 40), bytes: [UInt8](repeating: 0xFF, count: outputCount * 4))
        emulator.run(
            .elementwise(compiler.inputCopy(from: .absolute(stagingBase))), arena: arenaBase, constants: constantBase)
        for op in ops { emulator.run(op, arena: arenaBase, constants: constantBase) }
        emulator.run(
            .elementwise(compiler.outputCopy(to: .absolute(stagingBase + (1 << 40)))), arena: arenaBase,
            constants: constantBase)
        return emulator.regions[3].bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    static func relativeError(_ a: [Float], _ b: [Float]) -> Double {
        var num = 0.0
        var den = 0.0
        for (x, y) in zip(a, b) {
            num += Double(x - y) * Double(x - y)
            den += Double(y) * Double(y)
        }
        return a.count == b.count && !num.isNaN ? (num / max(den, 1e-30)).squareRoot() : .infinity
    }

    @Test(arguments: [GPUPrecision.fp32, .fp16])
    func emulatedPlanMatchesTheCPUBackend(precision: GPUPrecision) throws {
        let model = try DetectionModel(path: BackendFixtures.dynamicModel)
        let shape = [2, 3, 32, 64]
        let plan = try model.plan(forInputShape: shape)
        let input = BackendFixtures.input(count: shape.reduce(1, *), seed: 7)
        let reference = try CPUExecutor(plan: plan).run(input: input)
        // Tensor-core kernels where they apply (their fp16 weights), else the first candidate.
        let gpu = try Self.emulate(plan, precision: precision, input: input)
        let error = Self.relativeError(gpu, reference)
        #expect(error < (precision == .fp32 ? 1e-5 : 2e-3), "relative error \(error)")
        // The box rows (0-3) and the scores stay close in absolute terms too.
        let worst = zip(gpu, reference).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst < (precision == .fp32 ? 1e-2 : 0.5), "max |difference| \(worst)")
    }

    /// One engine, two input shapes with the same element count (landscape, then portrait, as `val` meets them): the
    /// dynamic export's anchor grid, folded into a constant for each shape, has the same name and size in both plans
    /// but other values. Sharing it made the portrait boxes wrong on the GPU (H100, 2026-12-07: YOLO11n/YOLO26n
    /// dynamic exports 70% of boxes matched).
    @Test func constantsFoldedForEachShapeAreNotShared() throws {
        let model = try DetectionModel(path: BackendFixtures.dynamicModel)
        var pool = ConstantPool()
        for shape in [[1, 3, 32, 64], [1, 3, 64, 32]] {
            let plan = try model.plan(forInputShape: shape)
            let input = BackendFixtures.input(count: shape.reduce(1, *), seed: 5)
            let reference = try CPUExecutor(plan: plan).run(input: input)
            let gpu = try Self.emulate(plan, precision: .fp32, input: input, pool: &pool)
            #expect(Self.relativeError(gpu, reference) < 1e-5, "\(shape): relative error")
        }
        var again = pool
        #expect(again.floats(key: "k", [1, 2]) == again.floats(key: "k", [1, 2]))
        #expect(again.floats(key: "k", [1, 2]) != again.floats(key: "k", [3, 4]))
    }

    @Test func directKernelsGiveTheSameResult() throws {
        let model = try DetectionModel(path: BackendFixtures.dynamicModel)
        let shape = [1, 3, 32, 32]
        let plan = try model.plan(forInputShape: shape)
        let input = BackendFixtures.input(count: shape.reduce(1, *), seed: 3)
        let reference = try CPUExecutor(plan: plan).run(input: input)
        let gpu = try Self.emulate(plan, precision: .fp16, input: input) { _ in .direct }
        #expect(Self.relativeError(gpu, reference) < 2e-3)
    }

    @Test func layoutsAreChannelsLastHalfOnTheConvolutionPathAndFloatInTheTail() throws {
        let model = try DetectionModel(path: BackendFixtures.staticModel)
        let plan = try model.plan(forInputShape: [1, 3, 640, 640])
        let memory = try GPUMemoryPlan(plan: plan, precision: .fp16)
        let graph = plan.graph
        let input = memory.views[graph.inputs[0]]!
        #expect(input.element == .f16 && input.strides == [3 * 640 * 640, 1, 640 * 3, 3])
        let output = memory.views[graph.outputs[0]]!
        #expect(output.element == .f32 && output.strides == [8 * 8400, 8400, 1])
        // A C2f split: its second half is a channel slice, pixels C apart, starting C/2 channels in.
        let split = graph.nodes.first {
            if case .split = $0.op { return true }
            return false
        }!
        let (a, b) = (memory.views[split.outputs[0]]!, memory.views[split.outputs[1]]!)
        #expect(a.strides[1] == 1 && b.strides == a.strides && b.offset - a.offset == a.shape[1])
        #expect(a.strides[3] >= 2 * a.shape[1])  // the concat output's channel count, not the slice's
        // The six head outputs are written straight into the anchor-wise concats (no copies).
        #expect(memory.elidedCopies.count == 6)
        // Within 1.2x of the CPU plan's fp16 peak.
        #expect(
            Double(memory.peakBytes) <= 1.2 * Double(memory.planPeakBytes),
            "\(memory.peakBytes) vs \(memory.planPeakBytes)")
        // Every convolution of the backbone can use the tensor cores except the 3-channel first layer.
        let compiler = GPUOpCompiler(plan: plan, memory: memory)
        var pool = ConstantPool()
        let ops = try compiler.compile(constants: &pool)
        let convs = ops.compactMap {
            if case .conv(let c) = $0 { return c }
            return nil
        }
        let mma = convs.filter {
            if case .mma = $0.kernel { return true }
            return false
        }.count
        #expect(mma == convs.count - 1, "\(mma) of \(convs.count) convolutions on tensor cores")  // the first layer
        // The DFL (softmax over 16 bins, then the 1x1 convolution to their expected value) is one fused launch.
        let softmaxes = ops.compactMap {
            if case .softmax(let s) = $0 { return s }
            return nil
        }
        #expect(softmaxes.count == 1 && softmaxes[0].dot != nil && softmaxes[0].params.length == 16)
        #expect(convs.allSatisfy { $0.params.outC > 1 })
    }

    /// The softmax is fused with the DFL convolution only while nothing else reads its probabilities: with them
    /// made a graph output (as the self-test's step-by-step probe does) it runs alone and writes them, and the
    /// emulated probabilities equal the CPU backend's.
    @Test func softmaxStaysAloneWhenItsOutputIsRead() throws {
        let model = try DetectionModel(path: BackendFixtures.dynamicModel)
        let shape = [1, 3, 32, 64]
        var plan = try model.plan(forInputShape: shape)
        let step = try #require(
            plan.steps.firstIndex {
                if case .softmax = plan.graph.nodes[$0.node].op { return true }
                return false
            })
        let probabilities = plan.graph.nodes[plan.steps[step].node].outputs[0]
        func softmaxOps(_ plan: ExecutionPlan) throws -> [SoftmaxOp] {
            let memory = try GPUMemoryPlan(plan: plan, precision: .fp16)
            var pool = ConstantPool()
            return try GPUOpCompiler(plan: plan, memory: memory).compile(constants: &pool).compactMap {
                if case .softmax(let s) = $0 { return s }
                return nil
            }
        }
        #expect(try softmaxOps(plan).map { $0.dot != nil } == [true])
        plan.graph.outputs = [probabilities]
        #expect(try softmaxOps(plan).map { $0.dot != nil } == [false])
        var cpuPlan = plan
        cpuPlan.steps = Array(plan.steps.prefix(step + 1))
        let input = BackendFixtures.input(count: shape.reduce(1, *), seed: 5)
        let reference = try CPUExecutor(plan: cpuPlan).run(input: input)
        let gpu = try Self.emulate(plan, precision: .fp16, input: input)
        #expect(Self.relativeError(gpu, reference) < 2e-3)
    }

    @Test func fastDivisionEqualsDivision() {
        var state: UInt64 = 99
        for divisor in Array(1...300) + [640, 1000, 6400, 8400, 33600, 102_400, 1 << 20, 1_000_003, (1 << 30) + 7] {
            let magic = FastDivision.magic(UInt32(divisor))
            for k in 0..<400 {
                state = state &* 6_364_136_223_846_793_005 &+ 1
                let n =
                    k < 4
                    ? UInt32([0, 1, divisor - 1, Int(Int32.max) - 1][k]) : UInt32(truncatingIfNeeded: state >> 33)
                #expect(FastDivision.divide(n, magic) == n / UInt32(divisor), "\(n) / \(divisor)")
            }
        }
    }

    @Test func elementwiseDimensionsMergeAndCopiesVectorise() throws {
        let model = try DetectionModel(path: BackendFixtures.staticModel)
        let plan = try model.plan(forInputShape: [1, 3, 640, 640])
        let memory = try GPUMemoryPlan(plan: plan, precision: .fp16)
        var pool = ConstantPool()
        let ops = try GPUOpCompiler(plan: plan, memory: memory).compile(constants: &pool)
        let spatial = ops.compactMap {
            if case .elementwise(let e) = $0, e.kernel == .spatial { return e.params.op }
            return nil
        }
        // The three SPPF pools and the two upsamples run 8 channels a thread.
        #expect(spatial.sorted() == [140, 140, 140, 141, 141])
    }

    @Test func reshapeStridesFollowPyTorch() {
        // Channels-last [N, C, H, W] merged to [N, C, H*W]: channel stride 1, pixels C apart.
        #expect(GPUMemoryPlan.viewStrides([2, 4, 3, 5], [60, 1, 20, 4], [2, 4, 15]) == [60, 1, 4])
        // Row-major splits freely.
        #expect(GPUMemoryPlan.viewStrides([2, 64, 10], [640, 10, 1], [2, 4, 16, 10]) == [640, 160, 10, 1])
        // Channels-last cannot merge channels with pixels.
        #expect(GPUMemoryPlan.viewStrides([1, 4, 3, 5], [60, 1, 20, 4], [1, 60]) == nil)
    }
}
