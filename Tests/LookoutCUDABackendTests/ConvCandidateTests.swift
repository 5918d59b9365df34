import LookoutModel
import Testing

@testable import LookoutCUDABackend

/// The tuner's candidate lists for the shapes model at batch 32: the large mma tiles and the wgmma tiles are
/// offered wherever the tensor cores apply and the tile is not wider than the layer's output channels.
@Suite struct ConvCandidateTests {
    static func convolutions(batch: Int) throws -> [ConvOp] {
        let model = try DetectionModel(path: BackendFixtures.dynamicModel)
        let plan = try model.plan(forInputShape: [batch, 3, 640, 640])
        let memory = try GPUMemoryPlan(plan: plan, precision: .fp16)
        let compiler = GPUOpCompiler(plan: plan, memory: memory)
        var pool = ConstantPool()
        return try compiler.compile(constants: &pool).compactMap {
            if case .conv(let c) = $0 { return c }
            return nil
        }
    }

    @Test func newTilesAreCandidatesOfTheWideLayers() throws {
        let convs = try Self.convolutions(batch: 32)
        var wide = 0
        for conv in convs {
            let tensorCores = conv.candidates.contains {
                if case .mma = $0 { return true }
                return false
            }
            let large = Set(
                conv.candidates.compactMap {
                    if case .mma(let t) = $0, EngineKernelSource.largeTiles.contains(t) { return t }
                    return nil
                })
            let wgmma = Set(
                conv.candidates.compactMap {
                    if case .wgmma(let t) = $0 { return t }
                    return nil
                })
            guard tensorCores else {
                #expect(large.isEmpty && wgmma.isEmpty, "\(conv.signature)")
                continue
            }
            let cout = Int(conv.params.outC)
            var widest = 16
            while widest < cout && widest < EngineKernelSource.channelPad { widest *= 2 }
            #expect(large == Set(EngineKernelSource.largeTiles.filter { $0.bn <= widest }), "\(conv.signature)")
            #expect(wgmma == Set(EngineKernelSource.wgmmaTiles.filter { $0.bn <= widest }), "\(conv.signature)")
            #expect(conv.candidates.last == .direct)
            if cout >= 64 {
                wide += 1
                #expect(
                    large.contains { $0.bm == 128 && $0.bn == 64 && $0.wm == 64 }
                        && wgmma.contains { $0.bm == 128 && $0.bn == 64 })
            }
            if cout >= 128 {
                #expect(
                    large.contains { $0.bm == 128 && $0.bn == 128 } && wgmma.contains { $0.bm == 128 && $0.bn == 128 })
            }
        }
        #expect(wide >= 20, "\(wide) convolutions with 64 or more output channels")
        // The default kernel is still a 64x64 mma tile (wgmma is never chosen without the tuner).
        #expect(
            !convs.contains {
                if case .wgmma = $0.kernel { return true }
                return false
            })
    }

    /// The halo kernel is offered to every 3x3 convolution of stride 1 or 2 with input channels in whole chunks,
    /// only with its own stride; the first-layer kernel to the 3-channel first layer alone.
    @Test func haloAndFirstLayerTilesAreCandidatesOfThe3x3Layers() throws {
        let convs = try Self.convolutions(batch: 32)
        var halo = 0
        for conv in convs {
            let p = conv.params
            let tiles = conv.candidates.compactMap {
                if case .halo(let t) = $0 { return t }
                return nil
            }
            let first = conv.candidates.compactMap {
                if case .first(let t) = $0 { return t }
                return nil
            }
            let tensorCores = conv.candidates.contains {
                if case .mma = $0 { return true }
                return false
            }
            if p.kH == 3 && p.kW == 3 && tensorCores && p.inC % 16 == 0 {
                #expect(!tiles.isEmpty, "\(conv.signature)")
                halo += 1
            }
            #expect(
                tiles.allSatisfy { $0.stride == Int(p.strideH) && Int(p.inC) % $0.ch == 0 && p.kH == 3 },
                "\(conv.signature)")
            if p.inC == 3 {
                #expect(
                    first.map(\.co).sorted().first == 16 && first.allSatisfy { $0.stride == 2 }, "\(conv.signature)")
            } else {
                #expect(first.isEmpty, "\(conv.signature)")
            }
        }
        #expect(halo >= 30, "\(halo) convolutions with halo candidates")
        // The pointwise kernel: the 1x1 layers with at most 256 input channels, each offered one KMAX family.
        for conv in convs {
            let p = conv.params
            let tiles = conv.candidates.compactMap {
                if case .pointwise(let t) = $0 { return t }
                return nil
            }
            let tensorCores = conv.candidates.contains {
                if case .mma = $0 { return true }
                return false
            }
            #expect(
                tiles.isEmpty != (p.kH == 1 && tensorCores && p.inC % 16 == 0 && p.inC <= 256), "\(conv.signature)")
            #expect(
                Set(tiles.map(\.kMax)).count <= 1 && tiles.allSatisfy { Int(p.inC) <= $0.kMax }, "\(conv.signature)")
        }
    }

    /// Tuning-cache keys name one kernel each.
    @Test func keysAreDistinctAndStable() {
        let kernels: [ConvKernel] =
            EngineKernelSource.convTiles.map { .mma($0) } + EngineKernelSource.wgmmaTiles.map { .wgmma($0) }
            + EngineKernelSource.haloTiles.map { .halo($0) } + EngineKernelSource.firstTiles.map { .first($0) }
            + EngineKernelSource.pointwiseTiles.map { .pointwise($0) }
        #expect(Set(kernels.map(\.key)).count == kernels.count)
        #expect(ConvKernel.wgmma(EngineKernelSource.wgmmaTiles[0]).key == "lookout_conv_wgmma_128x128x32_s4")
        #expect(ConvKernel.mma(EngineKernelSource.largeTiles[1]).key == "lookout_conv_mma_128x128x32_64x32_s3_b2")
    }
}

/// The tuner's second look at close calls: only candidates within 15% of the fastest (four at most) are timed
/// again, and each keeps the best of its new times.
@Suite struct CloseCallTests {
    @Test func closeCandidatesAreTimedAgainAndKeepTheirBest() {
        let kernels: [ConvKernel] = EngineKernelSource.haloTiles.prefix(6).map { .halo($0) }
        let first: [(kernel: ConvKernel, ms: Double)] = zip(kernels, [1.00, 1.10, 1.14, 1.20, 1.05, 1.13]).map {
            ($0, $1)
        }
        var asked: [ConvKernel: [Int]] = [:]
        let result = CUDAEngine.closeCalls(first) { kernel, repeats in
            asked[kernel, default: []].append(repeats)
            // Re-timed, candidate 4 (first 1.05) turns out the fastest.
            return kernel == kernels[4] ? 0.9 : 1.5
        }
        // Within 15% of 1.00: 1.00, 1.05, 1.10, 1.13, 1.14 -> the four fastest of them.
        #expect(Set(asked.keys) == [kernels[0], kernels[4], kernels[1], kernels[5]])
        #expect(asked.values.allSatisfy { $0 == [30, 30, 30] })
        #expect(result.min { $0.ms < $1.ms }?.kernel == kernels[4])
        #expect(result[2].ms == 1.14 && result[3].ms == 1.20)  // not re-timed
        #expect(result[0].ms == 1.5)
        // One candidate alone is not timed again.
        var calls = 0
        _ = CUDAEngine.closeCalls([(kernels[0], 1.0), (kernels[1], 2.0)]) { _, _ in
            calls += 1
            return 0
        }
        #expect(calls == 0)
    }
}
