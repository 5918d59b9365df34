// Implicit GEMM on wgmma. A (BM pixels x BK) and B (BN channels x BK) are stored per stage as 8 x 8 core
// matrices (8 rows of 16 contiguous bytes, 128 bytes each), core matrix (r / 8, k / 8) at
// ((r / 8) * (BK / 8) + k / 8) * 128: LBO 128, SBO BK * 16. The loaders give the 8 threads of each
// quarter-warp the 8 rows of one core matrix, so each quarter-warp's 16-byte cp.async writes fill 128
// contiguous bytes (no bank conflicts); a warp still reads whole 64-byte runs of channels from global memory.
// Pipeline: the MMAs of a stage are issued first, then the loads of a later stage, then wgmma.wait_group 1
// (one commit group stays in flight). A stage is therefore reloaded two iterations after it was read
// (`STAGES - 2` tiles ahead), after the barrier that follows every warpgroup's wait for those MMAs.
template <int BM, int BN, int BK, int STAGES>
__device__ __forceinline__ void convWGMMA(const LookoutConvParams& p) {
    static_assert(STAGES >= 3, "one MMA group in flight needs 3 stages");
    static_assert(BN == 32 || BN == 64 || BN == 128, "wgmma wrappers exist for n 32, 64, 128");
    constexpr int THREADS = BM / 64 * 128;
    constexpr int VECS = BK / 8;  // 16-byte vectors (core matrices) per row
    constexpr int A_VECTORS = BM * VECS, B_VECTORS = BN * VECS;
    constexpr int A_ITERS = (A_VECTORS + THREADS - 1) / THREADS, B_ITERS = (B_VECTORS + THREADS - 1) / THREADS;
    constexpr int A_STAGE = BM * BK * 2, B_STAGE = BN * BK * 2;  // bytes
    constexpr unsigned SBO = BK * 16;
    extern __shared__ __align__(128) unsigned char smem[];
    const unsigned aShared = smemAddress(smem), bShared = aShared + STAGES * A_STAGE;
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, group = warp >> 2;
    const int m0 = blockIdx.x * BM, n0 = blockIdx.y * BN;
    const int outHW = p.outH * p.outW;
    const half_t* x = (const half_t*)p.x;
    const half_t* w = (const half_t*)p.w16;
    const int tiles = (p.K + BK - 1) / BK;  // weights rows are kPad (a multiple of 64) long

    // The gather of convMMA (ConvGather), with the core-matrix placement: vector id -> row (id % 8) of the
    // 8-row group (id / 8) / VECS, k vector (id / 8) % VECS.
    ConvGather gather[A_ITERS];
    unsigned aOffset[A_ITERS];
    #pragma unroll
    for (int i = 0; i < A_ITERS; i++) {
        const int id = tid + i * THREADS;
        const int vec = (id >> 3) % VECS, row = ((id >> 3) / VECS) * 8 + (id & 7);
        aOffset[i] = (unsigned)(((row >> 3) * VECS + vec) * 128 + (row & 7) * 16);
        gather[i].start(p, x, id < A_VECTORS && m0 + row < p.M, m0 + row, vec * 8);
    }
    const half_t* bSource[B_ITERS];
    unsigned bOffset[B_ITERS];
    #pragma unroll
    for (int j = 0; j < B_ITERS; j++) {
        const int id = tid + j * THREADS;
        const int vec = (id >> 3) % VECS, row = ((id >> 3) / VECS) * 8 + (id & 7);
        bOffset[j] = (unsigned)(((row >> 3) * VECS + vec) * 128 + (row & 7) * 16);
        bSource[j] = w + (i64)(n0 + row) * p.kPad + vec * 8;
    }

    auto loadStage = [&](int stage) {
        const unsigned a = aShared + (unsigned)(stage * A_STAGE);
        const unsigned b = bShared + (unsigned)(stage * B_STAGE);
        #pragma unroll
        for (int i = 0; i < A_ITERS; i++) {
            if (tid + i * THREADS < A_VECTORS) copyAsync16(a + aOffset[i], gather[i].source, gather[i].inside ? 16 : 0);
            gather[i].advance<BK>(p, x);
        }
        #pragma unroll
        for (int j = 0; j < B_ITERS; j++) {
            if (tid + j * THREADS < B_VECTORS) copyAsync16(b + bOffset[j], bSource[j], 16);
            bSource[j] += BK;
        }
    };

    // m64nBNk16 accumulators: thread (warp w of its warpgroup, lane) holds rows 16 w + lane / 4 (d[4 j],
    // d[4 j + 1]) and 8 below (d[4 j + 2], d[4 j + 3]), columns 8 j + 2 (lane % 4) and the next.
    float d[BN / 2];
    #pragma unroll
    for (int i = 0; i < BN / 2; i++) d[i] = 0.0f;

    #pragma unroll
    for (int s = 0; s < STAGES - 2; s++) {
        if (s < tiles) loadStage(s);
        copyAsyncCommit();
    }
    const unsigned aGroup = (unsigned)(group * 8 * VECS * 128);  // this warpgroup's 64 rows of A
    for (int t = 0; t < tiles; t++) {
        copyAsyncWait<STAGES - 3>();
        fenceProxyAsync();
        __syncthreads();
        const unsigned a = aShared + (unsigned)((t % STAGES) * A_STAGE) + aGroup;
        const unsigned b = bShared + (unsigned)((t % STAGES) * B_STAGE);
        wgmmaFence();
        #pragma unroll
        for (int ks = 0; ks < BK / 16; ks++) {
            // k16 = two core matrices along K: 256 bytes further per step.
            const unsigned long long aDesc = wgmmaDescriptor(a + ks * 256, 128, SBO);
            const unsigned long long bDesc = wgmmaDescriptor(b + ks * 256, 128, SBO);
            if constexpr (BN == 128) wgmma64x128(d, aDesc, bDesc);
            else if constexpr (BN == 64) wgmma64x64(d, aDesc, bDesc);
            else wgmma64x32(d, aDesc, bDesc);
        }
        wgmmaCommit();
        // Issued while the MMAs run: the stage of tile t - 2, whose MMAs every warpgroup has waited for.
        const int next = t + STAGES - 2;
        if (next < tiles) loadStage(next % STAGES);
        copyAsyncCommit();
        wgmmaWait<1>();
    }
    wgmmaWait<0>();
    copyAsyncWait<0>();
    #pragma unroll
    for (int i = 0; i < BN / 2; i++) fenceRegister(d[i]);

    // The epilogue of convMMA, from the wgmma fragment.
    #pragma unroll
    for (int h = 0; h < 2; h++) {
        const int m = m0 + group * 64 + (warp & 3) * 16 + (lane >> 2) + h * 8;
        if (m >= p.M) continue;
        const int img = m / outHW, pix = m - img * outHW, oh = pix / p.outW, ow = pix - oh * p.outW;
        const i64 yRow = (i64)img * p.ysN + (i64)oh * p.ysH + (i64)ow * p.ysW;
        const i64 rRow = (i64)img * p.rsN + (i64)oh * p.rsH + (i64)ow * p.rsW;
        #pragma unroll
        for (int j = 0; j < BN / 8; j++) {
            convStorePair(p, d[4 * j + 2 * h], d[4 * j + 2 * h + 1], n0 + j * 8 + (lane & 3) * 2, yRow, rRow, convBiasPair(p, n0 + j * 8 + (lane & 3) * 2));
        }
    }
}
