#include "CLookoutKernels.h"

#include <math.h>
#include <string.h>

typedef float v16f __attribute__((vector_size(64)));
typedef int32_t v16i __attribute__((vector_size(64)));

#define LK_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))

// Unaligned vector load/store (macros: vector arguments would change the ABI between clones).
typedef float v16f_unaligned __attribute__((vector_size(64), aligned(4)));
#define load16(p) (*(const v16f_unaligned *)(p))
#define store16(p, v) (*(v16f_unaligned *)(p) = (v))

// exp(x) for 16 lanes: range reduction x = n·ln2 + r with ln2 split in two parts (Cody–Waite), a degree-6
// polynomial on |r| ≤ ln2/2 (the classic Cephes expf coefficients), then scaling by 2^n through the exponent bits.
// Relative error ≈ 1e-7. A macro, not a function: vector arguments would change the ABI between clones.
#define LK_VEXP(out, xin)                                                                                       \
    do {                                                                                                       \
        v16f x_ = __builtin_elementwise_min(__builtin_elementwise_max((xin), (v16f){} - 87.3f), (v16f){} + 88.3f); \
        v16f fx_ = __builtin_elementwise_floor(x_ * 1.44269504088896341f + 0.5f);                              \
        v16f r_ = x_ - fx_ * 0.693359375f + fx_ * 2.12194440e-4f;                                              \
        v16f p_ = (v16f){} + 1.9875691500E-4f;                                                                 \
        p_ = p_ * r_ + 1.3981999507E-3f;                                                                       \
        p_ = p_ * r_ + 8.3334519073E-3f;                                                                       \
        p_ = p_ * r_ + 4.1665795894E-2f;                                                                       \
        p_ = p_ * r_ + 1.6666665459E-1f;                                                                       \
        p_ = p_ * r_ + 5.0000001201E-1f;                                                                       \
        p_ = p_ * r_ * r_ + r_ + 1.0f;                                                                         \
        v16i n_ = __builtin_convertvector(fx_, v16i);                                                          \
        (out) = p_ * (v16f)((n_ + 127) << 23);                                                                 \
    } while (0)

static inline float lk_sigmoidf(float v) { return 1.0f / (1.0f + expf(-v)); }

LK_CLONES
void lk_bias_activation(float *y, size_t ldy, const float *bias, int activation, const float *residual, size_t ldr,
                        size_t row0, size_t row1, size_t cols) {
    for (size_t r = row0; r < row1; r++) {
        float *row = y + r * ldy;
        const float *res = residual ? residual + r * ldr : NULL;
        const float b = bias ? bias[r] : 0.0f;
        size_t i = 0;
        for (; i + 16 <= cols; i += 16) {
            v16f v = load16(row + i) + b;
            if (activation == LKActivationSiLU) {
                v16f e;
                LK_VEXP(e, -v);
                v = v / (1.0f + e);
            } else if (activation == LKActivationSigmoid) {
                v16f e;
                LK_VEXP(e, -v);
                v = 1.0f / (1.0f + e);
            }
            if (res) v += load16(res + i);
            store16(row + i, v);
        }
        for (; i < cols; i++) {
            float v = row[i] + b;
            if (activation == LKActivationSiLU) v = v * lk_sigmoidf(v);
            else if (activation == LKActivationSigmoid) v = lk_sigmoidf(v);
            if (res) v += res[i];
            row[i] = v;
        }
    }
}

#define EVENS(a, b) __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30)
#define ODDS(a, b) __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31)

// dst[i] = src[i * stride] for i < n; strides 1 and 2 (every 3×3 convolution in YOLO) take vector paths.
static inline void lk_copy_strided(float *dst, const float *src, int stride, int n) {
    int i = 0;
    if (stride == 1) {
        for (; i + 16 <= n; i += 16) store16(dst + i, load16(src + i));
    } else if (stride == 2) {
        // i + 17 ≤ n: the second load ends at src[2i + 31], which must not pass the last element read, src[2n - 2].
        for (; i + 17 <= n; i += 16) {
            const v16f a = load16(src + 2 * i), b = load16(src + 2 * i + 16);
            store16(dst + i, __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30));
        }
    }
    for (; i < n; i++) dst[i] = src[(size_t)i * stride];
}

