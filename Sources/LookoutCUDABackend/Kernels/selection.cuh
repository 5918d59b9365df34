// The selections of end-to-end heads (YOLO26 with end2end=True, YOLOv10): ReduceMax over one axis, TopK per row,
// GatherElements. Integer tensors hold int32 (the element kind 2 of the elementwise kernel).

// The maximum over `length` values `xsLength` apart, one thread per (outer, inner) pair (LookoutSoftmaxParams; the
// output's length stride is unused). NaN wins, as in numpy and the CPU backend.
extern "C" __global__ void __launch_bounds__(256) lookout_reduce_max(const LookoutSoftmaxParams p) {
    const i64 total = (i64)p.outer * p.inner;
    for (i64 t = (i64)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += (i64)gridDim.x * blockDim.x) {
        const i64 o = t / p.inner, i = t - o * p.inner;
        const i64 xb = o * p.xsOuter + i * p.xsInner;
        float m = loadf(p.x, xb, p.xHalf);
        for (int k = 1; k < p.length && m == m; k++) {
            const float v = loadf(p.x, xb + k * p.xsLength, p.xHalf);
            if (v > m || v != v) m = v;
        }
        storef(p.y, o * p.ysOuter + i * p.ysInner, p.yHalf, m);
    }
}

// A float's place in the selection order as an unsigned key: larger keys first. For `largest` the key grows with
// the value, else it shrinks; NaN ranks first either way, and -0 equals +0 (the CPU backend's order).
__device__ __forceinline__ unsigned selectionKey(float v, int largest) {
    if (v != v) return 0xffffffffu;
    unsigned u = v == 0.0f ? 0u : __float_as_uint(v);
    u = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
    return largest ? u : ~u;
}

#define TOPK_THREADS 256
#define TOPK_MAX 1024

