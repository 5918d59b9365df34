# Replays convWGMMA's index arithmetic (EngineKernelSource+WGMMA.swift) in NumPy: the loaders' placement of A and
# B in shared memory (the incremental tap walk included), the MMAs reading them through the descriptors as the PTX
# ISA defines the K-major, unswizzled canonical layout (element (r, k) at start + (r/8)*SBO + (k/8)*LBO + (r%8)*16
# + (k%8)*2), the m64nN accumulator fragment and the epilogue's rows and columns; compared with a direct
# convolution. Sequential: it checks the arithmetic and that a stage is never reloaded while read, not timing.
# Usage: python3 scripts/wgmma_layout_sim.py (exit status 0 when every case matches).
import numpy as np, sys
def run(N, Cin, H, W, Cout, kh, kw, stride, pad, BM, BN, BK, STAGES, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, H, W, Cin)).astype(np.float32)  # NHWC
    w = rng.standard_normal((Cout, Cin, kh, kw)).astype(np.float32)
    oh_ = (H + 2*pad - kh)//stride + 1; ow_ = (W + 2*pad - kw)//stride + 1
    M = N*oh_*ow_; K = kh*kw*Cin; kPad = (K+63)//64*64; coutPad = (Cout+127)//128*128
    w16 = np.zeros((coutPad, kPad), np.float32)
    for co in range(Cout):
        for c in range(Cin):
            for i in range(kh):
                for j in range(kw):
                    w16[co, (i*kw+j)*Cin + c] = w[co, c, i, j]
    xflat = x.reshape(-1)
    xsN, xsH, xsW = H*W*Cin, W*Cin, Cin
    THREADS = BM//64*128; VECS = BK//8
    A_V = BM*VECS; B_V = BN*VECS
    A_IT = (A_V+THREADS-1)//THREADS; B_IT = (B_V+THREADS-1)//THREADS
    A_STAGE = BM*BK*2; B_STAGE = BN*BK*2
    SBO = BK*16
    y = np.zeros((M, Cout), np.float32)
    tiles = (K+BK-1)//BK
    for bx in range((M+BM-1)//BM):
        for by in range((Cout+BN-1)//BN):
            m0, n0 = bx*BM, by*BN
            smem = np.zeros(STAGES*(A_STAGE+B_STAGE)//2, np.float32)  # element-addressed (2 bytes each)
            aBase = 0; bBase = STAGES*A_STAGE
            # per-thread loader state
            st = []
            for tid in range(THREADS):
                s = dict(a=[], b=[])
                for i in range(A_IT):
                    id_ = tid + i*THREADS
                    vec = (id_>>3) % VECS; row = ((id_>>3)//VECS)*8 + (id_&7)
                    m = m0 + row
                    d = dict(off=((row>>3)*VECS+vec)*128 + (row&7)*16, valid=id_ < A_V, rowH=-(1<<28), rowW=0, base=0)
                    if id_ < A_V and m < M:
                        img = m//(oh_*ow_); pix = m - img*oh_*ow_; oh = pix//ow_; ow = pix - oh*ow_
                        d.update(base=img*xsN, rowH=oh*stride-pad, rowW=ow*stride-pad)
                    d['kk'] = vec*8; tap = d['kk']//Cin; d['tapC'] = d['kk'] - tap*Cin; d['tapH'] = tap//kw; d['tapW'] = tap - d['tapH']*kw
                    def locate(d):
                        ih = d['rowH'] + d['tapH']; iw = d['rowW'] + d['tapW']
                        d['inside'] = d['kk'] < K and 0 <= ih < H and 0 <= iw < W
                        d['src'] = d['base'] + ih*xsH + iw*xsW + d['tapC'] if d['inside'] else 0
                    d['locate'] = locate; locate(d); s['a'].append(d)
                for j in range(B_IT):
                    id_ = tid + j*THREADS
                    vec = (id_>>3) % VECS; row = ((id_>>3)//VECS)*8 + (id_&7)
                    s['b'].append(dict(off=((row>>3)*VECS+vec)*128 + (row&7)*16, valid=id_ < B_V, row=n0+row, col=vec*8))
                st.append(s)
            def load(stage):
                for s in st:
                    for d in s['a']:
                        dst = (aBase + stage*A_STAGE + d['off'])//2
                        if d['valid']:
                            smem[dst:dst+8] = xflat[d['src']:d['src']+8] if d['inside'] else 0
                        d['kk'] += BK; d['tapC'] += BK
                        if d['tapC'] < Cin:
                            d['src'] += BK; d['inside'] = d['inside'] and d['kk'] < K
                        else:
                            while True:
                                d['tapC'] -= Cin; d['tapW'] += 1
                                if d['tapW'] == kw: d['tapW'] = 0; d['tapH'] += 1
                                if d['tapC'] < Cin: break
                            d['locate'](d)
                    for d in s['b']:
                        dst = (bBase + stage*B_STAGE + d['off'])//2
                        if d['valid']: smem[dst:dst+8] = w16[d['row'], d['col']:d['col']+8]
                        d['col'] += BK
            def readDesc(start, rows):  # canonical K-major, no swizzle: 16 k columns
                out = np.zeros((rows, 16), np.float32)
                for r in range(rows):
                    for k in range(16):
                        addr = start + (r//8)*SBO + (k//8)*128 + (r%8)*16 + (k%8)*2
                        out[r, k] = smem[addr//2]
                return out
            acc = np.zeros((BM//64, 64, BN), np.float32)
            for s_ in range(STAGES-2):
                if s_ < tiles: load(s_)
            for t in range(tiles):
                nxt = t + STAGES - 2
                # reads of stage t happen "asynchronously": emulate by snapshotting before the load of stage t-2
                for g in range(BM//64):
                    a = aBase + (t % STAGES)*A_STAGE + g*8*VECS*128
                    b = bBase + (t % STAGES)*B_STAGE
                    for ks in range(BK//16):
                        A = readDesc(a + ks*256, 64); B = readDesc(b + ks*256, BN)
                        acc[g] += A @ B.T
                if nxt < tiles:
                    assert nxt % STAGES != t % STAGES and nxt % STAGES != (t-1) % STAGES
                    load(nxt % STAGES)
            # fragment -> output
            for g in range(BM//64):
                for warp in range(4):
                    for lane in range(32):
                        d = np.zeros(BN//2, np.float32)
                        for i in range(BN//2):
                            j, h, c = i//4, (i>>1)&1, i&1
                            d[i] = acc[g, 16*warp + lane//4 + 8*h, 8*j + 2*(lane%4) + c]
                        for h in range(2):
                            m = m0 + g*64 + warp*16 + (lane>>2) + h*8
                            if m >= M: continue
                            for j in range(BN//8):
                                co = n0 + j*8 + (lane&3)*2
                                if co < Cout: y[m, co] = d[4*j + 2*h]
                                if co + 1 < Cout: y[m, co+1] = d[4*j + 2*h + 1]
    # reference
    xp = np.pad(x, ((0,0),(pad,pad),(pad,pad),(0,0)))
    ref = np.zeros((N, oh_, ow_, Cout), np.float32)
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, i:i+stride*oh_:stride, j:j+stride*ow_:stride, :]
            ref += np.einsum('nhwc,oc->nhwo', patch, w[:, :, i, j])
    err = np.abs(y - ref.reshape(M, Cout)).max()
    print(f"N{N} Cin{Cin} {H}x{W} Cout{Cout} k{kh} s{stride} BM{BM} BN{BN} BK{BK} S{STAGES}: max err {err:.2e}")
    return err
errs = [
    run(1, 16, 5, 7, 48, 3, 3, 1, 1, 64, 64, 32, 4),
    run(1, 24, 6, 5, 64, 3, 3, 2, 1, 128, 64, 64, 4),
    run(2, 8, 4, 4, 100, 1, 1, 1, 0, 128, 128, 32, 6),
    run(1, 32, 5, 5, 128, 3, 3, 1, 1, 64, 128, 64, 4),
    run(1, 40, 3, 9, 70, 3, 3, 1, 1, 128, 128, 64, 4),
    run(1, 16, 9, 9, 32, 3, 3, 2, 1, 128, 32, 32, 4),
    run(1, 32, 6, 6, 24, 1, 1, 1, 0, 128, 32, 64, 3),
]
sys.exit(0 if max(errs) < 1e-3 else 1)
