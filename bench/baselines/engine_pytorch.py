#!/usr/bin/env python3
"""PyTorch baselines for `lookout bench engine --device cuda`, run in the same process tree on the same GPU.

pytorch-eager:     the Ultralytics model (.pt), fused (Conv+BN), fp16, NCHW, eager forward.
pytorch-cudagraph: PyTorch's fastest form of it: fp16 + channels_last + one torch.cuda.CUDAGraph per batch size,
                   replayed (static input already on the GPU).
cuDNN benchmark mode is on for both. Latency is the wall time of one forward (or replay) + synchronize; throughput
launches `iterations` forwards back to back and synchronizes once: the same protocol as Lookout's rows.
Prints one JSON object per line (a row of the bench report).
"""
import argparse
import json
import time

import torch


def measure(name, fn, batch, iterations, warmup, precision="fp16"):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    samples = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        samples.append((time.perf_counter() - t0) * 1000)
    t0 = time.perf_counter()
    for _ in range(iterations):
        fn()
    torch.cuda.synchronize()
    throughput = batch * iterations / (time.perf_counter() - t0)
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    gpu = []
    for _ in range(20):
        start.record()
        fn()
        end.record()
        end.synchronize()
        gpu.append(start.elapsed_time(end))
    samples.sort()
    gpu.sort()

    def pct(p):
        return samples[min(len(samples) - 1, max(0, -(-int(p * len(samples)) // 100) - 1))]

    return {
        "backend": name, "precision": precision, "batch": batch, "throughput": round(throughput, 1),
        "p50_ms": round(pct(50), 4), "p99_ms": round(pct(99), 4), "mean_ms": round(sum(samples) / len(samples), 4),
        "gpu_ms": round(gpu[len(gpu) // 2], 4), "torch": torch.__version__,
        "cudnn": torch.backends.cudnn.version(),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="shapes-yolov8n.pt")
    parser.add_argument("--batches", default="1,8,32,64")
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--imgsz", type=int, default=640)
    args = parser.parse_args()
    batches = [int(b) for b in args.batches.split(",")]

    from ultralytics import YOLO

    torch.backends.cudnn.benchmark = True
    net = YOLO(args.model).model.fuse().half().cuda().eval()
    for p in net.parameters():
        p.requires_grad_(False)
    size = args.imgsz
    with torch.no_grad():
        for batch in batches:
            x = torch.rand(batch, 3, size, size, device="cuda", dtype=torch.half)
            print(json.dumps(measure("pytorch-eager", lambda: net(x), batch, args.iterations, args.warmup)), flush=True)
        net_cl = net.to(memory_format=torch.channels_last)
        for batch in batches:
            x = torch.rand(batch, 3, size, size, device="cuda", dtype=torch.half).contiguous(memory_format=torch.channels_last)
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(3):
                    net_cl(x)
            torch.cuda.current_stream().wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                net_cl(x)
            print(json.dumps(measure("pytorch-cudagraph", graph.replay, batch, args.iterations, args.warmup)), flush=True)
            del graph


if __name__ == "__main__":
    main()