// TopK of each row, one block per row: a radix select (four 8-bit passes) finds the k-th key, the elements above
// it and the first of those equal to it (by index) are gathered, and a bitonic sort orders them: larger keys
// first, equal keys by index, as onnxruntime and the CPU backend order them. k <= TOPK_MAX.
extern "C" __global__ void __launch_bounds__(TOPK_THREADS) lookout_topk(const LookoutTopKParams p) {
    __shared__ unsigned histogram[256];
    __shared__ unsigned chunkCounts[TOPK_THREADS];
    __shared__ unsigned long long candidates[TOPK_MAX];
    __shared__ unsigned prefix, mask, needed, placed;
    const int row = blockIdx.x;
    const i64 xb = (i64)row * p.xsRow;
    const int n = p.length, k = p.k;
    if (threadIdx.x == 0) { prefix = 0; mask = 0; needed = k; placed = 0; }
    for (int shift = 24; shift >= 0; shift -= 8) {
        for (int b = threadIdx.x; b < 256; b += blockDim.x) histogram[b] = 0;
        __syncthreads();
        const unsigned pf = prefix, mk = mask;
        for (int i = threadIdx.x; i < n; i += blockDim.x) {
            const unsigned key = selectionKey(loadf(p.x, xb + i * p.xsElem, p.xHalf), p.largest);
            if ((key & mk) == pf) atomicAdd(&histogram[(key >> shift) & 255u], 1u);
        }
        __syncthreads();
        if (threadIdx.x == 0) {
            unsigned above = 0;
            int b = 255;
            for (; b > 0; b--) {
                if (above + histogram[b] >= needed) break;
                above += histogram[b];
            }
            needed -= above;
            prefix |= (unsigned)b << shift;
            mask |= 255u << shift;
        }
        __syncthreads();
    }
    // prefix is the k-th key; `needed` of the elements equal to it are taken, the lowest indices first.
    const unsigned threshold = prefix;
    const int chunk = (n + TOPK_THREADS - 1) / TOPK_THREADS;
    const int begin = min(n, (int)threadIdx.x * chunk), end = min(n, begin + chunk);
    unsigned equal = 0;
    for (int i = begin; i < end; i++) {
        const unsigned key = selectionKey(loadf(p.x, xb + i * p.xsElem, p.xHalf), p.largest);
        if (key > threshold) {
            const unsigned slot = atomicAdd(&placed, 1u);
            candidates[slot] = ((unsigned long long)key << 32) | (0xffffffffu - (unsigned)i);
        } else if (key == threshold) {
            equal++;
        }
    }
    chunkCounts[threadIdx.x] = equal;
    __syncthreads();
    if (threadIdx.x == 0) {
        unsigned running = 0;
        for (int t = 0; t < TOPK_THREADS; t++) { const unsigned c = chunkCounts[t]; chunkCounts[t] = running; running += c; }
    }
    __syncthreads();
    const unsigned greater = (unsigned)k - needed;
    unsigned rank = chunkCounts[threadIdx.x];
    for (int i = begin; i < end && rank < needed; i++) {
        const unsigned key = selectionKey(loadf(p.x, xb + i * p.xsElem, p.xHalf), p.largest);
        if (key == threshold) {
            candidates[greater + rank] = ((unsigned long long)key << 32) | (0xffffffffu - (unsigned)i);
            rank++;
        }
    }
    int size = 1;
    while (size < k) size <<= 1;
    for (int i = k + threadIdx.x; i < size; i += blockDim.x) candidates[i] = 0;
    __syncthreads();
    // Bitonic sort, descending.
    for (int width = 2; width <= size; width <<= 1) {
        for (int stride = width >> 1; stride > 0; stride >>= 1) {
            for (int i = threadIdx.x; i < size; i += blockDim.x) {
                const int partner = i ^ stride;
                if (partner > i) {
                    const unsigned long long a = candidates[i], b = candidates[partner];
                    const bool descending = (i & width) == 0;
                    if (descending ? a < b : a > b) { candidates[i] = b; candidates[partner] = a; }
                }
            }
            __syncthreads();
        }
    }
    for (int j = threadIdx.x; j < k; j += blockDim.x) {
        const int index = (int)(0xffffffffu - (unsigned)(candidates[j] & 0xffffffffu));
        storef(p.values, (i64)row * p.vsRow + j * p.vsElem, p.vHalf, loadf(p.x, xb + index * p.xsElem, p.xHalf));
        ((int*)p.indices)[(i64)row * p.isRow + j * p.isElem] = index;
    }
}

// GatherElements over the elementwise descriptor: y (shape = the indices' shape) reads a (the data) with b's index
// along dimension kH of the six (kW: the data's length there); the other coordinates are the output's. Negative
// indices count from the end; an index out of range reads position 0 (the tuner's random inputs must not fault;
// onnxruntime would refuse such an input).
extern "C" __global__ void __launch_bounds__(256) lookout_gather_elements(const LookoutElementwiseParams p) {
    const unsigned count = (unsigned)p.count;
    for (unsigned t = blockIdx.x * blockDim.x + threadIdx.x; t < count; t += gridDim.x * blockDim.x) {
        unsigned rest = t;
        i64 oa = 0, ob = 0, oy = 0;
        for (int d = 5; d >= 0; d--) {
            const unsigned q = (__umulhi(rest, p.divMul[d]) + rest) >> p.divShift[d];
            const i64 i = (i64)(rest - q * (unsigned)p.shape[d]);
            rest = q;
            ob += i * p.bStride[d];
            oy += i * p.yStride[d];
            if (d != p.kH) oa += i * p.aStride[d];
        }
        long long index = p.bHalf == 2 ? (long long)((const int*)p.b)[ob] : (long long)truncf(loadf(p.b, ob, p.bHalf));
        if (index < 0) index += p.kW;
        if (index < 0 || index >= p.kW) index = 0;
        oa += index * p.aStride[p.kH];
        if (p.aHalf == 2) {
            ((int*)p.y)[oy] = ((const int*)p.a)[oa];
        } else {
            storef(p.y, oy, p.yHalf, loadf(p.a, oa, p.aHalf));
        }
    }
}
