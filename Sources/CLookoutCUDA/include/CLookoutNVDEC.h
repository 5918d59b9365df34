// Lookout's own declarations of the NVDEC video decoder API (`libnvcuvid.so.1`, shipped with the NVIDIA driver) and
// of the one NVML query it makes. As for the driver, nothing here comes from an NVIDIA header: the structures are
// the documented ABI of Video Codec SDK 12 on 64-bit Linux (`unsigned long` is 8 bytes, enums are ints, handles
// are opaque pointers), and every function is a pointer type that LookoutCUDA fills with dlsym.
#ifndef CLOOKOUT_NVDEC_H
#define CLOOKOUT_NVDEC_H
#include <stddef.h>
#include <stdint.h>

typedef void *LookoutCUvideodecoder;
typedef void *LookoutCUvideoparser;
typedef struct LookoutCUcontextlock_st *LookoutCUvideoctxlock;
typedef long long LookoutCUvideotimestamp;

// cudaVideoCodec values.
enum {
    LookoutVideoCodecMPEG1 = 0,
    LookoutVideoCodecMPEG2 = 1,
    LookoutVideoCodecMPEG4 = 2,
    LookoutVideoCodecVC1 = 3,
    LookoutVideoCodecH264 = 4,
    LookoutVideoCodecJPEG = 5,
    LookoutVideoCodecHEVC = 8,
    LookoutVideoCodecVP8 = 9,
    LookoutVideoCodecVP9 = 10,
    LookoutVideoCodecAV1 = 11,
};
// cudaVideoChromaFormat, cudaVideoSurfaceFormat, cudaVideoDeinterlaceMode, cudaVideoCreateFlags values.
enum { LookoutChromaMonochrome = 0, LookoutChroma420 = 1, LookoutChroma422 = 2, LookoutChroma444 = 3 };
enum { LookoutSurfaceNV12 = 0, LookoutSurfaceP016 = 1 };
enum { LookoutDeinterlaceWeave = 0, LookoutDeinterlaceBob = 1, LookoutDeinterlaceAdaptive = 2 };
enum { LookoutCreatePreferCUVID = 4 };
// CUvideopacketflags.
enum {
    LookoutPacketEndOfStream = 0x01,
    LookoutPacketTimestamp = 0x02,
    LookoutPacketDiscontinuity = 0x04,
    LookoutPacketEndOfPicture = 0x08,
};

/// CUVIDDECODECAPS (cuvidGetDecoderCaps): the first three fields in, the rest out.
typedef struct LookoutCUVIDDecodeCaps {
    int codecType;
    int chromaFormat;
    unsigned int bitDepthMinus8;
    unsigned int reserved1[3];
    unsigned char isSupported;
    unsigned char numNVDECs;
    unsigned short outputFormatMask;
    unsigned int maxWidth;
    unsigned int maxHeight;
    unsigned int maxMBCount;
    unsigned short minWidth;
    unsigned short minHeight;
    unsigned char isHistogramSupported;
    unsigned char counterBitDepth;
    unsigned short maxHistogramBins;
    unsigned int reserved3[10];
} LookoutCUVIDDecodeCaps;

typedef struct LookoutCUVIDShortRect {
    short left;
    short top;
    short right;
    short bottom;
} LookoutCUVIDShortRect;

/// CUVIDDECODECREATEINFO (cuvidCreateDecoder).
typedef struct LookoutCUVIDDecodeCreateInfo {
    unsigned long width;             // coded width
    unsigned long height;            // coded height
    unsigned long numDecodeSurfaces;
    int codecType;
    int chromaFormat;
    unsigned long creationFlags;
    unsigned long bitDepthMinus8;
    unsigned long intraDecodeOnly;
    unsigned long maxWidth;
    unsigned long maxHeight;
    unsigned long reserved1;
    LookoutCUVIDShortRect displayArea;
    int outputFormat;
    int deinterlaceMode;
    unsigned long targetWidth;
    unsigned long targetHeight;
    unsigned long numOutputSurfaces; // surfaces mapped at the same time, at most
    LookoutCUvideoctxlock vidLock;
    LookoutCUVIDShortRect targetRect;
    unsigned long enableHistogram;
    unsigned long reserved2[4];
} LookoutCUVIDDecodeCreateInfo;

