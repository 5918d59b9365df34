import CLookoutKernels
import LookoutModel

/// A stride-1 3×3 convolution (pads 1, no groups) by Winograd F(m×m, 3×3), m = 2 or 4: each m×m output tile
/// comes from an (m+2)×(m+2) input patch through (m+2)² element-wise products, which over all channels are
/// (m+2)² GEMMs — 2.25× (m = 2) or 4× (m = 4) fewer multiplications than im2col + GEMM. A stride-2 one (pads 1)
/// likewise with 2×2 output tiles from 5×5 patches (`Variant.s2`): 1.44× fewer. Work is split into blocks of
/// tiles; for each block a worker transforms the input (`lk_winograd_input`), runs the GEMMs with the weights
/// packed at compile time (`lk_gemm_packed`), and transforms the products back into the output with bias, SiLU
/// and the residual (`lk_winograd_output`).
struct WinogradConvKernel: CPUKernel {
    enum Variant {
        /// F(2×2, 3×3): transforms with entries 0, ±1 (and ½ in the weights), error at fp32 summation level.
        case f2
        /// F(4×4, 3×3): 2.25 instead of 4 multiplications per output, rounding error a few times larger.
        case f4
        /// Stride 2 (winograd_s2.c): the even input samples by one tap, the odd ones by F(2, 2), for 2×2 output
        /// tiles from 5×5 patches; 6.25 instead of 9 multiplications per output, transforms with entries 0, ±1.
        case s2

        /// Outputs per tile side.
        var tile: Int { self == .f4 ? 4 : 2 }
        /// Input samples per patch side.
        var patch: Int {
            switch self {
            case .f2: 4
            case .f4: 6
            case .s2: 5
            }
        }
        var positions: Int { patch * patch }

