import CLookoutCUDA
import LookoutCUDA
import Testing

@testable import LookoutCUDABackend

@Suite struct EngineKernelSourceTests {
    /// Lays out `fields` with C rules (arrays as `name[n]`); returns (offsets by name, size).
    static func cLayout(_ fields: [(String, String)]) -> (offsets: [String: Int], size: Int) {
        var offset = 0
        var offsets: [String: Int] = [:]
        var alignment = 1
        for (type, declarator) in fields {
            let size = type == "int" || type == "float" || type == "unsigned" ? 4 : 8
            var name = declarator
            var count = 1
            if let open = declarator.firstIndex(of: "[") {
                name = String(declarator[..<open])
                count = Int(declarator[declarator.index(after: open)...].dropLast()) ?? 1
            }
            offset = (offset + size - 1) / size * size
            offsets[name] = offset
            offset += size * count
            alignment = max(alignment, size)
        }
        return (offsets, (offset + alignment - 1) / alignment * alignment)
    }

    @Test func convParamsMatchTheHeader() {
        let (offsets, size) = Self.cLayout(EngineKernelSource.convFields)
        #expect(size == MemoryLayout<LookoutConvParams>.size)
        #expect(offsets["y"] == MemoryLayout<LookoutConvParams>.offset(of: \.y))
        #expect(offsets["ysW"] == MemoryLayout<LookoutConvParams>.offset(of: \.ysW))
        #expect(offsets["batch"] == MemoryLayout<LookoutConvParams>.offset(of: \.batch))
        #expect(offsets["hasResidual"] == MemoryLayout<LookoutConvParams>.offset(of: \.hasResidual))
        #expect(offsets["kPad"] == MemoryLayout<LookoutConvParams>.offset(of: \.kPad))
    }

    @Test func elementwiseAndSoftmaxParamsMatchTheHeader() {
        let (e, eSize) = Self.cLayout(EngineKernelSource.elementwiseFields)
        #expect(eSize == MemoryLayout<LookoutElementwiseParams>.size)
        #expect(e["yStride"] == MemoryLayout<LookoutElementwiseParams>.offset(of: \.yStride))
        #expect(e["count"] == MemoryLayout<LookoutElementwiseParams>.offset(of: \.count))
        #expect(e["inW"] == MemoryLayout<LookoutElementwiseParams>.offset(of: \.inW))
        #expect(e["divShift"] == MemoryLayout<LookoutElementwiseParams>.offset(of: \.divShift))
        let (s, sSize) = Self.cLayout(EngineKernelSource.softmaxFields)
        #expect(sSize == MemoryLayout<LookoutSoftmaxParams>.size)
        #expect(s["outer"] == MemoryLayout<LookoutSoftmaxParams>.offset(of: \.outer))
        #expect(s["yHalf"] == MemoryLayout<LookoutSoftmaxParams>.offset(of: \.yHalf))
    }

    @Test func matMulAndTopKParamsMatchTheHeader() {
        let (m, mSize) = Self.cLayout(EngineKernelSource.matMulFields)
        #expect(mSize == MemoryLayout<LookoutMatMulParams>.size)
        #expect(m["yBatch"] == MemoryLayout<LookoutMatMulParams>.offset(of: \.yBatch))
        #expect(m["yCol"] == MemoryLayout<LookoutMatMulParams>.offset(of: \.yCol))
        #expect(m["kv"] == MemoryLayout<LookoutMatMulParams>.offset(of: \.kv))
        #expect(m["yHalf"] == MemoryLayout<LookoutMatMulParams>.offset(of: \.yHalf))
        let (t, tSize) = Self.cLayout(EngineKernelSource.topKFields)
        #expect(tSize == MemoryLayout<LookoutTopKParams>.size)
        #expect(t["isElem"] == MemoryLayout<LookoutTopKParams>.offset(of: \.isElem))
        #expect(t["largest"] == MemoryLayout<LookoutTopKParams>.offset(of: \.largest))
    }

    @Test func nmsParamsMatchTheHeader() {
        let (n, size) = Self.cLayout(NMSKernelSource.fields)
        #expect(size == MemoryLayout<LookoutNMSParams>.size)
        #expect(n["iouThreshold"] == MemoryLayout<LookoutNMSParams>.offset(of: \.iouThreshold))
        #expect(n["confidence"] == MemoryLayout<LookoutNMSParams>.offset(of: \.confidence))
        #expect(n["capacity"] == MemoryLayout<LookoutNMSParams>.offset(of: \.capacity))
    }

