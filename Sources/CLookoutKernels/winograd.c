// Winograd F(2×2, 3×3) transforms for stride-1 3×3 convolutions: each 2×2 output tile comes from a 4×4 input
// patch d as Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A. The 16 element-wise products over all channels are 16 GEMMs (OpenBLAS);
// these two functions are the input transform Bᵀ d B and the output transform Aᵀ m A (fused with bias, SiLU and
// the residual add). Only additions and subtractions: F(2×2, 3×3)'s transforms have entries 0 and ±1 on the
// input side and the output side, so the error stays at fp32 summation-order level (G's ½ goes into the weights).
#include "CLookoutKernels.h"

#include <math.h>
#include <string.h>

typedef float v16f __attribute__((vector_size(64)));
typedef int32_t v16i __attribute__((vector_size(64)));
typedef float v16f_unaligned __attribute__((vector_size(64), aligned(4)));
typedef float v4f __attribute__((vector_size(16)));
typedef float v4f_unaligned __attribute__((vector_size(16), aligned(4)));
#define load16(p) (*(const v16f_unaligned *)(p))
#define store16(p, v) (*(v16f_unaligned *)(p) = (v))
#define LK_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))

// Tiles of one tile row handled per pass: the zero-padded input rows of a pass live on the stack.
enum { LK_WG_SEGMENT = 64, LK_WG_ROW = 2 * LK_WG_SEGMENT + 48 };

#define EVENS(a, b) __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30)
#define ODDS(a, b) __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31)

// Row r of a channel, columns col0 … col0 + filled - 1, into b: zeros where that lies outside the image (padding, the
// tiles' overhang). Inlined into each clone of its callers.
static inline __attribute__((always_inline)) void fill_row(
    float *b, const float *channel, int h, int w, int r, int col0, int filled) {
    int lo = 0, hi = 0;  // [lo, hi) of b comes from the image row
    if (r >= 0 && r < h) {
        lo = col0 < 0 ? -col0 : 0;
        hi = w - col0 < filled ? w - col0 : filled;
        if (hi < lo) hi = lo;
    }
    for (int q = 0; q < lo; q++) b[q] = 0.0f;
    if (hi > lo) {
        const float *src = channel + (size_t)r * w + col0;
        int q = lo;
        for (; q + 16 <= hi; q += 16) store16(b + q, load16(src + q));
        for (; q < hi; q++) b[q] = src[q];
    }
    int q = hi;
    for (; q < filled && (q & 15); q++) b[q] = 0.0f;
    for (; q < filled; q += 16) store16(b + q, (v16f){});
}

LK_CLONES
void lk_winograd_input(const float *x, int channels, int h, int w, int pt, int pl, int tiles_w, size_t tile0,
                       size_t tile1, float *v, size_t ld, size_t plane) {
    float rows[4][LK_WG_ROW];
    size_t t = tile0;
    while (t < tile1) {
        const int ty = (int)(t / (size_t)tiles_w);
        const int tx0 = (int)(t - (size_t)ty * tiles_w);
        const int tx1 = (size_t)(tiles_w - tx0) < tile1 - t ? tiles_w : tx0 + (int)(tile1 - t);
        for (int s0 = tx0; s0 < tx1; s0 += LK_WG_SEGMENT) {
            const int k = tx1 - s0 < LK_WG_SEGMENT ? tx1 - s0 : LK_WG_SEGMENT;
            const int col0 = 2 * s0 - pl;
            const int span = 2 * k + 2;
            const size_t first = (t - tile0) + (size_t)(s0 - tx0);
            for (int c = 0; c < channels; c++) {
                const float *channel = x + (size_t)c * h * w;
                // Groups of 16 tiles read rows[i][2g … 2g + 33]: fill that far, zeros outside the image.
                const int filled = 2 * ((k + 15) / 16 * 16) + 2;
                for (int i = 0; i < 4; i++) fill_row(rows[i], channel, h, w, 2 * ty - pt + i, col0, filled);
                float *out = v + (size_t)c * ld + first;
                for (int g = 0; g < k; g += 16) {
                    v16f d[4][4];
                    for (int i = 0; i < 4; i++) {
                        const float *b = rows[i] + 2 * g;
                        const v16f l0 = load16(b), l1 = load16(b + 16), l2 = load16(b + 2), l3 = load16(b + 18);
                        d[i][0] = EVENS(l0, l1);
                        d[i][1] = ODDS(l0, l1);
                        d[i][2] = EVENS(l2, l3);
                        d[i][3] = ODDS(l2, l3);
                    }
                    v16f e[4][4];
                    for (int j = 0; j < 4; j++) {  // Bᵀ d
                        e[0][j] = d[0][j] - d[2][j];
                        e[1][j] = d[1][j] + d[2][j];
                        e[2][j] = d[2][j] - d[1][j];
                        e[3][j] = d[1][j] - d[3][j];
                    }
                    v16f f[16];
                    for (int i = 0; i < 4; i++) {  // (Bᵀ d) B
                        f[4 * i + 0] = e[i][0] - e[i][2];
                        f[4 * i + 1] = e[i][1] + e[i][2];
                        f[4 * i + 2] = e[i][2] - e[i][1];
                        f[4 * i + 3] = e[i][1] - e[i][3];
                    }
                    // Lanes past the segment land in the next segment of this row (written after this one) or in
                    // the row's padding: `ld` ≥ tiles + 15.
                    for (int xi = 0; xi < 16; xi++) store16(out + (size_t)xi * plane + g, f[xi]);
                }
            }
        }
        t += (size_t)(tx1 - tx0);
    }
}

