// Parameter blocks of Lookout's engine kernels (LookoutCUDABackend), passed by value to the kernels. The CUDA
// source declares the same structs field for field (EngineKernelSource.swift generates them from the same list,
// and a test compares the layouts). Tensor addresses are device addresses; strides and offsets count elements.
#ifndef CLOOKOUT_ENGINE_PARAMS_H
#define CLOOKOUT_ENGINE_PARAMS_H
#include <stdint.h>

/// A convolution with bias, optional SiLU and optional residual add. Tensors are 4-D (n, c, h, w) with arbitrary
/// strides; the tensor-core kernel needs channel stride 1 (channels-last) for x and y.
typedef struct LookoutConvParams {
    uint64_t x;          // input
    uint64_t w16;        // fp16 weights [outCPad][kPad], k = (kh * kW + kw) * inC + c (tensor-core kernel)
    uint64_t w32;        // fp32 weights [outC][inC / group][kH][kW] (ONNX order; direct kernels)
    uint64_t bias;       // fp32 [outCPad], or 0
    uint64_t residual;   // added after the activation, or 0
    uint64_t y;          // output
    int64_t xsN, xsC, xsH, xsW;
    int64_t rsN, rsC, rsH, rsW;
    int64_t ysN, ysC, ysH, ysW;
    int32_t batch, inC, inH, inW;
    int32_t outC, outH, outW, group;
    int32_t kH, kW, strideH, strideW;
    int32_t padT, padL, dilH, dilW;
    int32_t K;           // kH * kW * inC
    int32_t kPad;        // K rounded up to the k tile (32)
    int32_t M;           // batch * outH * outW output pixels
    int32_t silu;        // 1: SiLU after the bias
    int32_t xHalf, yHalf, rHalf;  // 1: fp16, 0: fp32
    int32_t hasResidual;
    uint64_t workspace;  // split-K: fp32 [M][outC] partial sums (zero between launches), or 0
    int32_t splits;      // split-K: k ranges, one per grid z
    int32_t reserved;
} LookoutConvParams;

/// Elementwise work over a tensor of up to 6 dimensions (copies, casts, transposes, unary and binary ops, pooling
/// and nearest resize reuse the same descriptor). Strides of broadcast dimensions are 0.
typedef struct LookoutElementwiseParams {
    uint64_t a;          // first input
    uint64_t b;          // second input (binary), or a table (resize rows)
    uint64_t c;          // third pointer (resize columns), or 0
    uint64_t y;          // output
    int64_t shape[6];    // of the output, outermost first; unused dimensions are 1
    int64_t aStride[6];
    int64_t bStride[6];
    int64_t yStride[6];
    int64_t count;       // product of shape
    int32_t op;          // see EngineOp in the kernel source
    int32_t aHalf, bHalf, yHalf;
    // Pooling: kernel, stride, pad, dilation (h, w), and the input's spatial size.
    int32_t kH, kW, strideH, strideW, padT, padL, dilH, dilW, inH, inW;
    // Division by shape[d] as a multiply-high and a shift (index < 2^31): q = (umulhi(n, divMul) + n) >> divShift.
    uint32_t divMul[6];
    uint32_t divShift[6];
} LookoutElementwiseParams;

/// Softmax along one axis: the tensor seen as [outer][length][inner].
typedef struct LookoutSoftmaxParams {
    uint64_t x;
    uint64_t y;
    int64_t xsOuter, xsLength, xsInner;
    int64_t ysOuter, ysLength, ysInner;
    int32_t outer, length, inner, xHalf;
    int32_t yHalf, reserved;
} LookoutSoftmaxParams;

/// A batched matrix product Y[m][n] = sum_p A[m][p] B[p][n] (`lookout_matmul`), or the fused attention
/// O[n][m] = sum_j C[n][j] softmax_j(sum_p A[p][m] B[p][j]) over `kv` keys (`lookout_attention`: A = Q, B = K,
/// C = V). Every matrix is a strided view; two batch dimensions (batch0 x batch1) with per-operand strides.
typedef struct LookoutMatMulParams {
    uint64_t a, b, c, y;
    int64_t aBatch[2], bBatch[2], cBatch[2], yBatch[2];
    int64_t aRow, aCol, bRow, bCol, cRow, cCol, yRow, yCol;
    int32_t batch0, batch1, m, n;
    int32_t k, kv, aHalf, bHalf;
    int32_t cHalf, yHalf, reserved0, reserved1;
} LookoutMatMulParams;

/// TopK of each row: values (fp32 or fp16) and int32 indices of the `k` largest (smallest) of `length` elements.
typedef struct LookoutTopKParams {
    uint64_t x, values, indices;
    int64_t xsRow, xsElem, vsRow, vsElem, isRow, isElem;
    int32_t rows, length, k, xHalf;
    int32_t vHalf, largest, reserved0, reserved1;
} LookoutTopKParams;

/// Postprocessing of a batch of YOLO outputs [batch][4 + classes][anchors]: candidates, sort, class-aware NMS with
/// Ultralytics' semantics, scaling back to the original image.
typedef struct LookoutNMSParams {
    uint64_t output;      // fp32 model output
    uint64_t keys;        // scratch: uint64 [batch][capacity]
    uint64_t boxes;       // scratch: float [batch][capacity][5] (shifted box and area)
    uint64_t suppressed;  // scratch: uint8 [batch][capacity]
    uint64_t classMask;   // uint8 [classes] (1 keeps the class), or 0 for all
    uint64_t scaling;     // float [batch][6] (padX, padY, gainX, gainY, maxX, maxY), or 0 to keep input coordinates
    uint64_t results;     // int32/float [batch][1 + 6 * maxDetections]: count, then x1 y1 x2 y2 conf class
    int64_t osN, osC, osA;  // strides of the output
    double iouThreshold;
    float confidence;
    float classOffset;    // max_wh (7680), 0 for class-agnostic NMS
    int32_t batch, classes, anchors, multiLabel;
    int32_t maxDetections, maxCandidates, capacity, reserved;
} LookoutNMSParams;

#endif
