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
