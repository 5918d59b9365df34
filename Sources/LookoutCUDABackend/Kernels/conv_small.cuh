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
