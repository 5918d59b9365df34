typedef unsigned short half_t;  // fp16 bits
typedef long long i64;

__device__ __forceinline__ float h2f(half_t h) { float f; asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h)); return f; }
__device__ __forceinline__ half_t f2h(float f) { half_t h; asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f)); return h; }
__device__ __forceinline__ unsigned pack2(float a, float b) {
    return (unsigned)f2h(a) | ((unsigned)f2h(b) << 16);
}
// A tensor element as float, whatever its storage (fp16 or fp32).
__device__ __forceinline__ float loadf(unsigned long long base, i64 index, int half) {
    return half ? h2f(((const half_t*)base)[index]) : ((const float*)base)[index];
}
__device__ __forceinline__ void storef(unsigned long long base, i64 index, int half, float v) {
    if (half) ((half_t*)base)[index] = f2h(v); else ((float*)base)[index] = v;
}
// x * sigmoid(x) with an IEEE division, as the CPU backend computes it (up to expf's rounding).
__device__ __forceinline__ float silu(float x) { return __fdiv_rn(x, __fadd_rn(1.0f, expf(-x))); }
__device__ __forceinline__ float sigmoidf(float x) { return __fdiv_rn(1.0f, __fadd_rn(1.0f, expf(-x))); }
