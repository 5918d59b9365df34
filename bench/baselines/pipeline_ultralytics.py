#!/usr/bin/env python3
"""The Ultralytics loops a user would write, as `ultralytics` rows of `lookout bench pipeline`.

opencv-loop-fp16:  N cv2.VideoCapture streams of the file (looped), read round-robin in one process, each frame
                   through `model(frame, half=True)` (batch 1): the loop behind DESIGN.md's 161 FPS.
                   Latency: frame decoded (cap.read returned) -> result returned.
stream-true-fp16:  `model(source, stream=True, half=True)` over the file, replayed until the time is up (Ultralytics
                   reads one file source at a time; reported with streams=1). Latency: the sum of Ultralytics' own
                   preprocess + inference + postprocess times per frame (its generator hides the decode time).

Prints one JSON object per line; `lookout bench pipeline --baseline bench/baselines/pipeline_ultralytics.py` merges
them into its report. On the GPU machine, Ultralytics runs offline from shared/wheels (see its README).

usage: pipeline_ultralytics.py --source FILE [--streams N] [--seconds S] [--model shapes-yolov8n.pt] [--device 0]
"""
import argparse
import json
import os
import time

import cv2
import numpy as np


def percentiles(samples):
    if not samples:
        return 0.0, 0.0
    a = np.sort(np.asarray(samples))
    # Nearest rank, as Lookout's LatencyStats.
    def p(q):
        return float(a[min(len(a) - 1, max(0, int(np.ceil(q / 100 * len(a))) - 1))])
    return p(50), p(99)


def opencv_loop(model, args):
    caps = [cv2.VideoCapture(args.source) for _ in range(args.streams)]
    if not all(c.isOpened() for c in caps):
        raise SystemExit(f"{args.source}: OpenCV cannot open it")

    def read(cap):
        ok, frame = cap.read()
        if not ok:
            cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = cap.read()
        return frame

    for _ in range(args.warmup):
        model(read(caps[0]), half=True, device=args.device, imgsz=args.imgsz, verbose=False)
    latencies, frames = [], 0
    start = time.perf_counter()
    while time.perf_counter() - start < args.seconds:
        for cap in caps:
            frame = read(cap)
            decoded = time.perf_counter()
            model(frame, half=True, device=args.device, imgsz=args.imgsz, verbose=False)
            latencies.append((time.perf_counter() - decoded) * 1000)
            frames += 1
    elapsed = time.perf_counter() - start
    p50, p99 = percentiles(latencies)
    return dict(system="ultralytics", mode="opencv-loop-fp16", streams=args.streams, fps=round(frames / elapsed, 1),
                p50_ms=round(p50, 2), p99_ms=round(p99, 2), dropped=0, frames=frames, batch=1,
                notes="model(frame, half=True) over cv2.VideoCapture frames, streams read round-robin")


def stream_true(model, args):
    for _ in model(args.source, stream=True, half=True, device=args.device, imgsz=args.imgsz, verbose=False,
                   vid_stride=1):
        break  # warm-up: first frame
    latencies, frames = [], 0
    start = time.perf_counter()
    while time.perf_counter() - start < args.seconds:
        for r in model(args.source, stream=True, half=True, device=args.device, imgsz=args.imgsz, verbose=False):
            latencies.append(sum(r.speed.get(k) or 0 for k in ("preprocess", "inference", "postprocess")))
            frames += 1
            if time.perf_counter() - start >= args.seconds:
                break
    elapsed = time.perf_counter() - start
    p50, p99 = percentiles(latencies)
    return dict(system="ultralytics", mode="stream-true-fp16", streams=1, fps=round(frames / elapsed, 1),
                p50_ms=round(p50, 2), p99_ms=round(p99, 2), dropped=0, frames=frames, batch=1,
                notes="model(file, stream=True, half=True); latency = Ultralytics' pre+inference+post per frame")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    ap.add_argument("--streams", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--model", default=os.environ.get("LOOKOUT_BASELINE_MODEL", "shapes-yolov8n.pt"))
    ap.add_argument("--device", default="0")
    ap.add_argument("--imgsz", type=int, default=640)
    ap.add_argument("--variants", default="opencv-loop,stream-true")
    args = ap.parse_args()
    from ultralytics import YOLO

    model = YOLO(args.model)
    variants = args.variants.split(",")
    if "opencv-loop" in variants:
        print(json.dumps(opencv_loop(model, args)), flush=True)
    if "stream-true" in variants:
        print(json.dumps(stream_true(model, args)), flush=True)


if __name__ == "__main__":
    main()