static inline void lk_zero(float *dst, int n) {
    int i = 0;
    for (; i + 16 <= n; i += 16) store16(dst + i, (v16f){});
    for (; i < n; i++) dst[i] = 0.0f;
}

LK_CLONES
void lk_im2col(const float *x, int channels, int h, int w, int kh, int kw, int sh, int sw, int pt, int pl, int dh,
               int dw, int oh, int ow, size_t p0, size_t p1, float *columns) {
    const size_t n = p1 - p0;
    (void)oh;
    // Output columns [ox0[kx], ox1[kx]) read inside the image row for tap kx.
    int ox0[kw > 0 ? kw : 1], ox1[kw > 0 ? kw : 1];
    for (int kx = 0; kx < kw; kx++) {
        const int xoff = kx * dw - pl;
        int lo = xoff >= 0 ? 0 : (-xoff + sw - 1) / sw;
        int hi = (w - 1 - xoff) >= 0 ? (w - 1 - xoff) / sw + 1 : 0;
        if (hi > ow) hi = ow;
        if (lo > hi) lo = hi;
        ox0[kx] = lo;
        ox1[kx] = hi;
    }
    // The common stride-2 3×3 (pad 1) case reads each input row once for its three taps: kx = 1 takes the even
    // columns, kx = 2 the odd ones, kx = 0 the odd ones shifted right by one output column.
    const int fused = sw == 2 && kw == 3 && dw == 1 && pl == 1;
    // One output row segment at a time, all K rows inside it: the segment's bounds are worked out once.
    size_t p = p0;
    while (p < p1) {
        const int oy = (int)(p / (size_t)ow);
        const int a = (int)(p - (size_t)oy * ow);
        const int b = (size_t)(ow - a) < p1 - p ? ow : a + (int)(p1 - p);
        const size_t offset = (p - p0) - (size_t)a;  // columns row + offset + ox is output pixel (oy, ox)
        for (int c = 0; c < channels; c++) {
            const float *channel = x + (size_t)c * h * w;
            for (int ky = 0; ky < kh; ky++) {
                float *rows = columns + (size_t)(c * kh + ky) * kw * n + offset;
                const int iy = oy * sh - pt + ky * dh;
                if (iy < 0 || iy >= h) {
                    for (int kx = 0; kx < kw; kx++) lk_zero(rows + (size_t)kx * n + a, b - a);
                    continue;
                }
                const float *src = channel + (size_t)iy * w;
                if (fused && ox0[1] == 0 && ox0[2] == 0 && ox0[0] == 1) {
                    float *r0 = rows, *r1 = rows + n, *r2 = rows + 2 * n;
                    r0[a] = a >= 1 && a < ox1[0] ? src[2 * a - 1] : 0.0f;
                    // Whole vectors while the loads stay inside the row and r0's store (one column to the right)
                    // inside the segment. Afterwards r1, r2 hold [a, ox) and r0 holds [a, ox].
                    int ox = a;
                    for (; ox + 17 <= b && 2 * ox + 32 <= w; ox += 16) {
                        const v16f lo = load16(src + 2 * ox), hi = load16(src + 2 * ox + 16);
                        const v16f odd = ODDS(lo, hi);
                        store16(r1 + ox, EVENS(lo, hi));
                        store16(r2 + ox, odd);
                        store16(r0 + ox + 1, odd);
                    }
                    for (int q = ox; q < b; q++) {
                        r1[q] = q < ox1[1] ? src[2 * q] : 0.0f;
                        r2[q] = q < ox1[2] ? src[2 * q + 1] : 0.0f;
                    }
                    for (int q = ox + 1; q < b; q++) r0[q] = q < ox1[0] ? src[2 * q - 1] : 0.0f;
                    continue;
                }
                for (int kx = 0; kx < kw; kx++) {
                    float *dst = rows + (size_t)kx * n;
                    const int l = a > ox0[kx] ? a : ox0[kx];
                    const int r = b < ox1[kx] ? b : ox1[kx];
                    if (l >= r) {
                        lk_zero(dst + a, b - a);
                        continue;
                    }
                    if (l > a) lk_zero(dst + a, l - a);
                    lk_copy_strided(dst + l, src + (size_t)l * sw + kx * dw - pl, sw, r - l);
                    if (b > r) lk_zero(dst + r, b - r);
                }
            }
        }
        p += (size_t)(b - a);
    }
}

