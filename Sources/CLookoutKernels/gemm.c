// C = A · B for the Winograd products: A (the transformed weights, m × k) packed once at compile time into panels of
// six rows, B read in place (k rows of the transformed input, `ldb` apart), 16 columns at a time. OpenBLAS packs A
// again on every call, which for these narrow products (16–160 columns a call) costs as much as the
// multiplications; here one panel of B (k × 16, ≤ 16 KB at k = 256) stays in L1 while all row panels of A pass.
#include "CLookoutKernels.h"

typedef float v8f __attribute__((vector_size(32)));
typedef float v8f_unaligned __attribute__((vector_size(32), aligned(4)));
#define load8(p) (*(const v8f_unaligned *)(p))
#define store8(p, v) (*(v8f_unaligned *)(p) = (v))
#define LK_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))

enum { LK_PANEL = 6 };

size_t lk_gemm_packed_size(int m, int k) { return (size_t)(m + LK_PANEL - 1) / LK_PANEL * LK_PANEL * (size_t)k; }

void lk_gemm_pack(const float *a, int m, int k, size_t lda, float *packed) {
    for (int p = 0; p < m; p += LK_PANEL) {
        float *panel = packed + (size_t)p * k;
        for (int c = 0; c < k; c++) {
            for (int r = 0; r < LK_PANEL; r++) panel[(size_t)c * LK_PANEL + r] = p + r < m ? a[(size_t)(p + r) * lda + c] : 0.0f;
        }
    }
}

// Rows [0, rows) of one panel times 16 columns of B: 2·rows accumulators of 8 lanes (12 at six rows, with the two
// B vectors and a broadcast 15 of AVX2's 16 registers).
static inline __attribute__((always_inline)) void lk_gemm_tile(const float *panel, int rows, int k, const float *b,
                                                               size_t ldb, float *c, size_t ldc) {
    v8f acc[LK_PANEL][2];
    for (int r = 0; r < LK_PANEL; r++) acc[r][0] = acc[r][1] = (v8f){};
    for (int q = 0; q < k; q++) {
        const v8f b0 = load8(b + (size_t)q * ldb), b1 = load8(b + (size_t)q * ldb + 8);
        const float *a = panel + (size_t)q * LK_PANEL;
        for (int r = 0; r < rows; r++) {
            acc[r][0] += a[r] * b0;
            acc[r][1] += a[r] * b1;
        }
    }
    for (int r = 0; r < rows; r++) {
        store8(c + (size_t)r * ldc, acc[r][0]);
        store8(c + (size_t)r * ldc + 8, acc[r][1]);
    }
}

LK_CLONES
void lk_gemm_packed(const float *packed, int m, int k, const float *b, size_t ldb, float *c, size_t ldc, int n) {
    for (int j = 0; j < n; j += 16) {
        int p = 0;
        for (; p + LK_PANEL <= m; p += LK_PANEL)
            lk_gemm_tile(packed + (size_t)p * k, LK_PANEL, k, b + j, ldb, c + (size_t)p * ldc + j, ldc);
        // The last, partial panel with its row count constant in each branch, so that the loops unroll.
        switch (m - p) {
        case 5: lk_gemm_tile(packed + (size_t)p * k, 5, k, b + j, ldb, c + (size_t)p * ldc + j, ldc); break;
        case 4: lk_gemm_tile(packed + (size_t)p * k, 4, k, b + j, ldb, c + (size_t)p * ldc + j, ldc); break;
        case 3: lk_gemm_tile(packed + (size_t)p * k, 3, k, b + j, ldb, c + (size_t)p * ldc + j, ldc); break;
        case 2: lk_gemm_tile(packed + (size_t)p * k, 2, k, b + j, ldb, c + (size_t)p * ldc + j, ldc); break;
        case 1: lk_gemm_tile(packed + (size_t)p * k, 1, k, b + j, ldb, c + (size_t)p * ldc + j, ldc); break;
        default: break;
        }
    }
}
