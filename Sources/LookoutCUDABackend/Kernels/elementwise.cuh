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

// Element kinds of the elementwise kernel's operands (aHalf, bHalf, yHalf): 0 fp32, 1 fp16, 2 int32 (the integer
// tensors of end-to-end heads: indices, class ids).
__device__ __forceinline__ float loadk(unsigned long long base, i64 index, int kind) {
    return kind == 2 ? (float)((const int*)base)[index] : loadf(base, index, kind);
}
__device__ __forceinline__ long long loadi(unsigned long long base, i64 index, int kind) {
    return kind == 2 ? (long long)((const int*)base)[index] : (long long)truncf(loadf(base, index, kind));
}
// A float stored into an integer tensor truncates toward zero, as ONNX's Cast does.
__device__ __forceinline__ void storek(unsigned long long base, i64 index, int kind, float v) {
    if (kind == 2) ((int*)base)[index] = (int)truncf(v); else storef(base, index, kind, v);
}
__device__ __forceinline__ void storei(unsigned long long base, i64 index, int kind, long long v) {
    if (kind == 2) ((int*)base)[index] = (int)v; else storef(base, index, kind, (float)v);
}
// Integer arithmetic (ONNX on int64; the values here fit 32 bits): Mod takes the divisor's sign (fmod = 0), Div
// truncates toward zero.
__device__ __forceinline__ long long integerOp(int op, long long a, long long b) {
    if (b == 0) return 0;
    if (op == 30) { long long r = a % b; return r != 0 && ((r < 0) != (b < 0)) ? r + b : r; }
    return a / b;
}

extern "C" __global__ void __launch_bounds__(256) lookout_elementwise(const LookoutElementwiseParams p) {
    const unsigned count = (unsigned)p.count;
    for (unsigned t = blockIdx.x * blockDim.x + threadIdx.x; t < count; t += gridDim.x * blockDim.x) {
        i64 oa, ob, oy;
        offsets(p, t, oa, ob, oy);
        if (p.op == 100) {
            const int bytes = p.aHalf == 1 ? 2 : 4;
            *(uint4*)((char*)p.y + oy * bytes) = *(const uint4*)((const char*)p.a + oa * bytes);
            continue;
        }
        if (p.op == 0 && p.aHalf == 2 && p.yHalf == 2) {
            ((int*)p.y)[oy] = ((const int*)p.a)[oa];
            continue;
        }
        if (p.op == 30 || p.op == 31) {
            storei(p.y, oy, p.yHalf, integerOp(p.op, loadi(p.a, oa, p.aHalf), loadi(p.b, ob, p.bHalf)));
            continue;
        }
        float v = loadk(p.a, oa, p.aHalf);
        if (p.op >= 20) v = binaryOp(p.op, v, loadk(p.b, ob, p.bHalf));
        else if (p.op > 0) v = unaryOp(p.op, v);
        storek(p.y, oy, p.yHalf, v);
    }
}