    @Test func tilesAreConsistent() {
        for tile in EngineKernelSource.convTiles {
            #expect(tile.bm % tile.wm == 0 && tile.bn % tile.wn == 0 && tile.wm % 16 == 0 && tile.wn % 16 == 0)
            #expect(tile.bn <= EngineKernelSource.channelPad)
            #expect(tile.sharedBytes <= 227 * 1024, "\(tile)")
            #expect(tile.threads <= 256 && (tile.wn / 8) % 2 == 0, "\(tile)")
            // Registers: 65536 per SM over threads x blocks asked for must leave at least 128 a thread.
            #expect(tile.minBlocks == 0 || 65536 / (tile.threads * tile.minBlocks) >= 128, "\(tile)")
        }
        #expect(Set(EngineKernelSource.convTiles.map(\.entryPoint)).count == EngineKernelSource.convTiles.count)
        for tile in EngineKernelSource.wgmmaTiles {
            #expect(
                [64, 128].contains(tile.bm) && [32, 64, 128].contains(tile.bn) && [32, 64].contains(tile.bk), "\(tile)")
            #expect(tile.stages >= 3 && tile.sharedBytes <= 227 * 1024, "\(tile)")
            #expect(tile.bn <= EngineKernelSource.channelPad && EngineKernelSource.kTile % tile.bk == 0)
        }
        #expect(Set(EngineKernelSource.wgmmaTiles.map(\.entryPoint)).count == EngineKernelSource.wgmmaTiles.count)
    }

    @Test func wgmmaWrapperListsEveryAccumulator() {
        let text = EngineKernelSource.wgmmaWrapper(n: 128)
        #expect(text.contains("wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16 {%0, %1, "))
        #expect(text.contains("%63}, %64, %65, p, 1, 1, 0, 0;"))
        #expect(text.contains("setp.ne.b32 p, %66, 0;"))
        #expect(text.contains("\"+f\"(d[63])") && !text.contains("d[64]"))
    }

    // The kernels that no generated entry point instantiates: a Kernels/ file left out of the module would still
    // compile, and fail only when EngineKernels looks the function up on a GPU.
    /// The kernels the engine loads from its module by name.
    static let kernelsLoadedByName = [
        "lookout_conv_splitk_epilogue", "lookout_conv_direct", "lookout_conv_cudnn_epilogue", "lookout_elementwise",
        "lookout_spatial", "lookout_softmax", "lookout_softmax_dot", "lookout_fill_random", "lookout_max_difference",
        "lookout_matmul", "lookout_attention", "lookout_reduce_max", "lookout_topk", "lookout_gather_elements",
    ]

    @Test func engineModuleDefinesTheKernelsLoadedByName() {
        let source = EngineKernelSource.source
        for name in Self.kernelsLoadedByName {
            #expect(source.contains(") \(name)("), "\(name)")
        }
        #expect(NMSKernelSource.source.contains(") lookout_end_to_end("))
        // The host's limits are the kernels' array sizes.
        #expect(source.contains("#define TOPK_MAX \(EngineKernelSource.topKLimit)\n"))
        #expect(source.contains("#define ATT_D \(EngineKernelSource.attentionKeyLimit)\n"))
        #expect(source.contains("#define ATT_DV \(EngineKernelSource.attentionValueLimit)\n"))
    }

    // Kernels/nms.cu sizes its launch bounds and shared arrays with macros; the numbers are NMSKernelSource's.
    @Test func nmsSizesComeFromTheSwiftConstants() {
        let source = NMSKernelSource.source
        #expect(source.contains("#define LOOKOUT_NMS_THREADS \(NMSKernelSource.threads)\n"))
        #expect(source.contains("#define LOOKOUT_NMS_SHARED_KEYS \(NMSKernelSource.sharedKeys)\n"))
        #expect(source.contains("#define LOOKOUT_NMS_MAX_DETECTIONS \(NMSKernelSource.maxDetectionsLimit)\n"))
        #expect(source.contains("__launch_bounds__(LOOKOUT_NMS_THREADS) lookout_nms("))
    }

    static var nvrtc: NVRTC? {
        if case .success(let nvrtc) = NVRTC.load() { return nvrtc }
        return nil
    }

    // Runs where NVRTC is installed (LOOKOUT_NVRTC_PATH on a developer's machine, the GPU machine); CI has none.
    @Test(.enabled(if: EngineKernelSourceTests.nvrtc != nil, "NVRTC is not installed"))
    func engineCompilesForHopper() throws {
        let nvrtc = try #require(Self.nvrtc)
        let output = try nvrtc.compile(
            source: EngineKernelSource.source, name: "engine.cu",
            options: ["--gpu-architecture=sm_90", "--std=c++17", "--ptxas-options=-v"], kind: .cubin)
        #expect(output.image.count > 10_000)
        // Every kernel loaded by name is in the cubin's symbol table (NUL-terminated names; `extern "C"`, unmangled).
        for name in Self.kernelsLoadedByName {
            #expect(output.image.firstRange(of: Array(name.utf8) + [0]) != nil, "\(name) is not in the cubin")
        }
        // ptxas's report per kernel: no tile (the fragment-prefetch variants hold two sets of fragments) may spill.
        let spills = output.log.split(separator: "\n").filter {
            $0.contains("spill") && !$0.contains(" 0 bytes spill stores, 0 bytes spill loads")
        }
        #expect(output.log.contains("spill"), "ptxas printed no register report")
        #expect(spills.isEmpty, "\(spills.prefix(4).joined(separator: "\n"))")
        // Nor keeps arrays in local memory (the gather's per-vector state must stay in registers).
        let stacks = output.log.split(separator: "\n").filter {
            $0.contains("stack frame") && !$0.contains(" 0 bytes stack frame")
        }
        #expect(stacks.isEmpty, "\(stacks.prefix(4).joined(separator: "\n"))")
    }

    // The Hopper module needs sm_90a (wgmma); the NVRTC that the GPU machine uses (13.0) must accept it.
    @Test(.enabled(if: EngineKernelSourceTests.nvrtc != nil, "NVRTC is not installed"))
    func wgmmaModuleCompilesForSm90a() throws {
        let nvrtc = try #require(Self.nvrtc)
        // EngineKernels loads the module only where NVRTC lists sm_90 (or lists nothing).
        #expect(nvrtc.supportedArchitectures.isEmpty || nvrtc.supportedArchitectures.contains(90))
        let output = try nvrtc.compile(
            source: EngineKernelSource.wgmmaSource, name: "engine_wgmma.cu",
            options: [
                "--gpu-architecture=\(EngineKernelSource.wgmmaArchitecture)", "--std=c++17", "--ptxas-options=-v",
            ],
            kind: .cubin)
        #expect(output.kind == .cubin && output.image.count > 10_000)
        let local = output.log.split(separator: "\n").filter {
            ($0.contains("spill") && !$0.contains(" 0 bytes spill stores, 0 bytes spill loads"))
                || ($0.contains("stack frame") && !$0.contains(" 0 bytes stack frame"))
        }
        #expect(output.log.contains("stack frame") && local.isEmpty, "\(local.prefix(4).joined(separator: "\n"))")
        // ptxas says so when it has to serialize wgmma (a pipeline it cannot prove safe): slow, but not wrong.
        #expect(!output.log.contains("serializ"), "\(output.log)")
        let ptx = try nvrtc.compile(
            source: EngineKernelSource.wgmmaSource, name: "engine_wgmma.cu",
            options: ["--gpu-architecture=compute_90a", "--std=c++17"], kind: .ptx)
        let text = String(decoding: ptx.image.prefix { $0 != 0 }, as: UTF8.self)
        for tile in EngineKernelSource.wgmmaTiles { #expect(text.contains(".entry \(tile.entryPoint)(")) }
        #expect(text.contains("wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16"))
        #expect(text.contains("fence.proxy.async.shared::cta"))
    }

    @Test(.enabled(if: EngineKernelSourceTests.nvrtc != nil, "NVRTC is not installed"))
    func nmsCompilesForHopper() throws {
        let nvrtc = try #require(Self.nvrtc)
        let output = try nvrtc.compile(
            source: NMSKernelSource.source, name: "nms.cu", options: ["--gpu-architecture=sm_90", "--std=c++17"],
            kind: .cubin)
        #expect(output.image.count > 1000)
    }
}
