// Winograd for stride-2 3×3 convolutions (pads 1): the polyphase split of the input makes each output
// y[o] = w1·X[2o] + (w0·X[2o−1] + w2·X[2o+1]), a one-tap filter on the even samples plus a two-tap correlation on
// the odd ones. Per 1D tile of two outputs (five input samples s0 … s4 = X[4t−1 … 4t+3]) the even part needs two
// products (s1·w1, s3·w1) and the odd part F(2, 2) three ((s0 − s2)·w0, s2·(w0 + w2), (s4 − s2)·w2): five
// positions. In 2D that is 5×5 = 25 products per 2×2 output tile, 6.25 multiplications per output instead of 9.
// The transforms have entries 0 and ±1 only (the error stays at fp32 summation-order level); the weight side is
// built in Swift (`WinogradConvKernel`).
#include "CLookoutKernels.h"

typedef float v16f __attribute__((vector_size(64)));
typedef int32_t v16i __attribute__((vector_size(64)));
typedef float v16f_unaligned __attribute__((vector_size(64), aligned(4)));
typedef float v4f __attribute__((vector_size(16)));
typedef float v4f_unaligned __attribute__((vector_size(16), aligned(4)));
#define load16(p) (*(const v16f_unaligned *)(p))
#define store16(p, v) (*(v16f_unaligned *)(p) = (v))
#define LK_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))

#define EVENS(a, b) __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30)
#define ODDS(a, b) __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31)

// Tiles of one tile row per pass (four input columns each): the padded input rows of a pass live on the stack.
enum { LK_S2_SEGMENT = 32, LK_S2_ROW = 4 * LK_S2_SEGMENT + 96 };

// Row r of a channel, columns col0 … col0 + filled − 1, into b, zeros outside the image.
static inline __attribute__((always_inline)) void lk_s2_fill_row(
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

// The 1D input transform: (s1, s3, s0 − s2, s2, s4 − s2).
#define LK_S2_BT(o, i)                                                                                         \
    do {                                                                                                       \
        (o)[0] = (i)[1];                                                                                       \
        (o)[1] = (i)[3];                                                                                       \
        (o)[2] = (i)[0] - (i)[2];                                                                              \
        (o)[3] = (i)[2];                                                                                       \
        (o)[4] = (i)[4] - (i)[2];                                                                              \
    } while (0)

// The 1D output transform: (p0 + p2 + p3, p1 + p3 + p4).
#define LK_S2_AT(o, i)                                                                                         \
    do {                                                                                                       \
        (o)[0] = (i)[0] + (i)[2] + (i)[3];                                                                     \
        (o)[1] = (i)[1] + (i)[3] + (i)[4];                                                                     \
    } while (0)

LK_CLONES
void lk_winograd_s2_input(const float *x, int channels, int h, int w, int pt, int pl, int tiles_w, size_t tile0,
                          size_t tile1, float *v, size_t ld, size_t plane) {
    float rows[5][LK_S2_ROW];
    size_t t = tile0;
    while (t < tile1) {
        const int ty = (int)(t / (size_t)tiles_w);
        const int tx0 = (int)(t - (size_t)ty * tiles_w);
        const int tx1 = (size_t)(tiles_w - tx0) < tile1 - t ? tiles_w : tx0 + (int)(tile1 - t);
        for (int s0 = tx0; s0 < tx1; s0 += LK_S2_SEGMENT) {
            const int k = tx1 - s0 < LK_S2_SEGMENT ? tx1 - s0 : LK_S2_SEGMENT;
            const int col0 = 4 * s0 - pl;
            const size_t first = (t - tile0) + (size_t)(s0 - tx0);
            // Groups of 16 tiles read rows[i][4g … 4g + 67].
            const int filled = 4 * ((k + 15) / 16 * 16) + 4;
            for (int c = 0; c < channels; c++) {
                const float *channel = x + (size_t)c * h * w;
                for (int i = 0; i < 5; i++) lk_s2_fill_row(rows[i], channel, h, w, 4 * ty - pt + i, col0, filled);
                float *out = v + (size_t)c * ld + first;
                for (int g = 0; g < k; g += 16) {
                    v16f e[5][5];  // e[i][j] = (Bᵀ d)[i][j]
                    {
                        v16f d[5][5];
                        for (int i = 0; i < 5; i++) {
                            const float *b = rows[i] + 4 * g;
                            const v16f v0 = load16(b), v1 = load16(b + 16), v2 = load16(b + 32), v3 = load16(b + 48);
                            const v16f a = EVENS(v0, v1), bo = ODDS(v0, v1), c2 = EVENS(v2, v3), d2 = ODDS(v2, v3);
                            d[i][0] = EVENS(a, c2);
                            d[i][2] = ODDS(a, c2);
                            d[i][1] = EVENS(bo, d2);
                            d[i][3] = ODDS(bo, d2);
                            // Column 4 of tile l is column 0 of tile l + 1: the phase-0 lanes shifted by one.
                            const v16f n0 = load16(b + 4), n1 = load16(b + 20), n2 = load16(b + 36), n3 = load16(b + 52);
                            d[i][4] = EVENS(EVENS(n0, n1), EVENS(n2, n3));
                        }
                        for (int j = 0; j < 5; j++) {
                            v16f column[5] = {d[0][j], d[1][j], d[2][j], d[3][j], d[4][j]};
                            v16f transformed[5];
                            LK_S2_BT(transformed, column);
                            for (int i = 0; i < 5; i++) e[i][j] = transformed[i];
                        }
                    }
                    for (int i = 0; i < 5; i++) {
                        v16f f[5];
                        LK_S2_BT(f, e[i]);
                        // Lanes past the segment land in later segments of this row or in its padding.
                        for (int j = 0; j < 5; j++) store16(out + (size_t)(5 * i + j) * plane + g, f[j]);
                    }
                }
            }
        }
        t += (size_t)(tx1 - tx0);
    }
}

LK_CLONES
void lk_winograd_s2_output(const float *m, size_t ld, size_t plane, int channels, int tiles_w, size_t tile0,
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
                // Reads past the segment's end stay inside the row's padding; those lanes are never stored.
                v16f s[2][5];  // s = Aᵀ m, per column
                for (int j = 0; j < 5; j++) {
                    v16f column[5];
                    for (int i = 0; i < 5; i++) column[i] = load16(src + (size_t)(5 * i + j) * plane + g);
                    v16f o[2];
                    LK_S2_AT(o, column);
                    s[0][j] = o[0];
                    s[1][j] = o[1];
                }
                v16f out[2][2];
                for (int i = 0; i < 2; i++) {
                    LK_S2_AT(out[i], s[i]);
                    for (int j = 0; j < 2; j++) {
                        v16f a = out[i][j] + bc;
                        if (activation == LKActivationSiLU) {
                            v16f e;
                            v16f x_ = __builtin_elementwise_min(__builtin_elementwise_max(-a, (v16f){} - 87.3f),
                                                                (v16f){} + 88.3f);
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