LK_CLONES
void lk_winograd_output(const float *m, size_t ld, size_t plane, int channels, int tiles_w, size_t tile0,
                        size_t tile1, int oh, int ow, float *y, const float *bias, int activation, const float *residual) {
    const size_t channel_size = (size_t)oh * ow;
    for (int c = 0; c < channels; c++) {
        const float bc = bias ? bias[c] : 0.0f;
        float *yc = y + (size_t)c * channel_size;
        const float *rc = residual ? residual + (size_t)c * channel_size : NULL;
        size_t t = tile0;
        while (t < tile1) {
            const int ty = (int)(t / (size_t)tiles_w);
            const int tx0 = (int)(t - (size_t)ty * tiles_w);
            const int tx1 = (size_t)(tiles_w - tx0) < tile1 - t ? tiles_w : tx0 + (int)(tile1 - t);
            const float *src = m + (size_t)c * ld + (t - tile0);
            for (int g = 0; tx0 + g < tx1; g += 16) {
                // Reads past the segment's end stay inside the row's padding; those lanes are never stored.
                v16f q[16];
                for (int xi = 0; xi < 16; xi++) q[xi] = load16(src + (size_t)xi * plane + g);
                v16f s[2][4];
                for (int j = 0; j < 4; j++) {  // Aᵀ m
                    s[0][j] = q[j] + q[4 + j] + q[8 + j];
                    s[1][j] = q[4 + j] - q[8 + j] - q[12 + j];
                }
                v16f out[2][2];
                for (int i = 0; i < 2; i++) {  // (Aᵀ m) A
                    out[i][0] = s[i][0] + s[i][1] + s[i][2];
                    out[i][1] = s[i][1] - s[i][2] - s[i][3];
                }
                for (int i = 0; i < 2; i++) {
                    for (int j = 0; j < 2; j++) {
                        v16f a = out[i][j] + bc;
                        if (activation == LKActivationSiLU) {
                            v16f e;
                            v16f x_ = __builtin_elementwise_min(__builtin_elementwise_max(-a, (v16f){} - 87.3f), (v16f){} + 88.3f);
                            v16f fx_ = __builtin_elementwise_floor(x_ * 1.44269504088896341f + 0.5f);
                            v16f r_ = x_ - fx_ * 0.693359375f + fx_ * 2.12194440e-4f;
                            v16f p_ = (v16f){} + 1.9875691500E-4f;
                            p_ = p_ * r_ + 1.3981999507E-3f;
                            p_ = p_ * r_ + 8.3334519073E-3f;
                            p_ = p_ * r_ + 4.1665795894E-2f;
                            p_ = p_ * r_ + 1.6666665459E-1f;
                            p_ = p_ * r_ + 5.0000001201E-1f;
                            p_ = p_ * r_ * r_ + r_ + 1.0f;
                            v16i n_ = __builtin_convertvector(fx_, v16i);
                            e = p_ * (v16f)((n_ + 127) << 23);
                            a = a / (1.0f + e);
                        }
                        out[i][j] = a;
                    }
                }
                const int count = tx1 - (tx0 + g) < 16 ? tx1 - (tx0 + g) : 16;
                const int x0 = 2 * (tx0 + g);
                for (int i = 0; i < 2; i++) {
                    const int oy = 2 * ty + i;
                    if (oy >= oh) break;
                    float *row = yc + (size_t)oy * ow + x0;
                    const float *res = rc ? rc + (size_t)oy * ow + x0 : NULL;
                    const v16f lo = __builtin_shufflevector(out[i][0], out[i][1], 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5,
                                                            21, 6, 22, 7, 23);
                    const v16f hi = __builtin_shufflevector(out[i][0], out[i][1], 8, 24, 9, 25, 10, 26, 11, 27, 12, 28,
                                                            13, 29, 14, 30, 15, 31);
                    if (count == 16 && x0 + 32 <= ow) {
                        store16(row, res ? lo + load16(res) : lo);
                        store16(row + 16, res ? hi + load16(res + 16) : hi);
                    } else {
                        float lanes[32];
                        store16(lanes, lo);
                        store16(lanes + 16, hi);
                        int columns = 2 * count;
                        if (x0 + columns > ow) columns = ow - x0;
                        int k = 0;
                        if (columns >= 16) {
                            store16(row, res ? lo + load16(res) : lo);
                            k = 16;
                        }
                        for (; k + 4 <= columns; k += 4) {
                            v4f a = *(const v4f_unaligned *)(lanes + k);
                            if (res) a += *(const v4f_unaligned *)(res + k);
                            *(v4f_unaligned *)(row + k) = a;
                        }
                        for (; k < columns; k++) row[k] = res ? lanes[k] + res[k] : lanes[k];
                    }
                }
            }
            t += (size_t)(tx1 - tx0);
        }
    }
}

