# Replays convHalo's index arithmetic (EngineKernelSource+Halo.swift) in NumPy: the stage loader's placement of the
# halo (stride 2: even columns first) and the weights in shared memory, each lane's ldmatrix row addresses, the
# m16n8k16 fragments as the PTX ISA defines them, and the epilogue's pixels and channels; compared with a direct
# convolution. Sequential: it checks the arithmetic, not timing.
# Usage: python3 scripts/halo_layout_sim.py (exit status 0 when every case matches).
import numpy as np, sys


def ldmatrix_x4(smem, addresses):
    # addresses[lane] = element address of the row that lane supplies; matrix q takes lanes 8q..8q+7.
    # Returns regs[lane][q] = (elements 2*(lane%4), +1 of row lane/4 of matrix q).
    regs = np.zeros((32, 4, 2), np.float32)
    for q in range(4):
        for lane in range(32):
            row = addresses[8 * q + lane // 4]
            regs[lane, q] = smem[row + 2 * (lane % 4): row + 2 * (lane % 4) + 2]
    return regs


def mma(acc, a, b0, b1):
    # acc[lane][4], a[lane][4][2] (a0..a3), b0/b1[lane][2]; A 16x16 row, B 16x8 col.
    A = np.zeros((16, 16), np.float32); B = np.zeros((16, 8), np.float32)
    for lane in range(32):
        g, t = lane // 4, lane % 4
        A[g, 2 * t:2 * t + 2] = a[lane][0]; A[g + 8, 2 * t:2 * t + 2] = a[lane][1]
        A[g, 2 * t + 8:2 * t + 10] = a[lane][2]; A[g + 8, 2 * t + 8:2 * t + 10] = a[lane][3]
        B[2 * t:2 * t + 2, g] = b0[lane]; B[2 * t + 8:2 * t + 10, g] = b1[lane]
    D = A @ B
    for lane in range(32):
        g, t = lane // 4, lane % 4
        acc[lane] += [D[g, 2 * t], D[g, 2 * t + 1], D[g + 8, 2 * t], D[g + 8, 2 * t + 1]]


def run(N, Cin, H, W, Cout, S, pad, TH, TW, BN, CH, WARPS_N, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, H, W, Cin)).astype(np.float32)
    w = rng.standard_normal((Cout, Cin, 3, 3)).astype(np.float32)
    OH = (H + 2 * pad - 3) // S + 1; OW = (W + 2 * pad - 3) // S + 1
    K = 9 * Cin; kPad = (K + 63) // 64 * 64; coutPad = (Cout + 127) // 128 * 128
    w16 = np.zeros((coutPad, kPad), np.float32)
    for co in range(Cout):
        for c in range(Cin):
            for i in range(3):
                for j in range(3):
                    w16[co, (i * 3 + j) * Cin + c] = w[co, c, i, j]
    WARPS_M = 4 // WARPS_N; BM = TH * TW; MT = BM // 16 // WARPS_M; NT = BN // 8 // WARPS_N
    HH = (TH - 1) * S + 3; HW = (TW - 1) * S + 3; EVEN = (HW + 1) // 2
    ROW = CH + 8; VEC = CH // 8; HALO = HH * HW * ROW
    y = np.full((N, OH, OW, Cout), np.nan, np.float32)
    tilesW = (OW + TW - 1) // TW; tilesH = (OH + TH - 1) // TH
    for bx in range(N * tilesH * tilesW):
        for by in range((Cout + BN - 1) // BN):
            block = bx; tx0 = (block % tilesW) * TW; block //= tilesW
            ty0 = (block % tilesH) * TH; img = block // tilesH; n0 = by * BN
            iy0 = ty0 * S - pad; ix0 = tx0 * S - pad
            acc = np.zeros((4, MT, NT, 32, 4), np.float32)
            for chunk in range(Cin // CH):
                smem = np.full(HALO + 9 * BN * ROW, np.nan, np.float32)
                c0 = chunk * CH
                for i in range(HH * HW * VEC):
                    v = i % VEC; pixel = i // VEC; hy = pixel // HW; hx = pixel - hy * HW
                    iy = iy0 + hy; ix = ix0 + hx
                    inside = 0 <= iy < H and 0 <= ix < W
                    col = hx if S == 1 else (hx & 1) * EVEN + (hx >> 1)
                    dst = (hy * HW + col) * ROW + v * 8
                    smem[dst:dst + 8] = x[img, iy, ix, c0 + v * 8:c0 + v * 8 + 8] if inside else 0
                for i in range(9 * BN * VEC):
                    v = i % VEC; row = i // VEC; tap = row // BN; n = row - tap * BN
                    dst = HALO + row * ROW + v * 8
                    src = tap * Cin + c0 + v * 8
                    smem[dst:dst + 8] = w16[n0 + n, src:src + 8]
                for warp in range(4):
                    wm, wn = warp % WARPS_M, warp // WARPS_M
                    aRow = np.zeros((MT, 32), int)
                    for i in range(MT):
                        for lane in range(32):
                            m = (wm * MT + i) * 16 + (lane & 15); ty, tx = m // TW, m % TW
                            aRow[i, lane] = (ty * S * HW + tx) * ROW + (lane >> 4) * 8
                    for tap in range(9):
                        dy, dx = tap // 3, tap % 3
                        offset = (dy * HW + (dx if S == 1 else (dx & 1) * EVEN + (dx >> 1))) * ROW
                        for ks in range(0, CH, 16):
                            af = [ldmatrix_x4(smem, aRow[i] + offset + ks) for i in range(MT)]
                            bf = {}
                            for j in range(0, NT, 2):
                                addr = [HALO + (tap * BN + wn * NT * 8 + (lane & 7) + (lane >> 4) * 8 + j * 8) * ROW + ks
                                        + ((lane >> 3) & 1) * 8 for lane in range(32)]
                                r = ldmatrix_x4(smem, addr)
                                bf[j] = (r[:, 0], r[:, 1]); bf[j + 1] = (r[:, 2], r[:, 3])
                            for i in range(MT):
                                for j in range(NT):
                                    mma(acc[warp, i, j], af[i], bf[j][0], bf[j][1])
            for warp in range(4):
                wm, wn = warp % WARPS_M, warp // WARPS_M
                for i in range(MT):
                    for lane in range(32):
                        for h in range(2):
                            m = (wm * MT + i) * 16 + (lane >> 2) + h * 8
                            oh = ty0 + m // TW; ow = tx0 + m % TW
                            if oh >= OH or ow >= OW: continue
                            for j in range(NT):
                                co = n0 + wn * NT * 8 + j * 8 + (lane & 3) * 2
                                for e in range(2):
                                    if co + e < Cout: y[img, oh, ow, co + e] = acc[warp, i, j, lane, h * 2 + e]
    xp = np.pad(x, ((0, 0), (pad, pad + 3), (pad, pad + 3), (0, 0)))
    ref = np.zeros((N, OH, OW, Cout), np.float32)
    for i in range(3):
        for j in range(3):
            ref += np.einsum('nhwc,oc->nhwo', xp[:, i:i + S * OH:S, j:j + S * OW:S, :], w[:, :, i, j])
    err = np.nanmax(np.abs(y - ref)) if not np.isnan(y).any() else np.inf
    return err


def run_first(N, Cin, H, W, Cout, S, pad, TH, TW, CO, seed=0):
    # convFirst: the halo padded to 8 channels a pixel, two taps per k16 step, B from [co][tap*8+c] rows of 88.
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, H, W, Cin)).astype(np.float32)
    w = rng.standard_normal((Cout, Cin, 3, 3)).astype(np.float32)
    w32 = w.reshape(-1)
    OH = (H + 2 * pad - 3) // S + 1; OW = (W + 2 * pad - 3) // S + 1
    BM = TH * TW; MT = BM // 64; NT = CO // 8; KROW = 88
    HH = (TH - 1) * S + 3; HW = (TW - 1) * S + 3; EVEN = (HW + 1) // 2
    y = np.full((N, OH, OW, Cout), np.nan, np.float32)
    tilesW = (OW + TW - 1) // TW; tilesH = (OH + TH - 1) // TH
    for bx in range(N * tilesH * tilesW):
        block = bx; tx0 = (block % tilesW) * TW; block //= tilesW
        ty0 = (block % tilesH) * TH; img = block // tilesH
        iy0 = ty0 * S - pad; ix0 = tx0 * S - pad
        halo = np.full(HH * HW * 8, np.nan, np.float32)
        weights = np.zeros(CO * KROW, np.float32)
        for i in range(CO * KROW):
            co = i // KROW; k = i - co * KROW; tap = k // 8; c = k - tap * 8
            if co < Cout and tap < 9 and c < Cin: weights[i] = w32[(co * Cin + c) * 9 + tap]
        for pixel in range(HH * HW):
            hy = pixel // HW; hx = pixel - hy * HW; iy = iy0 + hy; ix = ix0 + hx
            v = np.zeros(8, np.float32)
            if 0 <= iy < H and 0 <= ix < W: v[:Cin] = x[img, iy, ix]
            col = hx if S == 1 else (hx & 1) * EVEN + (hx >> 1)
            halo[(hy * HW + col) * 8:(hy * HW + col) * 8 + 8] = v
        bf = {}
        for s_ in range(5):
            for j in range(0, NT, 2):
                addr = [(j * 8 + (lane & 7) + (lane >> 4) * 8) * KROW + s_ * 16 + ((lane >> 3) & 1) * 8 for lane in range(32)]
                r = ldmatrix_x4(weights, addr)
                bf[s_, j] = (r[:, 0], r[:, 1]); bf[s_, j + 1] = (r[:, 2], r[:, 3])
        for warp in range(4):
            acc = np.zeros((MT, NT, 32, 4), np.float32)
            for i in range(MT):
                for s_ in range(5):
                    addr = []
                    for lane in range(32):
                        m = (warp * MT + i) * 16 + (lane & 15)
                        pixel = (m // TW) * S * HW + m % TW
                        tap = min(2 * s_ + (lane >> 4), 8); dy = tap // 3; dx = tap - dy * 3
                        offset = dy * HW + (dx if S == 1 else (dx & 1) * EVEN + (dx >> 1))
                        addr.append((pixel + offset) * 8)
                    a = ldmatrix_x4(halo, addr)
                    for j in range(NT): mma(acc[i, j], a, bf[s_, j][0], bf[s_, j][1])
            for i in range(MT):
                for lane in range(32):
                    for h in range(2):
                        m = (warp * MT + i) * 16 + (lane >> 2) + h * 8
                        oh = ty0 + m // TW; ow = tx0 + m % TW
                        if oh >= OH or ow >= OW: continue
                        for j in range(NT):
                            co = j * 8 + (lane & 3) * 2
                            for e in range(2):
                                if co + e < Cout: y[img, oh, ow, co + e] = acc[i, j, lane, h * 2 + e]
    xp = np.pad(x, ((0, 0), (pad, pad + 3), (pad, pad + 3), (0, 0)))
    ref = np.zeros((N, OH, OW, Cout), np.float32)
    for i in range(3):
        for j in range(3):
            ref += np.einsum('nhwc,oc->nhwo', xp[:, i:i + S * OH:S, j:j + S * OW:S, :], w[:, :, i, j])
    return np.nanmax(np.abs(y - ref)) if not np.isnan(y).any() else np.inf


def run_pointwise(N, K, H, W, Cout, BM, BN, KMAX, WARPS_N, per, seed=0):
    # convPointwise: weights [BN][KMAX+8], pixel tiles [BM][KMAX+8] double-buffered, blocks stepping gridDim.x tiles.
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, H, W, K)).astype(np.float32)
    w = rng.standard_normal((Cout, K)).astype(np.float32)
    kPad = (K + 63) // 64 * 64; coutPad = (Cout + 127) // 128 * 128
    w16 = np.zeros((coutPad, kPad), np.float32); w16[:Cout, :K] = w
    xflat = x.reshape(-1); M = N * H * W
    WARPS_M = 4 // WARPS_N; ROW = KMAX + 8; MT = BM // 16 // WARPS_M; NT = BN // 8 // WARPS_N
    vectors = K // 8; tiles = (M + BM - 1) // BM
    grid = ((tiles + per - 1) // per, (Cout + BN - 1) // BN)
    y = np.full((M, Cout), np.nan, np.float32)
    for bx in range(grid[0]):
        for by in range(grid[1]):
            n0 = by * BN
            sB = np.full(BN * ROW, np.nan, np.float32)
            for i in range(BN * vectors):
                row = i // vectors; v = i - row * vectors
                sB[row * ROW + v * 8: row * ROW + v * 8 + 8] = w16[n0 + row, v * 8:v * 8 + 8]
            sA = np.full((2, BM * ROW), np.nan, np.float32)
            def load(tile, buf):
                for i in range(BM * vectors):
                    row = i // vectors; v = i - row * vectors; m = tile * BM + row
                    sA[buf, row * ROW + v * 8: row * ROW + v * 8 + 8] = xflat[m * K + v * 8: m * K + v * 8 + 8] if m < M else 0
            tile = bx; it = 0
            load(tile, 0)
            while tile < tiles:
                nxt = tile + grid[0]
                # (the prefetch of `nxt` goes to the other buffer; sequentially it can be done after the compute)
                for warp in range(4):
                    wm, wn = warp % WARPS_M, warp // WARPS_M
                    acc = np.zeros((MT, NT, 32, 4), np.float32)
                    for ks in range(0, K, 16):
                        af = [ldmatrix_x4(sA[it & 1], [((wm * MT + i) * 16 + (lane & 15)) * ROW + ks + (lane >> 4) * 8 for lane in range(32)]) for i in range(MT)]
                        bf = {}
                        for j in range(0, NT, 2):
                            r = ldmatrix_x4(sB, [(wn * NT * 8 + j * 8 + (lane & 7) + (lane >> 4) * 8) * ROW + ks + ((lane >> 3) & 1) * 8 for lane in range(32)])
                            bf[j] = (r[:, 0], r[:, 1]); bf[j + 1] = (r[:, 2], r[:, 3])
                        for i in range(MT):
                            for j in range(NT): mma(acc[i, j], af[i], bf[j][0], bf[j][1])
                    for i in range(MT):
                        for lane in range(32):
                            for h in range(2):
                                m = tile * BM + (wm * MT + i) * 16 + (lane >> 2) + h * 8
                                if m >= M: continue
                                for j in range(NT):
                                    co = n0 + wn * NT * 8 + j * 8 + (lane & 3) * 2
                                    for e in range(2):
                                        if co + e < Cout: y[m, co + e] = acc[i, j, lane, h * 2 + e]
                if nxt < tiles: load(nxt, (it + 1) & 1)
                tile = nxt; it += 1
    ref = x.reshape(M, K) @ w.T
    return np.nanmax(np.abs(y - ref)) if not np.isnan(y).any() else np.inf


cases = [
    # N, Cin, H, W, Cout, S, pad, TH, TW, BN, CH, WARPS_N
    (1, 16, 12, 20, 16, 1, 1, 8, 16, 16, 16, 1),
    (2, 32, 9, 11, 32, 1, 1, 8, 16, 32, 16, 1),
    (1, 32, 10, 10, 48, 1, 1, 8, 8, 32, 32, 1),
    (1, 16, 9, 17, 64, 1, 1, 8, 8, 64, 16, 2),
    (1, 32, 17, 18, 32, 2, 1, 4, 16, 32, 16, 1),
    (1, 16, 20, 21, 64, 2, 1, 8, 8, 64, 16, 2),
]
first_cases = [
    # N, Cin, H, W, Cout, S, pad, TH, TW, CO
    (1, 3, 21, 37, 16, 2, 1, 8, 16, 16),
    (1, 3, 13, 18, 16, 1, 1, 8, 16, 16),
    (1, 3, 40, 36, 24, 2, 1, 8, 16, 32),
    (1, 8, 30, 33, 16, 2, 1, 16, 16, 16),
]
pointwise_cases = [
    # N, K, H, W, Cout, BM, BN, KMAX, WARPS_N, tiles per block
    (1, 48, 7, 37, 32, 128, 32, 64, 1, 2),
    (2, 16, 5, 20, 16, 128, 16, 64, 1, 4),
    (1, 96, 9, 9, 72, 64, 64, 128, 2, 2),
    (1, 192, 4, 33, 64, 64, 64, 256, 2, 4),
    (1, 128, 6, 30, 128, 128, 64, 128, 2, 2),
]
bad = 0
for c in pointwise_cases:
    err = run_pointwise(*c)
    ok = err < 1e-3
    bad += not ok
    print(("OK  " if ok else "FAIL"), "pointwise", c, "max |err|", err)
for c in first_cases:
    err = run_first(*c)
    ok = err < 1e-3
    bad += not ok
    print(("OK  " if ok else "FAIL"), "first", c, "max |err|", err)
for c in cases:
    err = run(*c)
    ok = err < 1e-3
    bad += not ok
    print(("OK  " if ok else "FAIL"), c, "max |err|", err)
sys.exit(1 if bad else 0)
