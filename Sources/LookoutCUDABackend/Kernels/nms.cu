typedef long long i64;
typedef unsigned long long u64;

__device__ __forceinline__ float outputAt(const LookoutNMSParams& p, int img, int row, int a) {
    return ((const float*)p.output)[(i64)img * p.osN + (i64)row * p.osC + (i64)a * p.osA];
}

__device__ void bitonicSort(u64* keys, int n) {
    for (int k = 2; k <= n; k <<= 1) {
        for (int j = k >> 1; j > 0; j >>= 1) {
            for (int i = threadIdx.x; i < n; i += blockDim.x) {
                const int other = i ^ j;
                if (other > i) {
                    const u64 a = keys[i], b = keys[other];
                    const bool ascending = (i & k) == 0;
                    if ((a > b) == ascending) { keys[i] = b; keys[other] = a; }
                }
            }
            __syncthreads();
        }
    }
}

// LOOKOUT_NMS_THREADS, LOOKOUT_NMS_SHARED_KEYS and LOOKOUT_NMS_MAX_DETECTIONS come from NMSKernelSource's
// prelude: the host launches that many threads and refuses a larger max_det, so both sides read one set of numbers.
extern "C" __global__ void __launch_bounds__(LOOKOUT_NMS_THREADS) lookout_nms(const LookoutNMSParams p) {
    __shared__ u64 sharedKeys[LOOKOUT_NMS_SHARED_KEYS];
    __shared__ int keptIndex[LOOKOUT_NMS_MAX_DETECTIONS];
    __shared__ int count;
    __shared__ int next;
    const int img = blockIdx.x;
    u64* keys = (u64*)p.keys + (i64)img * p.capacity;
    float* boxes = (float*)p.boxes + (i64)img * p.capacity * 5;
    unsigned char* suppressed = (unsigned char*)p.suppressed + (i64)img * p.capacity;
    int* result = (int*)p.results + (i64)img * (1 + 6 * p.maxDetections);
    const unsigned char* mask = (const unsigned char*)p.classMask;
    if (threadIdx.x == 0) count = 0;
    __syncthreads();

    // 1. Candidates.
    for (int a = threadIdx.x; a < p.anchors; a += blockDim.x) {
        if (p.multiLabel) {
            for (int c = 0; c < p.classes; c++) {
                const float s = outputAt(p, img, 4 + c, a);
                if (s > p.confidence && (!mask || mask[c])) {
                    const int slot = atomicAdd(&count, 1);
                    if (slot < p.capacity)
                        keys[slot] = ((u64)(0xFFFFFFFFu - __float_as_uint(s)) << 32) | (unsigned)(a * p.classes + c);
                }
            }
        } else {
            float best = outputAt(p, img, 4, a);
            int bestClass = 0;
            for (int c = 1; c < p.classes; c++) {
                const float s = outputAt(p, img, 4 + c, a);
                if (s > best) { best = s; bestClass = c; }
            }
            if (best > p.confidence && (!mask || mask[bestClass])) {
                const int slot = atomicAdd(&count, 1);
                if (slot < p.capacity)
                    keys[slot] = ((u64)(0xFFFFFFFFu - __float_as_uint(best)) << 32) | (unsigned)(a * p.classes + bestClass);
            }
        }
    }
    __syncthreads();
    const int n = count;
    if (n > p.capacity) {
        if (threadIdx.x == 0) result[0] = -1;
        return;
    }

    // 2. Sort (padding with the largest key, which sorts last).
    int size = 1;
    while (size < n) size <<= 1;
    u64* sortKeys = size <= LOOKOUT_NMS_SHARED_KEYS ? sharedKeys : keys;
    for (int i = threadIdx.x; i < size; i += blockDim.x) sortKeys[i] = i < n ? keys[i] : ~0ull;
    __syncthreads();
    if (n > 1) bitonicSort(sortKeys, size);

    // 3. The first max_nms candidates: boxes shifted by class, areas.
    const int m = min(n, p.maxCandidates);
    for (int i = threadIdx.x; i < m; i += blockDim.x) {
        const u64 key = sortKeys[i];
        if (sortKeys != keys) keys[i] = key;
        const unsigned order = (unsigned)(key & 0xFFFFFFFFu);
        const int a = order / p.classes, c = order - a * p.classes;
        const float cx = outputAt(p, img, 0, a), cy = outputAt(p, img, 1, a);
        const float hw = __fdiv_rn(outputAt(p, img, 2, a), 2.0f), hh = __fdiv_rn(outputAt(p, img, 3, a), 2.0f);
        const float offset = __fmul_rn((float)c, p.classOffset);
        const float x1 = __fadd_rn(__fsub_rn(cx, hw), offset), y1 = __fadd_rn(__fsub_rn(cy, hh), offset);
        const float x2 = __fadd_rn(__fadd_rn(cx, hw), offset), y2 = __fadd_rn(__fadd_rn(cy, hh), offset);
        float* b = boxes + (i64)i * 5;
        b[0] = x1; b[1] = y1; b[2] = x2; b[3] = y2;
        b[4] = __fmul_rn(__fsub_rn(x2, x1), __fsub_rn(y2, y1));
        suppressed[i] = 0;
    }
    __syncthreads();

    // 4. Greedy suppression in score order.
    int kept = 0;
    int i = 0;
    while (true) {
        if (threadIdx.x == 0) {
            while (i < m && suppressed[i]) i++;
            next = i;
        }
        __syncthreads();
        i = next;
        if (i >= m || kept >= p.maxDetections) break;
        if (threadIdx.x == 0) keptIndex[kept] = i;
        kept++;
        const float* bi = boxes + (i64)i * 5;
        const float ix1 = bi[0], iy1 = bi[1], ix2 = bi[2], iy2 = bi[3], iarea = bi[4];
        for (int j = i + 1 + threadIdx.x; j < m; j += blockDim.x) {
            if (suppressed[j]) continue;
            const float* bj = boxes + (i64)j * 5;
            const float xx1 = ix1 < bj[0] ? bj[0] : ix1, yy1 = iy1 < bj[1] ? bj[1] : iy1;
            const float xx2 = bj[2] < ix2 ? bj[2] : ix2, yy2 = bj[3] < iy2 ? bj[3] : iy2;
            const float dw = __fsub_rn(xx2, xx1), dh = __fsub_rn(yy2, yy1);
            const float w = 0.0f < dw ? dw : 0.0f, h = 0.0f < dh ? dh : 0.0f;
            const float inter = __fmul_rn(w, h);
            const float overlap = __fdiv_rn(inter, __fsub_rn(__fadd_rn(iarea, bj[4]), inter));
            if ((double)overlap > p.iouThreshold) suppressed[j] = 1;
        }
        __syncthreads();
        i++;
    }

    // 5. Results: count, then x1 y1 x2 y2 conf class per kept box, in score order.
    __syncthreads();
    for (int k = threadIdx.x; k < kept; k += blockDim.x) {
        const int index = keptIndex[k];
        const u64 key = keys[index];
        const unsigned order = (unsigned)(key & 0xFFFFFFFFu);
        const int a = order / p.classes, c = order - a * p.classes;
        const float score = __uint_as_float(0xFFFFFFFFu - (unsigned)(key >> 32));
        const float cx = outputAt(p, img, 0, a), cy = outputAt(p, img, 1, a);
        const float hw = __fdiv_rn(outputAt(p, img, 2, a), 2.0f), hh = __fdiv_rn(outputAt(p, img, 3, a), 2.0f);
        float box[4] = {__fsub_rn(cx, hw), __fsub_rn(cy, hh), __fadd_rn(cx, hw), __fadd_rn(cy, hh)};
        if (p.scaling) {
            const float* s = (const float*)p.scaling + img * 6;
            #pragma unroll
            for (int e = 0; e < 4; e++) {
                const float pad = s[e & 1], gain = s[2 + (e & 1)], limit = s[4 + (e & 1)];
                const float v = __fdiv_rn(__fsub_rn(box[e], pad), gain);
                box[e] = v < 0.0f ? 0.0f : (v > limit ? limit : v);
            }
        }
        float* r = (float*)(result + 1) + 6 * k;
        r[0] = box[0]; r[1] = box[1]; r[2] = box[2]; r[3] = box[3]; r[4] = score; r[5] = (float)c;
    }
    if (threadIdx.x == 0) result[0] = kept;
}

