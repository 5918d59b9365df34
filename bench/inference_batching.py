#!/usr/bin/env python3
"""Throughput of `lookout serve --inference-only` with and without dynamic batching, at several concurrencies.

    python3 bench/inference_batching.py --binary .build/release/lookout --concurrency 1,4,16 --seconds 20

A measurement, not a test (Python 3.11, standard library only). For each mode, `on` (the default batcher:
`--max-queue-delay-us` as given, 0 by default) and `off` (`--no-dynamic-batching`), it starts the server on a
temporary folder holding a link to --model (by default the dynamic export scripts/test generates), sends one request
of N copies of --image for every N up to the largest concurrency (so that the engine has built its executor for
every batch size before the clock starts), then for each concurrency C runs C client threads, each sending
`NAME-detect` infer requests (the image as an `encoded` JPEG, binary) back to back for --seconds. It reports
requests/s, latency p50/p99 and the server's executions and rows over the window (statistics delta: rows per
execution is the mean batch), prints a table and writes JSON (default
bench/results/runs/serve/serve-batching-<device>-<UTC date>[-b…].json) with the commit (LOOKOUT_COMMIT or git
rev-parse HEAD), the machine's load and every figure. Exits 1 with a one-line reason when the server fails.
"""
import argparse
import http.client
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def request_body(jpeg, count):
    header = json.dumps({
        "inputs": [{"name": "encoded", "datatype": "BYTES", "shape": [count],
                    "parameters": {"binary_data_size": count * (4 + len(jpeg))}}],
        "outputs": [{"name": "count", "parameters": {"binary_data": True}}],
    }).encode()
    return header, header + (struct.pack("<I", len(jpeg)) + jpeg) * count


def post(conn, model, jpeg, count=1):
    header, body = request_body(jpeg, count)
    conn.request("POST", f"/v2/models/{model}/infer", body,
                 {"Inference-Header-Content-Length": str(len(header)), "Content-Type": "application/octet-stream"})
    response = conn.getresponse()
    data = response.read()
    if response.status != 200:
        raise RuntimeError(f"infer answered {response.status}: {data[:200]!r}")


def stats(host, port, model):
    conn = http.client.HTTPConnection(host, port, timeout=60)
    conn.request("GET", f"/v2/models/{model}/stats")
    s = json.loads(conn.getresponse().read())["model_stats"][0]
    conn.close()
    return s["execution_count"], s["inference_count"]


