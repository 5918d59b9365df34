import CLookoutCUDA
import Foundation
import LookoutCPU
import LookoutCUDA
import LookoutModel
import Testing

@testable import LookoutCUDABackend

/// cuDNN as a convolution candidate, without a GPU and without cuDNN: the missing library's one-line reason, the
/// descriptors' parameters, the KRSC weights, the in-place epilogue (emulated, and compiled by NVRTC).
@Suite struct CUDNNCandidateTests {
    static func compiled(shape: [Int], cudnnWeights: Bool) throws -> (
        ops: [ConvOp], pool: ConstantPool, memory: GPUMemoryPlan
    ) {
        let model = try DetectionModel(path: BackendFixtures.dynamicModel)
        let plan = try model.plan(forInputShape: shape)
        let memory = try GPUMemoryPlan(plan: plan, precision: .fp16)
        var pool = ConstantPool()
        let ops = try GPUOpCompiler(plan: plan, memory: memory, cudnnWeights: cudnnWeights).compile(constants: &pool)
        return (
            ops.compactMap {
                if case .conv(let c) = $0 { return c }
                return nil
            }, pool, memory
        )
    }

    @Test func missingLibraryIsOneLineAndNoLayerGetsCUDNN() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lookout-cudnn-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var search = CUDNN.search(environment: ["LOOKOUT_CUDNN_PATH": folder.path])
        search.useSystemSearch = false
        search.folderPatterns = [folder.path + "/lib*"]
        guard case .failure(let unavailable) = CUDNN.load(search: search) else {
            Issue.record("cuDNN loaded from an empty folder")
            return
        }
        let line = CUDAEngine.cudnnNotUsed(unavailable.description)
        #expect(!line.contains("\n"))
        #expect(line.hasPrefix("cuDNN: not used (cuDNN (libcudnn) not found: looked for libcudnn.so.9"))
        #expect(line.contains("LOOKOUT_CUDNN_PATH=\(folder.path)"))
        // Without cuDNN the compiler makes no KRSC weights and no layer has a cuDNN description or candidate.
        let (ops, pool, _) = try Self.compiled(shape: [1, 3, 64, 64], cudnnWeights: false)
        #expect(
            ops.allSatisfy {
                $0.cudnnShape == nil && $0.denseWeights == .none && !$0.candidates.contains(where: \.isCUDNN)
            })
        let (withCUDNN, poolWithCUDNN, _) = try Self.compiled(shape: [1, 3, 64, 64], cudnnWeights: true)
        #expect(poolWithCUDNN.bytes.count > pool.bytes.count)
        // cuDNN's algorithms come only from a loaded library (per exact problem), never from the compiler.
        #expect(withCUDNN.allSatisfy { !$0.candidates.contains(where: \.isCUDNN) })
    }

    @Test func versionStrings() {
        #expect(CUDNN.versionString(91400) == "9.14.0")
        #expect(CUDNN.versionString(90100) == "9.1.0")
        #expect(CUDNN.versionString(8907) == "8.9.7")
    }

    @Test func tuningCacheFileDependsOnTheCUDNNVersion() {
        let folder = "/tmp/lookout-tuning-names"
        let without = TuningCache(directory: folder, device: "NVIDIA H100", cudnnVersion: 0).file
        let with = TuningCache(directory: folder, device: "NVIDIA H100", cudnnVersion: 91400).file
        let other = TuningCache(directory: folder, device: "NVIDIA H100", cudnnVersion: 91900).file
        #expect(without != with && with != other)
    }

    @Test func descriptorsFollowTheLayer() throws {
        let (ops, _, _) = try Self.compiled(shape: [8, 3, 64, 96], cudnnWeights: true)
        // The head's last layers write the fp32 row-major outputs: not cuDNN's (its result must fit the fp16 output).
        #expect(ops.contains { $0.params.yHalf == 0 })
        #expect(ops.allSatisfy { $0.params.yHalf == 1 || $0.cudnnShape == nil })
        // The 3-channel first layer is (cuDNN may have algorithms where the engine's tensor-core kernel does not).
        #expect(ops.first!.cudnnShape?.input[1] == 3)
        let eligible = ops.filter { $0.cudnnShape != nil }
        #expect(eligible.count >= ops.count / 2, "\(eligible.count) of \(ops.count)")
        for op in eligible {
            let p = op.params
            let shape = try #require(op.cudnnShape)
            #expect(shape.input == [8, Int(p.inC), Int(p.inH), Int(p.inW)])
            #expect(shape.inputStrides == [Int(p.xsN), 1, Int(p.xsH), Int(p.xsW)])
            #expect(shape.filter == [Int(p.outC), Int(p.inC / p.group), Int(p.kH), Int(p.kW)])
            #expect(shape.output == [8, Int(p.outC), Int(p.outH), Int(p.outW)])
            #expect(shape.outputStrides == [Int(p.ysN), 1, Int(p.ysH), Int(p.ysW)])
            #expect(shape.padding == (Int(p.padT), Int(p.padL)) && shape.stride == (Int(p.strideH), Int(p.strideW)))
            #expect(shape.dilation == (Int(p.dilH), Int(p.dilW)) && shape.groups == Int(p.group))
            #expect(shape.unsupportedReason == nil)
            #expect(op.denseWeights != .none)
        }
        // 1x1, 3x3 stride 1 and 2, and a layer writing a channel slice of a concat (pixels wider than its channels).
        #expect(eligible.contains { $0.params.kH == 1 && $0.params.kW == 1 })
        #expect(eligible.contains { $0.params.kH == 3 && $0.params.strideH == 1 && $0.params.padT == 1 })
        #expect(
            eligible.contains { $0.params.kH == 3 && $0.params.strideH == 2 && $0.params.outH * 2 == $0.params.inH })
        let slice = try #require(eligible.first { $0.params.ysW > Int64($0.params.outC) })
        #expect(slice.cudnnShape!.outputStrides[2] == Int(slice.params.ysW) * Int(slice.params.outW))
        #expect(eligible.contains { $0.params.hasResidual != 0 })
    }

    @Test func paddingCUDNNCannotExpressIsRejected() {
        var p = LookoutConvParams()
        (p.batch, p.inC, p.inH, p.inW, p.outC, p.group) = (1, 16, 4, 4, 32, 1)
        (p.kH, p.kW, p.strideH, p.strideW, p.dilH, p.dilW) = (3, 3, 2, 2, 1, 1)
        (p.xsN, p.xsC, p.xsH, p.xsW) = (256, 1, 64, 16)
        (p.ysN, p.ysC, p.ysH, p.ysW) = (128, 1, 64, 32)
        (p.xHalf, p.yHalf) = (1, 1)
        // Pads (0 top, 1 bottom): 2x2 outputs; cuDNN pads both sides alike and would give 1x1.
        (p.padT, p.padL, p.outH, p.outW) = (0, 0, 2, 2)
        #expect(GPUOpCompiler.cudnnShape(p) == nil)
        // Symmetric pads of 1: 2x2, expressible.
        (p.padT, p.padL) = (1, 1)
        let shape = GPUOpCompiler.cudnnShape(p)
        #expect(shape?.padding.h == 1 && shape?.padding.w == 1 && shape?.output == [1, 32, 2, 2])
        // Groups: 16 input channels in 4 groups of 4.
        p.group = 4
        #expect(GPUOpCompiler.cudnnShape(p)?.filter == [32, 4, 3, 3])
        // fp32 output (the head's row-major tensors) or channels-first input: not a candidate.
        p.yHalf = 0
        #expect(GPUOpCompiler.cudnnShape(p) == nil)
        (p.yHalf, p.xsC, p.xsW) = (1, 16, 1)
        #expect(GPUOpCompiler.cudnnShape(p) == nil)
    }

    @Test(arguments: [(8, 16, 3, 3, 1), (6, 12, 1, 1, 1), (8, 4, 3, 3, 4), (5, 3, 2, 3, 1)])
    func krscRepackingMatchesTheIndexFormula(k: Int, c: Int, r: Int, s: Int, groups: Int) {
        let cg = c / groups
        let weights = (0..<(k * cg * r * s)).map { Float($0) }
        let dense = GPUOpCompiler.krscWeights(weights, outChannels: k, channelsPerGroup: cg, kh: r, kw: s)
        // ONNX index of each (k, c, r, s), read back at its KRSC place.
        for ko in 0..<k {
            for ci in 0..<cg {
                for ri in 0..<r {
                    for si in 0..<s {
                        let onnx = ko * cg * r * s + ci * r * s + ri * s + si
                        let krsc = ko * r * s * cg + ri * s * cg + si * cg + ci
                        #expect(dense[krsc] == Float(onnx))
                    }
                }
            }
        }
    }

    @Test func reusedTensorCoreWeightsAreDenseKRSC() throws {
        let (ops, pool, _) = try Self.compiled(shape: [1, 3, 64, 64], cudnnWeights: true)
        let reused = ops.filter { $0.denseWeights == $0.w16 && $0.w16 != .none }
        #expect(!reused.isEmpty)
        for op in reused.prefix(4) {
            let p = op.params
            guard case .constant(let dense) = op.denseWeights, case .constant(let w32) = op.w32 else { continue }
            let count = Int(p.outC * p.K)
            let halves = pool.bytes.withUnsafeBytes { raw in
                (0..<count).map {
                    Float(Float16(bitPattern: raw.load(fromByteOffset: dense + 2 * $0, as: UInt16.self)))
                }
            }
            let floats = pool.bytes.withUnsafeBytes { raw in
                (0..<count).map { raw.load(fromByteOffset: w32 + 4 * $0, as: Float.self) }
            }
            let expected = GPUOpCompiler.krscWeights(
                floats, outChannels: Int(p.outC), channelsPerGroup: Int(p.inC), kh: Int(p.kH), kw: Int(p.kW))
            #expect(halves == expected.map { Float(Float16($0)) })
        }
    }

    /// Every eligible layer on cuDNN (emulated: KRSC fp16 weights, the convolution rounded to fp16, then the epilogue
    /// in place) gives the CPU backend's result within fp16 tolerance.
    @Test func emulatedCUDNNLayersMatchTheCPUBackend() throws {
        let model = try DetectionModel(path: BackendFixtures.dynamicModel)
        let shape = [2, 3, 32, 64]
        let plan = try model.plan(forInputShape: shape)
        let input = BackendFixtures.input(count: shape.reduce(1, *), seed: 5)
        let reference = try CPUExecutor(plan: plan).run(input: input)
        let algorithm = CUDNNAlgorithm(algorithm: 1, mathType: 1, workspaceBytes: 0)
        var used = 0
        let gpu = try GPUPlanTests.emulate(plan, precision: .fp16, input: input, cudnnWeights: true) { op in
            guard op.cudnnShape != nil else { return op.kernel }
            used += 1
            return .cudnn(algorithm)
        }
        #expect(used > 40)
        let error = GPUPlanTests.relativeError(gpu, reference)
        #expect(error < 3e-3, "relative error \(error)")
    }

    @Test func candidateKeysAreStable() {
        let kernel = ConvKernel.cudnn(CUDNNAlgorithm(algorithm: 1, mathType: 1, workspaceBytes: 4096))
        #expect(kernel.key == "cudnn_algo1_math1")
        #expect(kernel.description == "cudnn IMPLICIT_PRECOMP_GEMM")
        #expect(
            ConvKernel.cudnn(CUDNNAlgorithm(algorithm: 6, mathType: 2, workspaceBytes: 0)).key == "cudnn_algo6_math2")
    }

    // The epilogue kernel compiles with the rest of the engine module: `EngineKernelSourceTests.engineCompilesForHopper`
    // finds it in the cubin (one NVRTC compile of the module, not two).
}