// ---- F(4×4, 3×3): 6×6 patches at stride 4, 36 products per tile (Lavin & Gray, points 0, ±1, ±2, ∞). ----
// Bᵀ and Aᵀ have small integer entries (1, 2, 4, 5, 8), G carries the fractions (¼, ⅙, 1/12, 1/24) into the
// weights. 2.25 multiplications per output instead of F(2×2, 3×3)'s 4, for a somewhat larger rounding error.

enum { LK_WG4_SEGMENT = 32, LK_WG4_ROW = 4 * LK_WG4_SEGMENT + 96 };

// Every 4th float starting at phase p of 64 consecutive floats (v0 … v3), as 16 lanes.
#define LK_PHASES4(v0, v1, v2, v3, p0, p1, p2, p3)                                                              \
    do {                                                                                                       \
        const v16f a_ = EVENS(v0, v1), b_ = ODDS(v0, v1), c_ = EVENS(v2, v3), d_ = ODDS(v2, v3);                   \
        (p0) = EVENS(a_, c_);                                                                                  \
        (p2) = ODDS(a_, c_);                                                                                   \
        (p1) = EVENS(b_, d_);                                                                                  \
        (p3) = ODDS(b_, d_);                                                                                   \
    } while (0)

// Bᵀ applied to six vectors in place order: (o0 … o5) = Bᵀ (i0 … i5).
#define LK_BT6(o, i)                                                                                           \
    do {                                                                                                       \
        (o)[0] = 4.0f * (i)[0] - 5.0f * (i)[2] + (i)[4];                                                       \
        (o)[1] = (i)[3] + (i)[4] - 4.0f * ((i)[1] + (i)[2]);                                                   \
        (o)[2] = 4.0f * ((i)[1] - (i)[2]) + (i)[4] - (i)[3];                                                   \
        (o)[3] = 2.0f * ((i)[3] - (i)[1]) + (i)[4] - (i)[2];                                                   \
        (o)[4] = 2.0f * ((i)[1] - (i)[3]) + (i)[4] - (i)[2];                                                   \
        (o)[5] = 4.0f * (i)[1] - 5.0f * (i)[3] + (i)[5];                                                       \
    } while (0)

