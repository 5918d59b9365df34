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
    public struct HaloTile: Hashable, Sendable, CustomStringConvertible {
        public let th: Int, tw: Int, bn: Int, stride: Int, ch: Int, warpsN: Int, stages: Int
        /// The next k16 step's fragments are loaded before this step's mma are issued (two fragment buffers).
        public var prefetch = false
        public static let threads = 128

        var haloH: Int { (th - 1) * stride + 3 }
        var haloW: Int { (tw - 1) * stride + 3 }
        /// Halves per shared-memory pixel or weight row: CH and 16 bytes of padding (ldmatrix without conflicts).
        var rowHalves: Int { ch + 8 }
        var stageHalves: Int { (haloH * haloW + 9 * bn) * rowHalves }
        public var sharedBytes: Int { stages * stageHalves * 2 }
        public var entryPoint: String {
            "lookout_conv_halo_s\(stride)_\(th)x\(tw)x\(bn)_c\(ch)_w\(warpsN)_st\(stages)" + (prefetch ? "_pf" : "")
        }
        public var description: String {
            "halo s\(stride) \(th)x\(tw)x\(bn) c\(ch)" + (warpsN > 1 ? " w\(warpsN)" : "") + " st\(stages)" + (prefetch ? " pf" : "")
        }

        /// Whether this tile runs a layer: a 3x3 kernel of its stride, no dilation or groups, input channels a
        /// multiple of CH (the tensor-core conditions on the input are checked by the caller).
        public func runs(kernel: (h: Int, w: Int), stride s: (h: Int, w: Int), dilation: (h: Int, w: Int), group: Int, inputChannels: Int)
            -> Bool
        {
            kernel == (3, 3) && s == (stride, stride) && dilation == (1, 1) && group == 1 && inputChannels % ch == 0
        }

        /// Blocks of a launch: one per patch of each image, and per BN output channels.
        func grid(batch: Int, outH: Int, outW: Int, outC: Int) -> (Int, Int) {
            (batch * ((outH + th - 1) / th) * ((outW + tw - 1) / tw), (outC + bn - 1) / bn)
        }
    }

    public static let haloTiles: [HaloTile] = [
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

    static let halo = """
        // A block computes TH x TW output pixels of one image (blockIdx.x: the patch, the image) and BN output
        // channels (blockIdx.y). Shared memory per stage: the halo [HH][HW] pixels, CH channels each, then the
        // weights [tap][BN] rows of CH channels; both rows padded by 16 bytes. With stride 2 the halo's even
        // columns come first, then the odd ones, so that a tap's pixels are consecutive rows (no bank conflicts).
        template <int TH, int TW, int BN, int S, int CH, int WARPS_N, int STAGES, bool PREFETCH>
        __device__ __forceinline__ void convHalo(const LookoutConvParams& p) {
            constexpr int THREADS = 128, WARPS_M = 4 / WARPS_N, BM = TH * TW;
            constexpr int MT = BM / 16 / WARPS_M, NT = BN / 8 / WARPS_N;
            static_assert(MT >= 1 && MT * 16 * WARPS_M == BM && NT % 2 == 0 && TW % 8 == 0, "halo tile shape");
            constexpr int HH = (TH - 1) * S + 3, HW = (TW - 1) * S + 3, EVEN = (HW + 1) / 2;
            constexpr int ROW = CH + 8, VEC = CH / 8;
            constexpr int HALO = HH * HW * ROW, STAGE = HALO + 9 * BN * ROW;
            extern __shared__ __align__(16) unsigned char smem[];
            const unsigned shared = smemAddress(smem);
            const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
            const int wm = warp % WARPS_M, wn = warp / WARPS_M;
            const int tilesW = (p.outW + TW - 1) / TW, tilesH = (p.outH + TH - 1) / TH;
            int block = blockIdx.x;
            const int tx0 = (block % tilesW) * TW;
            block /= tilesW;
            const int ty0 = (block % tilesH) * TH, img = block / tilesH;
            const int n0 = blockIdx.y * BN;
            const half_t* x = (const half_t*)p.x + (i64)img * p.xsN;
            const half_t* w = (const half_t*)p.w16 + (i64)n0 * p.kPad;
            const int iy0 = ty0 * S - p.padT, ix0 = tx0 * S - p.padL;

            auto loadStage = [&](int chunk, int stage) {
                const unsigned base = shared + (unsigned)(stage * STAGE * 2);
                const int c0 = chunk * CH;
                for (int i = tid; i < HH * HW * VEC; i += THREADS) {
                    const int v = i % VEC, pixel = i / VEC;
                    const int hy = pixel / HW, hx = pixel - hy * HW;
                    const int iy = iy0 + hy, ix = ix0 + hx;
                    const bool inside = iy >= 0 && iy < p.inH && ix >= 0 && ix < p.inW;
                    const half_t* source = inside ? x + (i64)iy * p.xsH + (i64)ix * p.xsW + c0 + v * 8 : x;
                    const int column = S == 1 ? hx : (hx & 1) * EVEN + (hx >> 1);
                    copyAsync16L1(base + (unsigned)(((hy * HW + column) * ROW + v * 8) * 2), source, inside ? 16 : 0);
                }
                const unsigned weights = base + HALO * 2;
                for (int i = tid; i < 9 * BN * VEC; i += THREADS) {
                    const int v = i % VEC, row = i / VEC;  // row = tap * BN + n
                    const int tap = row / BN, n = row - tap * BN;
                    copyAsync16(weights + (unsigned)((row * ROW + v * 8) * 2), w + (i64)n * p.kPad + tap * p.inC + c0 + v * 8, 16);
                }
            };

            // The halo offset (halves) of this lane's ldmatrix row at tap (0, 0): pixel (lane & 15) of each of the
            // warp's 16-pixel tiles, channels 0-7 (lanes 0-15) or 8-15 (lanes 16-31) of the k16 step.
            int aRow[MT];
            #pragma unroll
            for (int i = 0; i < MT; i++) {
                const int m = (wm * MT + i) * 16 + (lane & 15);
                const int ty = m / TW, tx = m % TW;
                aRow[i] = (ty * S * HW + tx) * ROW + (lane >> 4) * 8;  // stride 2: column 2·tx is even, stored at tx
            }
            const int bRow = wn * NT * 8 + (lane & 7) + (lane >> 4) * 8, bColumn = ((lane >> 3) & 1) * 8;

            float acc[MT][NT][4];
            zeroTile(acc);

            const int chunks = p.inC / CH;
            if (STAGES > 1) {
                loadStage(0, 0);
                copyAsyncCommit();
            }
            for (int chunk = 0; chunk < chunks; chunk++) {
                const int stage = STAGES > 1 ? chunk & 1 : 0;
                if (STAGES > 1) {
                    if (chunk + 1 < chunks) loadStage(chunk + 1, stage ^ 1);
                    copyAsyncCommit();
                    copyAsyncWait<1>();
                } else {
                    loadStage(chunk, 0);
                    copyAsyncCommit();
                    copyAsyncWait<0>();
                }
                __syncthreads();
                const unsigned a = shared + (unsigned)(stage * STAGE * 2), b = a + HALO * 2;
                // The k16 steps of the chunk: tap-major, CH / 16 steps a tap. With PREFETCH the next step's fragments
                // are loaded before this step's mma are issued (the asm statements keep their order, so the
                // compiler cannot overlap them itself).
                constexpr int STEPS = 9 * (CH / 16);
                unsigned af[PREFETCH ? 2 : 1][MT][4], bf[PREFETCH ? 2 : 1][NT][2];
                auto loadFragments = [&](int step, int f) {
                    const int tap = step / (CH / 16), ks = (step % (CH / 16)) * 16;
                    const int dy = tap / 3, dx = tap % 3;
                    const int offset = (dy * HW + (S == 1 ? dx : (dx & 1) * EVEN + (dx >> 1))) * ROW;
                    #pragma unroll
                    for (int i = 0; i < MT; i++)
                        loadMatrixX4(a + (unsigned)((aRow[i] + offset + ks) * 2), af[f][i][0], af[f][i][1], af[f][i][2], af[f][i][3]);
                    #pragma unroll
                    for (int j = 0; j < NT; j += 2)
                        loadMatrixX4(
                            b + (unsigned)(((tap * BN + bRow + j * 8) * ROW + ks + bColumn) * 2), bf[f][j][0], bf[f][j][1],
                            bf[f][j + 1][0], bf[f][j + 1][1]);
                };
                if (PREFETCH) loadFragments(0, 0);
                #pragma unroll
                for (int step = 0; step < STEPS; step++) {
                    const int f = PREFETCH ? step & 1 : 0;
                    if (PREFETCH) {
                        if (step + 1 < STEPS) loadFragments(step + 1, f ^ 1);
                    } else {
                        loadFragments(step, 0);
                    }
                    mmaTile(acc, af[f], bf[f]);
                }
                __syncthreads();  // the stage is overwritten by the load two chunks on
            }

            const int co = n0 + wn * NT * 8 + (lane & 3) * 2;
            float2 bias[NT];
            convBiasPairs(p, co, bias);
            #pragma unroll
            for (int i = 0; i < MT; i++) {
                #pragma unroll
                for (int h = 0; h < 2; h++) {
                    const int m = (wm * MT + i) * 16 + (lane >> 2) + h * 8;
                    i64 yRow, rRow;
                    if (!convPixelRows(p, img, ty0 + m / TW, tx0 + m % TW, yRow, rRow)) continue;
                    convStoreRow(p, acc[i], h, co, yRow, rRow, bias);
                }
            }
        }

        """

    /// A tile of the first-layer kernel (`convFirst`): TH x TW output pixels, all CO output channels.
    public struct FirstTile: Hashable, Sendable, CustomStringConvertible {
        public let th: Int, tw: Int, stride: Int, co: Int
        public static let threads = 128
        public static let maxInputChannels = 8
        var haloH: Int { (th - 1) * stride + 3 }
        var haloW: Int { (tw - 1) * stride + 3 }
        public var sharedBytes: Int { max(haloH * haloW * 16, th * tw * (co + 8) * 2) + co * 88 * 2 }
        public var entryPoint: String { "lookout_conv_first_s\(stride)_\(th)x\(tw)x\(co)" }
        public var description: String { "first s\(stride) \(th)x\(tw)x\(co)" }

        public func runs(kernel: (h: Int, w: Int), stride s: (h: Int, w: Int), dilation: (h: Int, w: Int), group: Int, inputChannels: Int, outputChannels: Int)
            -> Bool
        {
            kernel == (3, 3) && s == (stride, stride) && dilation == (1, 1) && group == 1
                && inputChannels <= Self.maxInputChannels && outputChannels <= co && co - outputChannels < 16
        }

        func grid(batch: Int, outH: Int, outW: Int) -> Int { batch * ((outH + th - 1) / th) * ((outW + tw - 1) / tw) }
    }

    public static let firstTiles: [FirstTile] = [
        FirstTile(th: 8, tw: 16, stride: 2, co: 16), FirstTile(th: 16, tw: 16, stride: 2, co: 16),
        FirstTile(th: 16, tw: 32, stride: 2, co: 16),
        FirstTile(th: 8, tw: 16, stride: 2, co: 32), FirstTile(th: 8, tw: 16, stride: 1, co: 16),
    ]

    static let first = """
        // The first layer (3x3, at most 8 input channels of any layout, fp16 or fp32 input) on the tensor cores: the
        // block's input window is read once, each pixel's channels padded to 8 (16 bytes) in shared memory, and one
        // m16n8k16 step covers two taps (lanes 0-15 give the first tap's pixels, 16-31 the second's). The weights come
        // packed by the host as fp16 [CO][88] (k = tap * 8 + c; taps 9 and the channels past inC zero; rows padded to
        // 88 halves) in p.w16 and are B, held in registers. The output goes through shared memory (the halo's space)
        // and leaves in 16-byte stores where it is channels-last fp16 with whole pixels of CO channels.
        template <int TH, int TW, int S, int CO>
        __device__ __forceinline__ void convFirst(const LookoutConvParams& p) {
            constexpr int THREADS = 128, BM = TH * TW, MT = BM / 64, NT = CO / 8, KROW = 88;
            static_assert(MT * 64 == BM && NT % 2 == 0 && TW % 8 == 0, "first-layer tile shape");
            constexpr int HH = (TH - 1) * S + 3, HW = (TW - 1) * S + 3, EVEN = (HW + 1) / 2;
            constexpr int OUTROW = CO + 8;  // halves per staged output pixel (16 bytes of padding)
            constexpr int HALO = HH * HW * 8, STAGED = BM * OUTROW;
            constexpr int REGION = HALO > STAGED ? HALO : STAGED;
            extern __shared__ __align__(16) unsigned char smem[];
            half_t* halo = (half_t*)smem;
            half_t* weights = halo + REGION;
            const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
            const int tilesW = (p.outW + TW - 1) / TW, tilesH = (p.outH + TH - 1) / TH;
            int block = blockIdx.x;
            const int tx0 = (block % tilesW) * TW;
            block /= tilesW;
            const int ty0 = (block % tilesH) * TH, img = block / tilesH;
            const i64 imageBase = (i64)img * p.xsN;
            const int iy0 = ty0 * S - p.padT, ix0 = tx0 * S - p.padL;
            for (int i = tid; i < CO * KROW / 8; i += THREADS)
                copyAsync16(smemAddress(weights + i * 8), (const half_t*)p.w16 + i * 8, 16);
            copyAsyncCommit();
            const bool halfChannelsLast = p.xHalf && p.xsC == 1;
            for (int pixel = tid; pixel < HH * HW; pixel += THREADS) {
                const int hy = pixel / HW, hx = pixel - hy * HW;
                const int iy = iy0 + hy, ix = ix0 + hx;
                uint4 q = make_uint4(0, 0, 0, 0);
                if (iy >= 0 && iy < p.inH && ix >= 0 && ix < p.inW) {
                    const i64 base = imageBase + (i64)iy * p.xsH + (i64)ix * p.xsW;
                    half_t c[8] = {0, 0, 0, 0, 0, 0, 0, 0};
                    if (halfChannelsLast) {
                        const half_t* source = (const half_t*)p.x + base;
                        #pragma unroll
                        for (int k = 0; k < 8; k++)
                            if (k < p.inC) c[k] = source[k];
                    } else {
                        #pragma unroll
                        for (int k = 0; k < 8; k++)
                            if (k < p.inC) c[k] = f2h(loadf(p.x, base + (i64)k * p.xsC, p.xHalf));
                    }
                    q.x = c[0] | ((unsigned)c[1] << 16); q.y = c[2] | ((unsigned)c[3] << 16);
                    q.z = c[4] | ((unsigned)c[5] << 16); q.w = c[6] | ((unsigned)c[7] << 16);
                }
                const int column = S == 1 ? hx : (hx & 1) * EVEN + (hx >> 1);
                *(uint4*)(halo + (hy * HW + column) * 8) = q;
            }
            copyAsyncWait<0>();
            __syncthreads();

            // B for the five k16 steps (taps 2s and 2s + 1), every n tile; the biases of this lane's columns.
            unsigned bf[5][NT][2];
            const int bRow = (lane & 7) + (lane >> 4) * 8, bColumn = ((lane >> 3) & 1) * 8;
            #pragma unroll
            for (int s = 0; s < 5; s++)
                #pragma unroll
                for (int j = 0; j < NT; j += 2)
                    loadMatrixX4(smemAddress(weights + (j * 8 + bRow) * KROW + s * 16 + bColumn), bf[s][j][0], bf[s][j][1], bf[s][j + 1][0], bf[s][j + 1][1]);
            float2 bias[NT];
            convBiasPairs(p, (lane & 3) * 2, bias);

            // Every pixel of the tile inside the output, whole 16-byte pixels of channels-last fp16: staged stores.
            const bool staged = p.yHalf && p.ysC == 1 && !p.hasResidual && p.outC == CO && (p.ysW & 7) == 0 && (p.ysH & 7) == 0
                && (p.ysN & 7) == 0 && (p.y & 15) == 0;
            float acc[MT][NT][4];
            zeroTile(acc);
            #pragma unroll
            for (int i = 0; i < MT; i++) {
                const int m = (warp * MT + i) * 16 + (lane & 15);
                const int pixel = (m / TW) * S * HW + m % TW;  // the lane's halo pixel at tap (0, 0)
                #pragma unroll
                for (int s = 0; s < 5; s++) {
                    // Lanes 0-15: tap 2s; lanes 16-31: tap 2s + 1 (tap 9 has zero weights: any pixel will do).
                    const int tap = min(2 * s + (lane >> 4), 8);
                    const int dy = tap / 3, dx = tap - dy * 3;
                    const int offset = dy * HW + (S == 1 ? dx : (dx & 1) * EVEN + (dx >> 1));
                    unsigned a0, a1, a2, a3;
                    loadMatrixX4(smemAddress(halo + (pixel + offset) * 8), a0, a1, a2, a3);
                    #pragma unroll
                    for (int j = 0; j < NT; j++) mma16816(acc[i][j], a0, a1, a2, a3, bf[s][j][0], bf[s][j][1]);
                }
            }
            if (staged) {
                __syncthreads();  // every warp is done with the halo: its space takes the output tile
                #pragma unroll
                for (int i = 0; i < MT; i++)
                    #pragma unroll
                    for (int h = 0; h < 2; h++) {
                        const int mo = (warp * MT + i) * 16 + (lane >> 2) + h * 8;
                        #pragma unroll
                        for (int j = 0; j < NT; j++) {
                            const int co = j * 8 + (lane & 3) * 2;
                            float v0 = __fadd_rn(acc[i][j][h * 2], bias[j].x), v1 = __fadd_rn(acc[i][j][h * 2 + 1], bias[j].y);
                            if (p.silu) {
                                v0 = __fdividef(v0, 1.0f + __expf(-v0));
                                v1 = __fdividef(v1, 1.0f + __expf(-v1));
                            }
                            *(unsigned*)(halo + mo * OUTROW + co) = pack2(v0, v1);
                        }
                    }
                __syncthreads();
                constexpr int VECTORS = CO / 8;
                for (int i = tid; i < BM * VECTORS; i += THREADS) {
                    const int mo = i / VECTORS, v = i - mo * VECTORS;
                    const int oh = ty0 + mo / TW, ow = tx0 + mo % TW;
                    if (oh >= p.outH || ow >= p.outW) continue;
                    const i64 yRow = (i64)img * p.ysN + (i64)oh * p.ysH + (i64)ow * p.ysW;
                    *(uint4*)((half_t*)p.y + yRow + v * 8) = *(const uint4*)(halo + mo * OUTROW + v * 8);
                }
                return;
            }
            #pragma unroll
            for (int i = 0; i < MT; i++)
                #pragma unroll
                for (int h = 0; h < 2; h++) {
                    const int mo = (warp * MT + i) * 16 + (lane >> 2) + h * 8;
                    i64 yRow, rRow;
                    if (!convPixelRows(p, img, ty0 + mo / TW, tx0 + mo % TW, yRow, rRow)) continue;
                    convStoreRow(p, acc[i], h, (lane & 3) * 2, yRow, rRow, bias);
                }
        }

        """

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
