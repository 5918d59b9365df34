// Lookout's own declarations of the parts of the CUDA driver API and NVRTC that it calls. Nothing here comes
// from an NVIDIA header: the types are the ABI as documented (handles are opaque pointers, device addresses are
// 64-bit integers), and every function is a pointer type that LookoutCUDA fills at run time with dlsym or
// cuGetProcAddress. The `_v2` ABI is the one declared wherever the driver versions an entry point.
#ifndef CLOOKOUT_CUDA_H
#define CLOOKOUT_CUDA_H
#include <stddef.h>
#include <stdint.h>

typedef int LookoutCUresult;
typedef int LookoutCUdevice;
typedef uint64_t LookoutCUdeviceptr;
typedef struct LookoutCUctx_st *LookoutCUcontext;
typedef struct LookoutCUstream_st *LookoutCUstream;
typedef struct LookoutCUevent_st *LookoutCUevent;
typedef struct LookoutCUmod_st *LookoutCUmodule;
typedef struct LookoutCUfunc_st *LookoutCUfunction;
typedef struct LookoutCUgraph_st *LookoutCUgraph;
typedef struct LookoutCUgraphExec_st *LookoutCUgraphExec;
typedef struct LookoutCUarray_st *LookoutCUarray;

/// The 2D copy descriptor of cuMemcpy2D(Async)_v2: sizes are size_t in the v2 ABI.
typedef struct LookoutCUDAMemcpy2D {
    size_t srcXInBytes;
    size_t srcY;
    int srcMemoryType;
    const void *srcHost;
    LookoutCUdeviceptr srcDevice;
    LookoutCUarray srcArray;
    size_t srcPitch;
    size_t dstXInBytes;
    size_t dstY;
    int dstMemoryType;
    void *dstHost;
    LookoutCUdeviceptr dstDevice;
    LookoutCUarray dstArray;
    size_t dstPitch;
    size_t WidthInBytes;
    size_t Height;
} LookoutCUDAMemcpy2D;

// Entry-point lookup.
typedef LookoutCUresult (*LookoutPFN_cuGetProcAddress_v2)(
    const char *symbol, void **pfn, int cudaVersion, uint64_t flags, int *symbolStatus);
typedef LookoutCUresult (*LookoutPFN_cuGetProcAddress)(const char *symbol, void **pfn, int cudaVersion, uint64_t flags);

// Initialisation, errors, devices.
typedef LookoutCUresult (*LookoutPFN_cuInit)(unsigned int flags);
typedef LookoutCUresult (*LookoutPFN_cuDriverGetVersion)(int *version);
typedef LookoutCUresult (*LookoutPFN_cuGetErrorName)(LookoutCUresult error, const char **name);
typedef LookoutCUresult (*LookoutPFN_cuGetErrorString)(LookoutCUresult error, const char **text);
typedef LookoutCUresult (*LookoutPFN_cuDeviceGetCount)(int *count);
typedef LookoutCUresult (*LookoutPFN_cuDeviceGet)(LookoutCUdevice *device, int ordinal);
typedef LookoutCUresult (*LookoutPFN_cuDeviceGetName)(char *name, int length, LookoutCUdevice device);
typedef LookoutCUresult (*LookoutPFN_cuDeviceTotalMem)(size_t *bytes, LookoutCUdevice device);
typedef LookoutCUresult (*LookoutPFN_cuDeviceGetAttribute)(int *value, int attribute, LookoutCUdevice device);

// Contexts.
typedef LookoutCUresult (*LookoutPFN_cuDevicePrimaryCtxRetain)(LookoutCUcontext *context, LookoutCUdevice device);
typedef LookoutCUresult (*LookoutPFN_cuDevicePrimaryCtxRelease)(LookoutCUdevice device);
typedef LookoutCUresult (*LookoutPFN_cuCtxSetCurrent)(LookoutCUcontext context);
typedef LookoutCUresult (*LookoutPFN_cuCtxGetCurrent)(LookoutCUcontext *context);
typedef LookoutCUresult (*LookoutPFN_cuCtxSynchronize)(void);
typedef LookoutCUresult (*LookoutPFN_cuMemGetInfo)(size_t *free, size_t *total);

// Memory.
typedef LookoutCUresult (*LookoutPFN_cuMemAlloc)(LookoutCUdeviceptr *address, size_t bytes);
typedef LookoutCUresult (*LookoutPFN_cuMemFree)(LookoutCUdeviceptr address);
typedef LookoutCUresult (*LookoutPFN_cuMemHostAlloc)(void **pointer, size_t bytes, unsigned int flags);
typedef LookoutCUresult (*LookoutPFN_cuMemFreeHost)(void *pointer);
typedef LookoutCUresult (*LookoutPFN_cuMemHostGetDevicePointer)(
    LookoutCUdeviceptr *address, void *pointer, unsigned int flags);
