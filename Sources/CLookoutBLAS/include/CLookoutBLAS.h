// The CBLAS entry points Lookout calls, declared here so the build does not depend on where a distribution puts
// cblas.h (Debian hides it behind alternatives). The library itself is OpenBLAS, linked by Package.swift.
#ifndef CLOOKOUT_BLAS_H
#define CLOOKOUT_BLAS_H

#ifdef __cplusplus
extern "C" {
#endif

enum LookoutCblasOrder { LookoutCblasRowMajor = 101, LookoutCblasColMajor = 102 };
enum LookoutCblasTranspose { LookoutCblasNoTrans = 111, LookoutCblasTrans = 112 };

void cblas_sgemm(int order, int transA, int transB, int m, int n, int k, float alpha, const float *a, int lda,
                 const float *b, int ldb, float beta, float *c, int ldc);

void openblas_set_num_threads(int threads);
int openblas_get_num_threads(void);
char *openblas_get_config(void);

#ifdef __cplusplus
}
#endif

#endif
