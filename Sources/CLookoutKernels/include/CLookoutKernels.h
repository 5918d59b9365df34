// Lookout's CPU micro-kernels: the per-element work around BLAS (im2col, fused bias/activation/residual
// epilogues, pooling, resampling, softmax, layout changes). Written with vector extensions and compiled for
// several x86 levels with run-time dispatch (target_clones), so one binary uses AVX-512 where it exists.
#ifndef CLOOKOUT_KERNELS_H
#define CLOOKOUT_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum LKActivation { LKActivationNone = 0, LKActivationSiLU = 1, LKActivationSigmoid = 2 };

/// y[r][c] = act(y[r][c] + bias[r]) (+ residual[r][c]) for rows [row0, row1); rows are `cols` long, `ldy`/`ldr` apart.
void lk_bias_activation(float *y, size_t ldy, const float *bias, int activation, const float *residual, size_t ldr,
                        size_t row0, size_t row1, size_t cols);

/// Unfolds output pixels [p0, p1) of one image (a C×H×W plane set) into columns for a convolution GEMM:
/// row ((c*kh + ky)*kw + kx), `p1 - p0` long, holds the input under kernel tap (ky, kx) for each of those pixels
/// (pixel p is output row p / ow, column p % ow).
void lk_im2col(const float *x, int channels, int h, int w, int kh, int kw, int sh, int sw, int pt, int pl, int dh,
               int dw, int oh, int ow, size_t p0, size_t p1, float *columns);

/// Depthwise convolution of one plane (h×w) by one kh×kw filter into oh×ow outputs, without bias: the plane is first
/// copied with its padding into `scratch` (`lk_depthwise_scratch` elements), then each output row is computed 16
/// pixels at a time with the taps accumulated in registers.
void lk_depthwise_conv(const float *x, int h, int w, const float *weights, int kh, int kw, int sh, int sw, int pt,
                       int pl, int dh, int dw, int oh, int ow, float *y, float *scratch);
size_t lk_depthwise_scratch(int kh, int kw, int sh, int sw, int dh, int dw, int oh, int ow);

/// Direct convolution (no groups, no dilation) of output rows [oy0, oy1) of one image, without bias, for layers with
/// few output channels: 16 output pixels of 4 output channels at a time accumulate in registers over all input
/// channels and taps. `packed` holds the weights as [block of 16 output channels][input channel][tap][16] (zeros past
/// `outChannels`); the band's input rows are first copied with their padding into `scratch`
/// (`lk_direct_conv_scratch` elements for bands of `band` rows).
void lk_direct_conv(const float *x, int channels, int h, int w, const float *packed, int outChannels, int kh, int kw,
                    int sh, int sw, int pt, int pl, int oh, int ow, int oy0, int oy1, float *y, float *scratch);
size_t lk_direct_conv_scratch(int channels, int kh, int kw, int sh, int sw, int ow, int band);

/// y = op(x) elementwise over n values.
void lk_sigmoid(const float *x, float *y, size_t n);

enum LKBinary { LKBinaryAdd = 0, LKBinarySub = 1, LKBinaryMul = 2, LKBinaryDiv = 3, LKBinaryPow = 4, LKBinaryMin = 5, LKBinaryMax = 6 };

/// y[i] = a[i*sa] op b[i*sb] for i < n; sa and sb are 0 (broadcast scalar) or 1.
void lk_binary(int op, const float *a, size_t sa, const float *b, size_t sb, float *y, size_t n);

/// 2-D max pooling of `planes` planes of h×w into oh×ow (padding never wins: it counts as -inf).
void lk_maxpool(const float *x, float *y, size_t planes, int h, int w, int oh, int ow, int kh, int kw, int sh, int sw,
                int pt, int pl, int dh, int dw);

/// y[p][i][j] = x[p][rows[i]][cols[j]] for `planes` planes (nearest-neighbour resampling by index tables).
void lk_gather2d(const float *x, size_t xPlaneStride, int w, float *y, size_t yPlaneStride, size_t planes,
                 const int32_t *rows, int oh, const int32_t *cols, int ow);