typedef LookoutCUresult (*LookoutPFN_cuMemHostRegister)(void *pointer, size_t bytes, unsigned int flags);
typedef LookoutCUresult (*LookoutPFN_cuMemHostUnregister)(void *pointer);
typedef LookoutCUresult (*LookoutPFN_cuMemAllocManaged)(LookoutCUdeviceptr *address, size_t bytes, unsigned int flags);
typedef LookoutCUresult (*LookoutPFN_cuMemPrefetchAsync)(
    LookoutCUdeviceptr address, size_t bytes, LookoutCUdevice destination, LookoutCUstream stream);

// Copies and fills.
typedef LookoutCUresult (*LookoutPFN_cuMemcpyHtoD)(LookoutCUdeviceptr dst, const void *src, size_t bytes);
typedef LookoutCUresult (*LookoutPFN_cuMemcpyDtoH)(void *dst, LookoutCUdeviceptr src, size_t bytes);
typedef LookoutCUresult (*LookoutPFN_cuMemcpyHtoDAsync)(
    LookoutCUdeviceptr dst, const void *src, size_t bytes, LookoutCUstream stream);
typedef LookoutCUresult (*LookoutPFN_cuMemcpyDtoHAsync)(
    void *dst, LookoutCUdeviceptr src, size_t bytes, LookoutCUstream stream);
typedef LookoutCUresult (*LookoutPFN_cuMemcpyDtoDAsync)(
    LookoutCUdeviceptr dst, LookoutCUdeviceptr src, size_t bytes, LookoutCUstream stream);
typedef LookoutCUresult (*LookoutPFN_cuMemcpy2DAsync)(const LookoutCUDAMemcpy2D *copy, LookoutCUstream stream);
typedef LookoutCUresult (*LookoutPFN_cuMemsetD8Async)(
    LookoutCUdeviceptr dst, unsigned char value, size_t count, LookoutCUstream stream);

// Streams and events.
typedef LookoutCUresult (*LookoutPFN_cuStreamCreate)(LookoutCUstream *stream, unsigned int flags);
typedef LookoutCUresult (*LookoutPFN_cuStreamDestroy)(LookoutCUstream stream);
typedef LookoutCUresult (*LookoutPFN_cuStreamSynchronize)(LookoutCUstream stream);
typedef LookoutCUresult (*LookoutPFN_cuStreamQuery)(LookoutCUstream stream);
typedef LookoutCUresult (*LookoutPFN_cuStreamWaitEvent)(LookoutCUstream stream, LookoutCUevent event, unsigned int flags);
// Stream memory operation (the CUDA 12 ABI, `_v2`): later work on the stream waits until the 32-bit word at addr
// satisfies the condition in flags (0: (int32_t)(*addr - value) >= 0).
typedef LookoutCUresult (*LookoutPFN_cuStreamWaitValue32)(
    LookoutCUstream stream, LookoutCUdeviceptr addr, uint32_t value, unsigned int flags);
typedef LookoutCUresult (*LookoutPFN_cuEventCreate)(LookoutCUevent *event, unsigned int flags);
typedef LookoutCUresult (*LookoutPFN_cuEventDestroy)(LookoutCUevent event);
typedef LookoutCUresult (*LookoutPFN_cuEventRecord)(LookoutCUevent event, LookoutCUstream stream);
typedef LookoutCUresult (*LookoutPFN_cuEventRecordWithFlags)(LookoutCUevent event, LookoutCUstream stream, unsigned int flags);
typedef LookoutCUresult (*LookoutPFN_cuEventSynchronize)(LookoutCUevent event);
typedef LookoutCUresult (*LookoutPFN_cuEventQuery)(LookoutCUevent event);
typedef LookoutCUresult (*LookoutPFN_cuEventElapsedTime)(float *milliseconds, LookoutCUevent start, LookoutCUevent end);

// Modules and launches.
typedef LookoutCUresult (*LookoutPFN_cuModuleLoadData)(LookoutCUmodule *module, const void *image);
typedef LookoutCUresult (*LookoutPFN_cuModuleUnload)(LookoutCUmodule module);
typedef LookoutCUresult (*LookoutPFN_cuModuleGetFunction)(
    LookoutCUfunction *function, LookoutCUmodule module, const char *name);
typedef LookoutCUresult (*LookoutPFN_cuFuncSetAttribute)(LookoutCUfunction function, int attribute, int value);
typedef LookoutCUresult (*LookoutPFN_cuLaunchKernel)(
    LookoutCUfunction function, unsigned int gridX, unsigned int gridY, unsigned int gridZ, unsigned int blockX,
    unsigned int blockY, unsigned int blockZ, unsigned int sharedBytes, LookoutCUstream stream, void **parameters,
    void **extra);

