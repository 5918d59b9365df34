/// The halo kernel: 3x3 convolutions (stride 1 or 2) on the tensor cores, reading each input pixel once per
/// block instead of once per tap. The implicit GEMM (`convMMA`) gathers every (pixel, tap) vector from global
/// memory, nine 16-byte loads and their index arithmetic per pixel and 16 channels; on layers with few channels
/// (16 or 32 at 160² and 80²) that arithmetic, not the data, bounds it. Here a block owns a TH x TW patch of one
/// image's output: per chunk of CH input channels it copies the patch's input window (the halo, (TH-1)·S+3 x
/// (TW-1)·S+3 pixels) and the nine taps' weights into shared memory, and every tap's A fragment is an `ldmatrix`
/// of the window at the tap's offset.
extension EngineKernelSource {
    /// A tile of the halo kernel: TH x TW output pixels x BN output channels, four warps (WARPS_N of them across
    /// the channels), CH input channels per pipeline stage.
    package struct HaloTile: Hashable, Sendable, CustomStringConvertible {
        package let th: Int, tw: Int, bn: Int, stride: Int, ch: Int, warpsN: Int, stages: Int
        /// The next k16 step's fragments are loaded before this step's mma are issued (two fragment buffers).
        package var prefetch = false
        package static let threads = 128

        var haloH: Int { (th - 1) * stride + 3 }
        var haloW: Int { (tw - 1) * stride + 3 }
        /// Halves per shared-memory pixel or weight row: CH and 16 bytes of padding (ldmatrix without conflicts).
        var rowHalves: Int { ch + 8 }
        var stageHalves: Int { (haloH * haloW + 9 * bn) * rowHalves }
        package var sharedBytes: Int { stages * stageHalves * 2 }
        package var entryPoint: String {
            "lookout_conv_halo_s\(stride)_\(th)x\(tw)x\(bn)_c\(ch)_w\(warpsN)_st\(stages)" + (prefetch ? "_pf" : "")
        }
        package var description: String {
            "halo s\(stride) \(th)x\(tw)x\(bn) c\(ch)" + (warpsN > 1 ? " w\(warpsN)" : "") + " st\(stages)"
                + (prefetch ? " pf" : "")
        }

        /// Whether this tile runs a layer: a 3x3 kernel of its stride, no dilation or groups, input channels a
        /// multiple of CH (the tensor-core conditions on the input are checked by the caller).
        package func runs(
            kernel: (h: Int, w: Int), stride s: (h: Int, w: Int), dilation: (h: Int, w: Int), group: Int,
            inputChannels: Int
        )
            -> Bool
        {
            kernel == (3, 3) && s == (stride, stride) && dilation == (1, 1) && group == 1 && inputChannels % ch == 0
        }

        /// Blocks of a launch: one per patch of each image, and per BN output channels.
        func grid(batch: Int, outH: Int, outW: Int, outC: Int) -> (Int, Int) {
            (batch * ((outH + th - 1) / th) * ((outW + tw - 1) / tw), (outC + bn - 1) / bn)
        }
    }

    package static let haloTiles: [HaloTile] =
        [
            // Stride 1: the C2f bottlenecks (16 channels at 160², 32 at 80², 64 at 40², 128 at 20²) and the head.
            HaloTile(th: 8, tw: 16, bn: 16, stride: 1, ch: 16, warpsN: 1, stages: 1),
            HaloTile(th: 8, tw: 16, bn: 16, stride: 1, ch: 16, warpsN: 1, stages: 2),
            HaloTile(th: 8, tw: 16, bn: 32, stride: 1, ch: 16, warpsN: 1, stages: 2),
            HaloTile(th: 8, tw: 16, bn: 32, stride: 1, ch: 32, warpsN: 1, stages: 1),
            HaloTile(th: 8, tw: 16, bn: 32, stride: 1, ch: 32, warpsN: 1, stages: 2),
            HaloTile(th: 8, tw: 16, bn: 64, stride: 1, ch: 16, warpsN: 2, stages: 2),
            HaloTile(th: 8, tw: 16, bn: 64, stride: 1, ch: 32, warpsN: 2, stages: 1),
            HaloTile(th: 8, tw: 8, bn: 32, stride: 1, ch: 32, warpsN: 1, stages: 2),
            // 16x16 pixels: a smaller halo per pixel (1.27 instead of 1.41 input pixels read per output pixel).
            HaloTile(th: 16, tw: 16, bn: 16, stride: 1, ch: 16, warpsN: 1, stages: 1),
            HaloTile(th: 16, tw: 16, bn: 32, stride: 1, ch: 32, warpsN: 1, stages: 1),
            HaloTile(th: 8, tw: 8, bn: 64, stride: 1, ch: 16, warpsN: 2, stages: 2),
            HaloTile(th: 8, tw: 8, bn: 64, stride: 1, ch: 32, warpsN: 2, stages: 2),
            // Stride 2: the downsampling layers.
            HaloTile(th: 4, tw: 16, bn: 32, stride: 2, ch: 16, warpsN: 1, stages: 2),
            HaloTile(th: 8, tw: 16, bn: 32, stride: 2, ch: 16, warpsN: 1, stages: 2),
            HaloTile(th: 4, tw: 16, bn: 64, stride: 2, ch: 16, warpsN: 2, stages: 2),
            HaloTile(th: 8, tw: 8, bn: 64, stride: 2, ch: 16, warpsN: 2, stages: 2),
        ] + prefetchedHaloTiles