// Aᵀ applied to six vectors: (o0 … o3) = Aᵀ (i0 … i5).
#define LK_AT6(o, i)                                                                                           \
    do {                                                                                                       \
        const v16f s12_ = (i)[1] + (i)[2], d12_ = (i)[1] - (i)[2];                                             \
        const v16f s34_ = (i)[3] + (i)[4], d34_ = (i)[3] - (i)[4];                                             \
        (o)[0] = (i)[0] + s12_ + s34_;                                                                         \
        (o)[1] = d12_ + 2.0f * d34_;                                                                           \
        (o)[2] = s12_ + 4.0f * s34_;                                                                           \
        (o)[3] = d12_ + 8.0f * d34_ + (i)[5];                                                                  \
    } while (0)

LK_CLONES
void lk_winograd4_input(const float *x, int channels, int h, int w, int pt, int pl, int tiles_w, size_t tile0,
                        size_t tile1, float *v, size_t ld, size_t plane) {
    float rows[6][LK_WG4_ROW];
    size_t t = tile0;
    while (t < tile1) {
        const int ty = (int)(t / (size_t)tiles_w);
        const int tx0 = (int)(t - (size_t)ty * tiles_w);
        const int tx1 = (size_t)(tiles_w - tx0) < tile1 - t ? tiles_w : tx0 + (int)(tile1 - t);
        for (int s0 = tx0; s0 < tx1; s0 += LK_WG4_SEGMENT) {
            const int k = tx1 - s0 < LK_WG4_SEGMENT ? tx1 - s0 : LK_WG4_SEGMENT;
            const int col0 = 4 * s0 - pl;
            const size_t first = (t - tile0) + (size_t)(s0 - tx0);
            // Groups of 16 tiles read rows[i][4g … 4g + 67].
            const int filled = 4 * ((k + 15) / 16 * 16) + 4;
            for (int c = 0; c < channels; c++) {
                const float *channel = x + (size_t)c * h * w;
                for (int i = 0; i < 6; i++) fill_row(rows[i], channel, h, w, 4 * ty - pt + i, col0, filled);
                float *out = v + (size_t)c * ld + first;
                for (int g = 0; g < k; g += 16) {
                    v16f e[6][6];  // e[i][j] = (Bᵀ d)[i][j]
                    {
                        v16f d[6][6];
                        for (int i = 0; i < 6; i++) {
                            const float *b = rows[i] + 4 * g;
                            v16f unused0, unused1;
                            LK_PHASES4(load16(b), load16(b + 16), load16(b + 32), load16(b + 48), d[i][0], d[i][1],
                                       d[i][2], d[i][3]);
                            LK_PHASES4(load16(b + 4), load16(b + 20), load16(b + 36), load16(b + 52), d[i][4], d[i][5],
                                       unused0, unused1);
                            (void)unused0;
                            (void)unused1;
                        }
                        for (int j = 0; j < 6; j++) {
                            v16f column[6] = {d[0][j], d[1][j], d[2][j], d[3][j], d[4][j], d[5][j]};
                            v16f transformed[6];
                            LK_BT6(transformed, column);
                            for (int i = 0; i < 6; i++) e[i][j] = transformed[i];
                        }
                    }
                    for (int i = 0; i < 6; i++) {
                        v16f f[6];
                        LK_BT6(f, e[i]);
                        // Lanes past the segment land in later segments of this row or in its padding.
                        for (int j = 0; j < 6; j++) store16(out + (size_t)(6 * i + j) * plane + g, f[j]);
                    }
                }
            }
        }
        t += (size_t)(tx1 - tx0);
    }
}

