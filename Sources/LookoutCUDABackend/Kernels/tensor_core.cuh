__device__ __forceinline__ unsigned smemAddress(const void* p) {
    unsigned r;
    asm("{ .reg .u64 t; cvta.to.shared.u64 t, %1; cvt.u32.u64 %0, t; }" : "=r"(r) : "l"(p));
    return r;
}
// 16 bytes global -> shared, asynchronously; `bytes` 0 writes zeros (padding, out-of-range taps).
__device__ __forceinline__ void copyAsync16(unsigned dst, const void* src, int bytes) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" :: "r"(dst), "l"(src), "r"(bytes));
}
// The same through L1 (`.ca`): for operands that neighbouring loads of the same block read again soon.
__device__ __forceinline__ void copyAsync16L1(unsigned dst, const void* src, int bytes) {
    asm volatile("cp.async.ca.shared.global [%0], [%1], 16, %2;" :: "r"(dst), "l"(src), "r"(bytes));
}
__device__ __forceinline__ void copyAsyncCommit() { asm volatile("cp.async.commit_group;"); }
template <int N> __device__ __forceinline__ void copyAsyncWait() { asm volatile("cp.async.wait_group %0;" :: "n"(N)); }
__device__ __forceinline__ void loadMatrixX4(unsigned address, unsigned& r0, unsigned& r1, unsigned& r2, unsigned& r3) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];"
                 : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3) : "r"(address));
}
// D = A * B + D: A 16x16 fp16 (row), B 16x8 fp16 (col), D 16x8 fp32.
__device__ __forceinline__ void mma16816(float* d, unsigned a0, unsigned a1, unsigned a2, unsigned a3,
                                         unsigned b0, unsigned b1) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}
template <int MT, int NT> __device__ __forceinline__ void zeroTile(float (&acc)[MT][NT][4]) {
    #pragma unroll
    for (int i = 0; i < MT; i++)
        #pragma unroll
        for (int j = 0; j < NT; j++)
            #pragma unroll
            for (int r = 0; r < 4; r++) acc[i][j][r] = 0.0f;
}
// A warp's MT x NT tile of m16n8k16 products from one k16 step's fragments (ldmatrix layouts).
template <int MT, int NT>
__device__ __forceinline__ void mmaTile(float (&acc)[MT][NT][4], const unsigned (&a)[MT][4], const unsigned (&b)[NT][2]) {
    #pragma unroll
    for (int i = 0; i < MT; i++)
        #pragma unroll
        for (int j = 0; j < NT; j++) mma16816(acc[i][j], a[i][0], a[i][1], a[i][2], a[i][3], b[j][0], b[j][1]);
}
