#include "CLookoutKernels.h"

typedef float v16f __attribute__((vector_size(64)));
typedef float v16f_unaligned __attribute__((vector_size(64), aligned(4)));
#define load16(p) (*(const v16f_unaligned *)(p))
#define store16(p, v) (*(v16f_unaligned *)(p) = (v))

#define LK_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))

// The padded copy of one plane: `lk_depthwise_conv` computes whole 16-pixel vectors of an output row (the last one
// partly past the row), so it reads up to this many columns; at stride 2 one more, for the second load of a pair.
static void lk_depthwise_padded_size(int kh, int kw, int sh, int sw, int dh, int dw, int oh, int ow, size_t *rows,
                                     size_t *cols) {
    const int ow16 = (ow + 15) / 16 * 16;
    *rows = (size_t)(oh - 1) * sh + (size_t)(kh - 1) * dh + 1;
    *cols = (size_t)(ow16 - 1) * sw + (size_t)(kw - 1) * dw + 2;
}

size_t lk_depthwise_scratch(int kh, int kw, int sh, int sw, int dh, int dw, int oh, int ow) {
    size_t rows, cols;
    lk_depthwise_padded_size(kh, kw, sh, sw, dh, dw, oh, ow, &rows, &cols);
    return rows * cols + 16;
}

// The output rows from the padded plane; `sw` is a constant at the call sites for strides 1 and 2.
static inline __attribute__((always_inline)) void lk_depthwise_rows(const float *scratch, size_t cols,
                                                                    const float *weights, int kh, int kw, int sh,
                                                                    int sw, int dh, int dw, int oh, int ow, float *y) {
    for (int oy = 0; oy < oh; oy++) {
        float *out = y + (size_t)oy * ow;
        const float *top = scratch + (size_t)oy * sh * cols;
        for (int ox = 0; ox < ow; ox += 16) {
            v16f acc = (v16f){};
            // Taps by row and column: a division per tap would cost more than its multiplication.
            for (int ky = 0, t = 0; ky < kh; ky++)
            for (int kx = 0; kx < kw; kx++, t++) {
                const float *p = top + (size_t)ky * dh * cols + (size_t)ox * sw + (size_t)kx * dw;
                v16f v;
                if (sw == 1) {
                    v = load16(p);
                } else if (sw == 2) {
                    const v16f a = load16(p), b = load16(p + 16);
                    v = __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
                } else {
                    for (int i = 0; i < 16; i++) v[i] = p[(size_t)i * sw];
                }
                acc += weights[t] * v;
            }
            if (ow - ox >= 16) {
                store16(out + ox, acc);
            } else {
                for (int i = 0; i < ow - ox; i++) out[ox + i] = acc[i];
            }
        }
    }
}

LK_CLONES
void lk_depthwise_conv(const float *x, int h, int w, const float *weights, int kh, int kw, int sh, int sw, int pt,
                       int pl, int dh, int dw, int oh, int ow, float *y, float *scratch) {
    size_t rows, cols;
    lk_depthwise_padded_size(kh, kw, sh, sw, dh, dw, oh, ow, &rows, &cols);
    // The plane with its padding made real (zeros), so that every tap of every output vector reads in bounds.
    for (size_t r = 0; r < rows; r++) {
        float *dst = scratch + r * cols;
        const int iy = (int)r - pt;
        size_t c = 0;
        if (iy >= 0 && iy < h) {
            const float *src = x + (size_t)iy * w;
            for (; c < (size_t)pl && c < cols; c++) dst[c] = 0.0f;
            size_t end = (size_t)pl + (size_t)w;
            if (end > cols) end = cols;
            for (; c < end; c++) dst[c] = src[c - pl];
        }
        for (; c < cols; c++) dst[c] = 0.0f;
    }
    if (sw == 1)
        lk_depthwise_rows(scratch, cols, weights, kh, kw, sh, 1, dh, dw, oh, ow, y);
    else if (sw == 2)
        lk_depthwise_rows(scratch, cols, weights, kh, kw, sh, 2, dh, dw, oh, ow, y);
    else
        lk_depthwise_rows(scratch, cols, weights, kh, kw, sh, sw, dh, dw, oh, ow, y);
}
