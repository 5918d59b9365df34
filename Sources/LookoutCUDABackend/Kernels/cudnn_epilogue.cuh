extern "C" __global__ void __launch_bounds__(256) lookout_conv_cudnn_epilogue(const LookoutConvParams p) {
    const int outHW = p.outH * p.outW;
    const i64 stride = (i64)gridDim.x * blockDim.x;
    // Channels-last with whole, aligned groups of 8 channels: 16 bytes in, 16 bytes out.
    if (p.yHalf && p.ysC == 1 && (p.outC & 7) == 0 && (p.ysN & 7) == 0 && (p.ysH & 7) == 0 && (p.ysW & 7) == 0
        && (p.y & 15) == 0) {
        const int groups = p.outC >> 3;
        const i64 total = (i64)p.M * groups;
        for (i64 t = (i64)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += stride) {
            const int g = (int)(t % groups);
            const int m = (int)(t / groups);
            const int img = m / outHW, pix = m - img * outHW, oh = pix / p.outW, ow = pix - oh * p.outW;
            const i64 rRow = (i64)img * p.rsN + (i64)oh * p.rsH + (i64)ow * p.rsW;
            uint4* y = (uint4*)((half_t*)p.y + (i64)img * p.ysN + (i64)oh * p.ysH + (i64)ow * p.ysW + g * 8);
            uint4 q = *y;
            unsigned words[4] = {q.x, q.y, q.z, q.w};
            #pragma unroll
            for (int e = 0; e < 4; e++) {
                const int co = g * 8 + 2 * e;
                const float v0 = convEpilogueT<true>(p, h2f((half_t)(words[e] & 0xffffu)), co, rRow + (i64)co * p.rsC);
                const float v1 = convEpilogueT<true>(p, h2f((half_t)(words[e] >> 16)), co + 1, rRow + (i64)(co + 1) * p.rsC);
                words[e] = pack2(v0, v1);
            }
            q.x = words[0]; q.y = words[1]; q.z = words[2]; q.w = words[3];
            *y = q;
        }
        return;
    }
    const i64 total = (i64)p.M * p.outC;
    for (i64 t = (i64)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += stride) {
        const int co = (int)(t % p.outC);
        const int m = (int)(t / p.outC);
        const int img = m / outHW, pix = m - img * outHW, oh = pix / p.outW, ow = pix - oh * p.outW;
        const i64 index = (i64)img * p.ysN + (i64)co * p.ysC + (i64)oh * p.ysH + (i64)ow * p.ysW;
        const i64 r = (i64)img * p.rsN + (i64)co * p.rsC + (i64)oh * p.rsH + (i64)ow * p.rsW;
        storef(p.y, index, p.yHalf, convEpilogueT<true>(p, loadf(p.y, index, p.yHalf), co, r));
    }
}
