// Lookout's own declarations of the CUDA driver API and NVRTC types it uses (filled in by LookoutCUDA).
#ifndef CLOOKOUT_CUDA_H
#define CLOOKOUT_CUDA_H
#include <stddef.h>
#include <stdint.h>
typedef int LookoutCUresult;
#endif
