import LookoutCPU
import LookoutModel
import LookoutTestFixtures
import Testing

@testable import LookoutCUDABackend

/// Fused launches read values at a later node than the graph does, and the GPU memory plan must keep those values
/// live until then. YOLO11's and YOLO26's attention (one launch at its final MatMul) had its output placed over K,
/// which the graph last reads three nodes earlier: blocks that finished wrote O over K while others still read it.
@Suite struct FusedLaunchMemoryTests {
    /// The export matrix's YOLO11n and YOLO26n (dynamic batch and size).
    static let models = ["y11n-dynamic", "y26n-dynamic"]
    static let shapes = [[1, 3, 640, 640], [1, 3, 384, 640], [32, 3, 640, 640], [2, 3, 64, 96]]

    static func plan(_ name: String, _ shape: [Int]) throws -> ExecutionPlan {
        try DetectionModel(path: try Fixtures.generated("onnx/\(name).onnx")).plan(forInputShape: shape)
    }

    static func byteRange(_ memory: GPUMemoryPlan, _ v: ValueID) -> Range<Int> {
        let buffer = memory.buffers[memory.views[v]!.buffer]
        return buffer.byteOffset..<(buffer.byteOffset + buffer.bytes)
    }

    @Test(arguments: models, shapes)
    func attentionOutputSharesNoMemoryWithItsInputs(name: String, shape: [Int]) throws {
        let plan = try Self.plan(name, shape)
        let memory = try GPUMemoryPlan(plan: plan, precision: .fp16)
        let patterns = GPUOpCompiler(plan: plan, memory: memory).attentionPatterns()
        #expect(patterns.count == (name.hasPrefix("y26") ? 2 : 1))
        for (node, pattern) in patterns {
            let y = Self.byteRange(memory, plan.graph.nodes[node].outputs[0])
            for (label, input) in [("Q", pattern.q), ("K", pattern.k), ("V", pattern.v)] {
                #expect(!y.overlaps(Self.byteRange(memory, input)), "\(name) \(shape): the output overlaps \(label)")
            }
        }
    }

    /// YOLOv8's DFL: the softmax + convolution launch reads the softmax's input while it writes the output.
    @Test func softmaxDotOutputSharesNoMemoryWithItsInput() throws {
        for shape in [[1, 3, 640, 640], [8, 3, 320, 640]] {
            let plan = try DetectionModel(path: BackendFixtures.dynamicModel).plan(forInputShape: shape)
            let memory = try GPUMemoryPlan(plan: plan, precision: .fp16)
            let graph = plan.graph
            var checked = 0
            for (step, next) in zip(plan.steps, plan.steps.dropFirst()) {
                guard case .softmax = graph.nodes[step.node].op, case .conv = graph.nodes[next.node].op else {
                    continue
                }
                let x = Self.byteRange(memory, graph.nodes[step.node].inputs[0]!)
                let y = Self.byteRange(memory, graph.nodes[next.node].outputs[0])
                #expect(!x.overlaps(y), "\(shape)")
                checked += 1
            }
            #expect(checked == 1)
        }
    }

    /// The emulated GPU plan (sequential, so an output placed over a fused launch's input shows every time) equals
    /// the CPU backend, with the default kernels: tensor-core tiles where they apply.
    @Test(arguments: models)
    func emulatedPlanMatchesTheCPUBackend(name: String) throws {
        let shape = [2, 3, 64, 96]
        let plan = try Self.plan(name, shape)
        let input = BackendFixtures.input(count: shape.reduce(1, *), seed: 7)
        let reference = try CPUExecutor(plan: plan).run(input: input)
        let gpu = try GPUPlanTests.emulate(plan, precision: .fp16, input: input)
        let error = GPUPlanTests.relativeError(gpu, reference)
        #expect(error < 1e-2, "relative error \(error)")
    }

    /// YOLO11's C3k2 bottleneck has a 3x3 convolution of 8 input channels: both the tensor-core kernels and the
    /// first-layer kernel run it, each from its own weight layout (the first-layer packing used to replace the
    /// tensor-core weights, and every mma/halo candidate of that layer computed garbage).
    @Test func eightChannelConvolutionKeepsBothWeightLayouts() throws {
        let plan = try Self.plan("y11n-dynamic", [1, 3, 64, 64])
        let memory = try GPUMemoryPlan(plan: plan, precision: .fp16)
        var pool = ConstantPool()
        let convs = try GPUOpCompiler(plan: plan, memory: memory).compile(constants: &pool).compactMap {
            if case .conv(let c) = $0, c.params.inC == 8, c.params.kH == 3 { return c }
            return nil
        }
        #expect(!convs.isEmpty)
        for conv in convs {
            let mma = try #require(conv.candidates.first { if case .mma = $0 { true } else { false } })
            let first = try #require(conv.candidates.first { if case .first = $0 { true } else { false } })
            #expect(conv.w16 != .none && conv.firstWeights != .none && conv.w16 != conv.firstWeights)
            #expect(
                conv.resolved(arena: 0, constants: 1 << 40, for: mma).w16
                    == conv.w16.resolve(arena: 0, constants: 1 << 40))
            #expect(
                conv.resolved(arena: 0, constants: 1 << 40, for: first).w16
                    == conv.firstWeights.resolve(arena: 0, constants: 1 << 40))
        }
    }
}
