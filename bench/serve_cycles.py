#!/usr/bin/env python3
"""Streams added and removed at run time in `lookout serve`: the acceptance point, measured.

    python3 bench/serve_cycles.py --binary .build/release/lookout --device cuda --cycles 1000

"A camera added through the API is running within 2 s (RTSP test server on loopback) and removed within 1 s, with
the other streams' frame counts and latency unaffected; 1,000 add/remove cycles leak nothing (RSS, file
descriptors, threads, device memory on the GPU)."

What it does (Python 3.11, standard library and bench/serve_common.py; needs perl with RTSP::Server + AnyEvent, i.e.
Debian's librtsp-server-perl, and the ffmpeg CLI — or, with --rtsp-annexb FILE.h264, neither: the camera is then
scripts/rtsp_file_server.py playing that H.264 Annex-B file from its start to each client at --rtsp-fps, RTP
interleaved over TCP, FFmpeg's RTSP client falling back to TCP when the server refuses UDP; the GPU machine's way):
  1. starts a real RTSP server on loopback (scripts/rtsp-test-server.pl) fed by ffmpeg publishing --clip looped in
     real time (libx264, a keyframe every 5 frames, so a reader joining mid-stream waits at most a third of a second
     for a picture); no server, no run (a one-line error);
  2. starts `lookout serve --config TMP/serve.yaml --port 0 --token T --db TMP/events.db --device DEVICE` (the
     config holds `streams: []`: no demo stream, no rules) and adds --background streams bgN = the clip as paced
     looping files (POST /api/v1/streams {"loop": true, "live": true}); the port comes from its stderr line
     `serving on http://HOST:PORT/`;
  3. "before": once every background stream is running, --warmup seconds, then --window seconds of their frames
     (delta of GET /api/v1/streams "frames") and end-to-end latency (deltas of the per-stream histogram
     lookout_end_to_end_latency in /metrics, p50/p99 interpolated within its buckets as Prometheus'
     histogram_quantile does; the API's own latency_p50_ms/p99_ms are since the stream started and are kept too);
  4. --cycles times: POST {"name": "cyc", "url": "rtsp://127.0.0.1:PORT/live"}, GET /api/v1/streams/cyc every
     --poll seconds until "state" is "running" and "frames" > 0 (add → running); DELETE (its response time); then
     /metrics every --poll seconds until the stream's series (`lookout_frames_total{stream="IDX",`) are gone — the
     pipeline drops a served stream's metrics when it retires it, after its last decoded frame has been batched —
     (removed), while the server's stderr line "stream IDX (cyc): ended after N frames" is timed as well;
     the server's RSS (VmRSS), open file descriptors, threads (and on a GPU its device memory from nvidia-smi
     --query-compute-apps) sampled after cycle --leak-warmup (50) and at the end, and a few times in between;
  5. "during": the background streams' frames and latency over the cycles; the ratio during / before; "after":
     another --window once the cycles are over;
  6. prints a table, writes JSON (default bench/results/runs/serve/serve-cycles-<device>-<UTC date>[-b…].json, the
     console output beside it as .txt) with commit (LOOKOUT_COMMIT or git rev-parse HEAD), device, driver, date,
     settings, the machine's load, every figure and every cycle;
  7. exits 1 with a one-line reason when the server or the RTSP server dies, a stream fails, a cycle times out
     (--add-timeout, --remove-timeout) or the server does not exit 0 on SIGTERM; the server and the RTSP server are
     always stopped. Criteria not met (e.g. add → running over 2 s) are reported, not an exit status, unless
     --strict.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from serve_common import (API, REPO, TOKEN_MASK, Fail, Server, add_server_arguments, describe_device, free_tcp_port,
                          git_commit, histogram_quantile, last_line, leak_sample, loadavg, machine_cpu, now,
                          other_load, parse_metrics, percentile, proc_cpu_seconds, rnd, serve_command, stop_process,
                          udp_range_free, ms, write_results)

TOKEN = "serve-cycles-token"


# ---- the RTSP test server ---------------------------------------------------------------------------------------

class RTSPServer:
    """scripts/rtsp-test-server.pl on loopback, fed by ffmpeg publishing the clip looped in real time."""

    def __init__(self, clip, sessions, folder, size=None):
        self.clip = clip
        self.size = size
        self.folder = folder
        self.client_port = free_tcp_port()
        self.source_port = free_tcp_port()
        # RTSP::Server hands out RTP/RTCP port pairs upwards from rtp_start, two per session (the publisher's and
        # every client's), and never reuses them while a mount exists: keep the whole range below the ephemeral
        # ports and free.
        need = 2 * sessions + 64
        self.rtp_start = None
        for start in range(20000, 32768 - need, 2 * 1024):
            if udp_range_free(start, need):
                self.rtp_start = start
                break
        if self.rtp_start is None:
            raise Fail(f"RTSP test server: no free UDP range of {need} ports below 32768 for RTP")
        self.server = None
        self.publisher = None
        self.server_log = os.path.join(folder, "rtsp-server.log")
        self.publisher_log = os.path.join(folder, "rtsp-publisher.log")

    @property
    def url(self):
        return f"rtsp://127.0.0.1:{self.client_port}/live"

    @property
    def publisher_command(self):
        return ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-stream_loop", "-1", "-i",
                self.clip, "-an"] + (["-vf", f"scale={self.size.replace('x', ':')}"] if self.size else []) + [
                "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "5",
                "-bf", "0", "-progress", "pipe:1", "-stats_period", "0.5", "-f", "rtsp",
                f"rtsp://127.0.0.1:{self.source_port}/live"]

    def start(self, timeout=20):
        if shutil.which("perl") is None or shutil.which("ffmpeg") is None:
            raise Fail("RTSP test server cannot start: perl or ffmpeg is not installed (Debian: librtsp-server-perl, "
                       "ffmpeg)")
        probe = subprocess.run(["perl", "-MRTSP::Server", "-MAnyEvent", "-e", "1"], capture_output=True, text=True)
        if probe.returncode != 0:
            raise Fail("RTSP test server cannot start: perl lacks RTSP::Server/AnyEvent (Debian: librtsp-server-perl): "
                       + (probe.stderr.strip().splitlines() or ["?"])[0])
        script = os.path.join(REPO, "scripts", "rtsp-test-server.pl")
        log = open(self.server_log, "w")
        self.server = subprocess.Popen(
            ["perl", script, str(self.client_port), str(self.source_port), str(self.rtp_start)],
            stdout=subprocess.PIPE, stderr=log, text=True)
        listening = threading.Event()

        def read_server():
            for line in self.server.stdout:
                log.write(line)
                log.flush()
                if line.strip() == "listening":
                    listening.set()

        threading.Thread(target=read_server, daemon=True).start()
        deadline = now() + timeout
        while not listening.is_set() and now() < deadline and self.server.poll() is None:
            time.sleep(0.05)
        if not listening.is_set():
            self.stop()
            raise Fail(f"RTSP test server did not start (scripts/rtsp-test-server.pl): {last_line(self.server_log)}")
        plog = open(self.publisher_log, "w")
        self.publisher = subprocess.Popen(self.publisher_command, stdout=subprocess.PIPE, stderr=plog, text=True)
        progress = threading.Event()

        def read_publisher():  # keeps reading, so that ffmpeg never blocks on a full pipe
            for line in self.publisher.stdout:
                if line.startswith("progress="):
                    progress.set()

        threading.Thread(target=read_publisher, daemon=True).start()
        deadline = now() + timeout
        while not progress.is_set() and now() < deadline and self.publisher.poll() is None:
            time.sleep(0.05)
        if not progress.is_set():
            self.stop()
            raise Fail(f"RTSP test server: the ffmpeg publisher did not start: {last_line(self.publisher_log)}")

    def check(self):
        if self.server is not None and self.server.poll() is not None:
            raise Fail(f"the RTSP test server died (exit {self.server.returncode}): {last_line(self.server_log)}")
        if self.publisher is not None and self.publisher.poll() is not None:
            raise Fail(f"the RTSP publisher (ffmpeg) died (exit {self.publisher.returncode}): "
                       f"{last_line(self.publisher_log)}")

    def stop(self):
        for p in (self.publisher, self.server):
            stop_process(p)



class FileRTSPServer:
    """scripts/rtsp_file_server.py on loopback: an H.264 Annex-B file played from its start to every client, in real
    time, as RTP interleaved in the RTSP connection (TCP). For machines without perl's RTSP::Server or the ffmpeg CLI
    (the GPU machine)."""

    rtp_start = None

    def __init__(self, annexb, fps, folder):
        self.annexb = annexb
        self.fps = fps
        self.port = free_tcp_port()
        self.server = None
        self.server_log = os.path.join(folder, "rtsp-file-server.log")

    @property
    def url(self):
        return f"rtsp://127.0.0.1:{self.port}/stream"

    @property
    def publisher_command(self):
        return [sys.executable, os.path.join(REPO, "scripts", "rtsp_file_server.py"), self.annexb, "--port",
                str(self.port), "--fps", str(self.fps)]

    def start(self, timeout=20):
        log = open(self.server_log, "w")
        self.server = subprocess.Popen(self.publisher_command, stdout=log, stderr=subprocess.STDOUT)
        deadline = now() + timeout
        while now() < deadline and self.server.poll() is None:
            if last_line(self.server_log).startswith("rtsp://"):
                return
            time.sleep(0.05)
        self.stop()
        raise Fail(f"RTSP file server did not start (scripts/rtsp_file_server.py): {last_line(self.server_log)}")

    def check(self):
        if self.server is not None and self.server.poll() is not None:
            raise Fail(f"the RTSP file server died (exit {self.server.returncode}): {last_line(self.server_log)}")

    def stop(self):
        stop_process(self.server)


# ---- the benchmark ----------------------------------------------------------------------------------------------

class Bench:
    def __init__(self, args):
        self.args = args
        self.out_lines = []
        self.rtsp = None
        self.server = None
        self.api = None
        self.bg = [f"bg{i}" for i in range(args.background)]
        self.cycles = []
        self.leak = []
        self.timeline = []
        self.anomalies = []
        self.figures = {}
        self.server_exit = None
        self.failure = None
        self.sampler_stop = threading.Event()
        self.sampler_error = None
        self.on_gpu = args.device.startswith("cuda")

    def say(self, text=""):
        print(text, flush=True)
        self.out_lines.append(text)

    def anomaly(self, text):
        if len(self.anomalies) < 200:
            self.anomalies.append(text)
        self.say(f"  note: {text}")

    # --- snapshots of the background streams ---

    def snapshot(self):
        status, data, _ = self.api.request("GET", "/api/v1/streams")
        if status != 200:
            raise Fail(f"GET /api/v1/streams: {status}")
        streams = {s["name"]: s for s in data["streams"]}
        _, text, _ = self.api.request("GET", "/metrics")
        metrics = parse_metrics(text or "")
        snap = {"t": now(), "cpu": proc_cpu_seconds(self.server.pid), "machine": machine_cpu(), "streams": {},
                "tracked": None}
        for name, labels, value in metrics:
            if name == "lookout_tracked_frames_total":
                snap["tracked"] = value
        for name in self.bg:
            s = streams.get(name)
            if s is None:
                raise Fail(f"background stream {name} is gone from GET /api/v1/streams")
            idx = s["index"]
            buckets = {}
            for mname, labels, value in metrics:
                if mname == "lookout_end_to_end_latency_bucket" and labels.get("stream") == str(idx):
                    le = labels.get("le", "")
                    buckets[float("inf") if le == "+Inf" else float(le)] = value
            snap["streams"][name] = {"index": idx, "state": s["state"], "frames": s["frames"], "dropped": s["dropped"],
                                     "api_p50_ms": s["latency_p50_ms"], "api_p99_ms": s["latency_p99_ms"],
                                     "buckets": buckets}
        return snap

    def compare(self, a, b):
        """The background streams between two snapshots."""
        dt = b["t"] - a["t"]
        per = {}
        total_buckets = {}
        for name in self.bg:
            sa, sb = a["streams"][name], b["streams"][name]
            if sa["index"] != sb["index"]:
                self.anomaly(f"{name} changed pipeline index {sa['index']} -> {sb['index']}")
            delta = {le: sb["buckets"].get(le, 0) - sa["buckets"].get(le, 0) for le in sb["buckets"]}
            for le, c in delta.items():
                total_buckets[le] = total_buckets.get(le, 0) + c
            frames = sb["frames"] - sa["frames"]
            per[name] = {
                "frames": frames, "fps": rnd(frames / dt, 3), "dropped": sb["dropped"] - sa["dropped"],
                "latency_p50_ms": rnd(ms(histogram_quantile(0.5, delta)), 1),
                "latency_p99_ms": rnd(ms(histogram_quantile(0.99, delta)), 1),
                "api_latency_p50_ms": sb["api_p50_ms"], "api_latency_p99_ms": sb["api_p99_ms"],
            }
        frames = sum(p["frames"] for p in per.values())
        busy = (b["machine"][0] - a["machine"][0]) / max(1, b["machine"][1] - a["machine"][1])
        tracked = (b["tracked"] - a["tracked"]) if a["tracked"] is not None and b["tracked"] is not None else None
        return {
            "seconds": rnd(dt, 2),
            "frames": frames,
            "fps": rnd(frames / dt, 3),
            "fps_per_stream": rnd(frames / dt / len(self.bg), 3),
            "dropped": sum(p["dropped"] for p in per.values()),
            "latency_p50_ms": rnd(ms(histogram_quantile(0.5, total_buckets)), 1),
            "latency_p99_ms": rnd(ms(histogram_quantile(0.99, total_buckets)), 1),
            "pipeline_fps_all_streams": rnd(tracked / dt, 3) if tracked is not None else None,
            "server_cpu_cores": rnd((b["cpu"] - a["cpu"]) / dt, 3),
            "machine_cpu_busy_pct": rnd(100 * busy, 1),
            "loadavg_end": loadavg(),
            "streams": per,
        }

    # --- phases ---

    def start(self):
        a = self.args
        self.folder = tempfile.mkdtemp(prefix="serve-cycles-")
        self.say(f"work folder {self.folder}")
        if a.rtsp_annexb:
            self.rtsp = FileRTSPServer(a.rtsp_annexb, a.rtsp_fps, self.folder)
            self.rtsp.start()
            self.say(f"RTSP file server {self.rtsp.url} (RTP over the RTSP connection), playing "
                     f"{a.rtsp_annexb} from its start to each client at {a.rtsp_fps} fps")
        else:
            self.rtsp = RTSPServer(a.clip, a.cycles + 4, self.folder, a.rtsp_size)
            self.rtsp.start()
            self.say(f"RTSP test server {self.rtsp.url} (RTP from port {self.rtsp.rtp_start}), publishing "
                     f"{os.path.relpath(a.clip, REPO)} looped")
        config = os.path.join(self.folder, "serve.yaml")
        with open(config, "w") as f:
            f.write("# serve_cycles.py: no stream at start (and so no demo); the streams come through the API\n"
                    "streams: []\n")
        command = serve_command(a, config, os.path.join(self.folder, "events.db"), TOKEN)
        self.command = command
        self.say("$ " + " ".join(command))
        self.server = Server(command, os.path.join(self.folder, "serve.log"), a.start_timeout)
        self.say(f"serving on port {self.server.port} (pid {self.server.pid}); {self.server.device_line or ''}")
        self.api = API(self.server.port, TOKEN)
        for name in self.bg:
            self.api.expect("POST", "/api/v1/streams", 201,
                            {"name": name, "url": a.clip, "loop": True, "live": True})
        deadline = now() + a.start_timeout
        while True:
            self.server.check()
            _, data, _ = self.api.request("GET", "/api/v1/streams")
            states = {s["name"]: s for s in data["streams"]}
            if all(states[n]["state"] == "running" and states[n]["frames"] > 0 for n in self.bg):
                break
            for n in self.bg:
                if states[n]["state"] in ("failed", "ended"):
                    raise Fail(f"background stream {n} {states[n]['state']}: {states[n]['last_error']}")
            if now() > deadline:
                raise Fail(f"background streams not running within {a.start_timeout} s: "
                           + ", ".join(f"{n} {states[n]['state']} {states[n]['frames']} frames" for n in self.bg))
            time.sleep(0.2)
        self.say(f"{len(self.bg)} background streams running; warm-up {a.warmup} s")
        time.sleep(a.warmup)

    def measure_window(self, label):
        a = self.args
        first = self.snapshot()
        end = now() + a.window
        while now() < end:
            self.server.check()
            time.sleep(min(0.5, max(0.0, end - now())))
        result = self.compare(first, self.snapshot())
        self.figures[label] = result
        self.say(f"{label}: background {result['fps']} fps ({result['fps_per_stream']} a stream), latency p50 "
                 f"{result['latency_p50_ms']} ms p99 {result['latency_p99_ms']} ms, {result['dropped']} dropped, "
                 f"machine CPU {result['machine_cpu_busy_pct']}% busy, load {result['loadavg_end']}")
        return result

    def sampler(self):
        """Every --sample-every s during the cycles: the background streams' frame counts (a timeline)."""
        try:
            while not self.sampler_stop.wait(self.args.sample_every):
                status, data, _ = self.api.request("GET", "/api/v1/streams")
                if status != 200:
                    continue
                by = {s["name"]: s for s in data["streams"]}
                self.timeline.append([round(now() - self.cycles_started, 2)]
                                     + [by[n]["frames"] if n in by else None for n in self.bg]
                                     + [len(self.cycles)])
        except Exception as e:  # noqa: BLE001 - reported after the cycles
            self.sampler_error = f"{type(e).__name__}: {e}"

    def checkpoints(self):
        n = self.args.cycles
        warm = min(self.args.leak_warmup, max(1, n // 2))
        points = {warm, n}
        steps = 8
        for k in range(1, steps):
            points.add(warm + round(k * (n - warm) / steps))
        return warm, sorted(p for p in points if 1 <= p <= n)

    def one_cycle(self, i):
        a = self.args
        self.server.check()
        self.rtsp.check()
        log_mark = self.server.line_count()
        t0 = now()
        status, data, post_s = self.api.request("POST", "/api/v1/streams", {"name": a.name, "url": self.rtsp.url})
        if status != 201:
            raise Fail(f"cycle {i}: POST /api/v1/streams {{name: {a.name}}}: expected 201, got {status}: "
                       f"{str(data)[:200]}")
        index = data.get("index")
        opened = None
        running = None
        polls = 0
        while True:
            status, s, _ = self.api.request("GET", f"/api/v1/streams/{a.name}")
            polls += 1
            t = now()
            if status != 200:
                raise Fail(f"cycle {i}: GET /api/v1/streams/{a.name}: expected 200, got {status}: {str(s)[:200]}")
            if s["state"] == "running" and opened is None:
                opened = t - t0
            if s["state"] == "running" and s["frames"] > 0:
                running = t - t0
                break
            if s["state"] in ("failed", "ended"):
                raise Fail(f"cycle {i}: the stream {s['state']} before running: {s['last_error']}")
            if t - t0 > a.add_timeout:
                self.server.check()
                self.rtsp.check()
                raise Fail(f"cycle {i}: not running within {a.add_timeout} s (state {s['state']}, {s['frames']} "
                           f"frames, last_error {s['last_error']})")
            time.sleep(a.poll)
        if s.get("index") != index:
            self.anomaly(f"cycle {i}: index {index} at POST, {s.get('index')} when running")
            index = s.get("index")
        frames = s["frames"]
        t1 = now()
        status, body, delete_s = self.api.request("DELETE", f"/api/v1/streams/{a.name}")
        if status != 204:
            raise Fail(f"cycle {i}: DELETE /api/v1/streams/{a.name}: expected 204, got {status}: {str(body)[:200]}")
        status, body, _ = self.api.request("GET", f"/api/v1/streams/{a.name}")
        if status != 404:
            self.anomaly(f"cycle {i}: GET /api/v1/streams/{a.name} right after DELETE answered {status}, not 404")
        series = f'lookout_frames_total{{stream="{index}",'
        ended_pattern = rf"^stream {index} \({re.escape(a.name)}\): (ended|failed)"
        gone = None
        logged = None
        while gone is None or logged is None:
            t = now()
            if gone is None:
                status, text, _ = self.api.request("GET", "/metrics")
                if status != 200:
                    raise Fail(f"cycle {i}: GET /metrics: {status}")
                if series not in (text or ""):
                    gone = now() - t1
            if logged is None:
                found = self.server.find_line(ended_pattern, log_mark)
                if found:
                    logged = found[0] - t1
                    if found[1].split(": ", 1)[1].startswith("failed"):
                        self.anomaly(f"cycle {i}: {found[1]}")
            if gone is not None and logged is not None:
                break
            if t - t1 > a.remove_timeout:
                self.server.check()
                what = [] if gone is not None else [f"its series {series}…}} still in /metrics"]
                what += [] if logged is not None else ["no 'ended' line on stderr"]
                raise Fail(f"cycle {i}: stream {index} not removed within {a.remove_timeout} s ({'; '.join(what)})")
            time.sleep(a.poll)
        return [i, index, rnd(post_s), rnd(opened), rnd(running), frames, rnd(delete_s), rnd(gone), rnd(logged),
                polls]

    def run_cycles(self):
        a = self.args
        warm, points = self.checkpoints()
        self.leak_warm = warm
        self.say(f"{a.cycles} cycles; leak samples after cycles {points}")
        self.cycles_started = now()
        self.leak.append(dict(leak_sample(self.server.pid, 0, self.on_gpu), label="before the cycles"))
        first = self.snapshot()
        thread = threading.Thread(target=self.sampler, daemon=True)
        thread.start()
        report_every = max(1, min(50, a.cycles // 20))
        try:
            for i in range(1, a.cycles + 1):
                row = self.one_cycle(i)
                self.cycles.append(row)
                if i in points:
                    self.leak.append(leak_sample(self.server.pid, i, self.on_gpu))
                if i % report_every == 0 or i == a.cycles:
                    recent = self.cycles[-report_every:]
                    elapsed = now() - self.cycles_started
                    last = self.leak[-1]
                    self.say(f"  cycle {i:5d}  {elapsed:7.1f} s  add→running p50 "
                             f"{percentile([r[4] for r in recent], 0.5):.3f} s  removed p50 "
                             f"{percentile([r[7] for r in recent], 0.5):.3f} s  (RSS {last['rss_kib'] / 1024:.1f} MiB, "
                             f"{last['fds']} fds, {last['threads']} threads at cycle {last['cycle']})")
                if a.max_minutes and now() - self.cycles_started > a.max_minutes * 60 and i < a.cycles:
                    self.anomaly(f"stopped after {i} cycles: --max-minutes {a.max_minutes} reached")
                    if not self.leak or self.leak[-1]["cycle"] != i:
                        self.leak.append(leak_sample(self.server.pid, i, self.on_gpu))
                    break
        finally:
            self.sampler_stop.set()
            thread.join(5)
        self.figures["during"] = self.compare(first, self.snapshot())
        r = self.figures["during"]
        self.say(f"during: background {r['fps']} fps ({r['fps_per_stream']} a stream), latency p50 "
                 f"{r['latency_p50_ms']} ms p99 {r['latency_p99_ms']} ms, {r['dropped']} dropped, machine CPU "
                 f"{r['machine_cpu_busy_pct']}% busy, load {r['loadavg_end']}")
        if self.sampler_error:
            self.anomaly(f"the timeline sampler stopped: {self.sampler_error}")

    def settle_sample(self):
        """Once more after a pause with no cycle: what stays after the last stream has gone."""
        time.sleep(self.args.settle)
        self.server.check()
        self.leak.append(dict(leak_sample(self.server.pid, len(self.cycles), self.on_gpu),
                              label=f"{self.args.settle} s after the last cycle"))

    def stop(self):
        if self.server is not None:
            self.server_exit = self.server.stop(self.args.stop_timeout)
            tail = [line for _, line in self.server.lines[-3:]]
            self.say(f"lookout serve stopped on SIGTERM: exit {self.server_exit}; last lines: {tail}")
        if self.rtsp is not None:
            self.rtsp.stop()

    # --- results ---

    def summarize(self):
        f = {}
        rows = self.cycles
        col = {name: k for k, name in enumerate(CYCLE_FIELDS)}

        def stats(key):
            v = [r[col[key]] for r in rows if r[col[key]] is not None]
            if not v:
                return None
            return {"p50": rnd(percentile(v, 0.5)), "p95": rnd(percentile(v, 0.95)), "p99": rnd(percentile(v, 0.99)),
                    "max": rnd(max(v)), "min": rnd(min(v)), "mean": rnd(sum(v) / len(v))}

        f["cycles_done"] = len(rows)
        for key in ("add_post_s", "add_to_opened_s", "add_to_running_s", "delete_response_s", "removed_s",
                    "removed_log_s"):
            f[key] = stats(key)
        if rows:
            f["add_to_running_within_2s_pct"] = rnd(100 * sum(r[col["add_to_running_s"]] <= 2.0 for r in rows)
                                                    / len(rows), 2)
            f["removed_within_1s_pct"] = rnd(100 * sum(r[col["removed_s"]] <= 1.0 for r in rows) / len(rows), 2)
            f["frames_at_delete"] = stats("frames_at_delete")
            if len(rows) >= 20:
                tenth = max(1, len(rows) // 10)
                f["add_to_running_p50_first_tenth_s"] = rnd(percentile([r[col["add_to_running_s"]]
                                                                        for r in rows[:tenth]], 0.5))
                f["add_to_running_p50_last_tenth_s"] = rnd(percentile([r[col["add_to_running_s"]]
                                                                       for r in rows[-tenth:]], 0.5))
                f["removed_p50_first_tenth_s"] = rnd(percentile([r[col["removed_s"]] for r in rows[:tenth]], 0.5))
                f["removed_p50_last_tenth_s"] = rnd(percentile([r[col["removed_s"]] for r in rows[-tenth:]], 0.5))
        base = next((s for s in self.leak if s["cycle"] == self.leak_warm and "label" not in s), None)
        end = next((s for s in reversed(self.leak) if "label" not in s), None)
        settled = next((s for s in reversed(self.leak) if s.get("label", "").endswith("after the last cycle")), None)
        if base and end:
            def growth(key, sample):
                if sample is None or base[key] is None or sample[key] is None:
                    return None
                return {"at_warm": base[key], "at_end": sample[key], "delta": rnd(sample[key] - base[key], 3),
                        "growth_pct": rnd(100 * (sample[key] - base[key]) / base[key], 3) if base[key] else None}
            f["leak"] = {"from_cycle": base["cycle"], "to_cycle": end["cycle"]}
            for key in ("rss_kib", "fds", "threads", "device_memory_mib"):
                f["leak"][key] = growth(key, end)
            if settled:
                f["leak_settled"] = {key: growth(key, settled) for key in ("rss_kib", "fds", "threads",
                                                                          "device_memory_mib")}
                f["leak_settled"]["seconds_after"] = self.args.settle
            # RSS slope over the samples from warm on (KiB a cycle): a steady leak shows as a positive slope
            pts = [(s["cycle"], s["rss_kib"]) for s in self.leak if "label" not in s and s["cycle"] >= base["cycle"]]
            if len(pts) >= 3:
                mx = sum(p[0] for p in pts) / len(pts)
                my = sum(p[1] for p in pts) / len(pts)
                den = sum((p[0] - mx) ** 2 for p in pts)
                f["leak"]["rss_slope_kib_per_cycle"] = rnd(sum((p[0] - mx) * (p[1] - my) for p in pts) / den, 3) \
                    if den else None
        b, d = self.figures.get("before"), self.figures.get("during")
        if b and d:
            f["background_fps_ratio"] = rnd(d["fps"] / b["fps"], 3) if b["fps"] else None
            f["background_latency_p50_ratio"] = (rnd(d["latency_p50_ms"] / b["latency_p50_ms"], 3)
                                                 if b["latency_p50_ms"] and d["latency_p50_ms"] else None)
            f["background_latency_p99_ratio"] = (rnd(d["latency_p99_ms"] / b["latency_p99_ms"], 3)
                                                 if b["latency_p99_ms"] and d["latency_p99_ms"] else None)
        after = self.figures.get("after")
        if b and after and b["fps"]:
            f["background_fps_ratio_after"] = rnd(after["fps"] / b["fps"], 3)
        self.summary = f
        self.criteria = self.judge(f)

    def judge(self, f):
        a = self.args
        out = []

        def add(name, ok, measured):
            out.append({"criterion": name, "met": ok, "measured": measured})

        if f.get("add_to_running_s"):
            add("a camera added is running within 2 s (every cycle)", f["add_to_running_s"]["max"] <= 2.0,
                f"max {f['add_to_running_s']['max']} s, p95 {f['add_to_running_s']['p95']} s, "
                f"{f['add_to_running_within_2s_pct']}% within 2 s")
            add("removed within 1 s (every cycle)", f["removed_s"]["max"] <= 1.0,
                f"max {f['removed_s']['max']} s (DELETE answered in max {f['delete_response_s']['max']} s)")
        leak = f.get("leak")
        if leak:
            if leak.get("rss_kib"):
                add(f"RSS: no growth beyond {a.rss_tolerance_pct}% from cycle {leak['from_cycle']} to the end",
                    leak["rss_kib"]["growth_pct"] <= a.rss_tolerance_pct,
                    f"{leak['rss_kib']['growth_pct']:+.2f}% ({leak['rss_kib']['delta']:+d} KiB)")
            for key in ("fds", "threads"):
                if leak.get(key):
                    add(f"{key}: none left over", leak[key]["delta"] <= 0, f"{leak[key]['delta']:+d}")
            if leak.get("device_memory_mib"):
                add("device memory: no growth", leak["device_memory_mib"]["delta"] <= 0,
                    f"{leak['device_memory_mib']['delta']:+.0f} MiB")
        if f.get("background_fps_ratio") is not None:
            add(f"background streams' frame rate unaffected (during/before ≥ {a.fps_tolerance})",
                f["background_fps_ratio"] >= a.fps_tolerance, f"{f['background_fps_ratio']}")
        if f.get("background_latency_p50_ratio") is not None:
            add(f"background streams' latency unaffected (p50 during/before ≤ {a.latency_tolerance})",
                f["background_latency_p50_ratio"] <= a.latency_tolerance, f"{f['background_latency_p50_ratio']}")
        return out

    def table(self):
        f = self.summary
        lines = []

        def row(label, value):
            lines.append(f"| {label} | {value} |")

        def s3(x):
            return "?" if x is None else f"{x:.3f}"

        lines += ["| measure | value |", "| --- | --- |"]
        row("cycles", f"{f['cycles_done']} of {self.args.cycles}")
        if f.get("add_to_running_s"):
            r = f["add_to_running_s"]
            row("add → running (s) p50 / p95 / max", f"{s3(r['p50'])} / {s3(r['p95'])} / {s3(r['max'])}")
            o = f["add_to_opened_s"]
            row("add → opened (state running) p50 / max", f"{s3(o['p50'])} / {s3(o['max'])}" if o else "?")
            p = f["add_post_s"]
            row("POST response (s) p50 / max", f"{s3(p['p50'])} / {s3(p['max'])}")
            d = f["delete_response_s"]
            row("DELETE response (s) p50 / max", f"{s3(d['p50'])} / {s3(d['max'])}")
            m = f["removed_s"]
            row("removed: metrics gone (s) p50 / p95 / max", f"{s3(m['p50'])} / {s3(m['p95'])} / {s3(m['max'])}")
            lg = f["removed_log_s"]
            row("removed: 'ended' on stderr (s) p50 / max", f"{s3(lg['p50'])} / {s3(lg['max'])}" if lg else "?")
            row("within 2 s / within 1 s", f"{f['add_to_running_within_2s_pct']}% / {f['removed_within_1s_pct']}%")
        leak = f.get("leak")
        if leak:
            c0, c1 = leak["from_cycle"], leak["to_cycle"]
            for key, label, unit in (("rss_kib", "RSS", "MiB"), ("fds", "open fds", ""), ("threads", "threads", ""),
                                     ("device_memory_mib", "device memory", "MiB")):
                g = leak.get(key)
                if g is None:
                    row(f"{label} at cycle {c0} → {c1}", "n/a")
                    continue
                if key == "rss_kib":
                    text = f"{g['at_warm'] / 1024:.1f} → {g['at_end'] / 1024:.1f} MiB ({g['growth_pct']:+.2f}%)"
                else:
                    text = f"{g['at_warm']:g} → {g['at_end']:g}{' ' + unit if unit else ''} ({g['growth_pct']:+.2f}%)"
                row(f"{label} at cycle {c0} → {c1}", text)
            if leak.get("rss_slope_kib_per_cycle") is not None:
                row("RSS slope over the samples", f"{leak['rss_slope_kib_per_cycle']:+.2f} KiB a cycle")
            st = f.get("leak_settled")
            if st and st.get("rss_kib"):
                row(f"{st['seconds_after']} s after the last cycle: RSS / fds / threads",
                    f"{st['rss_kib']['at_end'] / 1024:.1f} MiB ({st['rss_kib']['growth_pct']:+.2f}%) / "
                    f"{st['fds']['at_end']} / {st['threads']['at_end']}")
        b, d, af = self.figures.get("before"), self.figures.get("during"), self.figures.get("after")
        if b and d:
            row(f"background fps ({len(self.bg)} streams) before / during / ratio",
                f"{b['fps']:.2f} / {d['fps']:.2f} / {f['background_fps_ratio']}")
            row("background latency p50 (ms) before / during",
                f"{b['latency_p50_ms']} / {d['latency_p50_ms']} (ratio {f['background_latency_p50_ratio']})")
            row("background latency p99 (ms) before / during", f"{b['latency_p99_ms']} / {d['latency_p99_ms']}")
            row("background dropped before / during",
                f"{b['dropped']} in {b['seconds']} s / {d['dropped']} in {d['seconds']} s")
            row("pipeline fps, all streams, before / during",
                f"{b['pipeline_fps_all_streams']} / {d['pipeline_fps_all_streams']}")
            row("machine CPU busy before / during", f"{b['machine_cpu_busy_pct']}% / {d['machine_cpu_busy_pct']}%")
        if af:
            row("after the cycles: background fps / latency p50",
                f"{af['fps']:.2f} ({f.get('background_fps_ratio_after')}× before) / {af['latency_p50_ms']} ms")
        row("server exit on SIGTERM", str(self.server_exit))
        return lines

    def write(self, started_wall, start_load, others, commit):
        a = self.args
        device, driver, tag = describe_device(a.device)
        date = datetime.datetime.fromtimestamp(started_wall, datetime.timezone.utc)
        path = a.json
        if path is None:
            folder = os.path.join(REPO, "bench", "results", "runs", "serve")
            os.makedirs(folder, exist_ok=True)
            base = f"serve-cycles-{tag}-{date:%Y-%m-%d}"
            path = os.path.join(folder, base + ".json")
            letter = ord("b")
            while os.path.exists(path):
                path = os.path.join(folder, f"{base}-{chr(letter)}.json")
                letter += 1
        settings = {k: v for k, v in vars(a).items() if k != "json"}
        settings["clip"] = os.path.relpath(a.clip, REPO) if a.clip.startswith(REPO) else a.clip
        settings["model"] = (os.path.relpath(a.model, REPO) if a.model and a.model.startswith(REPO) else a.model)
        doc = {
            "benchmark": "serve-cycles",
            "commit": commit,
            "device": device,
            "driver": driver,
            "date": f"{date:%Y-%m-%dT%H:%M:%SZ}",
            "result": "failed: " + self.failure if self.failure else "completed",
            "settings": settings,
            "binary": {"path": a.binary, "modified": datetime.datetime.fromtimestamp(
                os.path.getmtime(a.binary), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
                if os.path.exists(a.binary) else None, "build": a.build},
            "server_command": [TOKEN_MASK if x == TOKEN else x for x in getattr(self, "command", [])],
            "server_device_line": self.server.device_line if self.server else None,
            "rtsp": {"url": self.rtsp.url if self.rtsp else None,
                     "server": ("scripts/rtsp_file_server.py (RTP interleaved over TCP)" if a.rtsp_annexb
                                else "scripts/rtsp-test-server.pl (RTSP::Server, RTP over UDP)"),
                     "publisher": self.rtsp.publisher_command if self.rtsp else None},
            "load": {"loadavg_at_start": start_load, "busiest_processes_at_start": others,
                     "loadavg_at_end": loadavg(), "cpus": os.cpu_count()},
            "criteria": getattr(self, "criteria", []),
            "summary": getattr(self, "summary", {}),
            "background": self.figures,
            "leak_samples": self.leak,
            "server_exit": self.server_exit,
            "anomalies": self.anomalies,
            "cycle_fields": CYCLE_FIELDS,
            "cycles": self.cycles,
            "timeline_fields": ["seconds"] + [f"{n}_frames" for n in self.bg] + ["cycles_done"],
            "timeline": self.timeline,
        }
        return write_results(path, doc, self.out_lines)


CYCLE_FIELDS = ["cycle", "index", "add_post_s", "add_to_opened_s", "add_to_running_s", "frames_at_delete",
                "delete_response_s", "removed_s", "removed_log_s", "polls"]




def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[1], formatter_class=argparse.RawTextHelpFormatter)
    add_server_arguments(ap, "the RTSP source's and the background streams' clip",
                         "lookout serve --model (default: Models/shapes-yolov8n.onnx; '' for the server's default)")
    ap.add_argument("--build", default=None, help="debug or release (default: from the binary's path)")
    ap.add_argument("--rtsp-size", default=None, help="WxH: the RTSP camera scaled to this size (default: the clip's)")
    ap.add_argument("--rtsp-annexb", default=None, help="an H.264 Annex-B file: the RTSP camera is\n"
                    "scripts/rtsp_file_server.py playing it (no perl, no ffmpeg; the GPU machine)")
    ap.add_argument("--rtsp-fps", type=int, default=30, help="--rtsp-annexb's frame rate (default 30)")
    ap.add_argument("--background", type=int, default=2, help="background streams (paced looping files; default 2)")
    ap.add_argument("--cycles", type=int, default=1000, help="add/remove cycles (default 1000)")
    ap.add_argument("--name", default="cyc", help="the cycled stream's name (default cyc)")
    ap.add_argument("--window", type=float, default=10.0, help="seconds of the before and after windows (default 10)")
    ap.add_argument("--warmup", type=float, default=5.0, help="seconds after the background streams run before the "
                                                              "'before' window (default 5)")
    ap.add_argument("--poll", type=float, default=0.02, help="polling interval in s (default 0.02)")
    ap.add_argument("--leak-warmup", type=int, default=50, help="the cycle whose sample is the leak baseline "
                                                                "(default 50; at most half the cycles)")
    ap.add_argument("--settle", type=float, default=5.0, help="s after the last cycle for one more leak sample")
    ap.add_argument("--sample-every", type=float, default=2.0, help="s between the timeline's samples (default 2)")
    ap.add_argument("--add-timeout", type=float, default=30.0, help="a cycle fails when not running by then (s)")
    ap.add_argument("--remove-timeout", type=float, default=30.0, help="a cycle fails when not removed by then (s)")
    ap.add_argument("--start-timeout", type=float, default=120.0, help="s for 'serving on', and then for the background "
                                                                       "streams to run (default 120)")
    ap.add_argument("--stop-timeout", type=float, default=120.0, help="s for the exit after SIGTERM (default 120)")
    ap.add_argument("--max-minutes", type=float, default=None, help="stop the cycles after this many minutes")
    ap.add_argument("--rss-tolerance-pct", type=float, default=2.0, help="RSS growth counted as no leak (default 2)")
    ap.add_argument("--fps-tolerance", type=float, default=0.9, help="background fps during/before counted as "
                                                                     "unaffected (default 0.9)")
    ap.add_argument("--latency-tolerance", type=float, default=1.25, help="background latency p50 during/before "
                                                                          "counted as unaffected (default 1.25)")
    ap.add_argument("--json", default=None, help="where the JSON goes (default: bench/results/runs/serve/"
                                                 "serve-cycles-<device>-<date>.json, .txt beside it)")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a criterion is not met")
    args = ap.parse_args()
    args.binary = os.path.abspath(args.binary)
    args.clip = os.path.abspath(args.clip)
    args.model = os.path.abspath(args.model) if args.model else None
    if args.build is None:
        args.build = "release" if "/release/" in args.binary else "debug" if "/debug/" in args.binary else "unknown"
    if not os.access(args.binary, os.X_OK):
        print(f"serve_cycles: no executable {args.binary} (build it, or give --binary)", file=sys.stderr)
        return 2
    if not os.path.exists(args.clip):
        print(f"serve_cycles: no clip {args.clip}", file=sys.stderr)
        return 2
    if args.rtsp_annexb:
        args.rtsp_annexb = os.path.abspath(args.rtsp_annexb)
        if not os.path.exists(args.rtsp_annexb):
            print(f"serve_cycles: no Annex-B file {args.rtsp_annexb}", file=sys.stderr)
            return 2
    if args.cycles < 1 or args.background < 0:
        print("serve_cycles: --cycles must be ≥ 1 and --background ≥ 0", file=sys.stderr)
        return 2

    bench = Bench(args)
    started_wall = time.time()
    start_load = loadavg()
    others = other_load()
    commit = git_commit()  # at the start: the checkout may move on while it runs
    bench.say(f"serve_cycles: {args.cycles} cycles, {args.background} background streams, device {args.device}, "
              f"binary {args.binary} ({args.build}); load average {start_load}")
    interrupted = False

    def on_term(signum, frame):  # noqa: ARG001
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        bench.start()
        if args.background:
            bench.measure_window("before")
        bench.run_cycles()
        bench.settle_sample()
        if args.background:
            bench.measure_window("after")
    except Fail as e:
        bench.failure = str(e)
    except KeyboardInterrupt:
        bench.failure = "interrupted"
        interrupted = True
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # stopping: a second SIGTERM (timeout's) waits
        try:
            bench.stop()
        except Exception as e:  # noqa: BLE001
            bench.failure = bench.failure or f"stopping: {type(e).__name__}: {e}"
    if bench.failure is None and bench.server_exit != 0:
        bench.failure = (f"lookout serve exited {bench.server_exit} on SIGTERM" if bench.server_exit is not None
                         else f"lookout serve did not exit within {args.stop_timeout} s of SIGTERM (killed)")
    if not hasattr(bench, "leak_warm"):
        bench.leak_warm = None
    bench.summarize()
    if bench.cycles or bench.figures:
        bench.say("")
        for line in bench.table():
            bench.say(line)
    if bench.criteria:
        bench.say("")
        for c in bench.criteria:
            bench.say(f"{'met    ' if c['met'] else 'NOT MET'}  {c['criterion']}: {c['measured']}")
    if bench.failure:
        bench.say(f"serve_cycles: FAILED: {bench.failure}")
    if bench.cycles or bench.figures:  # nothing measured (it failed while starting): no file, the reason only
        path, txt = bench.write(started_wall, start_load, others, commit)
        print(f"wrote {os.path.relpath(path)} and {os.path.relpath(txt)}", flush=True)
    if bench.failure:
        print(f"serve_cycles: {bench.failure}", file=sys.stderr)
        return 130 if interrupted else 1
    if args.strict and not all(c["met"] for c in bench.criteria):
        print("serve_cycles: criteria not met: " + "; ".join(c["criterion"] for c in bench.criteria if not c["met"]),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