// An end-to-end head's postprocessing (Ultralytics' end2end branch of non_max_suppression): the rows
// x1 y1 x2 y2 score class of output [batch][rows][6] (`anchors` rows; osC steps between rows, osA between
// columns), kept in the model's order while score > confidence and the class is kept, at most maxDetections, boxes
// scaled back like the NMS results. No NMS: the head was trained one-to-one. One thread per image (300 rows).
extern "C" __global__ void __launch_bounds__(32) lookout_end_to_end(const LookoutNMSParams p) {
    const int img = blockIdx.x;
    if (threadIdx.x != 0) return;
    int* result = (int*)p.results + (i64)img * (1 + 6 * p.maxDetections);
    const unsigned char* mask = (const unsigned char*)p.classMask;
    const float* base = (const float*)p.output + (i64)img * p.osN;
    int kept = 0;
    for (int r = 0; r < p.anchors && kept < p.maxDetections; r++) {
        const float* row = base + (i64)r * p.osC;
        const float score = row[4 * p.osA];
        if (!(score > p.confidence)) continue;
        const int c = (int)truncf(row[5 * p.osA]);
        if (mask && (c < 0 || c >= p.classes || !mask[c])) continue;
        float box[4] = {row[0], row[p.osA], row[2 * p.osA], row[3 * p.osA]};
        if (p.scaling) {
            const float* s = (const float*)p.scaling + img * 6;
            #pragma unroll
            for (int e = 0; e < 4; e++) {
                const float pad = s[e & 1], gain = s[2 + (e & 1)], limit = s[4 + (e & 1)];
                const float v = __fdiv_rn(__fsub_rn(box[e], pad), gain);
                box[e] = v < 0.0f ? 0.0f : (v > limit ? limit : v);
            }
        }
        float* out = (float*)(result + 1) + 6 * kept;
        out[0] = box[0]; out[1] = box[1]; out[2] = box[2]; out[3] = box[3]; out[4] = score; out[5] = (float)c;
        kept++;
    }
    result[0] = kept;
}
