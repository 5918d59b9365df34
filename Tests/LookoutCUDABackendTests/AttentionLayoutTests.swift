import Foundation
import LookoutCPU
import LookoutModel
import LookoutTestFixtures
import Testing

@testable import LookoutCUDABackend

/// YOLO11's C2PSA and YOLO26's PSA blocks run on the convolution path's layout: every convolution of the attention
/// block (qkv, pe, proj, both ffn layers, cv2) reads and writes fp16 channels-last, the residual Adds and the block's
/// concat are channels-last, Q and K are read in place from the qkv convolution's output, and V and the attention
/// output are stored so that their image reshapes are channels-last. They ran fp32 NCHW through the direct kernel
/// (8-12 ms of a 12-16 ms batch of 32 on an H100) because only Conv, MaxPool and Resize outputs followed the input.
@Suite struct AttentionLayoutTests {
    /// The export matrix's YOLO11n and YOLO26n (one attention head), with the shapes the other plan tests use.
    static let matrix: [(name: String, shape: [Int])] = [
        ("y11n-dynamic", [2, 3, 64, 96]), ("y26n-dynamic", [2, 3, 64, 96]), ("y11n-dynamic", [1, 3, 384, 640]),
        ("y11n-static", [1, 3, 128, 128]), ("y26n-static", [1, 3, 128, 128]), ("y26n-e2e", [1, 3, 128, 128]),
    ]
    /// The trained YOLO11n and YOLO26n of ../shared/fixtures/shapes-v11-v26 (two heads: the qkv split is a copy in
    /// the CPU plan), when that folder is there.
    static let families = Fixtures.repository + "/../shared/fixtures/shapes-v11-v26/"
    static let familyModels: [(name: String, shape: [Int])] = [
        ("shapes-yolo11n-dynamic", [2, 3, 64, 96]), ("shapes-yolo26n-dynamic", [2, 3, 64, 96]),
        ("shapes-yolo11n", [1, 3, 640, 640]), ("shapes-yolo26n-end2end", [1, 3, 640, 640]),
    ].filter { FileManager.default.fileExists(atPath: families + $0.name + ".onnx") }

    static func plan(_ name: String, _ shape: [Int]) throws -> ExecutionPlan {
        let path = name.hasPrefix("shapes-") ? families + name + ".onnx" : try Fixtures.generated("onnx/\(name).onnx")
        return try DetectionModel(path: path).plan(forInputShape: shape)
    }

    /// Every convolution reads fp16 channels-last and writes it, except the detect head's: its last layers write
    /// their fp32 slots of the row-major output, and the DFL's reads the softmax over the bins (as in YOLOv8).
    static func checkConvolutions(_ name: String, _ shape: [Int]) throws {
        let plan = try Self.plan(name, shape)
        let memory = try GPUMemoryPlan(plan: plan, precision: .fp16)
        let graph = plan.graph
        let producers = graph.producers()
        var checked = 0
        for step in plan.steps {
            let node = graph.nodes[step.node]
            switch node.op {
            case .conv, .convSiLU: break
            default: continue
            }
            let (x, y) = (memory.views[node.inputs[0]!]!, memory.views[node.outputs[0]]!)
            if let p = producers[node.inputs[0]!], case .softmax = graph.nodes[p].op { continue }
            let image = { (v: GPUView) in v.element == .f16 && v.strides[1] == 1 && v.shape[1] > 1 }
            #expect(image(x), "\(name) \(shape): '\(node.name)' reads \(x.strides)\(x.element)")
            let headSlot = y.element == .f32 && y.strides[3] == 1 && y.strides[2] == y.shape[3]
            #expect(image(y) || headSlot, "\(name) \(shape): '\(node.name)' writes \(y.strides)\(y.element)")
            checked += 1
        }
        #expect(checked > 20)
        // The attention: Q/K/V and its output fp16 (Q after the scale Mul stays fp32: the kernel rounds it to fp16
        // as it loads it), and the output's image reshape channels-last.
        let patterns = GPUOpCompiler(plan: plan, memory: memory).attentionPatterns()
        #expect(patterns.count == (name.contains("26") ? 2 : 1))
        let consumers = plan.graph.consumers()
        for (node, pattern) in patterns {
            for (label, v) in [("K", pattern.k), ("V", pattern.v)] {
                #expect(memory.views[v]!.element == .f16, "\(name): \(label) is \(memory.views[v]!.element)")
            }
            let output = plan.graph.nodes[node].outputs[0]
            #expect(memory.views[output]!.element == .f16)
            let images = consumers[output, default: []].flatMap { plan.graph.nodes[$0].outputs }.filter {
                plan.graph.shape($0).count == 4 && plan.graph.shape($0)[1] != 1 && memory.views[$0] != nil
            }
            #expect(images.contains { memory.views[$0]!.isChannelsLast && memory.views[$0]!.strides[1] == 1 })
        }
    }

