// Bias, SiLU, residual: the epilogue every convolution shares (the CPU backend's order). FAST uses the
// hardware exp2 and an approximate division for SiLU (the fp16 output's rounding is far larger); the direct
// kernel, the tuner's reference, keeps IEEE arithmetic.
template <bool FAST>
__device__ __forceinline__ float convEpilogueT(const LookoutConvParams& p, float v, int co, i64 residualIndex) {
    if (p.bias) v = __fadd_rn(v, ((const float*)p.bias)[co]);
    if (p.silu) v = FAST ? __fdividef(v, 1.0f + __expf(-v)) : silu(v);
    if (p.hasResidual) v = __fadd_rn(v, loadf(p.residual, residualIndex, p.rHalf));
    return v;
}
__device__ __forceinline__ float convEpilogue(const LookoutConvParams& p, float v, int co, i64 residualIndex) {
    return convEpilogueT<false>(p, v, co, residualIndex);
}

// The output and residual offsets of pixel (oh, ow) of image `img`; false outside the output (a tile's
// pixels past the edge).
__device__ __forceinline__ bool convPixelRows(const LookoutConvParams& p, int img, int oh, int ow, i64& yRow, i64& rRow) {
    if (oh >= p.outH || ow >= p.outW) return false;
    yRow = (i64)img * p.ysN + (i64)oh * p.ysH + (i64)ow * p.ysW;
    rRow = (i64)img * p.rsN + (i64)oh * p.rsH + (i64)ow * p.rsW;
    return true;
}

// The biases of output channels co and co + 1 (0 without a bias; the bias is padded past outC), loaded once
// per thread and fragment column before the epilogue's loops.
__device__ __forceinline__ float2 convBiasPair(const LookoutConvParams& p, int co) {
    if (!p.bias || co >= p.outC) return make_float2(0.0f, 0.0f);
    return *(const float2*)((const float*)p.bias + co);
}
// The fast epilogue of one value with its bias already loaded: bias, SiLU, residual (convEpilogueT's order).
__device__ __forceinline__ float convEpilogueBias(const LookoutConvParams& p, float v, float bias, i64 residualIndex) {
    v = __fadd_rn(v, bias);
    if (p.silu) v = __fdividef(v, 1.0f + __expf(-v));
    if (p.hasResidual) v = __fadd_rn(v, loadf(p.residual, residualIndex, p.rHalf));
    return v;
}

// The epilogue of an accumulator pair, output channels co and co + 1 of the pixel at yRow (residual at rRow),
// as the mma and wgmma fragments hold them, with their biases `b` (convBiasPair): bias, SiLU, residual,
// then one paired store where the channels are adjacent.
__device__ __forceinline__ void convStorePair(const LookoutConvParams& p, float a0, float a1, int co, i64 yRow, i64 rRow, float2 b) {
    if (co >= p.outC) return;
    // The common case: channels-last fp16, and a residual (if any) channels-last fp16 with the pair in one
    // aligned 32-bit word.
    const bool pairedResidual =
        !p.hasResidual || (p.rsC == 1 && p.rHalf && ((((unsigned long long)p.residual >> 1) + rRow + co) & 1) == 0);
    if (p.ysC == 1 && p.yHalf && co + 1 < p.outC && pairedResidual) {
        float v0 = __fadd_rn(a0, b.x), v1 = __fadd_rn(a1, b.y);
        if (p.silu) {
            v0 = __fdividef(v0, 1.0f + __expf(-v0));
            v1 = __fdividef(v1, 1.0f + __expf(-v1));
        }
        if (p.hasResidual) {
            const unsigned r = *(const unsigned*)((const half_t*)p.residual + rRow + co);
            v0 = __fadd_rn(v0, h2f((half_t)(r & 0xffffu)));
            v1 = __fadd_rn(v1, h2f((half_t)(r >> 16)));
        }
        *(unsigned*)((half_t*)p.y + yRow + co) = pack2(v0, v1);
        return;
    }
    const float v0 = convEpilogueBias(p, a0, b.x, rRow + (i64)co * p.rsC);
    if (co + 1 < p.outC) {
        const float v1 = convEpilogueBias(p, a1, b.y, rRow + (i64)(co + 1) * p.rsC);
        if (p.ysC != 1) {
            // An output with strided channels (a row-major tensor the layer writes in place).
            storef(p.y, yRow + (i64)co * p.ysC, p.yHalf, v0);
            storef(p.y, yRow + (i64)(co + 1) * p.ysC, p.yHalf, v1);
        } else if (p.yHalf) {
            *(unsigned*)((half_t*)p.y + yRow + co) = pack2(v0, v1);
        } else {
            *(float2*)((float*)p.y + yRow + co) = make_float2(v0, v1);
        }
    } else {
        storef(p.y, yRow + (i64)co * p.ysC, p.yHalf, v0);
    }
}

// A warp's NT n8 columns of an mma tile, for the lane whose first pair is channel `co` (n + (lane & 3) * 2):
// the bias pairs, and the store of row half h (fragment rows lane / 4 + 8h) of one m16 slice to a pixel.
template <int NT> __device__ __forceinline__ void convBiasPairs(const LookoutConvParams& p, int co, float2 (&bias)[NT]) {
    #pragma unroll
    for (int j = 0; j < NT; j++) bias[j] = convBiasPair(p, co + j * 8);
}
template <int NT>
__device__ __forceinline__ void convStoreRow(const LookoutConvParams& p, const float (&acc)[NT][4], int h, int co,
                                             i64 yRow, i64 rRow, const float2 (&bias)[NT]) {
    #pragma unroll
    for (int j = 0; j < NT; j++) convStorePair(p, acc[j][h * 2], acc[j][h * 2 + 1], co + j * 8, yRow, rRow, bias[j]);
}
