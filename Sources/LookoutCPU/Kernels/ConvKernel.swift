import CLookoutKernels
import LookoutModel

/// Convolution as GEMM, tiled over output pixels: for each tile, the input is unfolded (im2col) into a per-worker
/// buffer, single-threaded OpenBLAS multiplies the weights into the output, and bias, SiLU and a residual add run
/// over the tile while it is still in cache. Workers take tiles (of any batch item and group) as they go.
/// 1×1 stride-1 convolutions skip im2col: the GEMM reads the input in place.
struct ConvKernel: CPUKernel {
    let input: CPUTensor
    let output: CPUTensor
    let residual: CPUTensor?
    let weights: [Float]
    let bias: [Float]?
    let activation: Int32
    let batch: Int
    let group: Int
    let channels: Int, height: Int, width: Int
    let outChannels: Int, outHeight: Int, outWidth: Int
    let kernelH: Int, kernelW: Int, strideH: Int, strideW: Int, dilationH: Int, dilationW: Int
    let padTop: Int, padLeft: Int
    let pointwise: Bool
    /// Output pixels per tile, and tiles per image.
    let tile: Int, tiles: Int
    let workers: Int

    init?(
        node: Node, attributes: ConvAttributes, inputs: [CPUOperand?], output: CPUTensor, batch: Int,
        tuning: CPUTuning = CPUTuning()
    ) {
        guard case .tensor(let x)? = inputs[0], case .constant(let w)? = inputs[1], x.shape.count == 4,
            w.shape.count == 4, x.supportsImages(batch: batch), output.supportsImages(batch: batch)
        else { return nil }
        var bias: [Float]?
        if inputs.count > 2, let b = inputs[2] {
            guard case .constant(let value) = b else { return nil }
            bias = value.floats
        }
        var residual: CPUTensor?
        var silu = false
        if case .convSiLU(_, let hasResidual) = node.op {
            silu = true
            if hasResidual {
                guard inputs.count > 3, case .tensor(let r)? = inputs[3], r.supportsImages(batch: batch) else {
                    return nil
                }
                residual = r
            }
        }
        self.input = x
        self.output = output
        self.residual = residual
        self.weights = w.floats
        self.bias = bias
        self.activation = silu ? Int32(LKActivationSiLU.rawValue) : Int32(LKActivationNone.rawValue)
        self.batch = batch
        self.group = attributes.group
        (channels, height, width) = (x.shape[1], x.shape[2], x.shape[3])
        (outChannels, outHeight, outWidth) = (output.shape[1], output.shape[2], output.shape[3])
        (kernelH, kernelW) = (w.shape[2], w.shape[3])
        (strideH, strideW) = attributes.strides
        (dilationH, dilationW) = attributes.dilations
        let pads = attributes.resolvedPads(inputH: height, inputW: width)
        (padTop, padLeft) = (pads.top, pads.left)
        pointwise = kernelH == 1 && kernelW == 1 && strideH == 1 && strideW == 1 && pads == (0, 0, 0, 0)
        workers = CPUParallel.workers
        (tile, tiles) = ConvKernel.tiling(
            k: (channels / group) * kernelH * kernelW, m: outChannels / group, pixels: outHeight * outWidth,
            images: group, workers: workers, tuning: tuning)
    }

