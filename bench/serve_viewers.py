#!/usr/bin/env python3
"""What MJPEG viewers cost `lookout serve`'s pipeline: the acceptance point, measured.

    python3 bench/serve_viewers.py --binary /tmp/lookout --device cuda --streams 32 --viewers 50 \\
        --clip Tests/Fixtures/video/shapes-1080p.mp4

"With 32 streams running, 50 concurrent MJPEG viewers (some reading slowly) cost the pipeline ≤ 5% of its fps."

What it does (Python 3.11, standard library and bench/serve_common.py):
  1. starts `lookout serve --config TMP/serve.yaml --port 0 --token T --db TMP/events.db --device DEVICE` (the
     config holds `streams: []`) and adds --streams streams sN = --clip as looping files (POST /api/v1/streams
     {"loop": true, "live": true}: paced at the clip's rate like cameras; with --unpaced "live": false, each as fast
     as the pipeline goes, so that what the viewers cost shows as lost fps rather than being hidden under the
     sources' rate); waits until every one runs, then --warmup seconds;
  2. "before": --window seconds with no viewer: the pipeline's fps (the delta of the streams' "frames" in GET
     /api/v1/streams over the window), the end-to-end latency (the per-stream lookout_end_to_end_latency histograms
     of /metrics, summed, p50/p99 as Prometheus' histogram_quantile), the server's CPU (utime + stime from
     /proc/PID/stat, in cores), the machine's CPU;
  3. "viewers": --viewers clients of GET /api/v1/streams/{name}/mjpeg spread round-robin over the streams, each its
     own socket and thread; every third (--slow-every) reads slowly: a --slow-rcvbuf-byte receive buffer and one
     part every --slow-interval s; the others read as fast as parts come. Once every viewer has had its first part
     (--viewer-timeout), --viewer-warmup seconds, then the same --window figures plus each viewer's parts a second
     and the MJPEG bytes read;
  4. the viewers close; "after": another --window with none (the drift: before and after should agree);
  5. SIGTERM, the exit status (0 expected); a table, the criterion (viewers' fps / before's fps ≥ 1 - --max-cost),
     JSON (default bench/results/runs/serve/serve-viewers-<device>-<UTC date>[-b…].json, the console output beside
     it as .txt), written again after every phase so that a run cut off keeps what it had;
  6. exits 1 with a one-line reason when the server dies, a stream fails, a viewer never gets a frame or the server
     does not exit 0 on SIGTERM; the server is always stopped. The criterion not met is reported, not an exit
     status, unless --strict.
"""

from __future__ import annotations

import argparse
import datetime
import os
import signal
import socket
import sys
import tempfile
import threading
import time

from serve_common import (API, REPO, TOKEN_MASK, Fail, Server, add_server_arguments, describe_device, git_commit,
                          histogram_quantile, loadavg, machine_cpu, ms, now, parse_metrics, percentile,
                          proc_cpu_seconds, rnd, serve_command, write_results)

TOKEN = "serve-viewers-token"


