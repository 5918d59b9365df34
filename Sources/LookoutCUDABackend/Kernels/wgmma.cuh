__device__ __forceinline__ void wgmmaFence() { asm volatile("wgmma.fence.sync.aligned;" ::: "memory"); }
__device__ __forceinline__ void wgmmaCommit() { asm volatile("wgmma.commit_group.sync.aligned;" ::: "memory"); }
template <int N> __device__ __forceinline__ void wgmmaWait() { asm volatile("wgmma.wait_group.sync.aligned %0;" :: "n"(N) : "memory"); }
// Shared memory written by cp.async (the generic proxy) is read by wgmma through the async proxy.
__device__ __forceinline__ void fenceProxyAsync() { asm volatile("fence.proxy.async.shared::cta;" ::: "memory"); }
// Keeps the compiler from moving reads of an accumulator above the wgmma.wait_group that completes it.
__device__ __forceinline__ void fenceRegister(float& r) { asm volatile("" : "+f"(r) :: "memory"); }

// A shared-memory matrix descriptor without swizzling: start address, LBO (bytes between core matrices
// adjacent in K) and SBO (bytes between core matrices adjacent in M or N), each >> 4, in bits 0-13, 16-29
// and 32-45; base offset (bits 49-51) and swizzle mode (bits 62-63) 0.
__device__ __forceinline__ unsigned long long wgmmaDescriptor(unsigned address, unsigned lbo, unsigned sbo) {
    return (unsigned long long)((address & 0x3FFFF) >> 4) | ((unsigned long long)((lbo >> 4) & 0x3FFF) << 16)
        | ((unsigned long long)((sbo >> 4) & 0x3FFF) << 32);
}