    /// Tile width (a multiple of 16, OpenBLAS's AVX-512 sgemm unroll) and tiles per image.
    ///
    /// Thin layers (m·k ≤ ~10k) take tiles with m·n·k ≤ 10⁶: OpenBLAS 0.3.21's AVX-512 kernels run such GEMMs
    /// through its "small matrix" path without packing, measured at 105–115 GFLOP/s per core here against 40–87
    /// for the same layer in bigger packed tiles (the first convolution, m 16 × k 27: 86 vs 40). Wider layers take
    /// tiles whose columns and output fit the cache budget. Either way at least one task per worker, and the
    /// tiles of one image as equal as possible. `images` counts the groups of one item, never the batch: every
    /// item of a batch then runs the very GEMMs a single image would (OpenBLAS's AVX-512 small-matrix and packed
    /// paths round differently), so a batch's outputs equal its images' run alone.
    static func tiling(
        k: Int, m: Int, pixels: Int, images: Int, workers: Int, tuning: CPUTuning = CPUTuning()
    ) -> (tile: Int, tiles: Int) {
        guard pixels > 0 else { return (1, 0) }
        var width: Int
        let small = smallGEMM / max(m * k, 1)
        if small >= tuning.smallGEMMMinimumWidth {
            width = small / 16 * 16
        } else {
            width = max(64, tuning.convolutionTileBytes / (4 * (k + m)))
        }
        var tiles = (pixels + width - 1) / width
        let wanted = (workers + images - 1) / images
        tiles = max(tiles, wanted)
        // A whole number of tiles per worker where an image is one task set: at 20×20 (400 pixels in 3 tiles) one
        // worker otherwise did two tiles while the other did one and then waited.
        if images == 1 { tiles = (tiles + workers - 1) / workers * workers }
        width = (pixels + tiles - 1) / tiles
        width = min(pixels, (width + 15) / 16 * 16)
        tiles = (pixels + width - 1) / width
        return (width, tiles)
    }

    /// OpenBLAS's bound on m·n·k for its unpacked small-matrix sgemm (kernel/x86_64/sgemm_small_kernel_permit_skylakex.c).
    static let smallGEMM = 1_000_000

    var scratchElements: Int {
        pointwise ? 0 : workers * (channels / group) * kernelH * kernelW * tile
    }

    func execute(_ context: CPUContext) {
        let cinPerGroup = channels / group
        let coutPerGroup = outChannels / group
        let k = cinPerGroup * kernelH * kernelW
        let pixels = outHeight * outWidth
        let tasks = batch * group * tiles
        weights.withUnsafeBufferPointer { w in
            bias.withOptionalPointer { biasPointer in
                CPUParallel.forEachTask(tasks) { worker, task in
                    let t = task % tiles
                    let g = (task / tiles) % group
                    let n = task / (tiles * group)
                    let p0 = t * tile
                    let p1 = min(pixels, p0 + tile)
                    let x = input.image(n, batch: batch, in: context.arena) + g * cinPerGroup * height * width
                    let y = output.image(n, batch: batch, in: context.arena) + g * coutPerGroup * pixels
                    let b: UnsafePointer<Float>
                    let ldb: Int
                    if pointwise {
                        (b, ldb) = (UnsafePointer(x + p0), pixels)
                    } else {
                        let columns = context.scratch + worker * k * tile
                        lk_im2col(
                            x, Int32(cinPerGroup), Int32(height), Int32(width), Int32(kernelH), Int32(kernelW),
                            Int32(strideH), Int32(strideW), Int32(padTop), Int32(padLeft), Int32(dilationH),
                            Int32(dilationW), Int32(outHeight), Int32(outWidth), p0, p1, columns)
                        (b, ldb) = (UnsafePointer(columns), p1 - p0)
                    }
                    BLAS.sgemm(
                        m: coutPerGroup, n: p1 - p0, k: k, a: w.baseAddress! + g * coutPerGroup * k, lda: k, b: b,
                        ldb: ldb, c: y + p0, ldc: pixels)
                    if biasPointer == nil && residual == nil && activation == Int32(LKActivationNone.rawValue) {
                        return
                    }
                    let r = residual.map {
                        $0.image(n, batch: batch, in: context.arena) + g * coutPerGroup * pixels + p0
                    }
                    lk_bias_activation(
                        y + p0, pixels, biasPointer.map { $0 + g * coutPerGroup }, activation, r, pixels, 0,
                        coutPerGroup, p1 - p0)
                }
            }
        }
    }
}

extension Optional where Wrapped == [Float] {
    func withOptionalPointer<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        switch self {
        case .some(let array): array.withUnsafeBufferPointer { body($0.baseAddress) }
        case .none: body(nil)
        }
    }
}
