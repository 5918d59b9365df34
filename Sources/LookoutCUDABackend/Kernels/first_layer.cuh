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
