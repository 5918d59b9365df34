import CLookoutCUDA

/// The CUDA C++ of the engine: one module with every kernel the engine launches, compiled once per device with
/// NVRTC and cached on disk. The parameter structs are generated from the same field lists that a test checks
/// against the C header's layouts, so host and device agree on every offset.
package enum EngineKernelSource {
    /// A tile shape of the tensor-core convolution.
    package struct ConvTile: Hashable, Sendable, CustomStringConvertible {
        package let bm: Int, bn: Int, wm: Int, wn: Int, stages: Int
        /// K per pipeline stage (32 or 64).
        package var bk: Int = 32
        /// Blocks per SM asked of the register allocator (`__launch_bounds__`' second argument); 0: none.
        package var minBlocks: Int = 0
        /// The input (A) goes through L1 (`cp.async.ca`) instead of L2 only (`.cg`): a 3x3 layer's taps re-read
        /// the rows the previous tap read, shifted by a pixel.
        package var l1: Bool = false
        /// The next k16 step's fragments are loaded (ldmatrix) before this step's mma are issued.
        package var prefetch: Bool = false
        package var threads: Int { (bm / wm) * (bn / wn) * 32 }
        package var sharedBytes: Int { stages * (bm + bn) * (bk + 8) * 2 }
        package var entryPoint: String {
            "lookout_conv_mma_\(bm)x\(bn)x\(bk)_\(wm)x\(wn)_s\(stages)" + (minBlocks > 0 ? "_b\(minBlocks)" : "")
                + (l1 ? "_l1" : "") + (prefetch ? "_pf" : "")
        }
        package var description: String {
            "\(bm)x\(bn)x\(bk) (warp \(wm)x\(wn), \(stages) stages\(l1 ? ", A through L1" : "")\(prefetch ? ", fragment prefetch" : ""))"
        }
        var launchBounds: String { minBlocks > 0 ? "\(threads), \(minBlocks)" : "\(threads)" }
    }

    /// The tiles the tuner chooses from, per layer.
    package static let convTiles: [ConvTile] =
        [
            // k 32 per stage (the winners of the first H100 tuning; 128x128 and 128x64 never won and were dropped).
            ConvTile(bm: 64, bn: 128, wm: 32, wn: 64, stages: 3),
            ConvTile(bm: 64, bn: 64, wm: 32, wn: 32, stages: 4),
            ConvTile(bm: 128, bn: 32, wm: 32, wn: 32, stages: 3),
            ConvTile(bm: 64, bn: 32, wm: 32, wn: 16, stages: 4),
            ConvTile(bm: 128, bn: 16, wm: 32, wn: 16, stages: 4),
            ConvTile(bm: 32, bn: 64, wm: 16, wn: 32, stages: 4),
            ConvTile(bm: 32, bn: 32, wm: 16, wn: 16, stages: 4),
            // k 64 per stage: two more k16 steps per barrier, fewer pipeline waits for long K.
            ConvTile(bm: 128, bn: 64, wm: 64, wn: 32, stages: 3, bk: 64),
            ConvTile(bm: 64, bn: 128, wm: 32, wn: 64, stages: 3, bk: 64),
            ConvTile(bm: 64, bn: 64, wm: 32, wn: 32, stages: 3, bk: 64),
            ConvTile(bm: 128, bn: 32, wm: 32, wn: 32, stages: 3, bk: 64),
            ConvTile(bm: 64, bn: 32, wm: 32, wn: 16, stages: 4, bk: 64),
            ConvTile(bm: 128, bn: 16, wm: 32, wn: 16, stages: 4, bk: 64),
            ConvTile(bm: 32, bn: 64, wm: 16, wn: 32, stages: 4, bk: 64),
        ] + largeTiles

    /// Large tiles with large warp tiles (64x32, 64x64, 32x64): more mma per ldmatrix and per barrier, for the
    /// wide, long layers (Cout 32...256, tens or hundreds of thousands of pixels at batch 32). `minBlocks` caps
    /// the registers (2 x 256 or 3 x 128 threads: 128 or 168 a thread) so that more blocks share an SM.
    package static let largeTiles: [ConvTile] =
        [
            ConvTile(bm: 128, bn: 128, wm: 64, wn: 32, stages: 3),
            ConvTile(bm: 128, bn: 128, wm: 64, wn: 32, stages: 3, minBlocks: 2),
            ConvTile(bm: 128, bn: 128, wm: 64, wn: 32, stages: 4),
            ConvTile(bm: 128, bn: 128, wm: 64, wn: 64, stages: 4),
            ConvTile(bm: 128, bn: 64, wm: 64, wn: 32, stages: 4),
            ConvTile(bm: 128, bn: 64, wm: 64, wn: 32, stages: 4, minBlocks: 3),
            ConvTile(bm: 256, bn: 64, wm: 64, wn: 32, stages: 3),
            ConvTile(bm: 64, bn: 128, wm: 32, wn: 64, stages: 4),
            ConvTile(bm: 128, bn: 128, wm: 64, wn: 32, stages: 3, bk: 64),
            ConvTile(bm: 128, bn: 64, wm: 64, wn: 32, stages: 4, bk: 64),
            ConvTile(bm: 256, bn: 64, wm: 64, wn: 32, stages: 3, bk: 64),
            ConvTile(bm: 256, bn: 32, wm: 64, wn: 32, stages: 4),
        ] + variantTiles

    /// The tiles that win most layers at batch 32 (H100, 2026-11-25), again with the input through L1, with
    /// fragment prefetch, and with both.
    package static let variantTiles: [ConvTile] = [
        ConvTile(bm: 64, bn: 64, wm: 32, wn: 32, stages: 3, bk: 64),
        ConvTile(bm: 128, bn: 128, wm: 64, wn: 32, stages: 3),
        ConvTile(bm: 128, bn: 64, wm: 64, wn: 32, stages: 4),
        ConvTile(bm: 128, bn: 32, wm: 32, wn: 32, stages: 3),
        ConvTile(bm: 128, bn: 16, wm: 32, wn: 16, stages: 4),
        ConvTile(bm: 64, bn: 32, wm: 32, wn: 16, stages: 4),
    ].flatMap { tile in
        [(true, false), (false, true), (true, true)].map { l1, prefetch in
            var variant = tile
            variant.l1 = l1
            variant.prefetch = prefetch
            return variant
        }
    }

    /// Tiles that also come split over K (for layers with few output tiles and long K: the deep, small layers).
    package static let splitTiles: [ConvTile] = convTiles.filter {
        $0.bm <= 64 && $0.bn <= 64 && $0.minBlocks == 0 && !$0.l1 && !$0.prefetch
            && ($0.bk == 32 || $0.bm >= 32 && $0.bn >= 64)
    }
    /// The split counts the tuner tries.
    package static let splitCounts = [2, 3, 4, 6, 8]

    /// Output channels of the few-input-channel kernel's variants.
    package static let smallConvWidths = [16, 32, 64]
    /// Repacked weight rows are padded to a multiple of this (the largest k tile).
    package static let kTile = 64
    /// Output channels are padded to a multiple of this (the widest tile) in the repacked weights and biases.
    package static let channelPad = 128

    static let convFields: [(String, String)] = [
        ("unsigned long long", "x"), ("unsigned long long", "w16"), ("unsigned long long", "w32"),
        ("unsigned long long", "bias"), ("unsigned long long", "residual"), ("unsigned long long", "y"),
        ("long long", "xsN"), ("long long", "xsC"), ("long long", "xsH"), ("long long", "xsW"),
        ("long long", "rsN"), ("long long", "rsC"), ("long long", "rsH"), ("long long", "rsW"),
        ("long long", "ysN"), ("long long", "ysC"), ("long long", "ysH"), ("long long", "ysW"),
        ("int", "batch"), ("int", "inC"), ("int", "inH"), ("int", "inW"),
        ("int", "outC"), ("int", "outH"), ("int", "outW"), ("int", "group"),
        ("int", "kH"), ("int", "kW"), ("int", "strideH"), ("int", "strideW"),
        ("int", "padT"), ("int", "padL"), ("int", "dilH"), ("int", "dilW"),
        ("int", "K"), ("int", "kPad"), ("int", "M"), ("int", "silu"),
        ("int", "xHalf"), ("int", "yHalf"), ("int", "rHalf"), ("int", "hasResidual"),
        ("unsigned long long", "workspace"), ("int", "splits"), ("int", "reserved"),
    ]
    static let elementwiseFields: [(String, String)] = [
        ("unsigned long long", "a"), ("unsigned long long", "b"), ("unsigned long long", "c"),
        ("unsigned long long", "y"),
        ("long long", "shape[6]"), ("long long", "aStride[6]"), ("long long", "bStride[6]"),
        ("long long", "yStride[6]"),
        ("long long", "count"), ("int", "op"), ("int", "aHalf"), ("int", "bHalf"), ("int", "yHalf"),
        ("int", "kH"), ("int", "kW"), ("int", "strideH"), ("int", "strideW"), ("int", "padT"), ("int", "padL"),
        ("int", "dilH"), ("int", "dilW"), ("int", "inH"), ("int", "inW"), ("unsigned", "divMul[6]"),
        ("unsigned", "divShift[6]"),
    ]
    static let softmaxFields: [(String, String)] = [
        ("unsigned long long", "x"), ("unsigned long long", "y"),
        ("long long", "xsOuter"), ("long long", "xsLength"), ("long long", "xsInner"),
        ("long long", "ysOuter"), ("long long", "ysLength"), ("long long", "ysInner"),
        ("int", "outer"), ("int", "length"), ("int", "inner"), ("int", "xHalf"), ("int", "yHalf"), ("int", "reserved"),
    ]

    static let matMulFields: [(String, String)] = [
        ("unsigned long long", "a"), ("unsigned long long", "b"), ("unsigned long long", "c"),
        ("unsigned long long", "y"),
        ("long long", "aBatch[2]"), ("long long", "bBatch[2]"), ("long long", "cBatch[2]"), ("long long", "yBatch[2]"),
        ("long long", "aRow"), ("long long", "aCol"), ("long long", "bRow"), ("long long", "bCol"),
        ("long long", "cRow"), ("long long", "cCol"), ("long long", "yRow"), ("long long", "yCol"),
        ("int", "batch0"), ("int", "batch1"), ("int", "m"), ("int", "n"),
        ("int", "k"), ("int", "kv"), ("int", "aHalf"), ("int", "bHalf"),
        ("int", "cHalf"), ("int", "yHalf"), ("int", "reserved0"), ("int", "reserved1"),
    ]
    static let topKFields: [(String, String)] = [
        ("unsigned long long", "x"), ("unsigned long long", "values"), ("unsigned long long", "indices"),
        ("long long", "xsRow"), ("long long", "xsElem"), ("long long", "vsRow"), ("long long", "vsElem"),
        ("long long", "isRow"), ("long long", "isElem"),
        ("int", "rows"), ("int", "length"), ("int", "k"), ("int", "xHalf"),
        ("int", "vHalf"), ("int", "largest"), ("int", "reserved0"), ("int", "reserved1"),
    ]

    static func declaration(_ name: String, _ fields: [(String, String)]) -> String {
        "struct \(name) {\n" + fields.map { "    \($0.0) \($0.1);\n" }.joined() + "};\n"
    }

    /// The whole module.
    package static var source: String {
        var text = "// Generated by Lookout (EngineKernelSource.swift).\n"
        text += declaration("LookoutConvParams", convFields)
        text += declaration("LookoutElementwiseParams", elementwiseFields)
        text += declaration("LookoutSoftmaxParams", softmaxFields)
        text += declaration("LookoutMatMulParams", matMulFields)
        text += declaration("LookoutTopKParams", topKFields)
        text += common + conv + halo + first + pointwise + cudnnEpilogue + elementwise + attention
        for tile in convTiles {
            text += """
                extern "C" __global__ void __launch_bounds__(\(tile.launchBounds)) \(tile.entryPoint)(const LookoutConvParams p) {
                    convMMA<\(tile.bm), \(tile.bn), \(tile.bk), \(tile.wm), \(tile.wn), \(tile.stages), false, \(tile.l1), \(tile.prefetch)>(p);
                }

                """
        }
        text += haloEntryPoints + pointwiseEntryPoints
        for tile in splitTiles {
            text += """
                extern "C" __global__ void __launch_bounds__(\(tile.launchBounds)) \(tile.entryPoint)_splitk(const LookoutConvParams p) {
                    convMMA<\(tile.bm), \(tile.bn), \(tile.bk), \(tile.wm), \(tile.wn), \(tile.stages), true, \(tile.l1), \(tile.prefetch)>(p);
                }

                """
        }
        for width in smallConvWidths {
            text += """
                extern "C" __global__ void __launch_bounds__(128) lookout_conv_small_\(width)(const LookoutConvParams p) {
                    convSmall<\(width)>(p);
                }

                """
        }
        text += """
            extern "C" __global__ void __launch_bounds__(256) lookout_conv_direct(const LookoutConvParams p) { convDirect(p); }

            """
        return text
    }
}