/// CUVIDPROCPARAMS (cuvidMapVideoFrame64).
typedef struct LookoutCUVIDProcParams {
    int progressiveFrame;
    int secondField;
    int topFieldFirst;
    int unpairedField;
    unsigned int reservedFlags;
    unsigned int reservedZero;
    unsigned long long rawInputDevicePointer;
    unsigned int rawInputPitch;
    unsigned int rawInputFormat;
    unsigned long long rawOutputDevicePointer;
    unsigned int rawOutputPitch;
    unsigned int reserved1;
    LookoutCUstream outputStream;
    unsigned int reserved[46];
    unsigned long long *histogramDevicePointer;
    void *reserved2[1];
} LookoutCUVIDProcParams;

/// CUVIDGETDECODESTATUS (cuvidGetDecodeStatus): how a picture's decode went.
typedef struct LookoutCUVIDGetDecodeStatus {
    int decodeStatus; // cuvidDecodeStatus: LookoutDecodeStatus*
    unsigned int reserved[31];
    void *reservedPointers[8];
} LookoutCUVIDGetDecodeStatus;

/// cuvidDecodeStatus values Lookout reads.
enum {
    LookoutDecodeStatusSuccess = 2,
    LookoutDecodeStatusError = 8,          // corrupt, not concealed
    LookoutDecodeStatusErrorConcealed = 9, // corrupt, concealed by the decoder
};

typedef struct LookoutCUVIDIntRect {
    int left;
    int top;
    int right;
    int bottom;
} LookoutCUVIDIntRect;

/// CUVIDEOFORMAT: what the parser's sequence callback reports.
typedef struct LookoutCUVIDEOFormat {
    int codec;
    unsigned int frameRateNumerator;
    unsigned int frameRateDenominator;
    unsigned char progressiveSequence;
    unsigned char bitDepthLumaMinus8;
    unsigned char bitDepthChromaMinus8;
    unsigned char minNumDecodeSurfaces;
    unsigned int codedWidth;
    unsigned int codedHeight;
    LookoutCUVIDIntRect displayArea;
    int chromaFormat;
    unsigned int bitrate;
    int displayAspectX;
    int displayAspectY;
    unsigned char videoSignalFlags; // video_format:3, video_full_range_flag:1, reserved:4
    unsigned char colorPrimaries;
    unsigned char transferCharacteristics;
    unsigned char matrixCoefficients;
    unsigned int seqhdrDataLength;
} LookoutCUVIDEOFormat;

/// CUVIDPARSERDISPINFO: a picture ready for display, in display order.
typedef struct LookoutCUVIDParserDispInfo {
    int pictureIndex;
    int progressiveFrame;
    int topFieldFirst;
    int repeatFirstField;
    LookoutCUvideotimestamp timestamp;
} LookoutCUVIDParserDispInfo;

/// CUVIDSOURCEDATAPACKET (cuvidParseVideoData).
typedef struct LookoutCUVIDSourceDataPacket {
    unsigned long flags;
    unsigned long payloadSize;
    const unsigned char *payload;
    LookoutCUvideotimestamp timestamp;
} LookoutCUVIDSourceDataPacket;

/// CUVIDPICPARAMS is large and codec-specific; Lookout passes the parser's pointer on to cuvidDecodePicture and reads
/// only its leading fields.
typedef struct LookoutCUVIDPicParamsHead {
    int picWidthInMbs;
    int frameHeightInMbs;
    int currPicIdx;
} LookoutCUVIDPicParamsHead;

typedef int (*LookoutPFNVIDSequenceCallback)(void *userData, LookoutCUVIDEOFormat *format);
typedef int (*LookoutPFNVIDDecodeCallback)(void *userData, void *pictureParameters);
typedef int (*LookoutPFNVIDDisplayCallback)(void *userData, LookoutCUVIDParserDispInfo *info);
typedef int (*LookoutPFNVIDOtherCallback)(void *userData, void *info);