class Viewer:
    """One MJPEG client on its own socket and thread: counts the parts (JPEG frames) and bytes it reads."""

    def __init__(self, number, port, stream, slow, args):
        self.number = number
        self.port = port
        self.stream = stream
        self.slow = slow
        self.args = args
        self.parts = 0
        self.bytes = 0
        self.first_part = None
        self.error = None
        self.stop = threading.Event()
        self.sock = None
        self.thread = threading.Thread(target=self.run, daemon=True, name=f"viewer{number}")

    def run(self):
        try:
            self.read()
        except Exception as e:  # noqa: BLE001 - kept as the viewer's error, unless it was told to stop
            if not self.stop.is_set():
                self.error = f"{type(e).__name__}: {e}"

    def read(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock = s
        if self.slow:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.args.slow_rcvbuf)
        s.settimeout(self.args.viewer_timeout)
        s.connect(("127.0.0.1", self.port))
        s.sendall(f"GET /api/v1/streams/{self.stream}/mjpeg HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  f"Authorization: Bearer {TOKEN}\r\n\r\n".encode())
        chunk = 4096 if self.slow else 65536
        buf = b""

        def more():
            nonlocal buf
            data = s.recv(chunk)
            if not data:
                raise Fail("the server closed the connection")
            buf += data
            self.bytes += len(data)

        while b"\r\n\r\n" not in buf:
            more()
        head, buf = buf.split(b"\r\n\r\n", 1)
        status = head.split(b"\r\n", 1)[0].decode(errors="replace")
        if " 200 " not in status + " ":
            raise Fail(f"answered {status!r}")
        while not self.stop.is_set():
            # A part: "--lookout-frame\r\nContent-Type: image/jpeg\r\nContent-Length: N\r\n\r\n<N bytes>\r\n",
            # inside an HTTP chunk when the response is chunked: the next part's headers are found by searching, so
            # the chunk framing between parts is skipped (and counted in the bytes read).
            while b"Content-Length:" not in buf or b"\r\n\r\n" not in buf[buf.index(b"Content-Length:"):]:
                more()
            at = buf.index(b"Content-Length:")
            end = buf.index(b"\r\n", at)
            size = int(buf[at + len(b"Content-Length:"):end].strip())
            body_start = buf.index(b"\r\n\r\n", at) + 4
            need = body_start + size
            while len(buf) < need:
                more()
            buf = buf[body_start + size:]
            self.parts += 1
            if self.first_part is None:
                self.first_part = now()
            if self.slow:
                self.stop.wait(self.args.slow_interval)

    def close(self):
        self.stop.set()
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()


class Bench:
    def __init__(self, args):
        self.args = args
        self.out_lines = []
        self.server = None
        self.api = None
        self.names = [f"s{i}" for i in range(args.streams)]
        self.viewers = []
        self.windows = {}
        self.viewer_figures = None
        self.without_frame = []
        self.server_exit = None
        self.failure = None
        self.summary = {}
        self.criteria = []
        self.path = None

    def say(self, text=""):
        print(text, flush=True)
        self.out_lines.append(text)

    def snapshot(self):
        status, data, _ = self.api.request("GET", "/api/v1/streams")
        if status != 200:
            raise Fail(f"GET /api/v1/streams: {status}")
        by = {s["name"]: s for s in data["streams"]}
        for n in self.names:
            if n not in by:
                raise Fail(f"stream {n} is gone from GET /api/v1/streams")
            if by[n]["state"] in ("failed", "ended"):
                raise Fail(f"stream {n} {by[n]['state']}: {by[n]['last_error']}")
        _, text, _ = self.api.request("GET", "/metrics")
        buckets = {}
        for name, labels, value in parse_metrics(text or ""):
            if name == "lookout_end_to_end_latency_bucket":
                le = labels.get("le", "")
                key = float("inf") if le == "+Inf" else float(le)
                buckets[key] = buckets.get(key, 0) + value
        return {"t": now(), "frames": sum(by[n]["frames"] for n in self.names),
                "dropped": sum(by[n]["dropped"] for n in self.names), "cpu": proc_cpu_seconds(self.server.pid),
                "machine": machine_cpu(), "buckets": buckets,
                "viewer_parts": [v.parts for v in self.viewers], "viewer_bytes": [v.bytes for v in self.viewers]}

    def window(self, label):
        a = self.args
        first = self.snapshot()
        end = now() + a.window
        while now() < end:
            self.server.check()
            time.sleep(min(0.5, max(0.0, end - now())))
        last = self.snapshot()
        dt = last["t"] - first["t"]
        delta = {le: c - first["buckets"].get(le, 0) for le, c in last["buckets"].items()}
        busy = (last["machine"][0] - first["machine"][0]) / max(1, last["machine"][1] - first["machine"][1])
        w = {"seconds": rnd(dt, 2), "frames": last["frames"] - first["frames"],
             "fps": rnd((last["frames"] - first["frames"]) / dt, 2),
             "dropped": last["dropped"] - first["dropped"],
             "latency_p50_ms": rnd(ms(histogram_quantile(0.5, delta)), 1),
             "latency_p99_ms": rnd(ms(histogram_quantile(0.99, delta)), 1),
             "server_cpu_cores": rnd((last["cpu"] - first["cpu"]) / dt, 3),
             "machine_cpu_busy_pct": rnd(100 * busy, 1), "loadavg_end": loadavg()}
        if self.viewers:
            rates = [(b - c) / dt for b, c in zip(last["viewer_parts"], first["viewer_parts"])]
            read = sum(last["viewer_bytes"]) - sum(first["viewer_bytes"])
            fast = [r for r, v in zip(rates, self.viewers) if not v.slow]
            slow = [r for r, v in zip(rates, self.viewers) if v.slow]
            w["viewers"] = len(self.viewers)
            w["mjpeg_bytes"] = read
            w["mjpeg_mbit_s"] = rnd(8 * read / dt / 1e6, 2)
            w["viewer_fps"] = [rnd(r, 2) for r in rates]
            for key, group in (("fast", fast), ("slow", slow)):
                w[f"{key}_viewer_fps"] = ({"n": len(group), "p50": rnd(percentile(group, 0.5), 2),
                                           "min": rnd(min(group), 2), "max": rnd(max(group), 2)} if group else None)
        self.windows[label] = w
        text = (f"{label}: pipeline {w['fps']} fps ({rnd(w['fps'] / len(self.names), 2)} a stream), latency p50 "
                f"{w['latency_p50_ms']} ms p99 {w['latency_p99_ms']} ms, {w['dropped']} dropped, server CPU "
                f"{w['server_cpu_cores']} cores, machine {w['machine_cpu_busy_pct']}% busy")
        if self.viewers:
            fast, slow = (w["fast_viewer_fps"] or {}).get("p50"), (w["slow_viewer_fps"] or {}).get("p50")
            text += (f"; {len(self.viewers)} viewers read {w['mjpeg_mbit_s']} Mbit/s, fast p50 {fast} fps, "
                     f"slow p50 {slow}")
        self.say(text)
        return w

    def start(self):
        a = self.args
        self.folder = tempfile.mkdtemp(prefix="serve-viewers-")
        self.say(f"work folder {self.folder}")
        config = os.path.join(self.folder, "serve.yaml")
        with open(config, "w") as f:
            f.write("# serve_viewers.py: no stream at start; the streams come through the API\nstreams: []\n")
        command = serve_command(a, config, os.path.join(self.folder, "events.db"), TOKEN)
        self.command = command
        self.say("$ " + " ".join(command))
        self.server = Server(command, os.path.join(self.folder, "serve.log"), a.start_timeout)
        self.say(f"serving on port {self.server.port} (pid {self.server.pid}); {self.server.device_line or ''}")
        self.api = API(self.server.port, TOKEN)
        for name in self.names:
            self.api.expect("POST", "/api/v1/streams", 201,
                            {"name": name, "url": a.clip, "loop": True, "live": not a.unpaced})
        deadline = now() + a.start_timeout
        while True:
            self.server.check()
            _, data, _ = self.api.request("GET", "/api/v1/streams")
            states = {s["name"]: s for s in data["streams"]}
            if all(states[n]["state"] == "running" and states[n]["frames"] > 0 for n in self.names):
                break
            for n in self.names:
                if states[n]["state"] in ("failed", "ended"):
                    raise Fail(f"stream {n} {states[n]['state']}: {states[n]['last_error']}")
            if now() > deadline:
                waiting = [n for n in self.names if states[n]["state"] != "running" or states[n]["frames"] == 0]
                raise Fail(f"{len(waiting)} of {len(self.names)} streams not running within {a.start_timeout} s")
            time.sleep(0.2)
        self.say(f"{len(self.names)} streams running ({'unpaced' if a.unpaced else 'paced'}); warm-up {a.warmup} s")
        time.sleep(a.warmup)

    def start_viewers(self):
        a = self.args
        for i in range(a.viewers):
            slow = a.slow_every > 0 and i % a.slow_every == a.slow_every - 1
            v = Viewer(i, self.server.port, self.names[i % len(self.names)], slow, a)
            self.viewers.append(v)
            v.thread.start()
        deadline = now() + a.viewer_timeout
        while any(v.first_part is None for v in self.viewers):
            self.server.check()
            bad = next((v for v in self.viewers if v.error), None)
            if bad:
                raise Fail(f"viewer {bad.number} of {bad.stream}: {bad.error}")
            if now() > deadline:
                waiting = [v.number for v in self.viewers if v.first_part is None]
                if len(waiting) == len(self.viewers):
                    raise Fail(f"no viewer had a frame within {a.viewer_timeout} s")
                self.without_frame = waiting
                self.say(f"  note: {len(waiting)} viewers had no frame within {a.viewer_timeout} s (viewers "
                         f"{waiting[:10]}); they stay, counted as they come")
                break
            time.sleep(0.05)
        slow = sum(v.slow for v in self.viewers)
        self.say(f"{len(self.viewers)} viewers on {min(len(self.names), a.viewers)} streams ({slow} slow: "
                 f"{a.slow_rcvbuf}-byte receive buffer, a part every {a.slow_interval} s) "
                 f"{'watching' if self.without_frame else 'have their first frame'}; warm-up {a.viewer_warmup} s")
        time.sleep(a.viewer_warmup)

    def stop_viewers(self):
        errors = [(v.number, v.error) for v in self.viewers if v.error]
        for v in self.viewers:
            v.close()
        for v in self.viewers:
            v.thread.join(5)
        self.viewer_figures = {
            "viewers": len(self.viewers), "slow": sum(v.slow for v in self.viewers),
            "parts": [v.parts for v in self.viewers], "bytes_total": sum(v.bytes for v in self.viewers),
            "errors_while_watching": errors, "without_a_frame_at_start": self.without_frame}
        if errors:
            self.say(f"  note: {len(errors)} viewers failed while watching: {errors[:3]}")
        self.viewers = []

    def stop(self):
        for v in self.viewers:
            v.close()
        if self.server is not None:
            self.server_exit = self.server.stop(self.args.stop_timeout)
            tail = [line for _, line in self.server.lines[-2:]]
            self.say(f"lookout serve stopped on SIGTERM: exit {self.server_exit}; last lines: {tail}")

    def summarize(self):
        a = self.args
        b, v, af = self.windows.get("before"), self.windows.get("viewers"), self.windows.get("after")
        f = {}
        if b and v and b["fps"]:
            f["fps_ratio_viewers_before"] = rnd(v["fps"] / b["fps"], 4)
            f["cost_pct"] = rnd(100 * (1 - v["fps"] / b["fps"]), 2)
        if b and v and af and b["fps"] + af["fps"]:
            f["fps_ratio_viewers_mean_before_after"] = rnd(2 * v["fps"] / (b["fps"] + af["fps"]), 4)
            f["drift_after_before"] = rnd(af["fps"] / b["fps"], 4) if b["fps"] else None
        if b and v:
            f["server_cpu_cores_added"] = rnd(v["server_cpu_cores"] - b["server_cpu_cores"], 3)
        self.summary = f
        self.criteria = []
        if "fps_ratio_viewers_before" in f:
            paced = "" if a.unpaced else " (paced sources: the fps is capped by their rate)"
            self.criteria.append({
                "criterion": f"{a.viewers} MJPEG viewers cost the pipeline ≤ {100 * a.max_cost:g}% of its fps{paced}",
                "met": f["fps_ratio_viewers_before"] >= 1 - a.max_cost,
                "measured": f"{v['fps']} / {b['fps']} fps = {f['fps_ratio_viewers_before']} (cost {f['cost_pct']}%)"})

    def table(self):
        lines = ["| window | pipeline fps | latency p50 / p99 ms | dropped | server CPU cores | machine busy | viewers "
                 "| fast viewer fps p50 (min) | slow viewer fps p50 (min) | MJPEG Mbit/s |",
                 "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for label in ("before", "viewers", "after"):
            w = self.windows.get(label)
            if not w:
                continue
            fv, sv = w.get("fast_viewer_fps"), w.get("slow_viewer_fps")
            cells = [label, w["fps"], f"{w['latency_p50_ms']} / {w['latency_p99_ms']}", w["dropped"],
                     w["server_cpu_cores"], f"{w['machine_cpu_busy_pct']}%", w.get("viewers", 0),
                     f"{fv['p50']} ({fv['min']})" if fv else "–", f"{sv['p50']} ({sv['min']})" if sv else "–",
                     w.get("mjpeg_mbit_s", "–")]
            lines.append("| " + " | ".join(str(c) for c in cells) + " |")
        f = self.summary
        if "fps_ratio_viewers_before" in f:
            lines.append("")
            lines.append(f"fps with viewers / before: {f['fps_ratio_viewers_before']} (cost {f['cost_pct']}%); / mean "
                         f"of before and after: {f.get('fps_ratio_viewers_mean_before_after')}; after / before "
                         f"{f.get('drift_after_before')}; server CPU added by the viewers "
                         f"{f['server_cpu_cores_added']} cores")
        return lines

    def write(self, started_wall, start_load, commit):
        a = self.args
        device, driver, tag = describe_device(a.device)
        date = datetime.datetime.fromtimestamp(started_wall, datetime.timezone.utc)
        if self.path is None:
            self.path = a.json
            if self.path is None:
                folder = os.path.join(REPO, "bench", "results", "runs", "serve")
                os.makedirs(folder, exist_ok=True)
                base = f"serve-viewers-{tag}-{date:%Y-%m-%d}"
                self.path = os.path.join(folder, base + ".json")
                letter = ord("b")
                while os.path.exists(self.path):
                    self.path = os.path.join(folder, f"{base}-{chr(letter)}.json")
                    letter += 1
        settings = {k: v for k, v in vars(a).items() if k != "json"}
        for key in ("clip", "model", "binary"):
            if settings[key] and settings[key].startswith(REPO + "/"):
                settings[key] = os.path.relpath(settings[key], REPO)
        doc = {
            "benchmark": "serve-viewers", "commit": commit, "device": device, "driver": driver,
            "date": f"{date:%Y-%m-%dT%H:%M:%SZ}",
            "result": ("failed: " + self.failure if self.failure else
                       "completed" if self.server_exit is not None else "running (written after each phase)"),
            "settings": settings,
            "server_command": [TOKEN_MASK if x == TOKEN else x for x in getattr(self, "command", [])],
            "server_device_line": self.server.device_line if self.server else None,
            "load": {"loadavg_at_start": start_load, "loadavg_now": loadavg(), "cpus": os.cpu_count()},
            "criteria": self.criteria, "summary": self.summary, "windows": self.windows,
            "viewers": self.viewer_figures, "server_exit": self.server_exit,
        }
        write_results(self.path, doc, self.out_lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[1], formatter_class=argparse.RawTextHelpFormatter)
    add_server_arguments(ap, "every stream's clip (looped)")
    ap.add_argument("--streams", type=int, default=4, help="streams (default 4)")
    ap.add_argument("--unpaced", action="store_true", help='"live": false: each stream as fast as the pipeline goes')
    ap.add_argument("--viewers", type=int, default=10, help="MJPEG viewers (default 10)")
    ap.add_argument("--slow-every", type=int, default=3, help="every Nth viewer reads slowly (default 3; 0: none)")
    ap.add_argument("--slow-rcvbuf", type=int, default=4096, help="a slow viewer's SO_RCVBUF in bytes (default 4096)")
    ap.add_argument("--slow-interval", type=float, default=1.0, help="s between a slow viewer's parts (default 1)")
    ap.add_argument("--window", type=float, default=10.0, help="seconds of each window (default 10)")
    ap.add_argument("--warmup", type=float, default=5.0, help="s after every stream runs (default 5)")
    ap.add_argument("--viewer-warmup", type=float, default=3.0, help="s after every viewer has a frame (default 3)")
    ap.add_argument("--viewer-timeout", type=float, default=30.0, help="s for every viewer's first frame, and the "
                                                                       "viewers' socket timeout (default 30)")
    ap.add_argument("--start-timeout", type=float, default=120.0, help="s for 'serving on', then for every stream "
                                                                       "to run (default 120)")
    ap.add_argument("--stop-timeout", type=float, default=60.0, help="s for the exit after SIGTERM (default 60)")
    ap.add_argument("--max-cost", type=float, default=0.05, help="the fps the viewers may cost (default 0.05)")
    ap.add_argument("--json", default=None, help="where the JSON goes (default: bench/results/runs/serve/"
                                                 "serve-viewers-<device>-<date>.json, .txt beside it)")
    ap.add_argument("--strict", action="store_true", help="exit 1 when the criterion is not met")
    args = ap.parse_args()
    args.binary = os.path.abspath(args.binary)
    args.clip = os.path.abspath(args.clip)
    args.model = os.path.abspath(args.model) if args.model else None
    if not os.access(args.binary, os.X_OK):
        print(f"serve_viewers: no executable {args.binary} (build it, or give --binary)", file=sys.stderr)
        return 2
    if not os.path.exists(args.clip):
        print(f"serve_viewers: no clip {args.clip}", file=sys.stderr)
        return 2
    if args.streams < 1 or args.viewers < 1 or args.window <= 0:
        print("serve_viewers: --streams and --viewers must be ≥ 1, --window > 0", file=sys.stderr)
        return 2

    bench = Bench(args)
    started_wall = time.time()
    start_load = loadavg()
    commit = git_commit()
    bench.say(f"serve_viewers: {args.streams} {'unpaced' if args.unpaced else 'paced'} streams of "
              f"{os.path.relpath(args.clip, REPO)}, {args.viewers} viewers, device {args.device}, binary "
              f"{args.binary}; load average {start_load}")
    interrupted = False

    def on_term(signum, frame):  # noqa: ARG001
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        bench.start()
        bench.window("before")
        bench.write(started_wall, start_load, commit)
        bench.start_viewers()
        bench.window("viewers")
        bench.stop_viewers()
        bench.write(started_wall, start_load, commit)
        time.sleep(1.0)
        bench.window("after")
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
    bench.summarize()
    if bench.windows:
        bench.say("")
        for line in bench.table():
            bench.say(line)
    for c in bench.criteria:
        bench.say(f"{'met    ' if c['met'] else 'NOT MET'}  {c['criterion']}: {c['measured']}")
    if bench.failure:
        bench.say(f"serve_viewers: FAILED: {bench.failure}")
    if bench.windows:
        bench.write(started_wall, start_load, commit)
        print(f"wrote {os.path.relpath(bench.path)} and {os.path.relpath(os.path.splitext(bench.path)[0])}.txt",
              flush=True)
    if bench.failure:
        print(f"serve_viewers: {bench.failure}", file=sys.stderr)
        return 130 if interrupted else 1
    if args.strict and not all(c["met"] for c in bench.criteria):
        print("serve_viewers: criterion not met", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
