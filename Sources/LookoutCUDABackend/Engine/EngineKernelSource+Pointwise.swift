/// The pointwise kernel: 1x1 convolutions (stride 1, no padding) with K = input channels small enough to load a
/// pixel tile's whole row at once. At 160² and 80² these layers move tens of MB and do little arithmetic per byte;
/// the implicit GEMM spends a block's life on one load, one short K loop and one store, with few warps resident,
/// and reaches a third of the memory bandwidth. Here a block stays resident over several pixel tiles (blockIdx.x,
/// then every gridDim.x-th tile), keeps its BN weight rows in shared memory, and loads the next tile's pixels while
/// it computes and stores the current one.
extension EngineKernelSource {
    /// BM pixels x BN output channels a tile, K up to KMAX, four warps (WARPS_N across the channels), about
    /// `tilesPerBlock` tiles a block.
    public struct PointwiseTile: Hashable, Sendable, CustomStringConvertible {
        public let bm: Int, bn: Int, kMax: Int, warpsN: Int, tilesPerBlock: Int
        /// The next k16 step's fragments are loaded while this step's mma run.
        public var prefetch = false
        public static let threads = 128
        var rowHalves: Int { kMax + 8 }
        public var sharedBytes: Int { (2 * bm + bn) * rowHalves * 2 }
        /// The kernel's entry point (the same for every `tilesPerBlock`: only the grid differs).
        public var entryPoint: String { "lookout_conv_pointwise_\(bm)x\(bn)_k\(kMax)_w\(warpsN)" + (prefetch ? "_pf" : "") }
        public var key: String { entryPoint + "_t\(tilesPerBlock)" }
        public var description: String {
            "pointwise \(bm)x\(bn) k\(kMax)" + (warpsN > 1 ? " w\(warpsN)" : "") + " t\(tilesPerBlock)" + (prefetch ? " pf" : "")
        }