        /// G, the weight transform (patch × 3).
        var g: [[Double]] {
            switch self {
            case .f2: [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]]
            case .f4:
                [
                    [1.0 / 4, 0, 0], [-1.0 / 6, -1.0 / 6, -1.0 / 6], [-1.0 / 6, 1.0 / 6, -1.0 / 6],
                    [1.0 / 24, 1.0 / 12, 1.0 / 6], [1.0 / 24, -1.0 / 12, 1.0 / 6], [0, 0, 1],
                ]
            // Positions (s1, s3, s0 − s2, s2, s4 − s2) take w1, w1, w0, w0 + w2, w2.
            case .s2: [[0, 1, 0], [0, 1, 0], [1, 0, 0], [1, 0, 1], [0, 0, 1]]
            }
        }
    }

    let conv: ConvKernel
    let variant: Variant
    /// Transformed weights u[ξ][m][c] = (G g Gᵀ)[ξ] for output channel m, input channel c, each position's
    /// matrix packed for `lk_gemm_packed` (`packedSize` elements apart).
    let transformed: [Float]
    let packedSize: Int
    let tilesH: Int, tilesW: Int
    /// Tiles per block and blocks per image.
    let block: Int, blocks: Int
    let workers: Int

    /// The variant for `conv`, or nil when this kernel does not handle its shape.
    static func variant(
        for conv: ConvKernel, choice: CPUTuning.Winograd = .automatic, strideTwo: Bool = true
    ) -> Variant? {
        guard conv.kernelH == 3, conv.kernelW == 3, conv.dilationH == 1, conv.dilationW == 1, conv.group == 1,
            conv.padTop == 1, conv.padLeft == 1, choice != .off
        else { return nil }
        if conv.strideH == 2 && conv.strideW == 2 {
            // The stem (3 input channels) stays direct: its GEMMs would have k = 3.
            guard strideTwo, conv.channels >= 16, conv.outChannels >= 16 else { return nil }
            return .s2
        }
        guard conv.strideH == 1, conv.strideW == 1, conv.outHeight == conv.height, conv.outWidth == conv.width
        else { return nil }
        switch choice {
        case .off: return nil
        case .f2: return .f2
        case .f4: return .f4
        case .automatic: break
        }
        // Very narrow layers make the GEMMs too thin (k = channels); 16 channels still gains 2× over im2col.
        guard conv.channels >= 16, conv.outChannels >= 16 else { return nil }
        // F(4×4) wins 20–30% per layer from 40×40 up (measured single-threaded on yolov8n); on 20×20 maps its 25
        // tiles make GEMMs too narrow and F(2×2) is as fast. Both stay far inside the accuracy budget against
        // onnxruntime (120 images: boxes ≤ 0.0025 px, scores ≤ 1.5e-5 with F(4×4) everywhere).
        let f4Tiles = ((conv.outHeight + 3) / 4) * ((conv.outWidth + 3) / 4)
        return f4Tiles >= 64 ? .f4 : .f2
    }

    init(conv: ConvKernel, variant: Variant, blockBytes: Int = 512 * 1024) {
        self.conv = conv
        self.variant = variant
        let (m, c) = (conv.outChannels, conv.channels)
        let size = variant.patch
        let positions = variant.positions
        let g = variant.g.flatMap { $0 }  // size × 3, row-major
        var u = [Float](repeating: 0, count: positions * m * c)
        // G g Gᵀ in Double, rounded once.
        u.withUnsafeMutableBufferPointer { u in
            g.withUnsafeBufferPointer { g in
                conv.weights.withUnsafeBufferPointer { w in
                    var left = [Double](repeating: 0, count: size * 3)  // G · g
                    for o in 0..<m {
                        for i in 0..<c {
                            let base = (o * c + i) * 9
                            for r in 0..<size {
                                for col in 0..<3 {
                                    left[r * 3 + col] =
                                        g[r * 3] * Double(w[base + col]) + g[r * 3 + 1] * Double(w[base + 3 + col])
                                        + g[r * 3 + 2] * Double(w[base + 6 + col])
                                }
                            }
                            for r in 0..<size {
                                for col in 0..<size {
                                    let value =
                                        left[r * 3] * g[col * 3] + left[r * 3 + 1] * g[col * 3 + 1] + left[r * 3 + 2]
                                        * g[col * 3 + 2]
                                    u[((r * size + col) * m + o) * c + i] = Float(value)
                                }
                            }
                        }
                    }
                }
            }
        }
        let packedSize = lk_gemm_packed_size(Int32(m), Int32(c))
        self.packedSize = packedSize
        transformed = [Float](unsafeUninitializedCapacity: positions * packedSize) { packed, count in
            u.withUnsafeBufferPointer { u in
                for xi in 0..<positions {
                    lk_gemm_pack(
                        u.baseAddress! + xi * m * c, Int32(m), Int32(c), c, packed.baseAddress! + xi * packedSize)
                }
            }
            count = positions * packedSize
        }
        let tile = variant.tile
        tilesH = (conv.outHeight + tile - 1) / tile
        tilesW = (conv.outWidth + tile - 1) / tile
        workers = CPUParallel.workers
        let tiles = tilesH * tilesW
        var width = max(16, blockBytes / (4 * positions * (c + m)))
        // The split of an image never depends on the batch size: every item then runs the very GEMMs a single image
        // would (OpenBLAS's AVX-512 small-matrix and packed paths round differently), so a batch equals its images.
        // A whole number of blocks per worker: at 20×20 (7 blocks of 16 tiles) one worker otherwise did 4 while the
        // other did 3 and then waited.
        var count = max((tiles + width - 1) / width, workers)
        count = (count + workers - 1) / workers * workers
        width = (tiles + count - 1) / count
        width = min(tiles, (width + 15) / 16 * 16)
        count = (tiles + width - 1) / width
        (block, blocks) = (width, count)
    }

    /// Row stride of the transformed input and the products: a block's tiles, rounded up to whole 16-lane groups
    /// plus one (the transforms write and read whole groups), a multiple of 16 floats.
    private var rowStride: Int { (block + 15) / 16 * 16 + 16 }

    /// Stride between the planes of the transformed input (products: `outputPlane`): 64 bytes past a whole number
    /// of rows, so that the transforms' streams do not all map to the same L1 sets (measured: the input transform
    /// of a 64-channel 80×80 layer took 0.71 ms with 4 KiB-aligned planes, 0.40 ms with this).
    private var inputPlane: Int { conv.channels * rowStride + 16 }
    private var outputPlane: Int { conv.outChannels * rowStride + 16 }

    private var perWorker: Int { variant.positions * (inputPlane + outputPlane) }

    var scratchElements: Int { workers * perWorker }

    func execute(_ context: CPUContext) {
        let (m, c) = (conv.outChannels, conv.channels)
        let tiles = tilesH * tilesW
        let batch = conv.batch
        let perWorker = self.perWorker
        let ld = rowStride
        let (inputPlane, outputPlane) = (self.inputPlane, self.outputPlane)
        let positions = variant.positions
        let packedSize = self.packedSize
        let variant = self.variant
        transformed.withUnsafeBufferPointer { u in
            conv.bias.withOptionalPointer { bias in
                CPUParallel.forEachTask(batch * blocks) { worker, task in
                    let n = task / blocks
                    let t0 = (task % blocks) * block
                    let t1 = min(tiles, t0 + block)
                    let width = t1 - t0
                    let v = context.scratch + worker * perWorker
                    let products = v + positions * inputPlane
                    let x = conv.input.image(n, batch: batch, in: context.arena)
                    let y = conv.output.image(n, batch: batch, in: context.arena)
                    let (h, w) = (Int32(conv.height), Int32(conv.width))
                    switch variant {
                    case .f2:
                        lk_winograd_input(x, Int32(c), h, w, 1, 1, Int32(tilesW), t0, t1, v, ld, inputPlane)
                    case .f4:
                        lk_winograd4_input(x, Int32(c), h, w, 1, 1, Int32(tilesW), t0, t1, v, ld, inputPlane)
                    case .s2:
                        lk_winograd_s2_input(x, Int32(c), h, w, 1, 1, Int32(tilesW), t0, t1, v, ld, inputPlane)
                    }
                    for xi in 0..<positions {
                        lk_gemm_packed(
                            u.baseAddress! + xi * packedSize, Int32(m), Int32(c), v + xi * inputPlane, ld,
                            products + xi * outputPlane, ld, Int32(width))
                    }
                    let r = conv.residual.map { UnsafePointer($0.image(n, batch: batch, in: context.arena)) }
                    let (oh, ow) = (Int32(conv.outHeight), Int32(conv.outWidth))
                    switch variant {
                    case .f2:
                        lk_winograd_output(
                            products, ld, outputPlane, Int32(m), Int32(tilesW), t0, t1, oh, ow, y, bias,
                            conv.activation, r)
                    case .f4:
                        lk_winograd4_output(
                            products, ld, outputPlane, Int32(m), Int32(tilesW), t0, t1, oh, ow, y, bias,
                            conv.activation, r)
                    case .s2:
                        lk_winograd_s2_output(
                            products, ld, outputPlane, Int32(m), Int32(tilesW), t0, t1, oh, ow, y, bias,
                            conv.activation, r)
                    }
                }
            }
        }
    }
}
