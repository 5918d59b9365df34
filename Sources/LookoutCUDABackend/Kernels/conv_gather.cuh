// One 16-byte vector of the implicit GEMM's A tile (a row = an output pixel, 8 channels of one tap), as a
// thread gathers it stage after stage: the image's base, the window's corner, the vector's k position and
// its current source address. Within a tap the source only moves BK channels a stage; the tap (and the
// bounds test) is worked out again only when the channels wrap. Shared by the mma and wgmma kernels.
struct ConvGather {
    const half_t* rowBase;
    const half_t* source;
    int rowH, rowW, tapC, tapH, tapW, kk;
    bool inside;

    __device__ __forceinline__ void locate(const LookoutConvParams& p, const half_t* x) {
        const int ih = rowH + tapH * p.dilH, iw = rowW + tapW * p.dilW;
        inside = kk < p.K && ih >= 0 && ih < p.inH && iw >= 0 && iw < p.inW;
        source = inside ? rowBase + (i64)ih * p.xsH + (i64)iw * p.xsW + tapC : x;
    }
    // Output pixel m (when `valid`: the vector exists and m < M; otherwise it never passes the bounds
    // test and loads zeros), starting at k position `k`.
    __device__ __forceinline__ void start(const LookoutConvParams& p, const half_t* x, bool valid, int m, int k) {
        rowBase = x;
        rowH = -(1 << 28);
        rowW = 0;
        if (valid) {
            const int outHW = p.outH * p.outW;
            const int img = m / outHW, pix = m - img * outHW, oh = pix / p.outW, ow = pix - oh * p.outW;
            rowBase = x + (i64)img * p.xsN;
            rowH = oh * p.strideH - p.padT;
            rowW = ow * p.strideW - p.padL;
        }
        kk = k;
        const int tap = kk / p.inC;
        tapC = kk - tap * p.inC;
        tapH = tap / p.kW;
        tapW = tap - tapH * p.kW;
        locate(p, x);
    }
    // On to the same vector of the next stage, BK further along K.
    template <int BK> __device__ __forceinline__ void advance(const LookoutConvParams& p, const half_t* x) {
        kk += BK;
        tapC += BK;
        if (tapC < p.inC) {
            source += BK;
            inside = inside && kk < p.K;
        } else {
            do {
                tapC -= p.inC;
                if (++tapW == p.kW) { tapW = 0; ++tapH; }
            } while (tapC >= p.inC);
            locate(p, x);
        }
    }
};
