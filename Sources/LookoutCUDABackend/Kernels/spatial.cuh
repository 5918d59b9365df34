// 8 fp16 channels (16 bytes) of max pooling or nearest resize a thread.
__device__ __forceinline__ void spatial8(const LookoutElementwiseParams& p, int n, int oh, int ow, int c8) {
    const i64 base = (i64)n * p.aStride[2] + (i64)c8 * p.aStride[5];
    uint4 result;
    if (p.op == 140) {
        float m[8];
        #pragma unroll
        for (int e = 0; e < 8; e++) m[e] = __int_as_float(0xff800000);
        for (int kh = 0; kh < p.kH; kh++) {
            const int ih = oh * p.strideH - p.padT + kh * p.dilH;
            if (ih < 0 || ih >= p.inH) continue;
            for (int kw = 0; kw < p.kW; kw++) {
                const int iw = ow * p.strideW - p.padL + kw * p.dilW;
                if (iw < 0 || iw >= p.inW) continue;
                const uint4 q = *(const uint4*)((const half_t*)p.a + base + (i64)ih * p.aStride[3] + (i64)iw * p.aStride[4]);
                const unsigned w[4] = {q.x, q.y, q.z, q.w};
                #pragma unroll
                for (int e = 0; e < 8; e++) {
                    const float x = h2f((half_t)(w[e >> 1] >> ((e & 1) * 16)));
                    m[e] = x > m[e] || x != x ? x : m[e];
                }
            }
        }
        result.x = pack2(m[0], m[1]); result.y = pack2(m[2], m[3]);
        result.z = pack2(m[4], m[5]); result.w = pack2(m[6], m[7]);
    } else {
        const int ih = ((const int*)p.b)[oh], iw = ((const int*)p.c)[ow];
        result = *(const uint4*)((const half_t*)p.a + base + (i64)ih * p.aStride[3] + (i64)iw * p.aStride[4]);
    }
    *(uint4*)((half_t*)p.y + (i64)n * p.yStride[2] + (i64)oh * p.yStride[3] + (i64)ow * p.yStride[4] + (i64)c8 * p.yStride[5]) = result;
}

// Max pooling and nearest resize: dimensions 2..5 are (n, h, w, c) of the output; a's strides are the
// input's for the same dimensions. Padding never wins a max (ONNX: pads are -inf).
extern "C" __global__ void __launch_bounds__(256) lookout_spatial(const LookoutElementwiseParams p) {
    const unsigned count = (unsigned)p.count;
    for (unsigned t = blockIdx.x * blockDim.x + threadIdx.x; t < count; t += gridDim.x * blockDim.x) {
        unsigned r = t, q;
        q = (__umulhi(r, p.divMul[5]) + r) >> p.divShift[5]; const int c = (int)(r - q * (unsigned)p.shape[5]); r = q;
        q = (__umulhi(r, p.divMul[4]) + r) >> p.divShift[4]; const int ow = (int)(r - q * (unsigned)p.shape[4]); r = q;
        q = (__umulhi(r, p.divMul[3]) + r) >> p.divShift[3]; const int oh = (int)(r - q * (unsigned)p.shape[3]); r = q;
        const int n = (int)r;
        if (p.op >= 140) { spatial8(p, n, oh, ow, c); continue; }
        const i64 base = (i64)n * p.aStride[2] + (i64)c * p.aStride[5];
        float v;
        if (p.op == 40) {
            v = __int_as_float(0xff800000);
            for (int kh = 0; kh < p.kH; kh++) {
                const int ih = oh * p.strideH - p.padT + kh * p.dilH;
                if (ih < 0 || ih >= p.inH) continue;
                for (int kw = 0; kw < p.kW; kw++) {
                    const int iw = ow * p.strideW - p.padL + kw * p.dilW;
                    if (iw < 0 || iw >= p.inW) continue;
                    const float x = loadf(p.a, base + (i64)ih * p.aStride[3] + (i64)iw * p.aStride[4], p.aHalf);
                    v = x > v || x != x ? x : v;  // NaN propagates, as fmaxf would not
                }
            }
        } else {
            const int ih = ((const int*)p.b)[oh], iw = ((const int*)p.c)[ow];
            v = loadf(p.a, base + (i64)ih * p.aStride[3] + (i64)iw * p.aStride[4], p.aHalf);
        }
        storef(p.y, (i64)n * p.yStride[2] + (i64)oh * p.yStride[3] + (i64)ow * p.yStride[4] + (i64)c * p.yStride[5], p.yHalf, v);
    }
}
