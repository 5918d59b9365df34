// MatMul and the fused attention of YOLO11's C2PSA and YOLO26's PSA blocks (LookoutMatMulParams).
//
// Matrices are strided views: A[i][p] at a + i * aRow + p * aCol, and so on; two batch dimensions (grid z runs over
// batch0 * batch1) with their own strides per operand (0 where an operand broadcasts). Element kinds as elsewhere:
// 0 fp32, 1 fp16.

__device__ __forceinline__ void matmulBatch(const LookoutMatMulParams& p, int z, i64& a, i64& b, i64& c, i64& y) {
    const int b0 = z / p.batch1, b1 = z - b0 * p.batch1;
    a = b0 * p.aBatch[0] + b1 * p.aBatch[1];
    b = b0 * p.bBatch[0] + b1 * p.bBatch[1];
    c = b0 * p.cBatch[0] + b1 * p.cBatch[1];
    y = b0 * p.yBatch[0] + b1 * p.yBatch[1];
}

// Y = A · B, fp32 accumulation: 16x16 output tiles, 16-deep slices of A and B through shared memory.
extern "C" __global__ void __launch_bounds__(256) lookout_matmul(const LookoutMatMulParams p) {
    __shared__ float as[16][17];
    __shared__ float bs[16][17];
    i64 ao, bo, co, yo;
    matmulBatch(p, blockIdx.z, ao, bo, co, yo);
    const int tx = threadIdx.x & 15, ty = threadIdx.x >> 4;
    const int row = blockIdx.y * 16 + ty, col = blockIdx.x * 16 + tx;
    float acc = 0.0f;
    for (int k0 = 0; k0 < p.k; k0 += 16) {
        // as[ty][tx] = A[blockRow + ty][k0 + tx]; bs[ty][tx] = B[k0 + ty][blockCol + tx].
        const int ar = blockIdx.y * 16 + ty, ak = k0 + tx;
        as[ty][tx] = ar < p.m && ak < p.k ? loadf(p.a, ao + ar * p.aRow + ak * p.aCol, p.aHalf) : 0.0f;
        const int bk = k0 + ty, bc = blockIdx.x * 16 + tx;
        bs[ty][tx] = bk < p.k && bc < p.n ? loadf(p.b, bo + bk * p.bRow + bc * p.bCol, p.bHalf) : 0.0f;
        __syncthreads();
        #pragma unroll
        for (int q = 0; q < 16; q++) acc = fmaf(as[ty][q], bs[q][tx], acc);
        __syncthreads();
    }
    if (row < p.m && col < p.n) storef(p.y, yo + row * p.yRow + col * p.yCol, p.yHalf, acc);
}

