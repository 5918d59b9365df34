#!/usr/bin/env python3
"""The seed's two transfer variants in PyTorch, on the same synthetic frames as `lookout bench transfer`.

pytorch-pageable: Ultralytics' CPU preprocessing (cv2 letterbox, BGR->RGB, CHW, float32 / 255) then
                  torch.from_numpy(x).cuda()  (a synchronous copy from pageable memory).
pytorch-pinned:   the same CPU work, copied into a pinned tensor, then .cuda(non_blocking=True) so the copy overlaps
                  the next frame's CPU work (two pinned buffers, each reused once its copy's event has completed).

Prints one JSON object per line (a row of the bench report). Latency is frame ready -> tensor on the GPU, with GPU
completion times read from CUDA events against a reference event, as Lookout does.
"""
import argparse
import json
import os
import time

import cv2
import numpy as np
import torch


def frame(width, height, index):
    # Same formula as SyntheticFrames.swift.
    x = np.arange(width, dtype=np.int64)[None, :, None]
    y = np.arange(height, dtype=np.int64)[:, None, None]
    c = np.arange(3, dtype=np.int64)[None, None, :]
    noise = ((x * 7919) ^ (y * 104729) ^ (index * 15485863)) & 63
    return ((x + 2 * y + 64 * c + 37 * index + noise) & 255).astype(np.uint8)


def letterbox(img, size=640):
    # Ultralytics LetterBox (auto=False, centre, scale-up), Python's round.
    h, w = img.shape[:2]
    r = min(size / h, size / w)
    nw, nh = max(round(w * r), 1), max(round(h * r), 1)
    dw, dh = (size - nw) / 2, (size - nh) / 2
    if (nw, nh) != (w, h):
        img = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    return cv2.copyMakeBorder(img, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(114, 114, 114))


def preprocess(img):
    x = letterbox(img)[..., ::-1].transpose(2, 0, 1)
    return np.ascontiguousarray(x).astype(np.float32) / 255.0


def cpu_seconds():
    t = os.times()
    return t.user + t.system


def stats(values):
    s = sorted(values)
    def pct(p):
        rank = max(int(-(-p / 100 * len(s) // 1)) - 1, 0)
        return s[min(rank, len(s) - 1)]
    return pct(50), pct(99)


def run(mode, frames, warmup, ring_frames, resolution):
    torch.cuda.synchronize()
    tensor_bytes = 3 * 640 * 640 * 4
    pinned = [torch.empty((3, 640, 640), dtype=torch.float32).pin_memory() for _ in range(2)]
    events = [torch.cuda.Event(enable_timing=True) for _ in range(2)]
    pending = [None, None]
    latencies = []
    ref = torch.cuda.Event(enable_timing=True)
    ref.record()
    ref.synchronize()
    ref_host = time.monotonic()
    outputs = []

    def finalize(k):
        if pending[k] is None:
            return
        ready, measured = pending[k]
        pending[k] = None
        events[k].synchronize()
        if measured:
            latencies.append(ref_host + ref.elapsed_time(events[k]) / 1000 - ready)

    start = cpu0 = 0.0
    for i in range(warmup + frames):
        if i == warmup:
            torch.cuda.synchronize()
            start, cpu0 = time.monotonic(), cpu_seconds()
        img = ring_frames[i % len(ring_frames)]
        ready = time.monotonic()
        x = preprocess(img)
        if mode == "pytorch-pageable":
            t = torch.from_numpy(x).cuda()
            if i >= warmup:
                latencies.append(time.monotonic() - ready)
            outputs = [t]
        else:
            k = i % 2
            finalize(k)
            pinned[k].copy_(torch.from_numpy(x))
            t = pinned[k].cuda(non_blocking=True)
            events[k].record()
            pending[k] = (ready, i >= warmup)
            outputs.append(t)
            outputs = outputs[-2:]
    torch.cuda.synchronize()
    elapsed = time.monotonic() - start
    cpu = cpu_seconds() - cpu0
    for k in range(2):
        finalize(k)
    p50, p99 = stats(latencies)
    return {
        "mode": mode, "resolution": resolution, "fps": round(frames / elapsed, 1), "p50_ms": round(p50 * 1000, 4),
        "p99_ms": round(p99 * 1000, 4), "bytes_per_frame": tensor_bytes,
        "cpu_ms_per_frame": round(cpu * 1000 / frames, 4), "allocations_per_frame": None, "frames": frames,
        "notes": f"torch {torch.__version__}, cv2 {cv2.__version__} ({cv2.getNumThreads()} threads); "
                 + ("from_numpy(x).cuda()" if mode == "pytorch-pageable"
                    else "pinned copy_ then .cuda(non_blocking=True), 2 buffers, overlapped with the next frame"),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--resolution", default="1920x1080")
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--warmup", type=int, default=60)
    parser.add_argument("--ring", type=int, default=8)
    args = parser.parse_args()
    width, height = (int(v) for v in args.resolution.split("x"))
    ring_frames = [frame(width, height, i) for i in range(args.ring)]
    for mode in ("pytorch-pageable", "pytorch-pinned"):
        print(json.dumps(run(mode, args.frames, args.warmup, ring_frames, args.resolution)), flush=True)


if __name__ == "__main__":
    main()