LK_CLONES
void lk_sigmoid(const float *x, float *y, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        v16f e;
        LK_VEXP(e, -load16(x + i));
        store16(y + i, 1.0f / (1.0f + e));
    }
    for (; i < n; i++) y[i] = lk_sigmoidf(x[i]);
}

static inline float lk_apply(int op, float a, float b) {
    switch (op) {
    case LKBinaryAdd: return a + b;
    case LKBinarySub: return a - b;
    case LKBinaryMul: return a * b;
    case LKBinaryDiv: return a / b;
    case LKBinaryPow: return powf(a, b);
    case LKBinaryMin: return a < b ? a : b;
    default: return a > b ? a : b;
    }
}

LK_CLONES
void lk_binary(int op, const float *a, size_t sa, const float *b, size_t sb, float *y, size_t n) {
    if (sa == 1 && sb == 1) {
        switch (op) {
        case LKBinaryAdd: for (size_t i = 0; i < n; i++) y[i] = a[i] + b[i]; return;
        case LKBinarySub: for (size_t i = 0; i < n; i++) y[i] = a[i] - b[i]; return;
        case LKBinaryMul: for (size_t i = 0; i < n; i++) y[i] = a[i] * b[i]; return;
        case LKBinaryDiv: for (size_t i = 0; i < n; i++) y[i] = a[i] / b[i]; return;
        default: break;
        }
    } else if (sa == 1 && sb == 0) {
        const float s = b[0];
        switch (op) {
        case LKBinaryAdd: for (size_t i = 0; i < n; i++) y[i] = a[i] + s; return;
        case LKBinarySub: for (size_t i = 0; i < n; i++) y[i] = a[i] - s; return;
        case LKBinaryMul: for (size_t i = 0; i < n; i++) y[i] = a[i] * s; return;
        // A true division, not a multiply by the reciprocal: the results must match onnxruntime's bits.
        case LKBinaryDiv: for (size_t i = 0; i < n; i++) y[i] = a[i] / s; return;
        default: break;
        }
    }
    for (size_t i = 0; i < n; i++) y[i] = lk_apply(op, a[i * sa], b[i * sb]);
}

// Stride-1, undilated pooling is separable: the max over kh rows (vectors along the row), then over kw columns of
// that row, read from a copy padded with -inf. kh + kw comparisons per output instead of kh · kw.
enum { LK_POOL_ROW = 4096 };

