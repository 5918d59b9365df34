// Implicit GEMM, M = output pixels, N = output channels, K = kH * kW * inC. A (pixels x K) is gathered
// from the channels-last input 16 bytes (8 channels) at a time, B (N x K) is the repacked fp16 weights.
// STAGES-deep cp.async pipeline, ldmatrix, mma.m16n8k16; each warp computes WM x WN.
// With SPLIT, grid z splits the k tiles and each split stores its partial sums in its own slice of
// p.workspace ([split][M][outC]); the split-K epilogue adds the slices in order (deterministic, unlike
// atomics) and applies bias, SiLU and the residual. L1: the input goes through L1 (cp.async.ca). PREFETCH:
// the next k16 step's fragments are loaded before this step's mma are issued (two fragment buffers).
template <int BM, int BN, int BK, int WM, int WN, int STAGES, bool SPLIT, bool L1, bool PREFETCH>
__device__ __forceinline__ void convMMA(const LookoutConvParams& p) {
    constexpr int LDS = BK + 8;  // smem rows padded by 16 bytes: ldmatrix without bank conflicts
    constexpr int WARPS_M = BM / WM, WARPS_N = BN / WN, THREADS = WARPS_M * WARPS_N * 32;
    constexpr int MT = WM / 16, NT = WN / 8;
    constexpr int A_VECTORS = BM * (BK / 8), B_VECTORS = BN * (BK / 8);
    constexpr int A_ITERS = (A_VECTORS + THREADS - 1) / THREADS;
    extern __shared__ __align__(16) unsigned char smem[];
    half_t* sA = (half_t*)smem;
    half_t* sB = sA + STAGES * BM * LDS;
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int wm = warp % WARPS_M, wn = warp / WARPS_M;
    const int m0 = blockIdx.x * BM, n0 = blockIdx.y * BN;
    const int outHW = p.outH * p.outW;
    const half_t* x = (const half_t*)p.x;
    const half_t* w = (const half_t*)p.w16;
    const int allTiles = (p.K + BK - 1) / BK;  // weights rows are kPad (a multiple of 64) long
    int kBegin = 0, kEnd = allTiles;
    if (SPLIT) {
        const int per = (allTiles + p.splits - 1) / p.splits;
        kBegin = min(allTiles, (int)blockIdx.z * per);
        kEnd = min(allTiles, kBegin + per);
    }

    constexpr int B_ITERS = (B_VECTORS + THREADS - 1) / THREADS;
    const unsigned aShared = smemAddress(sA), bShared = smemAddress(sB);
    ConvGather gather[A_ITERS];
    unsigned aOffset[A_ITERS];
    #pragma unroll
    for (int i = 0; i < A_ITERS; i++) {
        const int id = tid + i * THREADS;
        const int row = id / (BK / 8), vec = id % (BK / 8);
        aOffset[i] = (unsigned)(row * LDS + vec * 8) * 2;
        gather[i].start(p, x, id < A_VECTORS && m0 + row < p.M, m0 + row, kBegin * BK + vec * 8);
    }
    const half_t* bSource[B_ITERS];
    unsigned bOffset[B_ITERS];
    #pragma unroll
    for (int j = 0; j < B_ITERS; j++) {
        const int id = tid + j * THREADS;
        const int row = id / (BK / 8), vec = id % (BK / 8);
        bOffset[j] = (unsigned)(row * LDS + vec * 8) * 2;
        bSource[j] = w + (i64)(n0 + row) * p.kPad + kBegin * BK + vec * 8;
    }

    auto loadStage = [&](int stage) {
        const unsigned a = aShared + (unsigned)(stage * BM * LDS * 2);
        const unsigned b = bShared + (unsigned)(stage * BN * LDS * 2);
        #pragma unroll
        for (int i = 0; i < A_ITERS; i++) {
            if (tid + i * THREADS < A_VECTORS) {
                const int bytes = gather[i].inside ? 16 : 0;
                if (L1) copyAsync16L1(a + aOffset[i], gather[i].source, bytes);
                else copyAsync16(a + aOffset[i], gather[i].source, bytes);
            }
            gather[i].advance<BK>(p, x);
        }
        #pragma unroll
        for (int j = 0; j < B_ITERS; j++) {
            if (tid + j * THREADS < B_VECTORS) copyAsync16(b + bOffset[j], bSource[j], 16);
            bSource[j] += BK;
        }
    };

    float acc[MT][NT][4];
    zeroTile(acc);

    const int tiles = kEnd - kBegin;
    #pragma unroll
    for (int s = 0; s < STAGES - 1; s++) {
        if (s < tiles) loadStage(s);
        copyAsyncCommit();
    }
    for (int t = 0; t < tiles; t++) {
        copyAsyncWait<STAGES - 2>();
        __syncthreads();
        const int next = t + STAGES - 1;
        if (next < tiles) loadStage(next % STAGES);
        copyAsyncCommit();
        const half_t* a = sA + (t % STAGES) * BM * LDS;
        const half_t* b = sB + (t % STAGES) * BN * LDS;
        // Fragments of k16 step `ks` into buffer `f`.
        unsigned af[PREFETCH ? 2 : 1][MT][4], bf[PREFETCH ? 2 : 1][NT][2];
        auto loadFragments = [&](int ks, int f) {
            #pragma unroll
            for (int i = 0; i < MT; i++) {
                const int row = wm * WM + i * 16 + (lane & 15);
                const int col = ks + (lane >> 4) * 8;
                loadMatrixX4(smemAddress(a + row * LDS + col), af[f][i][0], af[f][i][1], af[f][i][2], af[f][i][3]);
            }
            #pragma unroll
            for (int j = 0; j < NT; j += 2) {
                const int row = wn * WN + j * 8 + (lane & 7) + (lane >> 4) * 8;
                const int col = ks + ((lane >> 3) & 1) * 8;
                loadMatrixX4(smemAddress(b + row * LDS + col), bf[f][j][0], bf[f][j][1], bf[f][j + 1][0], bf[f][j + 1][1]);
            }
        };
        if (PREFETCH) loadFragments(0, 0);
        #pragma unroll
        for (int ks = 0; ks < BK; ks += 16) {
            const int f = PREFETCH ? (ks / 16) & 1 : 0;
            if (PREFETCH) {
                if (ks + 16 < BK) loadFragments(ks + 16, f ^ 1);
            } else {
                loadFragments(ks, 0);
            }
            mmaTile(acc, af[f], bf[f]);
        }
    }
    copyAsyncWait<0>();

    // Epilogue straight from the accumulators: thread holds rows (lane / 4) and (lane / 4 + 8) of each
    // 16-row tile, columns 2 * (lane % 4) and the next of each 8-column tile.
    if (SPLIT) {
        float* ws = (float*)p.workspace + (i64)blockIdx.z * p.M * p.outC;
        #pragma unroll
        for (int i = 0; i < MT; i++)
            #pragma unroll
            for (int h = 0; h < 2; h++) {
                const int m = m0 + wm * WM + i * 16 + (lane >> 2) + h * 8;
                if (m >= p.M) continue;
                #pragma unroll
                for (int j = 0; j < NT; j++) {
                    const int co = n0 + wn * WN + j * 8 + (lane & 3) * 2;
                    if (co < p.outC) ws[(i64)m * p.outC + co] = acc[i][j][h * 2];
                    if (co + 1 < p.outC) ws[(i64)m * p.outC + co + 1] = acc[i][j][h * 2 + 1];
                }
            }
        return;
    }
    const int co = n0 + wn * WN + (lane & 3) * 2;
    float2 bias[NT];
    convBiasPairs(p, co, bias);
    #pragma unroll
    for (int i = 0; i < MT; i++) {
        #pragma unroll
        for (int h = 0; h < 2; h++) {
            const int m = m0 + wm * WM + i * 16 + (lane >> 2) + h * 8;
            if (m >= p.M) continue;
            const int img = m / outHW, pix = m - img * outHW, oh = pix / p.outW, ow = pix - oh * p.outW;
            i64 yRow, rRow;
            convPixelRows(p, img, oh, ow, yRow, rRow);
            convStoreRow(p, acc[i], h, co, yRow, rRow, bias);
        }
    }
}

// The split-K epilogue: the splits' partial sums, added in split order -> bias, SiLU, residual -> output.
extern "C" __global__ void __launch_bounds__(256) lookout_conv_splitk_epilogue(const LookoutConvParams p) {
    const i64 total = (i64)p.M * p.outC;
    const float* ws = (const float*)p.workspace;
    const int outHW = p.outH * p.outW;
    for (i64 t = (i64)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += (i64)gridDim.x * blockDim.x) {
        const int co = (int)(t % p.outC);
        const int m = (int)(t / p.outC);
        const int img = m / outHW, pix = m - img * outHW, oh = pix / p.outW, ow = pix - oh * p.outW;
        float sum = ws[t];
        for (int s = 1; s < p.splits; s++) sum += ws[(i64)s * total + t];
        const i64 r = (i64)img * p.rsN + (i64)co * p.rsC + (i64)oh * p.rsH + (i64)ow * p.rsW;
        storef(p.y, (i64)img * p.ysN + (i64)co * p.ysC + (i64)oh * p.ysH + (i64)ow * p.ysW, p.yHalf, convEpilogueT<true>(p, sum, co, r));
    }
}
