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