static inline __attribute__((always_inline)) int lk_maxpool_separable(const float *x, float *y, size_t planes, int h, int w, int oh, int ow, int kh, int kw,
                                int pt, int pl) {
    if (ow + kw > LK_POOL_ROW || pl < 0 || pt < 0) return 0;
    float padded[LK_POOL_ROW + 16];
    for (size_t p = 0; p < planes; p++) {
        const float *src = x + p * (size_t)h * w;
        float *dst = y + p * (size_t)oh * ow;
        for (int oy = 0; oy < oh; oy++) {
            // padded[j] is input column j - pl (for j < ow + kw - 1), -inf outside the image or when no row is valid.
            const int span = ow + kw - 1;
            for (int j = 0; j < span; j++) padded[j] = -INFINITY;
            int y0 = oy - pt, y1 = oy - pt + kh;
            if (y0 < 0) y0 = 0;
            if (y1 > h) y1 = h;
            int c0 = pl, c1 = pl + w;  // where the image's columns land in `padded`
            if (c1 > span) c1 = span;
            for (int iy = y0; iy < y1; iy++) {
                const float *line = src + (size_t)iy * w - pl;
                for (int j = c0; j < c1; j++) padded[j] = line[j] > padded[j] ? line[j] : padded[j];
            }
            float *out = dst + (size_t)oy * ow;
            for (int ox = 0; ox < ow; ox++) out[ox] = padded[ox];
            for (int kx = 1; kx < kw; kx++) {
                const float *shifted = padded + kx;
                for (int ox = 0; ox < ow; ox++) out[ox] = shifted[ox] > out[ox] ? shifted[ox] : out[ox];
            }
        }
    }
    return 1;
}

LK_CLONES
void lk_maxpool(const float *x, float *y, size_t planes, int h, int w, int oh, int ow, int kh, int kw, int sh, int sw,
                int pt, int pl, int dh, int dw) {
    if (sh == 1 && sw == 1 && dh == 1 && dw == 1 && lk_maxpool_separable(x, y, planes, h, w, oh, ow, kh, kw, pt, pl))
        return;
    for (size_t p = 0; p < planes; p++) {
        const float *src = x + p * (size_t)h * w;
        float *dst = y + p * (size_t)oh * ow;
        for (int oy = 0; oy < oh; oy++) {
            for (int ox = 0; ox < ow; ox++) {
                float best = -INFINITY;
                for (int ky = 0; ky < kh; ky++) {
                    const int iy = oy * sh - pt + ky * dh;
                    if (iy < 0 || iy >= h) continue;
                    const float *line = src + (size_t)iy * w;
                    for (int kx = 0; kx < kw; kx++) {
                        const int ix = ox * sw - pl + kx * dw;
                        if (ix < 0 || ix >= w) continue;
                        const float v = line[ix];
                        best = v > best ? v : best;
                    }
                }
                dst[(size_t)oy * ow + ox] = best;
            }
        }
    }
}

LK_CLONES
void lk_gather2d(const float *x, size_t xPlaneStride, int w, float *y, size_t yPlaneStride, size_t planes,
                 const int32_t *rows, int oh, const int32_t *cols, int ow) {
    for (size_t p = 0; p < planes; p++) {
        const float *src = x + p * xPlaneStride;
        float *dst = y + p * yPlaneStride;
        for (int i = 0; i < oh; i++) {
            const float *line = src + (size_t)rows[i] * w;
            float *out = dst + (size_t)i * ow;
            for (int j = 0; j < ow; j++) out[j] = line[cols[j]];
        }
    }
}

