/// Kernels over strided tensors of up to six dimensions: copies and casts (Concat slots, Split, Slice, Transpose,
/// the input conversion), unary and binary arithmetic with broadcasting, max pooling, nearest resize, softmax.
extension EngineKernelSource {
    /// `LookoutElementwiseParams.op` values.
    enum Op: Int32 {
        case copy = 0
        /// A copy of whole 16-byte groups (the innermost dimension counts groups; strides stay in elements).
        case copy16 = 100
        /// Max pooling and nearest resize of 8 fp16 channels a thread.
        case maxPool8 = 140, resizeNearest8 = 141
        case sigmoid = 1, relu = 2, exp = 3, log = 4, sqrt = 5, neg = 6, abs = 7, reciprocal = 8, tanh = 9
        case add = 20, sub = 21, mul = 22, div = 23, pow = 24, min = 25, max = 26
        case maxPool = 40
        case resizeNearest = 41
    }

    static let elementwise = """
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

        // Softmax over `length` values `xsLength` apart, one thread per (outer, inner) pair; max-subtracted, as the CPU.
        extern "C" __global__ void __launch_bounds__(256) lookout_softmax(const LookoutSoftmaxParams p) {
            const i64 total = (i64)p.outer * p.inner;
            for (i64 t = (i64)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += (i64)gridDim.x * blockDim.x) {
                const i64 o = t / p.inner, i = t - o * p.inner;
                const i64 xb = o * p.xsOuter + i * p.xsInner, yb = o * p.ysOuter + i * p.ysInner;
                float m = __int_as_float(0xff800000);
                for (int k = 0; k < p.length; k++) m = fmaxf(m, loadf(p.x, xb + k * p.xsLength, p.xHalf));
                float sum = 0.0f;
                for (int k = 0; k < p.length; k++) sum = __fadd_rn(sum, expf(__fsub_rn(loadf(p.x, xb + k * p.xsLength, p.xHalf), m)));
                for (int k = 0; k < p.length; k++) {
                    const float e = expf(__fsub_rn(loadf(p.x, xb + k * p.xsLength, p.xHalf), m));
                    storef(p.y, yb + k * p.ysLength, p.yHalf, __fdiv_rn(e, sum));
                }
            }
        }

        // The softmax, then its values weighted by w[k] and summed (plus bias[0]) into one output per (outer, inner):
        // a 1x1 convolution to one channel over the softmax axis, fused (SoftmaxDot). The same operations as
        // lookout_softmax followed by the convolution kernels' fmaf over the channels.
        extern "C" __global__ void __launch_bounds__(256) lookout_softmax_dot(
            const LookoutSoftmaxParams p, unsigned long long w, unsigned long long bias, unsigned long long out, i64 osOuter,
            i64 osInner, int outHalf) {
            const i64 total = (i64)p.outer * p.inner;
            const float* weights = (const float*)w;
            for (i64 t = (i64)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += (i64)gridDim.x * blockDim.x) {
                const i64 o = t / p.inner, i = t - o * p.inner;
                const i64 xb = o * p.xsOuter + i * p.xsInner;
                float m = __int_as_float(0xff800000);
                for (int k = 0; k < p.length; k++) m = fmaxf(m, loadf(p.x, xb + k * p.xsLength, p.xHalf));
                float sum = 0.0f;
                for (int k = 0; k < p.length; k++) sum = __fadd_rn(sum, expf(__fsub_rn(loadf(p.x, xb + k * p.xsLength, p.xHalf), m)));
                float acc = 0.0f;
                for (int k = 0; k < p.length; k++) {
                    const float e = expf(__fsub_rn(loadf(p.x, xb + k * p.xsLength, p.xHalf), m));
                    acc = fmaf(__fdiv_rn(e, sum), weights[k], acc);
                }
                if (bias) acc = __fadd_rn(acc, ((const float*)bias)[0]);
                storef(out, o * osOuter + i * osInner, outHalf, acc);
            }
        }

        // max |a - b| and max |b| over `count` fp32 values, into result[0] and result[1] (float bits; non-negative
        // floats order as unsigned integers). NaN anywhere gives +inf.
        extern "C" __global__ void __launch_bounds__(256) lookout_max_difference(unsigned long long a, unsigned long long b, i64 count, unsigned long long result) {
            float worst = 0.0f, largest = 0.0f;
            for (i64 t = (i64)blockIdx.x * blockDim.x + threadIdx.x; t < count; t += (i64)gridDim.x * blockDim.x) {
                const float x = ((const float*)a)[t], y = ((const float*)b)[t];
                float d = fabsf(x - y);
                if (d != d) d = __int_as_float(0x7f800000);
                worst = fmaxf(worst, d);
                largest = fmaxf(largest, fabsf(y));
            }
            atomicMax((unsigned*)result, __float_as_uint(worst));
            atomicMax((unsigned*)result + 1, __float_as_uint(largest));
        }

        // Deterministic pseudo-random values in [-1, 1) (fp16 or fp32), for tuning inputs and poisoning.
        extern "C" __global__ void __launch_bounds__(256) lookout_fill_random(unsigned long long y, i64 count, int half, unsigned seed) {
            for (i64 t = (i64)blockIdx.x * blockDim.x + threadIdx.x; t < count; t += (i64)gridDim.x * blockDim.x) {
                unsigned long long z = (unsigned long long)t * 0x9E3779B97F4A7C15ull + seed;
                z ^= z >> 31; z *= 0xBF58476D1CE4E5B9ull; z ^= z >> 29;
                const float v = (float)(z >> 40) * (1.0f / 8388608.0f) - 1.0f;
                storef(y, t, half, v);
            }
        }

        """
}