    /// The tiles that won layers at batch 32 (H100, 2026-11-25), again with fragment prefetch.
    static let prefetchedHaloTiles: [HaloTile] = [
        HaloTile(th: 8, tw: 16, bn: 16, stride: 1, ch: 16, warpsN: 1, stages: 1),
        HaloTile(th: 8, tw: 16, bn: 32, stride: 1, ch: 32, warpsN: 1, stages: 1),
        HaloTile(th: 8, tw: 16, bn: 32, stride: 1, ch: 32, warpsN: 1, stages: 2),
        HaloTile(th: 8, tw: 16, bn: 64, stride: 1, ch: 32, warpsN: 2, stages: 1),
        HaloTile(th: 16, tw: 16, bn: 16, stride: 1, ch: 16, warpsN: 1, stages: 1),
        HaloTile(th: 16, tw: 16, bn: 32, stride: 1, ch: 32, warpsN: 1, stages: 1),
        HaloTile(th: 8, tw: 16, bn: 32, stride: 2, ch: 16, warpsN: 1, stages: 2),
    ].map {
        var tile = $0
        tile.prefetch = true
        return tile
    }

    /// Kernels/halo.cuh: `convHalo`, which `haloEntryPoints` instantiates per tile.
    static let halo = KernelFiles.text(PackageResources.halo_cuh)

    /// A tile of the first-layer kernel (`convFirst`): TH x TW output pixels, all CO output channels.
    package struct FirstTile: Hashable, Sendable, CustomStringConvertible {
        package let th: Int, tw: Int, stride: Int, co: Int
        package static let threads = 128
        package static let maxInputChannels = 8
        var haloH: Int { (th - 1) * stride + 3 }
        var haloW: Int { (tw - 1) * stride + 3 }
        package var sharedBytes: Int { max(haloH * haloW * 16, th * tw * (co + 8) * 2) + co * 88 * 2 }
        package var entryPoint: String { "lookout_conv_first_s\(stride)_\(th)x\(tw)x\(co)" }
        package var description: String { "first s\(stride) \(th)x\(tw)x\(co)" }

        package func runs(
            kernel: (h: Int, w: Int), stride s: (h: Int, w: Int), dilation: (h: Int, w: Int), group: Int,
            inputChannels: Int, outputChannels: Int
        )
            -> Bool
        {
            kernel == (3, 3) && s == (stride, stride) && dilation == (1, 1) && group == 1
                && inputChannels <= Self.maxInputChannels && outputChannels <= co && co - outputChannels < 16
        }

        func grid(batch: Int, outH: Int, outW: Int) -> Int { batch * ((outH + th - 1) / th) * ((outW + tw - 1) / tw) }
    }

    package static let firstTiles: [FirstTile] = [
        FirstTile(th: 8, tw: 16, stride: 2, co: 16), FirstTile(th: 16, tw: 16, stride: 2, co: 16),
        FirstTile(th: 16, tw: 32, stride: 2, co: 16),
        FirstTile(th: 8, tw: 16, stride: 2, co: 32), FirstTile(th: 8, tw: 16, stride: 1, co: 16),
    ]

    /// Kernels/first_layer.cuh: `convFirst`, which `haloEntryPoints` instantiates per first-layer tile.
    static let first = KernelFiles.text(PackageResources.first_layer_cuh)

    static var haloEntryPoints: String {
        haloTiles.map { tile in
            """
            extern "C" __global__ void __launch_bounds__(\(HaloTile.threads)) \(tile.entryPoint)(const LookoutConvParams p) {
                convHalo<\(tile.th), \(tile.tw), \(tile.bn), \(tile.stride), \(tile.ch), \(tile.warpsN), \(tile.stages), \(tile.prefetch)>(p);
            }

            """
        }.joined()
            + firstTiles.map { tile in
                """
                extern "C" __global__ void __launch_bounds__(\(FirstTile.threads)) \(tile.entryPoint)(const LookoutConvParams p) {
                    convFirst<\(tile.th), \(tile.tw), \(tile.stride), \(tile.co)>(p);
                }

                """
            }.joined()
    }
}
