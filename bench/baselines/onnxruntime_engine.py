#!/usr/bin/env python3
"""onnxruntime CPU baseline for `lookout bench engine`: the same model, batch and input size, timed the same way.

The session is created as Ultralytics creates it on CPU: default SessionOptions (ORT_ENABLE_ALL) and
providers=["CPUExecutionProvider"]; `--threads N` sets intra_op_num_threads (0, the default, leaves ORT's choice).
One seeded uniform [0,1) input of shape (batch, 3, H, W) in the model's input dtype is run `--warmup` times, then
`--iterations` timed runs; p50/p99 are nearest-rank percentiles of the sorted per-run latencies (like
LookoutCore.LatencyStats), throughput is batch * iterations / total timed seconds.

    python3 bench/baselines/onnxruntime_engine.py --model M.onnx [--batch B] [--imgsz 640|HxW] [--iterations N]
        [--warmup W] [--threads T] [--json OUT.json | --merge EXISTING.json]

`--json` writes a new report in the shared bench format; `--merge` appends the row to a report written by
`lookout bench engine` (its settings supply batch/imgsz/iterations/warmup unless given here) and keeps its fields.
Static models accept only their own batch and size; dynamic ones (symbolic dims) accept any.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

REPO = Path(__file__).resolve().parent.parent.parent


def percentile(sorted_samples: list[float], p: float) -> float:
    """Nearest rank: the ceil(p/100 * n)-th smallest sample (1-based), as LookoutCore.LatencyStats."""
    if not sorted_samples:
        return 0.0
    rank = math.ceil(p / 100 * len(sorted_samples)) - 1
    return sorted_samples[min(max(rank, 0), len(sorted_samples) - 1)]


def git_commit() -> str:
    if os.environ.get("LOOKOUT_COMMIT"):
        return os.environ["LOOKOUT_COMMIT"]
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO, capture_output=True, text=True)
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def cpu_description() -> str:
    name = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name} ({os.cpu_count()} threads)"


def kernel() -> str:
    try:
        return "linux " + Path("/proc/sys/kernel/osrelease").read_text().strip()
    except OSError:
        return platform.system().lower() + " " + platform.release()


def parse_imgsz(value) -> tuple[int, int] | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return (int(value[0]), int(value[1])) if len(value) == 2 else (int(value[0]), int(value[0]))
    if isinstance(value, int):
        return value, value
    text = str(value).lower().replace(",", "x")
    parts = [int(p) for p in text.split("x") if p.strip()]
    return (parts[0], parts[0]) if len(parts) == 1 else (parts[0], parts[1])


def resolve_shape(inp, batch: int | None, imgsz: tuple[int, int] | None) -> tuple[int, int, int, int]:
    dims = list(inp.shape)
    fixed = [d if isinstance(d, int) else None for d in dims]
    b = batch if batch is not None else (fixed[0] or 1)
    if fixed[0] is not None and b != fixed[0]:
        raise SystemExit(f"model has a fixed batch of {fixed[0]}; --batch {b} needs a dynamic export")
    if imgsz is None:
        imgsz = (fixed[2] or 640, fixed[3] or 640)
    for axis, want in ((2, imgsz[0]), (3, imgsz[1])):
        if fixed[axis] is not None and fixed[axis] != want:
            raise SystemExit(f"model input is fixed at {fixed[2]}x{fixed[3]}; --imgsz {imgsz[0]}x{imgsz[1]} needs a "
                             "dynamic export")
    channels = fixed[1] or 3
    return b, channels, imgsz[0], imgsz[1]


def measure(model: str, batch, imgsz, iterations: int, warmup: int, threads: int) -> tuple[dict, dict]:
    opts = None
    if threads:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
    sess = ort.InferenceSession(model, sess_options=opts, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    shape = resolve_shape(inp, batch, imgsz)
    dtype = np.float16 if "float16" in inp.type else np.float32
    x = np.random.default_rng(0).random(shape, dtype=np.float32).astype(dtype)
    feed = {inp.name: x}
    for _ in range(warmup):
        sess.run(None, feed)
    samples = []
    t_start = time.perf_counter()
    for _ in range(iterations):
        t0 = time.perf_counter()
        sess.run(None, feed)
        samples.append((time.perf_counter() - t0) * 1000.0)
    total_s = time.perf_counter() - t_start
    samples.sort()
    row = {
        "backend": "onnxruntime-cpu",
        "precision": "fp16" if dtype == np.float16 else "fp32",
        "batch": shape[0],
        "throughput": shape[0] * iterations / total_s,
        "p50_ms": percentile(samples, 50),
        "p99_ms": percentile(samples, 99),
        "mean_ms": sum(samples) / len(samples),
        "imgsz": [shape[2], shape[3]],
        "threads": threads or "default",
        "onnxruntime": ort.__version__,
    }
    settings = {
        "model": model,
        "device": "cpu",
        "batch": shape[0],
        "imgsz": [shape[2], shape[3]],
        "iterations": iterations,
        "warmup": warmup,
        "threads": threads or "default",
        "session_options": "default (ORT_ENABLE_ALL)" if not threads else f"intra_op_num_threads={threads}",
        "onnxruntime": ort.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    return row, settings


def print_rows(rows: list[dict], file=sys.stdout) -> None:
    print(f"{'backend':<18} {'precision':<9} {'batch':>5} {'img/s':>10} {'p50 ms':>9} {'p99 ms':>9}", file=file)
    for r in rows:
        print(f"{r.get('backend', '?'):<18} {r.get('precision', '?'):<9} {r.get('batch', 0):>5} "
              f"{float(r.get('throughput', 0)):>10.2f} {float(r.get('p50_ms', 0)):>9.3f} "
              f"{float(r.get('p99_ms', 0)):>9.3f}", file=file)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--batch", type=int)
    ap.add_argument("--imgsz", help="640 or HxW (default: the model's size, or 640 for dynamic models)")
    ap.add_argument("--iterations", type=int)
    ap.add_argument("--warmup", type=int)
    ap.add_argument("--threads", type=int, default=0, help="intra-op threads; 0 = onnxruntime's default")
    out = ap.add_mutually_exclusive_group()
    out.add_argument("--json", help="write a new report here ('-' for stdout)")
    out.add_argument("--merge", help="append the row to this existing report (written by lookout bench engine)")
    args = ap.parse_args()

    base = None
    if args.merge:
        base = json.loads(Path(args.merge).read_text())
        s = base.get("settings", {})
        args.batch = args.batch if args.batch is not None else s.get("batch")
        args.imgsz = args.imgsz if args.imgsz is not None else s.get("imgsz")
        args.iterations = args.iterations if args.iterations is not None else s.get("iterations")
        args.warmup = args.warmup if args.warmup is not None else s.get("warmup")
    iterations = int(args.iterations or 100)
    warmup = int(args.warmup if args.warmup is not None else 10)
    if iterations < 1:
        raise SystemExit("--iterations must be >= 1")

    row, settings = measure(args.model, args.batch, parse_imgsz(args.imgsz), iterations, warmup, args.threads)
    print_rows([row], file=sys.stderr if args.json == "-" else sys.stdout)

    if base is not None:
        base.setdefault("rows", []).append(row)
        base.setdefault("settings", {}).setdefault("onnxruntime", ort.__version__)
        Path(args.merge).write_text(json.dumps(base, indent=2) + "\n")
    elif args.json:
        report = {
            "benchmark": "engine",
            "commit": git_commit(),
            "device": cpu_description(),
            "driver": kernel(),
            "date": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
            "settings": settings,
            "rows": [row],
        }
        text = json.dumps(report, indent=2) + "\n"
        if args.json == "-":
            sys.stdout.write(text)
        else:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(text)


if __name__ == "__main__":
    main()