def start_server(binary, folder, extra):
    log = tempfile.NamedTemporaryFile("w+", prefix="serve-batching.", suffix=".log", delete=False)
    process = subprocess.Popen([binary, "serve", "--inference-only", "--model-repository", folder, "--http-port", "0",
                                "--metrics-port", "-1"]
                               + extra, stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.time() + 300
    while time.time() < deadline:
        found = re.search(r"inference server on http://([^:\s]+):(\d+)", open(log.name).read())
        if found:
            return process, found.group(1), int(found.group(2))
        if process.poll() is not None:
            sys.exit(f"serve-batching: the server exited {process.returncode}: {open(log.name).read()[-500:]}")
        time.sleep(0.2)
    process.kill()
    sys.exit("serve-batching: the server did not listen within 300 s")


def measure(host, port, model, jpeg, concurrency, seconds):
    latencies, errors = [], []
    lock = threading.Lock()
    stop = time.time() + seconds

    def client():
        conn = http.client.HTTPConnection(host, port, timeout=300)
        mine = []
        try:
            while time.time() < stop:
                t = time.perf_counter()
                post(conn, model, jpeg)
                mine.append(time.perf_counter() - t)
        except Exception as e:
            errors.append(str(e))
        with lock:
            latencies.extend(mine)

    before = stats(host, port, model)
    start = time.time()
    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.time() - start
    after = stats(host, port, model)
    if errors:
        sys.exit(f"serve-batching: a request failed: {errors[0]}")
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000
    executions, rows = after[0] - before[0], after[1] - before[1]
    return {
        "concurrency": concurrency, "seconds": round(elapsed, 2), "requests": len(latencies),
        "requests_per_s": round(len(latencies) / elapsed, 3), "p50_ms": round(pick(0.5), 1),
        "p99_ms": round(pick(0.99), 1), "executions": executions, "rows": rows,
        "rows_per_execution": round(rows / executions, 2) if executions else None,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.path.join(REPO, ".build/release/lookout"))
    parser.add_argument("--model", default=os.path.join(REPO, "Tests/Fixtures/generated/shapes/shapes-yolov8n-dynamic.onnx"))
    parser.add_argument("--image", default=os.path.join(REPO, "Models/sample.jpg"))
    parser.add_argument("--concurrency", default="1,4,16")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--max-queue-delay-us", type=int, default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--off-first", action="store_true", help="measure without batching first")
    parser.add_argument("--json", help="output path (default bench/results/runs/serve/serve-batching-DEVICE-DATE.json)")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    jpeg = open(args.image, "rb").read()
    folder = tempfile.mkdtemp(prefix="serve-batching.")
    name = "m"
    os.symlink(os.path.abspath(args.model), os.path.join(folder, name + ".onnx"))
    model = name + "-detect"
    modes = {"on": [] if args.max_queue_delay_us is None else ["--max-queue-delay-us", str(args.max_queue_delay_us)],
             "off": ["--no-dynamic-batching"]}
    if args.off_first:
        modes = dict(reversed(list(modes.items())))
    rows = []
    lines = []

    def say(text):
        print(text, flush=True)
        lines.append(text)

    say(f"serve-batching: {args.binary}, {os.path.basename(args.model)}-detect, {os.path.basename(args.image)} "
        f"(encoded JPEG), {args.seconds:.0f} s per level, device {args.device}, load {os.getloadavg()}")
    for mode, extra in modes.items():
        process, host, port = start_server(args.binary, folder, extra + ["--device", args.device])
        try:
            conn = http.client.HTTPConnection(host, port, timeout=600)
            for n in range(1, max(levels) + 1):
                post(conn, model, jpeg, n)
            conn.close()
            for c in levels:
                row = {"batching": mode, **measure(host, port, model, jpeg, c, args.seconds)}
                rows.append(row)
                say(f"batching {mode:3}  concurrency {c:2}: {row['requests_per_s']:7.2f} req/s, p50 {row['p50_ms']:7.1f} ms, "
                    f"p99 {row['p99_ms']:7.1f} ms, {row['executions']} executions for {row['rows']} images "
                    f"({row['rows_per_execution']} a batch)")
        finally:
            process.terminate()
            code = process.wait(timeout=120)
            if code != 0:
                sys.exit(f"serve-batching: the server exited {code} on SIGTERM")
    for c in levels:
        on = next(r for r in rows if r["batching"] == "on" and r["concurrency"] == c)
        off = next(r for r in rows if r["batching"] == "off" and r["concurrency"] == c)
        say(f"concurrency {c:2}: batching on / off = {on['requests_per_s'] / off['requests_per_s']:.2f}x throughput")
    commit = os.environ.get("LOOKOUT_COMMIT") or subprocess.run(
        ["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    date = time.strftime("%Y-%m-%d", time.gmtime())
    path = args.json
    if not path:
        base = os.path.join(REPO, "bench/results/runs/serve", f"serve-batching-{args.device}-{date}")
        path, letter = base + ".json", ord("b")
        while os.path.exists(path):
            path, letter = f"{base}-{chr(letter)}.json", letter + 1
    report = {
        "benchmark": "serve-batching", "commit": commit, "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "device": f"{args.device}, {os.cpu_count()} cores", "loadavg_end": os.getloadavg(),
        "settings": {"binary": args.binary, "model": os.path.basename(args.model), "image": os.path.basename(args.image),
                     "seconds": args.seconds, "levels": levels, "max_queue_delay_us": args.max_queue_delay_us or 0},
        "rows": rows,
    }
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(report, f, indent=1)
        f.write("\n")
    with open(path[:-5] + ".txt", "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"serve-batching: wrote {os.path.relpath(path, REPO)}")


if __name__ == "__main__":
    main()
