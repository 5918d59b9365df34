typedef unsigned char u8;

__device__ __forceinline__ int clampi(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

// OpenCV's COLOR_YUV2BGR_NV12 (BT.601 limited range, 20-bit fixed point).
__device__ __forceinline__ void nv12ToBGR(int y, int u, int v, int out[3]) {
    const int shift = 20, half = 1 << 19;
    int yy = max(0, y - 16) * 1220542;
    u -= 128; v -= 128;
    out[0] = clampi((yy + half + 2116026 * u) >> shift, 0, 255);
    out[1] = clampi((yy + half - 852492 * v - 409993 * u) >> shift, 0, 255);
    out[2] = clampi((yy + half + 1673527 * v) >> shift, 0, 255);
}

template <int FORMAT>
__device__ __forceinline__ void loadPixel(const LookoutLetterboxParams& p, int x, int y, int out[3]) {
    const u8* base = (const u8*)p.source;
    if (FORMAT == 3) {
        int yv = base[(long long)y * p.sourcePitch + x];
        const u8* uv = (const u8*)p.sourceUV + (long long)(y >> 1) * p.sourceUVPitch + (x & ~1);
        nv12ToBGR(yv, uv[0], uv[1], out);
    } else {
        const int bpp = FORMAT == 2 ? 4 : 3;
        const u8* px = base + (long long)y * p.sourcePitch + (long long)x * bpp;
        out[0] = px[0]; out[1] = px[1]; out[2] = px[2];
    }
}

__device__ __forceinline__ unsigned short toHalf(float f) {
    unsigned short h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
    return h;
}

// OpenCV's source coordinate for destination index d: (float)((d + 0.5) * scale - 0.5), split into an
// integer index and a fraction.
__device__ __forceinline__ void sourceCoordinate(int d, double scale, int& s, float& f) {
    float c = __double2float_rn(__dsub_rn(__dmul_rn(__dadd_rn((double)d, 0.5), scale), 0.5));
    float fl = floorf(c);
    s = (int)fl;
    f = __fsub_rn(c, fl);
}

__device__ __forceinline__ int weight(float f) { return __float2int_rn(__fmul_rn(f, 2048.0f)); }

template <int FORMAT, int HALF, int NHWC>
__device__ __forceinline__ void letterbox(const LookoutLetterboxParams& p) {
    const int ox = blockIdx.x * blockDim.x + threadIdx.x;
    const int oy = blockIdx.y * blockDim.y + threadIdx.y;
    if (ox >= p.outputWidth || oy >= p.outputHeight) return;
    const int dx = ox - p.padLeft, dy = oy - p.padTop;
    int value[3];
    if (dx < 0 || dy < 0 || dx >= p.resizedWidth || dy >= p.resizedHeight) {
        value[0] = value[1] = value[2] = p.padValue;
    } else if (p.resizeMode == 2) {
        loadPixel<FORMAT>(p, dx, dy, value);
    } else if (p.resizeMode == 1) {
        int a[3], b[3], c[3], d[3];
        loadPixel<FORMAT>(p, 2 * dx, 2 * dy, a);
        loadPixel<FORMAT>(p, 2 * dx + 1, 2 * dy, b);
        loadPixel<FORMAT>(p, 2 * dx, 2 * dy + 1, c);
        loadPixel<FORMAT>(p, 2 * dx + 1, 2 * dy + 1, d);
        #pragma unroll
        for (int k = 0; k < 3; k++) value[k] = (a[k] + b[k] + c[k] + d[k] + 2) >> 2;
    } else {
        int sx; float fx;
        sourceCoordinate(dx, p.scaleX, sx, fx);
        if (sx < 0) { sx = 0; fx = 0.0f; }
        if (sx >= p.sourceWidth - 1) { sx = p.sourceWidth - 1; fx = 0.0f; }
        const int sx1 = min(sx + 1, p.sourceWidth - 1);
        const int a0 = weight(__fsub_rn(1.0f, fx)), a1 = weight(fx);
        int sy; float fy;
        sourceCoordinate(dy, p.scaleY, sy, fy);
        // Rows are clamped, the vertical fraction is not (OpenCV does the same).
        const int b0 = weight(__fsub_rn(1.0f, fy)), b1 = weight(fy);
        const int r0 = clampi(sy, 0, p.sourceHeight - 1), r1 = clampi(sy + 1, 0, p.sourceHeight - 1);
        int s00[3], s01[3], s10[3], s11[3];
        loadPixel<FORMAT>(p, sx, r0, s00);
        loadPixel<FORMAT>(p, sx1, r0, s01);
        loadPixel<FORMAT>(p, sx, r1, s10);
        loadPixel<FORMAT>(p, sx1, r1, s11);
        #pragma unroll
        for (int k = 0; k < 3; k++) {
            int d0 = s00[k] * a0 + s01[k] * a1;
            int d1 = s10[k] * a0 + s11[k] * a1;
            value[k] = (((b0 * (d0 >> 4)) >> 16) + ((b1 * (d1 >> 4)) >> 16) + 2) >> 2;
        }
    }
    const long long plane = (long long)p.outputWidth * p.outputHeight;
    #pragma unroll
    for (int c = 0; c < 3; c++) {
        // Ultralytics divides by 255 (a true division on the CPU), not a multiply by 1/255.
        // Selects, not value[map[c]]: a run-time index would put the array in local memory.
        const int m = c == 0 ? p.channel0 : (c == 1 ? p.channel1 : p.channel2);
        const int picked = m == 0 ? value[0] : (m == 1 ? value[1] : value[2]);
        const float v = __fdiv_rn((float)picked, 255.0f);
        long long index = NHWC
            ? (((long long)p.batchIndex * p.outputHeight + oy) * p.outputWidth + ox) * 3 + c
            : ((long long)p.batchIndex * 3 + c) * plane + (long long)oy * p.outputWidth + ox;
        if (HALF) ((unsigned short*)p.destination)[index] = toHalf(v);
        else ((float*)p.destination)[index] = v;
    }
}