    @Test(arguments: matrix.indices)
    func attentionBlockConvolutionsAreHalfChannelsLast(index: Int) throws {
        try Self.checkConvolutions(Self.matrix[index].name, Self.matrix[index].shape)
    }

    @Test func trainedFamilyModelsToo() throws {
        for model in Self.familyModels { try Self.checkConvolutions(model.name, model.shape) }
    }

    /// With two heads the CPU plan copies the qkv split; the GPU reads Q and K in place from the qkv convolution's
    /// fp16 channels-last output and copies only V, stored as the channels-last image the positional conv reads.
    @Test func twoHeadSplitReadsQueriesAndKeysInPlace() throws {
        for model in Self.familyModels where model.name.hasSuffix("dynamic") {
            let plan = try Self.plan(model.name, model.shape)
            let memory = try GPUMemoryPlan(plan: plan, precision: .fp16)
            let graph = plan.graph
            let patterns = GPUOpCompiler(plan: plan, memory: memory).attentionPatterns()
            for pattern in patterns.values {
                #expect(memory.inPlaceSplitOutputs.contains(pattern.k))
                #expect(!memory.inPlaceSplitOutputs.contains(pattern.v))
                let k = memory.views[pattern.k]!
                let v = memory.views[pattern.v]!
                let split = try #require(graph.producers()[pattern.k])
                let qkv = memory.views[graph.nodes[split].inputs[0]!]!
                #expect(k.buffer == qkv.buffer && k.strides == qkv.strides && k.element == .f16)
                // V [B, heads, d, N]: channel (head * d + c) stride 1, pixels heads * d apart.
                let (heads, d) = (v.shape[1], v.shape[2])
                #expect(v.strides[1] == d && v.strides[2] == 1 && v.strides[3] == heads * d && v.element == .f16)
            }
            #expect(patterns.count == (model.name.contains("26") ? 2 : 1))
        }
    }

    /// The emulated plan equals the CPU backend, fused attention or not (unfused, the MatMuls and the Transpose read
    /// the in-place Q/K and the head-split V through strides).
    @Test(arguments: [true, false])
    func emulatedPlanMatchesTheCPUBackend(fusedAttention: Bool) throws {
        // The trained models (two heads) at a small size, with the fused attention only: the emulator is slow.
        let families = Self.familyModels.filter { $0.name.hasSuffix("dynamic") && fusedAttention }
        let cases =
            [("y11n-static", [1, 3, 128, 128]), ("y26n-static", [1, 3, 128, 128]), ("y26n-dynamic", [2, 3, 64, 96])]
            + families.map { ($0.name, [2, 3, 32, 64]) }
        for (name, shape) in cases {
            let plan = try Self.plan(name, shape)
            let input = BackendFixtures.input(count: shape.reduce(1, *), seed: 7)
            let reference = try CPUExecutor(plan: plan).run(input: input)
            let gpu = try GPUPlanTests.emulate(plan, precision: .fp16, input: input, fusedAttention: fusedAttention)
            let error = GPUPlanTests.relativeError(gpu, reference)
            #expect(error < 1e-2, "\(name) \(shape) fused \(fusedAttention): relative error \(error)")
        }
    }
}
