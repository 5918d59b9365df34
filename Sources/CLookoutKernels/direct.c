#include "CLookoutKernels.h"

typedef float v16f __attribute__((vector_size(64)));
typedef float v16f_unaligned __attribute__((vector_size(64), aligned(4)));
#define load16(p) (*(const v16f_unaligned *)(p))
#define store16(p, v) (*(v16f_unaligned *)(p) = (v))

#define LK_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))

// A band's padded copy: whole 16-pixel vectors of each output row (the last partly past the row), and at stride 2
// one column more for the second load of a pair.
static void lk_direct_band_size(int kh, int kw, int sh, int sw, int ow, int band, size_t *rows, size_t *cols) {
    const int ow16 = (ow + 15) / 16 * 16;
    *rows = (size_t)(band - 1) * sh + (size_t)kh;
    *cols = (size_t)(ow16 - 1) * sw + (size_t)(kw - 1) + 2;
}

size_t lk_direct_conv_scratch(int channels, int kh, int kw, int sh, int sw, int ow, int band) {
    size_t rows, cols;
    lk_direct_band_size(kh, kw, sh, sw, ow, band, &rows, &cols);
    return (size_t)channels * rows * cols + 16;
}

// Output rows [oy0, oy1) of the four output channels [4g, 4g + 4): their accumulators (16 pixels each) stay in
// registers, 8 of AVX2's 16 (more would spill there).
static inline __attribute__((always_inline)) void lk_direct_group(const float *band, size_t rows, size_t cols,
                                                                  int channels, const float *packed, int g,
                                                                  int outChannels, int kh, int kw, int sh, int sw,
                                                                  int oh, int ow, int oy0, int oy1, float *y) {
    enum { Group = 4 };
    const int taps = kh * kw;
    const size_t plane = (size_t)oh * ow;
    const int block = g / 4, lane = (g % 4) * Group;
    int valid = outChannels - g * Group;
    if (valid > Group) valid = Group;
    for (int oy = oy0; oy < oy1; oy++) {
        for (int ox = 0; ox < ow; ox += 16) {
            v16f acc[Group];
            for (int j = 0; j < Group; j++) acc[j] = (v16f){};
            for (int c = 0; c < channels; c++) {
                const float *top = band + ((size_t)c * rows + (size_t)(oy - oy0) * sh) * cols + (size_t)ox * sw;
                const float *wc = packed + ((size_t)block * channels + c) * taps * 16 + lane;
                // Taps by row and column: a division per tap would cost more than its multiplications.
                for (int ky = 0, t = 0; ky < kh; ky++)
                for (int kx = 0; kx < kw; kx++, t++) {
                    const float *p = top + (size_t)ky * cols + kx;
                    v16f v;
                    if (sw == 1) {
                        v = load16(p);
                    } else if (sw == 2) {
                        const v16f a = load16(p), b = load16(p + 16);
                        v = __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
                    } else {
                        for (int i = 0; i < 16; i++) v[i] = p[(size_t)i * sw];
                    }
                    const float *wt = wc + (size_t)t * 16;
                    for (int j = 0; j < Group; j++) acc[j] += wt[j] * v;
                }
            }
            float *out = y + (size_t)g * Group * plane + (size_t)oy * ow + ox;
            for (int j = 0; j < valid; j++) {
                if (ow - ox >= 16) {
                    store16(out + (size_t)j * plane, acc[j]);
                } else {
                    for (int i = 0; i < ow - ox; i++) out[(size_t)j * plane + i] = acc[j][i];
                }
            }
        }
    }
}

LK_CLONES
void lk_direct_conv(const float *x, int channels, int h, int w, const float *packed, int outChannels, int kh, int kw,
                    int sh, int sw, int pt, int pl, int oh, int ow, int oy0, int oy1, float *y, float *scratch) {
    size_t rows, cols;
    lk_direct_band_size(kh, kw, sh, sw, ow, oy1 - oy0, &rows, &cols);
    // The band's input rows with the padding made real (zeros), so that every tap of every vector reads in bounds.
    for (int c = 0; c < channels; c++) {
        for (size_t r = 0; r < rows; r++) {
            float *dst = scratch + ((size_t)c * rows + r) * cols;
            const int iy = oy0 * sh - pt + (int)r;
            size_t k = 0;
            if (iy >= 0 && iy < h) {
                const float *src = x + ((size_t)c * h + iy) * w;
                for (; k < (size_t)pl && k < cols; k++) dst[k] = 0.0f;
                size_t end = (size_t)pl + (size_t)w;
                if (end > cols) end = cols;
                for (; k < end; k++) dst[k] = src[k - pl];
            }
            for (; k < cols; k++) dst[k] = 0.0f;
        }
    }
    // Strides 1 and 2 as constants, so that the tap loop carries no test of the stride.
    for (int g = 0; g < (outChannels + 3) / 4; g++) {
        if (sw == 1)
            lk_direct_group(scratch, rows, cols, channels, packed, g, outChannels, kh, kw, sh, 1, oh, ow, oy0, oy1, y);
        else if (sw == 2)
            lk_direct_group(scratch, rows, cols, channels, packed, g, outChannels, kh, kw, sh, 2, oh, ow, oy0, oy1, y);
        else
            lk_direct_group(scratch, rows, cols, channels, packed, g, outChannels, kh, kw, sh, sw, oh, ow, oy0, oy1, y);
    }
}