        /// A 1x1 convolution of stride 1 without padding, groups or dilation, whose input channels are a multiple of
        /// 16 up to KMAX and whose output pixels are the input's.
        public func runs(
            kernel: (h: Int, w: Int), stride: (h: Int, w: Int), pads: (top: Int, left: Int, bottom: Int, right: Int), group: Int,
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

    public static let pointwiseTiles: [PointwiseTile] = [
        (128, 16, 64, 1), (128, 32, 64, 1), (128, 64, 64, 2), (64, 64, 128, 2), (128, 32, 128, 1), (128, 64, 128, 2),
        (64, 64, 256, 2), (64, 128, 256, 2),
    ].flatMap { bm, bn, kMax, warpsN in
        [2, 4].map { PointwiseTile(bm: bm, bn: bn, kMax: kMax, warpsN: warpsN, tilesPerBlock: $0) }
    } + [(128, 32, 64, 1), (128, 64, 64, 2), (64, 64, 128, 2), (64, 64, 256, 2)].map { bm, bn, kMax, warpsN in
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

    static let pointwise = """
        // Shared memory: the weights [BN][KMAX + 8], then two pixel buffers [BM][KMAX + 8] (rows padded by 16 bytes:
        // ldmatrix without bank conflicts). K = p.inC, a multiple of 16.
        template <int BM, int BN, int KMAX, int WARPS_N, bool PREFETCH>
        __device__ __forceinline__ void convPointwise(const LookoutConvParams& p) {
            constexpr int THREADS = 128, WARPS_M = 4 / WARPS_N, ROW = KMAX + 8;
            constexpr int MT = BM / 16 / WARPS_M, NT = BN / 8 / WARPS_N;
            static_assert(MT >= 1 && MT * 16 * WARPS_M == BM && NT % 2 == 0, "pointwise tile shape");
            extern __shared__ __align__(16) unsigned char smem[];
            const unsigned sB = smemAddress(smem), sA = sB + BN * ROW * 2;
            const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
            const int wm = warp % WARPS_M, wn = warp / WARPS_M;
            const int K = p.inC, vectors = K / 8, n0 = blockIdx.y * BN;
            const int tiles = (p.M + BM - 1) / BM, outHW = p.outH * p.outW;
            const half_t* x = (const half_t*)p.x;
            const half_t* w = (const half_t*)p.w16 + (i64)n0 * p.kPad;

            // A thread copies vector `v` of every (THREADS / VMAX)-th row; lanes past K idle.
            constexpr int VMAX = KMAX / 8, ROWS_PER_PASS = THREADS / VMAX;
            const int v = tid % VMAX, firstRow = tid / VMAX;
            if (v < vectors)
                for (int row = firstRow; row < BN; row += ROWS_PER_PASS)
                    copyAsync16(sB + (unsigned)((row * ROW + v * 8) * 2), w + (i64)row * p.kPad + v * 8, 16);
            // Pixels evenly spaced (a whole tensor or a channel slice of one): pixel m at m * stride.
            const bool xFlat = p.xsH == (i64)p.outW * p.xsW && p.xsN == (i64)p.outH * p.xsH;
            const bool yFlat = p.ysH == (i64)p.outW * p.ysW && p.ysN == (i64)p.outH * p.ysH;
            const bool rFlat = p.rsH == (i64)p.outW * p.rsW && p.rsN == (i64)p.outH * p.rsH;
            auto loadTile = [&](int tile, int buffer) {
                if (v >= vectors) return;
                const unsigned base = sA + (unsigned)(buffer * BM * ROW * 2);
                #pragma unroll 4
                for (int row = firstRow; row < BM; row += ROWS_PER_PASS) {
                    const int m = tile * BM + row;
                    const half_t* source = x;
                    if (m < p.M) {
                        if (xFlat) {
                            source = x + (i64)m * p.xsW + v * 8;
                        } else {
                            const int img = m / outHW, pix = m - img * outHW, oh = pix / p.outW, ow = pix - oh * p.outW;
                            source = x + (i64)img * p.xsN + (i64)oh * p.xsH + (i64)ow * p.xsW + v * 8;
                        }
                    }
                    copyAsync16L1(base + (unsigned)((row * ROW + v * 8) * 2), source, m < p.M ? 16 : 0);
                }
            };
            const int co = n0 + wn * NT * 8 + (lane & 3) * 2;
            float2 bias[NT];
            convBiasPairs(p, co, bias);

            int tile = blockIdx.x;
            if (tile < tiles) loadTile(tile, 0);
            copyAsyncCommit();
            for (int it = 0; tile < tiles; it++, tile += gridDim.x) {
                const int next = tile + gridDim.x;
                if (next < tiles) loadTile(next, (it + 1) & 1);
                copyAsyncCommit();
                copyAsyncWait<1>();
                __syncthreads();
                const unsigned a = sA + (unsigned)((it & 1) * BM * ROW * 2);
                float acc[MT][NT][4];
                zeroTile(acc);
                unsigned af[2][MT][4], bf[2][NT][2];
                auto loadFragments = [&](int ks, int f) {
                    #pragma unroll
                    for (int i = 0; i < MT; i++) {
                        const int row = (wm * MT + i) * 16 + (lane & 15), column = ks + (lane >> 4) * 8;
                        loadMatrixX4(a + (unsigned)((row * ROW + column) * 2), af[f][i][0], af[f][i][1], af[f][i][2], af[f][i][3]);
                    }
                    #pragma unroll
                    for (int j = 0; j < NT; j += 2) {
                        const int row = wn * NT * 8 + j * 8 + (lane & 7) + (lane >> 4) * 8, column = ks + ((lane >> 3) & 1) * 8;
                        loadMatrixX4(sB + (unsigned)((row * ROW + column) * 2), bf[f][j][0], bf[f][j][1], bf[f][j + 1][0], bf[f][j + 1][1]);
                    }
                };
                auto multiply = [&](int f) { mmaTile(acc, af[f], bf[f]); };
                if (PREFETCH) {
                    // Two k16 steps a round, each one's fragments loaded while the other's mma run (buffer indices
                    // stay compile-time constants).
                    loadFragments(0, 0);
                    for (int ks = 0; ks < K; ks += 32) {
                        if (ks + 16 < K) loadFragments(ks + 16, 1);
                        multiply(0);
                        if (ks + 32 < K) loadFragments(ks + 32, 0);
                        if (ks + 16 < K) multiply(1);
                    }
                } else {
                    #pragma unroll 2
                    for (int ks = 0; ks < K; ks += 16) {
                        loadFragments(ks, 0);
                        multiply(0);
                    }
                }
                #pragma unroll
                for (int i = 0; i < MT; i++) {
                    #pragma unroll
                    for (int h = 0; h < 2; h++) {
                        const int m = tile * BM + (wm * MT + i) * 16 + (lane >> 2) + h * 8;
                        if (m >= p.M) continue;
                        i64 yRow, rRow;
                        if (yFlat && rFlat) {
                            yRow = (i64)m * p.ysW;
                            rRow = (i64)m * p.rsW;
                        } else {
                            const int img = m / outHW, pix = m - img * outHW, oh = pix / p.outW, ow = pix - oh * p.outW;
                            convPixelRows(p, img, oh, ow, yRow, rRow);
                        }
                        convStoreRow(p, acc[i], h, co, yRow, rRow, bias);
                    }
                }
                __syncthreads();  // this buffer is loaded again by the next iteration's prefetch
            }
            copyAsyncWait<0>();
        }

        """

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
