/// The convolution kernels: an implicit-GEMM kernel on the tensor cores (fp16 in, fp32 accumulate) for
/// channels-last fp16 inputs, a direct kernel for few input channels (the first layer), and a general direct
/// kernel for any strides and types (also the reference the tuner checks the others against).
extension EngineKernelSource {
    static let conv = """
        // Bias, SiLU, residual: the epilogue every convolution shares (the CPU backend's order). FAST uses the
        // hardware exp2 and an approximate division for SiLU (the fp16 output's rounding is far larger); the direct
        // kernel, the tuner's reference, keeps IEEE arithmetic.
        template <bool FAST>
        __device__ __forceinline__ float convEpilogueT(const LookoutConvParams& p, float v, int co, i64 residualIndex) {
            if (p.bias) v = __fadd_rn(v, ((const float*)p.bias)[co]);
            if (p.silu) v = FAST ? __fdividef(v, 1.0f + __expf(-v)) : silu(v);
            if (p.hasResidual) v = __fadd_rn(v, loadf(p.residual, residualIndex, p.rHalf));
            return v;
        }
        __device__ __forceinline__ float convEpilogue(const LookoutConvParams& p, float v, int co, i64 residualIndex) {
            return convEpilogueT<false>(p, v, co, residualIndex);
        }

        // The output and residual offsets of pixel (oh, ow) of image `img`; false outside the output (a tile's
        // pixels past the edge).
        __device__ __forceinline__ bool convPixelRows(const LookoutConvParams& p, int img, int oh, int ow, i64& yRow, i64& rRow) {
            if (oh >= p.outH || ow >= p.outW) return false;
            yRow = (i64)img * p.ysN + (i64)oh * p.ysH + (i64)ow * p.ysW;
            rRow = (i64)img * p.rsN + (i64)oh * p.rsH + (i64)ow * p.rsW;
            return true;
        }

        // The biases of output channels co and co + 1 (0 without a bias; the bias is padded past outC), loaded once
        // per thread and fragment column before the epilogue's loops.
        __device__ __forceinline__ float2 convBiasPair(const LookoutConvParams& p, int co) {
            if (!p.bias || co >= p.outC) return make_float2(0.0f, 0.0f);
            return *(const float2*)((const float*)p.bias + co);
        }
        // The fast epilogue of one value with its bias already loaded: bias, SiLU, residual (convEpilogueT's order).
        __device__ __forceinline__ float convEpilogueBias(const LookoutConvParams& p, float v, float bias, i64 residualIndex) {
            v = __fadd_rn(v, bias);
            if (p.silu) v = __fdividef(v, 1.0f + __expf(-v));
            if (p.hasResidual) v = __fadd_rn(v, loadf(p.residual, residualIndex, p.rHalf));
            return v;
        }

        // The epilogue of an accumulator pair, output channels co and co + 1 of the pixel at yRow (residual at rRow),
        // as the mma and wgmma fragments hold them, with their biases `b` (convBiasPair): bias, SiLU, residual,
        // then one paired store where the channels are adjacent.
        __device__ __forceinline__ void convStorePair(const LookoutConvParams& p, float a0, float a1, int co, i64 yRow, i64 rRow, float2 b) {
            if (co >= p.outC) return;
            // The common case: channels-last fp16, and a residual (if any) channels-last fp16 with the pair in one
            // aligned 32-bit word.
            const bool pairedResidual =
                !p.hasResidual || (p.rsC == 1 && p.rHalf && ((((unsigned long long)p.residual >> 1) + rRow + co) & 1) == 0);
            if (p.ysC == 1 && p.yHalf && co + 1 < p.outC && pairedResidual) {
                float v0 = __fadd_rn(a0, b.x), v1 = __fadd_rn(a1, b.y);
                if (p.silu) {
                    v0 = __fdividef(v0, 1.0f + __expf(-v0));
                    v1 = __fdividef(v1, 1.0f + __expf(-v1));
                }
                if (p.hasResidual) {
                    const unsigned r = *(const unsigned*)((const half_t*)p.residual + rRow + co);
                    v0 = __fadd_rn(v0, h2f((half_t)(r & 0xffffu)));
                    v1 = __fadd_rn(v1, h2f((half_t)(r >> 16)));
                }
                *(unsigned*)((half_t*)p.y + yRow + co) = pack2(v0, v1);
                return;
            }
            const float v0 = convEpilogueBias(p, a0, b.x, rRow + (i64)co * p.rsC);
            if (co + 1 < p.outC) {
                const float v1 = convEpilogueBias(p, a1, b.y, rRow + (i64)(co + 1) * p.rsC);
                if (p.ysC != 1) {
                    // An output with strided channels (a row-major tensor the layer writes in place).
                    storef(p.y, yRow + (i64)co * p.ysC, p.yHalf, v0);
                    storef(p.y, yRow + (i64)(co + 1) * p.ysC, p.yHalf, v1);
                } else if (p.yHalf) {
                    *(unsigned*)((half_t*)p.y + yRow + co) = pack2(v0, v1);
                } else {
                    *(float2*)((float*)p.y + yRow + co) = make_float2(v0, v1);
                }
            } else {
                storef(p.y, yRow + (i64)co * p.ysC, p.yHalf, v0);
            }
        }

        // A warp's NT n8 columns of an mma tile, for the lane whose first pair is channel `co` (n + (lane & 3) * 2):
        // the bias pairs, and the store of row half h (fragment rows lane / 4 + 8h) of one m16 slice to a pixel.
        template <int NT> __device__ __forceinline__ void convBiasPairs(const LookoutConvParams& p, int co, float2 (&bias)[NT]) {
            #pragma unroll
            for (int j = 0; j < NT; j++) bias[j] = convBiasPair(p, co + j * 8);
        }
        template <int NT>
        __device__ __forceinline__ void convStoreRow(const LookoutConvParams& p, const float (&acc)[NT][4], int h, int co,
                                                     i64 yRow, i64 rRow, const float2 (&bias)[NT]) {
            #pragma unroll
            for (int j = 0; j < NT; j++) convStorePair(p, acc[j][h * 2], acc[j][h * 2 + 1], co + j * 8, yRow, rRow, bias[j]);
        }

        // One 16-byte vector of the implicit GEMM's A tile (a row = an output pixel, 8 channels of one tap), as a
        // thread gathers it stage after stage: the image's base, the window's corner, the vector's k position and
        // its current source address. Within a tap the source only moves BK channels a stage; the tap (and the
        // bounds test) is worked out again only when the channels wrap. Shared by the mma and wgmma kernels.
        struct ConvGather {
            const half_t* rowBase;
            const half_t* source;
            int rowH, rowW, tapC, tapH, tapW, kk;
            bool inside;

            __device__ __forceinline__ void locate(const LookoutConvParams& p, const half_t* x) {
                const int ih = rowH + tapH * p.dilH, iw = rowW + tapW * p.dilW;
                inside = kk < p.K && ih >= 0 && ih < p.inH && iw >= 0 && iw < p.inW;
                source = inside ? rowBase + (i64)ih * p.xsH + (i64)iw * p.xsW + tapC : x;
            }
            // Output pixel m (when `valid`: the vector exists and m < M; otherwise it never passes the bounds
            // test and loads zeros), starting at k position `k`.
            __device__ __forceinline__ void start(const LookoutConvParams& p, const half_t* x, bool valid, int m, int k) {
                rowBase = x;
                rowH = -(1 << 28);
                rowW = 0;
                if (valid) {
                    const int outHW = p.outH * p.outW;
                    const int img = m / outHW, pix = m - img * outHW, oh = pix / p.outW, ow = pix - oh * p.outW;
                    rowBase = x + (i64)img * p.xsN;
                    rowH = oh * p.strideH - p.padT;
                    rowW = ow * p.strideW - p.padL;
                }
                kk = k;
                const int tap = kk / p.inC;
                tapC = kk - tap * p.inC;
                tapH = tap / p.kW;
                tapW = tap - tapH * p.kW;
                locate(p, x);
            }
            // On to the same vector of the next stage, BK further along K.
            template <int BK> __device__ __forceinline__ void advance(const LookoutConvParams& p, const half_t* x) {
                kk += BK;
                tapC += BK;
                if (tapC < p.inC) {
                    source += BK;
                    inside = inside && kk < p.K;
                } else {
                    do {
                        tapC -= p.inC;
                        if (++tapW == p.kW) { tapW = 0; ++tapH; }
                    } while (tapC >= p.inC);
                    locate(p, x);
                }
            }
        };

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

        // Few input channels (the first layer: 3): one thread per output pixel, all output channels in registers,
        // weights in shared memory. Needs channels-last output (channel stride 1).
        template <int CO>
        __device__ __forceinline__ void convSmall(const LookoutConvParams& p) {
            // Weights k-major ([tap][output channel]): each tap's CO weights come in CO / 4 16-byte shared loads.
            __shared__ __align__(16) float sw[64 * CO];
            __shared__ float sb[CO];
            const int taps = p.inC * p.kH * p.kW;  // <= 64, checked on the host
            for (int i = threadIdx.x; i < CO * 64; i += blockDim.x) {
                const int k = i / CO, co = i % CO;
                sw[i] = co < p.outC && k < taps ? ((const float*)p.w32)[co * taps + k] : 0.0f;
            }
            for (int i = threadIdx.x; i < CO; i += blockDim.x) sb[i] = p.bias && i < p.outC ? ((const float*)p.bias)[i] : 0.0f;
            __syncthreads();
            const int m = blockIdx.x * blockDim.x + threadIdx.x;
            if (m >= p.M) return;
            const int outHW = p.outH * p.outW;
            const int img = m / outHW, pix = m - img * outHW, oh = pix / p.outW, ow = pix - oh * p.outW;
            float acc[CO];
            #pragma unroll
            for (int co = 0; co < CO; co++) acc[co] = 0.0f;
            const i64 imageBase = (i64)img * p.xsN;
            for (int kh = 0; kh < p.kH; kh++) {
                const int ih = oh * p.strideH - p.padT + kh * p.dilH;
                if (ih < 0 || ih >= p.inH) continue;
                for (int kw = 0; kw < p.kW; kw++) {
                    const int iw = ow * p.strideW - p.padL + kw * p.dilW;
                    if (iw < 0 || iw >= p.inW) continue;
                    const i64 pixel = imageBase + (i64)ih * p.xsH + (i64)iw * p.xsW;
                    for (int c = 0; c < p.inC; c++) {
                        const float v = loadf(p.x, pixel + (i64)c * p.xsC, p.xHalf);
                        const float4* wk = (const float4*)(sw + ((c * p.kH + kh) * p.kW + kw) * CO);
                        #pragma unroll
                        for (int q = 0; q < CO / 4; q++) {
                            const float4 w4 = wk[q];
                            acc[4 * q] = fmaf(v, w4.x, acc[4 * q]);
                            acc[4 * q + 1] = fmaf(v, w4.y, acc[4 * q + 1]);
                            acc[4 * q + 2] = fmaf(v, w4.z, acc[4 * q + 2]);
                            acc[4 * q + 3] = fmaf(v, w4.w, acc[4 * q + 3]);
                        }
                    }
                }
            }
            const i64 yRow = (i64)img * p.ysN + (i64)oh * p.ysH + (i64)ow * p.ysW;
            const i64 rRow = (i64)img * p.rsN + (i64)oh * p.rsH + (i64)ow * p.rsW;
            float v[CO];
            #pragma unroll
            for (int co = 0; co < CO; co++) {
                float x = acc[co] + sb[co];
                if (p.silu) x = __fdividef(x, 1.0f + __expf(-x));
                if (p.hasResidual && co < p.outC) x = __fadd_rn(x, loadf(p.residual, rRow + co * p.rsC, p.rHalf));
                v[co] = x;
            }
            // Channels-last fp16 with whole 16-byte groups: 8 channels a store (the layer's bytes in few stores).
            if (p.yHalf && p.ysC == 1 && (p.outC & 7) == 0 && ((p.y + (unsigned long long)yRow * 2) & 15) == 0) {
                #pragma unroll
                for (int co = 0; co < CO; co += 8) {
                    if (co >= p.outC) break;
                    uint4 q;
                    q.x = pack2(v[co], v[co + 1]); q.y = pack2(v[co + 2], v[co + 3]);
                    q.z = pack2(v[co + 4], v[co + 5]); q.w = pack2(v[co + 6], v[co + 7]);
                    *(uint4*)((half_t*)p.y + yRow + co) = q;
                }
                return;
            }
            #pragma unroll
            for (int co = 0; co < CO; co++) {
                if (co < p.outC) storef(p.y, yRow + co * p.ysC, p.yHalf, v[co]);
            }
        }

        // Any convolution: one thread per output element, output channel fastest.
        __device__ __forceinline__ void convDirect(const LookoutConvParams& p) {
            const i64 total = (i64)p.M * p.outC;
            const int cinG = p.inC / p.group, coutG = p.outC / p.group;
            for (i64 t = (i64)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += (i64)gridDim.x * blockDim.x) {
                const int co = (int)(t % p.outC);
                const i64 m = t / p.outC;
                const int outHW = p.outH * p.outW;
                const int img = (int)(m / outHW), pix = (int)(m - (i64)img * outHW), oh = pix / p.outW, ow = pix - oh * p.outW;
                const int g = co / coutG;
                float acc = 0.0f;
                const float* wco = (const float*)p.w32 + (i64)co * cinG * p.kH * p.kW;
                for (int ci = 0; ci < cinG; ci++) {
                    const int c = g * cinG + ci;
                    for (int kh = 0; kh < p.kH; kh++) {
                        const int ih = oh * p.strideH - p.padT + kh * p.dilH;
                        if (ih < 0 || ih >= p.inH) continue;
                        for (int kw = 0; kw < p.kW; kw++) {
                            const int iw = ow * p.strideW - p.padL + kw * p.dilW;
                            if (iw < 0 || iw >= p.inW) continue;
                            const float v = loadf(p.x, (i64)img * p.xsN + (i64)c * p.xsC + (i64)ih * p.xsH + (i64)iw * p.xsW, p.xHalf);
                            acc = fmaf(v, wco[(ci * p.kH + kh) * p.kW + kw], acc);
                        }
                    }
                }
                const i64 r = (i64)img * p.rsN + (i64)co * p.rsC + (i64)oh * p.rsH + (i64)ow * p.rsW;
                const float v = convEpilogue(p, acc, co, r);
                storef(p.y, (i64)img * p.ysN + (i64)co * p.ysC + (i64)oh * p.ysH + (i64)ow * p.ysW, p.yHalf, v);
            }
        }

        """
}
