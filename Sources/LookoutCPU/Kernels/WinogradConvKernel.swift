import CLookoutKernels
import Foundation
import LookoutModel

/// A stride-1 3×3 convolution (pads 1, no groups) by Winograd F(2×2, 3×3): 2.25× fewer multiplications than
/// im2col + GEMM. Work is split into blocks of 2×2 output tiles; for each block a worker transforms the input
/// (`lk_winograd_input`), runs 16 single-threaded OpenBLAS GEMMs, one per transform position, and transforms the
/// products back into the output with bias, SiLU and the residual (`lk_winograd_output`).
struct WinogradConvKernel: CPUKernel {
    let conv: ConvKernel
    /// Transformed weights u[ξ][m][c] = (G g Gᵀ)[ξ] for output channel m, input channel c.
    let transformed: [Float]
    let tilesH: Int, tilesW: Int
    /// Tiles per block and blocks per image.
    let block: Int, blocks: Int
    let workers: Int

    /// Whether `conv` has the shape this kernel handles.
    static func applies(to conv: ConvKernel) -> Bool {
        guard conv.kernelH == 3, conv.kernelW == 3, conv.strideH == 1, conv.strideW == 1, conv.dilationH == 1,
            conv.dilationW == 1, conv.group == 1, conv.padTop == 1, conv.padLeft == 1,
            conv.outHeight == conv.height, conv.outWidth == conv.width
        else { return false }
        if let setting = ProcessInfo.processInfo.environment["LOOKOUT_CPU_WINOGRAD"] { return setting != "0" }
        // Very narrow layers make the 16 GEMMs too thin (k = channels); 16 channels still gains 2× over im2col.
        return conv.channels >= minimumChannels && conv.outChannels >= minimumChannels
    }

    static let minimumChannels: Int = {
        if let text = ProcessInfo.processInfo.environment["LOOKOUT_CPU_WINOGRAD_MIN"], let n = Int(text) { return n }
        return 16
    }()

    /// Bytes the per-block transformed input and products should span.
    static let blockBudget: Int = {
        if let text = ProcessInfo.processInfo.environment["LOOKOUT_CPU_WINO_KB"], let kb = Int(text), kb > 0 { return kb * 1024 }
        return 512 * 1024
    }()

    init(conv: ConvKernel) {
        self.conv = conv
        let (m, c) = (conv.outChannels, conv.channels)
        var u = [Float](repeating: 0, count: 16 * m * c)
        // G = [[1, 0, 0], [½, ½, ½], [½, -½, ½], [0, 0, 1]]; computed in Double, rounded once.
        let g: [[Double]] = [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]]
        conv.weights.withUnsafeBufferPointer { w in
            for o in 0..<m {
                for i in 0..<c {
                    let base = (o * c + i) * 9
                    var tmp = [[Double]](repeating: [0, 0, 0], count: 4)  // G · w
                    for r in 0..<4 {
                        for col in 0..<3 {
                            tmp[r][col] = (0..<3).reduce(0) { $0 + g[r][$1] * Double(w[base + $1 * 3 + col]) }
                        }
                    }
                    for r in 0..<4 {
                        for col in 0..<4 {
                            let value = (0..<3).reduce(0) { $0 + tmp[r][$1] * g[col][$1] }
                            u[((r * 4 + col) * m + o) * c + i] = Float(value)
                        }
                    }
                }
            }
        }
        transformed = u
        tilesH = (conv.outHeight + 1) / 2
        tilesW = (conv.outWidth + 1) / 2
        workers = CPUParallel.workers
        let tiles = tilesH * tilesW
        var width = max(16, WinogradConvKernel.blockBudget / (4 * 16 * (c + m)))
        var count = max((tiles + width - 1) / width, (workers + conv.batch - 1) / conv.batch)
        width = (tiles + count - 1) / count
        width = min(tiles, (width + 15) / 16 * 16)
        count = (tiles + width - 1) / width
        (block, blocks) = (width, count)
    }

    /// Row stride of the transformed input and the products: a block's tiles, rounded up to whole 16-lane groups
    /// plus one (the transforms write and read whole groups), a multiple of 16 floats.
    private var rowStride: Int { (block + 15) / 16 * 16 + 16 }

    /// Stride between the 16 planes of the transformed input (products: `outputPlane`): 64 bytes past a whole
    /// number of rows, so that the transforms' 16 streams do not all map to the same L1 sets (measured: the input
    /// transform of a 64-channel 80×80 layer took 0.71 ms with 4 KiB-aligned planes, 0.40 ms with this).
    private var inputPlane: Int { conv.channels * rowStride + 16 }
    private var outputPlane: Int { conv.outChannels * rowStride + 16 }

    private var perWorker: Int { 16 * (inputPlane + outputPlane) }

    var scratchElements: Int { workers * perWorker }

    func execute(_ context: CPUContext) {
        let (m, c) = (conv.outChannels, conv.channels)
        let tiles = tilesH * tilesW
        let batch = conv.batch
        let perWorker = self.perWorker
        let ld = rowStride
        let (inputPlane, outputPlane) = (self.inputPlane, self.outputPlane)
        transformed.withUnsafeBufferPointer { u in
            conv.bias.withOptionalPointer { bias in
                CPUParallel.forEachTask(batch * blocks) { worker, task in
                    let n = task / blocks
                    let t0 = (task % blocks) * block
                    let t1 = min(tiles, t0 + block)
                    let width = t1 - t0
                    let v = context.scratch + worker * perWorker
                    let products = v + 16 * inputPlane
                    let x = conv.input.image(n, batch: batch, in: context.arena)
                    let y = conv.output.image(n, batch: batch, in: context.arena)
                    lk_winograd_input(
                        x, Int32(c), Int32(conv.height), Int32(conv.width), Int32(conv.padTop), Int32(conv.padLeft),
                        Int32(tilesW), t0, t1, v, ld, inputPlane)
                    for xi in 0..<16 {
                        BLAS.sgemm(
                            m: m, n: width, k: c, a: u.baseAddress! + xi * m * c, lda: c, b: v + xi * inputPlane, ldb: ld,
                            c: products + xi * outputPlane, ldc: ld)
                    }
                    let r = conv.residual.map { $0.image(n, batch: batch, in: context.arena) }
                    lk_winograd_output(
                        products, ld, outputPlane, Int32(m), Int32(tilesW), t0, t1, Int32(conv.outHeight), Int32(conv.outWidth), y, bias,
                        conv.activation, r.map { UnsafePointer($0) })
                }
            }
        }
    }
}