/// CUVIDPARSERPARAMS (cuvidCreateVideoParser).
typedef struct LookoutCUVIDParserParams {
    int codecType;
    unsigned int maxNumDecodeSurfaces;
    unsigned int clockRate;      // time stamp units in Hz (0 = 10 MHz)
    unsigned int errorThreshold; // % (0…100): 100 = decode even fully corrupt pictures
    unsigned int maxDisplayDelay;
    unsigned int annexBAndReserved; // bAnnexb:1 (AV1), reserved:31
    unsigned int reserved1[4];
    void *userData;
    LookoutPFNVIDSequenceCallback sequenceCallback;
    LookoutPFNVIDDecodeCallback decodePicture;
    LookoutPFNVIDDisplayCallback displayPicture;
    LookoutPFNVIDOtherCallback getOperatingPoint;
    LookoutPFNVIDOtherCallback getSEIMessage;
    void *reserved2[5];
    void *extVideoInfo;
} LookoutCUVIDParserParams;

typedef LookoutCUresult (*LookoutPFN_cuvidGetDecoderCaps)(LookoutCUVIDDecodeCaps *caps);
typedef LookoutCUresult (*LookoutPFN_cuvidCreateDecoder)(
    LookoutCUvideodecoder *decoder, LookoutCUVIDDecodeCreateInfo *info);
typedef LookoutCUresult (*LookoutPFN_cuvidDestroyDecoder)(LookoutCUvideodecoder decoder);
typedef LookoutCUresult (*LookoutPFN_cuvidDecodePicture)(LookoutCUvideodecoder decoder, void *pictureParameters);
typedef LookoutCUresult (*LookoutPFN_cuvidGetDecodeStatus)(
    LookoutCUvideodecoder decoder, int pictureIndex, LookoutCUVIDGetDecodeStatus *status);
typedef LookoutCUresult (*LookoutPFN_cuvidMapVideoFrame64)(
    LookoutCUvideodecoder decoder, int pictureIndex, unsigned long long *devicePointer, unsigned int *pitch,
    LookoutCUVIDProcParams *parameters);
typedef LookoutCUresult (*LookoutPFN_cuvidUnmapVideoFrame64)(
    LookoutCUvideodecoder decoder, unsigned long long devicePointer);
typedef LookoutCUresult (*LookoutPFN_cuvidCtxLockCreate)(LookoutCUvideoctxlock *lock, LookoutCUcontext context);
typedef LookoutCUresult (*LookoutPFN_cuvidCtxLockDestroy)(LookoutCUvideoctxlock lock);
typedef LookoutCUresult (*LookoutPFN_cuvidCreateVideoParser)(
    LookoutCUvideoparser *parser, LookoutCUVIDParserParams *parameters);
typedef LookoutCUresult (*LookoutPFN_cuvidParseVideoData)(
    LookoutCUvideoparser parser, LookoutCUVIDSourceDataPacket *packet);
typedef LookoutCUresult (*LookoutPFN_cuvidDestroyVideoParser)(LookoutCUvideoparser parser);

// NVML (libnvidia-ml.so.1): decoder utilisation for `bench decode`. nvmlReturn_t is an int, 0 = success.
typedef struct LookoutNVMLDevice_st *LookoutNVMLDevice;
typedef int (*LookoutPFN_nvmlInit_v2)(void);
typedef int (*LookoutPFN_nvmlShutdown)(void);
typedef const char *(*LookoutPFN_nvmlErrorString)(int result);
typedef int (*LookoutPFN_nvmlDeviceGetHandleByIndex_v2)(unsigned int index, LookoutNVMLDevice *device);
typedef int (*LookoutPFN_nvmlDeviceGetDecoderUtilization)(
    LookoutNVMLDevice device, unsigned int *utilization, unsigned int *samplingPeriodMicroseconds);
/// nvmlUtilization_t: percent of the last sample period in which a kernel ran / device memory was read or written.
typedef struct LookoutNVMLUtilization {
    unsigned int gpu;
    unsigned int memory;
} LookoutNVMLUtilization;
typedef int (*LookoutPFN_nvmlDeviceGetUtilizationRates)(LookoutNVMLDevice device, LookoutNVMLUtilization *rates);

#endif
