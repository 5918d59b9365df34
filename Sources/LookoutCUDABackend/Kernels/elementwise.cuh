__device__ __forceinline__ float unaryOp(int op, float x) {
    switch (op) {
    case 1: return sigmoidf(x);
    case 2: return x > 0.0f ? x : 0.0f;
    case 3: return expf(x);
    case 4: return logf(x);
    case 5: return __fsqrt_rn(x);
    case 6: return -x;
    case 7: return fabsf(x);
    case 8: return __fdiv_rn(1.0f, x);
    case 9: return tanhf(x);
    default: return x;
    }
}
__device__ __forceinline__ float binaryOp(int op, float a, float b) {
    switch (op) {
    case 20: return __fadd_rn(a, b);
    case 21: return __fsub_rn(a, b);
    case 22: return __fmul_rn(a, b);
    case 23: return __fdiv_rn(a, b);
    case 24: return powf(a, b);
    case 25: return fminf(a, b);
    default: return fmaxf(a, b);
    }
}

// Offsets of logical element t (innermost dimension fastest) in a, b and y; 32-bit index arithmetic with
// the host's multiply-high division (the engine keeps element counts below 2^31).
__device__ __forceinline__ void offsets(const LookoutElementwiseParams& p, unsigned t, i64& oa, i64& ob, i64& oy) {
    oa = 0; ob = 0; oy = 0;
    #pragma unroll
    for (int d = 5; d >= 0; d--) {
        const unsigned q = (__umulhi(t, p.divMul[d]) + t) >> p.divShift[d];
        const i64 i = (i64)(t - q * (unsigned)p.shape[d]);
        t = q;
        oa += i * p.aStride[d];
        ob += i * p.bStride[d];
        oy += i * p.yStride[d];
    }
}

extern "C" __global__ void __launch_bounds__(256) lookout_elementwise(const LookoutElementwiseParams p) {
    const unsigned count = (unsigned)p.count;
    for (unsigned t = blockIdx.x * blockDim.x + threadIdx.x; t < count; t += gridDim.x * blockDim.x) {
        i64 oa, ob, oy;
        offsets(p, t, oa, ob, oy);
        if (p.op == 100) {
            const int bytes = p.aHalf ? 2 : 4;
            *(uint4*)((char*)p.y + oy * bytes) = *(const uint4*)((const char*)p.a + oa * bytes);
            continue;
        }
        float v = loadf(p.a, oa, p.aHalf);
        if (p.op >= 20) v = binaryOp(p.op, v, loadf(p.b, ob, p.bHalf));
        else if (p.op > 0) v = unaryOp(p.op, v);
        storef(p.y, oy, p.yHalf, v);
    }
}