// Graphs.
typedef LookoutCUresult (*LookoutPFN_cuStreamBeginCapture)(LookoutCUstream stream, int mode);
typedef LookoutCUresult (*LookoutPFN_cuStreamEndCapture)(LookoutCUstream stream, LookoutCUgraph *graph);
typedef LookoutCUresult (*LookoutPFN_cuGraphInstantiateWithFlags)(
    LookoutCUgraphExec *exec, LookoutCUgraph graph, unsigned long long flags);
typedef LookoutCUresult (*LookoutPFN_cuGraphLaunch)(LookoutCUgraphExec exec, LookoutCUstream stream);
typedef LookoutCUresult (*LookoutPFN_cuGraphExecDestroy)(LookoutCUgraphExec exec);
typedef LookoutCUresult (*LookoutPFN_cuGraphDestroy)(LookoutCUgraph graph);

// Inter-process memory: a CUipcMemHandle is 64 opaque bytes, passed by value.
typedef struct LookoutCUipcMemHandle {
    char reserved[64];
} LookoutCUipcMemHandle;
typedef LookoutCUresult (*LookoutPFN_cuIpcOpenMemHandle)(
    LookoutCUdeviceptr *pdptr, LookoutCUipcMemHandle handle, unsigned int flags);
typedef LookoutCUresult (*LookoutPFN_cuIpcCloseMemHandle)(LookoutCUdeviceptr dptr);

// NVRTC.
typedef int LookoutNVRTCResult;
typedef struct LookoutNVRTCProgram_st *LookoutNVRTCProgram;
typedef const char *(*LookoutPFN_nvrtcGetErrorString)(LookoutNVRTCResult result);
typedef LookoutNVRTCResult (*LookoutPFN_nvrtcVersion)(int *major, int *minor);
typedef LookoutNVRTCResult (*LookoutPFN_nvrtcGetNumSupportedArchs)(int *count);
typedef LookoutNVRTCResult (*LookoutPFN_nvrtcGetSupportedArchs)(int *archs);
typedef LookoutNVRTCResult (*LookoutPFN_nvrtcCreateProgram)(
    LookoutNVRTCProgram *program, const char *source, const char *name, int headerCount, const char *const *headers,
    const char *const *includeNames);
typedef LookoutNVRTCResult (*LookoutPFN_nvrtcDestroyProgram)(LookoutNVRTCProgram *program);
typedef LookoutNVRTCResult (*LookoutPFN_nvrtcCompileProgram)(
    LookoutNVRTCProgram program, int optionCount, const char *const *options);
typedef LookoutNVRTCResult (*LookoutPFN_nvrtcGetProgramLogSize)(LookoutNVRTCProgram program, size_t *bytes);
typedef LookoutNVRTCResult (*LookoutPFN_nvrtcGetProgramLog)(LookoutNVRTCProgram program, char *log);
typedef LookoutNVRTCResult (*LookoutPFN_nvrtcGetCUBINSize)(LookoutNVRTCProgram program, size_t *bytes);
typedef LookoutNVRTCResult (*LookoutPFN_nvrtcGetCUBIN)(LookoutNVRTCProgram program, char *cubin);
typedef LookoutNVRTCResult (*LookoutPFN_nvrtcGetPTXSize)(LookoutNVRTCProgram program, size_t *bytes);
typedef LookoutNVRTCResult (*LookoutPFN_nvrtcGetPTX)(LookoutNVRTCProgram program, char *ptx);

// The by-value parameter block of Lookout's letterbox kernels. The kernel source (LetterboxKernelSource.swift)
// declares the same fields in the same order; a test checks the two agree.
typedef struct LookoutLetterboxParams {
    uint64_t source;        // device address of the frame (the Y plane for NV12)
    uint64_t sourceUV;      // NV12: device address of the interleaved UV plane
    uint64_t destination;   // device address of the batch tensor
    double scaleX;          // OpenCV's 1 / ((double)resized / source), per axis
    double scaleY;
    int32_t sourceWidth;
    int32_t sourceHeight;
    int32_t sourcePitch;    // bytes per row
    int32_t sourceUVPitch;
    int32_t resizedWidth;   // Ultralytics' new_unpad
    int32_t resizedHeight;
    int32_t padLeft;
    int32_t padTop;
    int32_t outputWidth;
    int32_t outputHeight;
    int32_t batchIndex;
    int32_t resizeMode;     // 0 bilinear (OpenCV fixed point), 1 exact 2x area, 2 copy
    int32_t channel0;       // which decoded source channel (0..2) feeds output channel 0, 1, 2
    int32_t channel1;
    int32_t channel2;
    int32_t padValue;       // 114
} LookoutLetterboxParams;

#include "CLookoutEngineParams.h"
#include "CLookoutCUDNN.h"
#include "CLookoutNVDEC.h"
#endif
