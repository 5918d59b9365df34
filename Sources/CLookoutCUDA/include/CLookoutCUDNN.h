// Lookout's own declarations of the cuDNN 9 legacy convolution API it calls (exported by libcudnn.so.9, which
// forwards to its sub-libraries). As for the driver, nothing here comes from an NVIDIA header: handles and
// descriptors are opaque pointers, enums are ints with the documented values, and every function is a pointer
// type that LookoutCUDA fills with dlsym.
#ifndef CLOOKOUT_CUDNN_H
#define CLOOKOUT_CUDNN_H
#include <stddef.h>
#include <stdint.h>

typedef int LookoutCUDNNStatus;  // cudnnStatus_t: 0 is success
typedef struct LookoutCUDNNContext_st *LookoutCUDNNHandle;
typedef struct LookoutCUDNNTensor_st *LookoutCUDNNTensorDescriptor;
typedef struct LookoutCUDNNFilter_st *LookoutCUDNNFilterDescriptor;
typedef struct LookoutCUDNNConvolution_st *LookoutCUDNNConvolutionDescriptor;
typedef struct LookoutCUstream_st *LookoutCUDNNStream;  // cudaStream_t and CUstream are the same handle

/// cudnnConvolutionFwdAlgoPerf_t: what cudnnGetConvolutionForwardAlgorithm_v7 returns per algorithm.
typedef struct LookoutCUDNNConvolutionFwdAlgoPerf {
    int algo;                  // cudnnConvolutionFwdAlgo_t
    LookoutCUDNNStatus status;
    float time;                // ms (heuristics: -1 or an estimate)
    size_t memory;             // workspace bytes
    int determinism;           // cudnnDeterminism_t
    int mathType;              // cudnnMathType_t
    int reserved[3];
} LookoutCUDNNConvolutionFwdAlgoPerf;

typedef size_t (*LookoutPFN_cudnnGetVersion)(void);
typedef const char *(*LookoutPFN_cudnnGetErrorString)(LookoutCUDNNStatus status);
typedef LookoutCUDNNStatus (*LookoutPFN_cudnnCreate)(LookoutCUDNNHandle *handle);
typedef LookoutCUDNNStatus (*LookoutPFN_cudnnDestroy)(LookoutCUDNNHandle handle);
typedef LookoutCUDNNStatus (*LookoutPFN_cudnnSetStream)(LookoutCUDNNHandle handle, LookoutCUDNNStream stream);
typedef LookoutCUDNNStatus (*LookoutPFN_cudnnCreateTensorDescriptor)(LookoutCUDNNTensorDescriptor *descriptor);
typedef LookoutCUDNNStatus (*LookoutPFN_cudnnDestroyTensorDescriptor)(LookoutCUDNNTensorDescriptor descriptor);
typedef LookoutCUDNNStatus (*LookoutPFN_cudnnSetTensor4dDescriptorEx)(
    LookoutCUDNNTensorDescriptor descriptor, int dataType, int n, int c, int h, int w, int nStride, int cStride,
    int hStride, int wStride);
typedef LookoutCUDNNStatus (*LookoutPFN_cudnnCreateFilterDescriptor)(LookoutCUDNNFilterDescriptor *descriptor);
typedef LookoutCUDNNStatus (*LookoutPFN_cudnnDestroyFilterDescriptor)(LookoutCUDNNFilterDescriptor descriptor);
typedef LookoutCUDNNStatus (*LookoutPFN_cudnnSetFilter4dDescriptor)(
    LookoutCUDNNFilterDescriptor descriptor, int dataType, int format, int k, int c, int h, int w);
typedef LookoutCUDNNStatus (*LookoutPFN_cudnnCreateConvolutionDescriptor)(LookoutCUDNNConvolutionDescriptor *descriptor);
typedef LookoutCUDNNStatus (*LookoutPFN_cudnnDestroyConvolutionDescriptor)(LookoutCUDNNConvolutionDescriptor descriptor);
typedef LookoutCUDNNStatus (*LookoutPFN_cudnnSetConvolution2dDescriptor)(
    LookoutCUDNNConvolutionDescriptor descriptor, int padH, int padW, int strideH, int strideW, int dilationH,
    int dilationW, int mode, int computeType);
typedef LookoutCUDNNStatus (*LookoutPFN_cudnnSetConvolutionGroupCount)(
    LookoutCUDNNConvolutionDescriptor descriptor, int groups);
typedef LookoutCUDNNStatus (*LookoutPFN_cudnnSetConvolutionMathType)(
    LookoutCUDNNConvolutionDescriptor descriptor, int mathType);
typedef LookoutCUDNNStatus (*LookoutPFN_cudnnGetConvolutionForwardAlgorithm_v7)(
    LookoutCUDNNHandle handle, LookoutCUDNNTensorDescriptor x, LookoutCUDNNFilterDescriptor w,
    LookoutCUDNNConvolutionDescriptor convolution, LookoutCUDNNTensorDescriptor y, int requested, int *returned,
    LookoutCUDNNConvolutionFwdAlgoPerf *results);
typedef LookoutCUDNNStatus (*LookoutPFN_cudnnGetConvolutionForwardWorkspaceSize)(
    LookoutCUDNNHandle handle, LookoutCUDNNTensorDescriptor x, LookoutCUDNNFilterDescriptor w,
    LookoutCUDNNConvolutionDescriptor convolution, LookoutCUDNNTensorDescriptor y, int algorithm, size_t *bytes);
// alpha and beta point to host floats for fp16 and fp32 tensors.
typedef LookoutCUDNNStatus (*LookoutPFN_cudnnConvolutionForward)(
    LookoutCUDNNHandle handle, const void *alpha, LookoutCUDNNTensorDescriptor xDescriptor, const void *x,
    LookoutCUDNNFilterDescriptor wDescriptor, const void *w, LookoutCUDNNConvolutionDescriptor convolution,
    int algorithm, void *workspace, size_t workspaceBytes, const void *beta, LookoutCUDNNTensorDescriptor yDescriptor,
    void *y);
#endif
