/// The pointwise kernel: 1x1 convolutions (stride 1, no padding) with K = input channels small enough to load a
/// pixel tile's whole row at once. At 160² and 80² these layers move tens of MB and do little arithmetic per byte;
/// the implicit GEMM spends a block's life on one load, one short K loop and one store, with few warps resident,
/// and reaches a third of the memory bandwidth. Here a block stays resident over several pixel tiles (blockIdx.x,
/// then every gridDim.x-th tile), keeps its BN weight rows in shared memory, and loads the next tile's pixels while
/// it computes and stores the current one.
extension EngineKernelSource {
    /// BM pixels x BN output channels a tile, K up to KMAX, four warps (WARPS_N across the channels), about
    /// `tilesPerBlock` tiles a block.
    package struct PointwiseTile: Hashable, Sendable, CustomStringConvertible {
        package let bm: Int, bn: Int, kMax: Int, warpsN: Int, tilesPerBlock: Int
        /// The next k16 step's fragments are loaded while this step's mma run.
        package var prefetch = false
        package static let threads = 128
        var rowHalves: Int { kMax + 8 }
        package var sharedBytes: Int { (2 * bm + bn) * rowHalves * 2 }
        /// The kernel's entry point (the same for every `tilesPerBlock`: only the grid differs).
        package var entryPoint: String {
            "lookout_conv_pointwise_\(bm)x\(bn)_k\(kMax)_w\(warpsN)" + (prefetch ? "_pf" : "")
        }
        package var key: String { entryPoint + "_t\(tilesPerBlock)" }
        package var description: String {
            "pointwise \(bm)x\(bn) k\(kMax)" + (warpsN > 1 ? " w\(warpsN)" : "") + " t\(tilesPerBlock)"
                + (prefetch ? " pf" : "")
        }

        /// A 1x1 convolution of stride 1 without padding, groups or dilation, whose input channels are a multiple of
        /// 16 up to KMAX and whose output pixels are the input's.
        package func runs(
            kernel: (h: Int, w: Int), stride: (h: Int, w: Int), pads: (top: Int, left: Int, bottom: Int, right: Int),
            group: Int,
            inputChannels: Int
        ) -> Bool {
            kernel == (1, 1) && stride == (1, 1) && pads == (0, 0, 0, 0) && group == 1 && inputChannels % 16 == 0
                && inputChannels <= kMax && (kMax == 64 || inputChannels > kMax / 2)
        }

        func grid(m: Int, outC: Int) -> (Int, Int) {
            let tiles = (m + bm - 1) / bm
            return ((tiles + tilesPerBlock - 1) / tilesPerBlock, (outC + bn - 1) / bn)
        }
    }

    package static let pointwiseTiles: [PointwiseTile] =
        [
            (128, 16, 64, 1), (128, 32, 64, 1), (128, 64, 64, 2), (64, 64, 128, 2), (128, 32, 128, 1),
            (128, 64, 128, 2),
            (64, 64, 256, 2), (64, 128, 256, 2),
        ].flatMap { bm, bn, kMax, warpsN in
            [2, 4].map { PointwiseTile(bm: bm, bn: bn, kMax: kMax, warpsN: warpsN, tilesPerBlock: $0) }
        }
        + [(128, 32, 64, 1), (128, 64, 64, 2), (64, 64, 128, 2), (64, 64, 256, 2)].map { bm, bn, kMax, warpsN in
            // The winners at batch 32 (H100, 2026-11-25) with fragment prefetch.
            var tile = PointwiseTile(bm: bm, bn: bn, kMax: kMax, warpsN: warpsN, tilesPerBlock: 2)
            tile.prefetch = true
            return tile
        }

    /// One kernel per shape (the tiles per block only change the grid).
    static var pointwiseKernels: [PointwiseTile] {
        var seen = Set<String>()
        return pointwiseTiles.filter { seen.insert($0.entryPoint).inserted }
    }

    /// Kernels/pointwise.cuh: `convPointwise`, which `pointwiseEntryPoints` instantiates per kernel.
    static let pointwise = KernelFiles.text(PackageResources.pointwise_cuh)

    static var pointwiseEntryPoints: String {
        pointwiseKernels.map { tile in
            """
            extern "C" __global__ void __launch_bounds__(\(PointwiseTile.threads)) \(tile.entryPoint)(const LookoutConvParams p) {
                convPointwise<\(tile.bm), \(tile.bn), \(tile.kMax), \(tile.warpsN), \(tile.prefetch)>(p);
            }

            """
        }.joined()
    }
}