LK_CLONES
void lk_winograd4_output(const float *m, size_t ld, size_t plane, int channels, int tiles_w, size_t tile0,
                         size_t tile1, int oh, int ow, float *y, const float *bias, int activation,
                         const float *residual) {
    const size_t channel_size = (size_t)oh * ow;
    for (int c = 0; c < channels; c++) {
        const float bc = bias ? bias[c] : 0.0f;
        float *yc = y + (size_t)c * channel_size;
        const float *rc = residual ? residual + (size_t)c * channel_size : NULL;
        size_t t = tile0;
        while (t < tile1) {
            const int ty = (int)(t / (size_t)tiles_w);
            const int tx0 = (int)(t - (size_t)ty * tiles_w);
            const int tx1 = (size_t)(tiles_w - tx0) < tile1 - t ? tiles_w : tx0 + (int)(tile1 - t);
            const float *src = m + (size_t)c * ld + (t - tile0);
            for (int g = 0; tx0 + g < tx1; g += 16) {
                v16f s[4][6];  // s = Aᵀ m, per column
                for (int j = 0; j < 6; j++) {
                    v16f column[6];
                    for (int i = 0; i < 6; i++) column[i] = load16(src + (size_t)(6 * i + j) * plane + g);
                    v16f o[4];
                    LK_AT6(o, column);
                    for (int i = 0; i < 4; i++) s[i][j] = o[i];
                }
                const int count = tx1 - (tx0 + g) < 16 ? tx1 - (tx0 + g) : 16;
                const int x0 = 4 * (tx0 + g);
                for (int i = 0; i < 4; i++) {
                    const int oy = 4 * ty + i;
                    if (oy >= oh) break;
                    v16f o[4];
                    LK_AT6(o, s[i]);
                    for (int j = 0; j < 4; j++) {
                        v16f a = o[j] + bc;
                        if (activation == LKActivationSiLU) {
                            v16f e;
                            v16f x_ = __builtin_elementwise_min(__builtin_elementwise_max(-a, (v16f){} - 87.3f), (v16f){} + 88.3f);
                            v16f fx_ = __builtin_elementwise_floor(x_ * 1.44269504088896341f + 0.5f);
                            v16f r_ = x_ - fx_ * 0.693359375f + fx_ * 2.12194440e-4f;
                            v16f p_ = (v16f){} + 1.9875691500E-4f;
                            p_ = p_ * r_ + 1.3981999507E-3f;
                            p_ = p_ * r_ + 8.3334519073E-3f;
                            p_ = p_ * r_ + 4.1665795894E-2f;
                            p_ = p_ * r_ + 1.6666665459E-1f;
                            p_ = p_ * r_ + 5.0000001201E-1f;
                            p_ = p_ * r_ * r_ + r_ + 1.0f;
                            v16i n_ = __builtin_convertvector(fx_, v16i);
                            e = p_ * (v16f)((n_ + 127) << 23);
                            a = a / (1.0f + e);
                        }
                        o[j] = a;
                    }
                    // out[4k + j] = o[j][k]: two rounds of interleaving.
                    const v16f p_lo = __builtin_shufflevector(o[0], o[2], 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
                    const v16f p_hi = __builtin_shufflevector(o[0], o[2], 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
                    const v16f q_lo = __builtin_shufflevector(o[1], o[3], 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
                    const v16f q_hi = __builtin_shufflevector(o[1], o[3], 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
                    v16f lanes4[4];
                    lanes4[0] = __builtin_shufflevector(p_lo, q_lo, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
                    lanes4[1] = __builtin_shufflevector(p_lo, q_lo, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
                    lanes4[2] = __builtin_shufflevector(p_hi, q_hi, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
                    lanes4[3] = __builtin_shufflevector(p_hi, q_hi, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
                    float *row = yc + (size_t)oy * ow + x0;
                    const float *res = rc ? rc + (size_t)oy * ow + x0 : NULL;
                    int columns = 4 * count;
                    if (x0 + columns > ow) columns = ow - x0;
                    int q = 0;
                    for (int part = 0; part < 4 && q + 16 <= columns; part++, q += 16)
                        store16(row + q, res ? lanes4[part] + load16(res + q) : lanes4[part]);
                    if (q < columns) {
                        float lanes[64];
                        for (int part = 0; part < 4; part++) store16(lanes + 16 * part, lanes4[part]);
                        for (; q + 4 <= columns; q += 4) {
                            v4f a = *(const v4f_unaligned *)(lanes + q);
                            if (res) a += *(const v4f_unaligned *)(res + q);
                            *(v4f_unaligned *)(row + q) = a;
                        }
                        for (; q < columns; q++) row[q] = res ? lanes[q] + res[q] : lanes[q];
                    }
                }
            }
            t += (size_t)(tx1 - tx0);
        }
    }
}
