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