/// Nearest-neighbour 2× upsampling of `planes` h×w planes into 2h×2w (y[2i + a][2j + b] = x[i][j]).
void lk_upsample2x(const float *x, size_t xPlaneStride, int h, int w, float *y, size_t yPlaneStride, size_t planes);

/// Softmax over `length` elements `stride` apart, for `columns` adjacent vectors in each of `outer` blocks of
/// `length × stride` elements.
void lk_softmax(const float *x, float *y, size_t outer, size_t length, size_t stride, size_t columns);

/// y = x transposed: `rank` ≤ 8 dimensions of y's shape, with x's strides for each of y's dimensions.
void lk_transpose(const float *x, float *y, int rank, const int64_t *shape, const int64_t *xStrides);

/// Rounds every value to the nearest float16 and back (Cast to float16 executed in fp32).
void lk_round_to_half(const float *x, float *y, size_t n);

/// Winograd F(2×2, 3×3) input transform for tiles [tile0, tile1) of one image (tile t is tile row t / tiles_w,
/// column t % tiles_w; tile (ty, tx) reads input rows 2ty - pt … +3 and columns 2tx - pl … +3, zero outside):
/// v[ξ·plane + c·ld + t - tile0] for the 16 positions ξ. Rows are written in whole 16-lane groups: `ld` must be
/// at least tile1 - tile0 + 15 (and `plane` at least channels·ld; make it no multiple of 4 KiB, or the 16 output
/// streams fight over the same L1 sets).
void lk_winograd_input(const float *x, int channels, int h, int w, int pt, int pl, int tiles_w, size_t tile0,
                       size_t tile1, float *v, size_t ld, size_t plane);

/// Winograd F(2×2, 3×3) output transform of m (layout as lk_winograd_input's v, same `ld` rule) into the 2×2
/// output tiles of y (channels × oh × ow), with bias, activation and then the residual (same layout as y, or
/// NULL) applied; pixels past oh × ow are dropped.
void lk_winograd_output(const float *m, size_t ld, size_t plane, int channels, int tiles_w, size_t tile0,
                        size_t tile1, int oh, int ow, float *y, const float *bias, int activation, const float *residual);

/// Winograd F(4×4, 3×3), as the two functions above with 6×6 patches at stride 4 and 36 positions ξ (tile (ty, tx)
/// reads input rows 4ty - pt … +5 and columns 4tx - pl … +5).
void lk_winograd4_input(const float *x, int channels, int h, int w, int pt, int pl, int tiles_w, size_t tile0,
                        size_t tile1, float *v, size_t ld, size_t plane);
void lk_winograd4_output(const float *m, size_t ld, size_t plane, int channels, int tiles_w, size_t tile0,
                         size_t tile1, int oh, int ow, float *y, const float *bias, int activation,
                         const float *residual);

/// Winograd for stride-2 3×3 convolutions (pads 1; winograd_s2.c), as lk_winograd_input/_output with 5×5 patches
/// at stride 4 and 25 positions ξ: tile (ty, tx) is the 2×2 output tile at (2ty, 2tx) and reads input rows
/// 4ty - pt … +4 and columns 4tx - pl … +4.
void lk_winograd_s2_input(const float *x, int channels, int h, int w, int pt, int pl, int tiles_w, size_t tile0,
                          size_t tile1, float *v, size_t ld, size_t plane);
void lk_winograd_s2_output(const float *m, size_t ld, size_t plane, int channels, int tiles_w, size_t tile0,
                           size_t tile1, int oh, int ow, float *y, const float *bias, int activation,
                           const float *residual);

/// Elements of `lk_gemm_pack`'s output for an m × k matrix (panels of six rows, the last padded with zeros).
size_t lk_gemm_packed_size(int m, int k);
/// Packs A (m × k, rows `lda` apart) for lk_gemm_packed.
void lk_gemm_pack(const float *a, int m, int k, size_t lda, float *packed);
/// C (m × n, rows `ldc` apart) = A · B with A packed by lk_gemm_pack and B k × n (rows `ldb` apart). Columns go in
/// groups of 16: B's rows must be readable and C's writable up to n rounded up to 16 (gemm.c).
void lk_gemm_packed(const float *packed, int m, int k, const float *b, size_t ldb, float *c, size_t ldc, int n);

#ifdef __cplusplus
}
#endif

#endif
