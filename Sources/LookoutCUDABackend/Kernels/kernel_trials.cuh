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
