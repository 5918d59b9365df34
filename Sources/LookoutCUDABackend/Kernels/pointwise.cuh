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