LK_CLONES
void lk_upsample2x(const float *x, size_t xPlaneStride, int h, int w, float *y, size_t yPlaneStride, size_t planes) {
    const int ow = 2 * w;
    for (size_t p = 0; p < planes; p++) {
        const float *src = x + p * xPlaneStride;
        float *dst = y + p * yPlaneStride;
        for (int i = 0; i < h; i++) {
            const float *line = src + (size_t)i * w;
            float *out = dst + (size_t)(2 * i) * ow;
            int j = 0;
            for (; j + 16 <= w; j += 16) {
                const v16f v = load16(line + j);
                const v16f lo = __builtin_shufflevector(v, v, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
                const v16f hi = __builtin_shufflevector(v, v, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15);
                store16(out + 2 * j, lo);
                store16(out + 2 * j + 16, hi);
            }
            for (; j < w; j++) out[2 * j] = out[2 * j + 1] = line[j];
            memcpy(out + ow, out, sizeof(float) * (size_t)ow);
        }
    }
}

// Softmax along contiguous rows (the attention softmax, rows of 400 for a 20×20 map): vectors along the row for the
// maximum, the exponentials and their sum, and the division.
static inline __attribute__((always_inline)) void lk_softmax_rows(const float *x, float *y, size_t rows,
                                                                  size_t length) {
    for (size_t o = 0; o < rows; o++) {
        const float *src = x + o * length;
        float *dst = y + o * length;
        float maximum = -INFINITY;
        size_t i = 0;
        if (length >= 16) {
            v16f m = load16(src);
            for (i = 16; i + 16 <= length; i += 16) m = __builtin_elementwise_max(m, load16(src + i));
            maximum = __builtin_reduce_max(m);
        }
        for (; i < length; i++) maximum = src[i] > maximum ? src[i] : maximum;
        v16f sums = (v16f){};
        for (i = 0; i + 16 <= length; i += 16) {
            v16f e;
            LK_VEXP(e, load16(src + i) - maximum);
            store16(dst + i, e);
            sums += e;
        }
        float sum = 0.0f;
        for (int l = 0; l < 16; l++) sum += sums[l];
        for (; i < length; i++) {
            const float e = expf(src[i] - maximum);
            dst[i] = e;
            sum += e;
        }
        for (i = 0; i + 16 <= length; i += 16) store16(dst + i, load16(dst + i) / sum);
        for (; i < length; i++) dst[i] /= sum;
    }
}

LK_CLONES
void lk_softmax(const float *x, float *y, size_t outer, size_t length, size_t stride, size_t columns) {
    if (stride == 1 && columns == 1) {
        lk_softmax_rows(x, y, outer, length);
        return;
    }
    enum { Tile = 256 };
    float maximum[Tile];
    float sum[Tile];
    for (size_t o = 0; o < outer; o++) {
        const float *src = x + o * length * stride;
        float *dst = y + o * length * stride;
        for (size_t c0 = 0; c0 < columns; c0 += Tile) {
            const size_t n = columns - c0 < Tile ? columns - c0 : Tile;
            for (size_t i = 0; i < n; i++) {
                maximum[i] = -INFINITY;
                sum[i] = 0.0f;
            }
            for (size_t k = 0; k < length; k++) {
                const float *row = src + k * stride + c0;
                for (size_t i = 0; i < n; i++) maximum[i] = row[i] > maximum[i] ? row[i] : maximum[i];
            }
            for (size_t k = 0; k < length; k++) {
                const float *row = src + k * stride + c0;
                float *out = dst + k * stride + c0;
                size_t i = 0;
                for (; i + 16 <= n; i += 16) {
                    v16f e;
                    LK_VEXP(e, load16(row + i) - load16(maximum + i));
                    store16(out + i, e);
                    store16(sum + i, load16(sum + i) + e);
                }
                for (; i < n; i++) {
                    const float e = expf(row[i] - maximum[i]);
                    out[i] = e;
                    sum[i] += e;
                }
            }
            for (size_t k = 0; k < length; k++) {
                float *out = dst + k * stride + c0;
                for (size_t i = 0; i < n; i++) out[i] /= sum[i];
            }
        }
    }
}

void lk_transpose(const float *x, float *y, int rank, const int64_t *shape, const int64_t *xStrides) {
    int64_t index[8] = {0};
    int64_t count = 1;
    for (int d = 0; d < rank; d++) count *= shape[d];
    if (count == 0) return;
    const int last = rank - 1;
    const int64_t inner = rank > 0 ? shape[last] : 1;
    const int64_t innerStride = rank > 0 ? xStrides[last] : 1;
    int64_t offset = 0;
    for (int64_t i = 0; i < count; i += inner) {
        for (int64_t k = 0; k < inner; k++) y[i + k] = x[offset + k * innerStride];
        for (int d = last - 1; d >= 0; d--) {
            index[d]++;
            offset += xStrides[d];
            if (index[d] < shape[d]) break;
            offset -= xStrides[d] * shape[d];
            index[d] = 0;
        }
    }
}

void lk_round_to_half(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = (float)(_Float16)x[i];
}