// Fused attention on tensor cores, one block of four warps per (batch item, 64 queries):
//   O[c][i] = sum_j V[c][j] * softmax_j(S[i][j]),  S[i][j] = sum_e Q[e][i] * K[e][j]
// with Q = a (k x m: key dim x queries), K = b (k x kv), V = c (n x kv: value dim x keys), O = y (n x m). It is
// MatMul(Transpose(Q), K) -> Softmax(-1) -> Transpose -> MatMul(V, .) as Ultralytics exports the Attention module,
// computed flash-attention style: 64 keys at a time, S on mma.sync m16n8k16 (fp16 in, fp32 out), the running row
// maximum and sum in fp32, P rounded to fp16 for the second mma (P·V), O rescaled as the maximum grows.
// Limits (checked by the host): k a multiple of 16 up to 64, n a multiple of 8 up to 128.
#define ATT_Q 64
#define ATT_KV 64
#define ATT_D 64
#define ATT_DV 128
extern "C" __global__ void __launch_bounds__(128) lookout_attention(const LookoutMatMulParams p) {
    __shared__ __align__(16) half_t qs[ATT_Q][ATT_D + 8];     // [query][e]
    __shared__ __align__(16) half_t ks[ATT_KV][ATT_D + 8];    // [key][e]
    __shared__ __align__(16) half_t vs[ATT_DV][ATT_KV + 8];   // [channel][key]
    i64 qo, ko, vo, oo;
    matmulBatch(p, blockIdx.z, qo, ko, vo, oo);
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int g = lane >> 2, t = lane & 3;
    const int q0 = blockIdx.x * ATT_Q;
    const int d = p.k, dv = p.n, queries = p.m, keys = p.kv;

    // Tiles are read with consecutive threads along the operand's smaller stride (coalesced either way).
    const bool qByQuery = p.aCol < p.aRow, kByKey = p.bCol < p.bRow, vByKey = p.cCol < p.cRow;
    for (int idx = threadIdx.x; idx < ATT_Q * d; idx += blockDim.x) {
        const int i = qByQuery ? idx % ATT_Q : idx / d, e = qByQuery ? idx / ATT_Q : idx % d;
        const int q = q0 + i;
        qs[i][e] = f2h(q < queries ? loadf(p.a, qo + e * p.aRow + q * p.aCol, p.aHalf) : 0.0f);
    }

    float acc[ATT_DV / 8][4];
    #pragma unroll
    for (int j = 0; j < ATT_DV / 8; j++) acc[j][0] = acc[j][1] = acc[j][2] = acc[j][3] = 0.0f;
    // Rows g and g + 8 of this warp's 16 queries.
    float rowMax[2] = {__int_as_float(0xff800000), __int_as_float(0xff800000)};
    float rowSum[2] = {0.0f, 0.0f};

    for (int k0 = 0; k0 < keys; k0 += ATT_KV) {
        __syncthreads();  // the previous block's K and V are no longer read (and Q is written, the first time)
        for (int idx = threadIdx.x; idx < ATT_KV * d; idx += blockDim.x) {
            const int j = kByKey ? idx % ATT_KV : idx / d, e = kByKey ? idx / ATT_KV : idx % d;
            const int key = k0 + j;
            ks[j][e] = f2h(key < keys ? loadf(p.b, ko + e * p.bRow + key * p.bCol, p.bHalf) : 0.0f);
        }
        for (int idx = threadIdx.x; idx < dv * ATT_KV; idx += blockDim.x) {
            const int j = vByKey ? idx % ATT_KV : idx / dv, c = vByKey ? idx / ATT_KV : idx % dv;
            const int key = k0 + j;
            vs[c][j] = f2h(key < keys ? loadf(p.c, vo + c * p.cRow + key * p.cCol, p.cHalf) : 0.0f);
        }
        __syncthreads();

        // S for this warp's 16 queries x 64 keys: 8 tiles of 16 x 8.
        float s[ATT_KV / 8][4];
        #pragma unroll
        for (int j = 0; j < ATT_KV / 8; j++) s[j][0] = s[j][1] = s[j][2] = s[j][3] = 0.0f;
        const int r0 = warp * 16 + g;
        for (int e0 = 0; e0 < d; e0 += 16) {
            const unsigned a0 = *(const unsigned*)&qs[r0][e0 + 2 * t];
            const unsigned a1 = *(const unsigned*)&qs[r0 + 8][e0 + 2 * t];
            const unsigned a2 = *(const unsigned*)&qs[r0][e0 + 2 * t + 8];
            const unsigned a3 = *(const unsigned*)&qs[r0 + 8][e0 + 2 * t + 8];
            #pragma unroll
            for (int j = 0; j < ATT_KV / 8; j++) {
                const unsigned b0 = *(const unsigned*)&ks[j * 8 + g][e0 + 2 * t];
                const unsigned b1 = *(const unsigned*)&ks[j * 8 + g][e0 + 2 * t + 8];
                mma16816(s[j], a0, a1, a2, a3, b0, b1);
            }
        }
        // Keys past the end do not count.
        #pragma unroll
        for (int j = 0; j < ATT_KV / 8; j++) {
            const int key = k0 + j * 8 + 2 * t;
            if (key >= keys) { s[j][0] = s[j][2] = __int_as_float(0xff800000); }
            if (key + 1 >= keys) { s[j][1] = s[j][3] = __int_as_float(0xff800000); }
        }
        // Online softmax per row (the four threads of a quad hold one row's 64 values).
        #pragma unroll
        for (int h = 0; h < 2; h++) {
            float m = rowMax[h];
            #pragma unroll
            for (int j = 0; j < ATT_KV / 8; j++) m = fmaxf(m, fmaxf(s[j][2 * h], s[j][2 * h + 1]));
            m = fmaxf(m, __shfl_xor_sync(0xffffffff, m, 1));
            m = fmaxf(m, __shfl_xor_sync(0xffffffff, m, 2));
            const float scale = expf(rowMax[h] - m);  // 0 the first time (rowMax -inf, m finite)
            rowMax[h] = m;
            float sum = 0.0f;
            #pragma unroll
            for (int j = 0; j < ATT_KV / 8; j++) {
                s[j][2 * h] = expf(s[j][2 * h] - m);
                s[j][2 * h + 1] = expf(s[j][2 * h + 1] - m);
                sum += s[j][2 * h] + s[j][2 * h + 1];
            }
            sum += __shfl_xor_sync(0xffffffff, sum, 1);
            sum += __shfl_xor_sync(0xffffffff, sum, 2);
            rowSum[h] = rowSum[h] * scale + sum;
            #pragma unroll
            for (int c = 0; c < ATT_DV / 8; c++) {
                acc[c][2 * h] *= scale;
                acc[c][2 * h + 1] *= scale;
            }
        }
        // O += P · V: P's 16 x 16 key slices are the A fragments (two S tiles each), V^T's 16 x 8 the B fragments.
        #pragma unroll
        for (int kk = 0; kk < ATT_KV / 16; kk++) {
            const unsigned a0 = pack2(s[2 * kk][0], s[2 * kk][1]);
            const unsigned a1 = pack2(s[2 * kk][2], s[2 * kk][3]);
            const unsigned a2 = pack2(s[2 * kk + 1][0], s[2 * kk + 1][1]);
            const unsigned a3 = pack2(s[2 * kk + 1][2], s[2 * kk + 1][3]);
            #pragma unroll
            for (int c = 0; c < ATT_DV / 8; c++) {
                if (c * 8 >= dv) break;
                const unsigned b0 = *(const unsigned*)&vs[c * 8 + g][kk * 16 + 2 * t];
                const unsigned b1 = *(const unsigned*)&vs[c * 8 + g][kk * 16 + 2 * t + 8];
                mma16816(acc[c], a0, a1, a2, a3, b0, b1);
            }
        }
    }
    // O[c][i] = acc / rowSum: thread holds queries (g, g + 8) x channels (c * 8 + 2t, + 1).
    #pragma unroll
    for (int h = 0; h < 2; h++) {
        const int q = q0 + warp * 16 + g + 8 * h;
        if (q >= queries) continue;
        const float inverse = 1.0f / rowSum[h];
        #pragma unroll
        for (int c = 0; c < ATT_DV / 8; c++) {
            if (c * 8 >= dv) break;
            const int channel = c * 8 + 2 * t;
            storef(p.y, oo + channel * p.yRow + q * p.yCol, p.yHalf, acc[c][2 * h] * inverse);
            storef(p.y, oo + (channel + 1) * p.yRow + q * p.yCol, p.yHalf, acc[c][2 * h + 1] * inverse);
        }
    }
}
