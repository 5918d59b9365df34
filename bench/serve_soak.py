#!/usr/bin/env python3
"""A soak of `lookout serve`: many streams, rules firing into the store and a webhook, streams added and removed all
the while; memory sampled, and the store's events compared with what the webhook received.

    python3 bench/serve_soak.py --binary /tmp/lookout --device cuda --streams 64 --seconds 160 --warmup 30 \\
        --clip Tests/Fixtures/video/shapes-1080p.mp4

"A 10-minute soak on the GPU machine with 64 streams, rules firing and streams added/removed every few seconds: RSS
and device memory flat (< 2% growth after warm-up), no event lost between store and sinks." One device call is 10
minutes at most, startup included, so on the GPU machine the soak is what fits (--warmup + --seconds), not 10 minutes.

What it does (Python 3.11, standard library and bench/serve_common.py):
  1. starts scripts/webhook-receiver.py on a free loopback port (one JSON line per POST, fsynced before it answers);
  2. writes TMP/rules.yaml: two zones and two lines over the frame, six rules that fire often on the shapes clips
     (enter, leave, cross either way on both lines, dwell 1 s) and one webhook sink to the receiver (no snapshot);
  3. starts `lookout serve --config TMP/serve.yaml --rules TMP/rules.yaml --db TMP/events.db --port 0 --token T`
     and adds --streams streams sN = --clip as paced looping files ({"loop": true, "live": true}); waits until
     every one runs;
  4. for --warmup + --seconds: every --churn-every s a stream cK is added (the same clip, paced, looping) or the one
     added before is removed (DELETE), so one stream comes and goes every two ticks; every --sample-every s the
     server's RSS, open fds, threads, device memory (nvidia-smi --query-compute-apps, on a GPU), the streams'
     frames, the deliveries received and owed (the store's outbox, read-only); the JSON (default
     bench/results/runs/serve/serve-soak-<device>-<UTC date>[-b…].json, console output beside it as .txt) is written
     after every sample, so a run cut off keeps what it had;
  5. removes the last churn stream, SIGTERMs the server (exit 0 expected: it drains the frames in flight, the
     store, and the outbox for up to its drain time), stops the receiver;
  6. growth from the first sample after --warmup to the last: RSS and device memory (< --tolerance-pct, default 2),
     fds and threads; the store (python sqlite3, read-only: events.id, outbox, deliveries) against the receiver's
     log (X-Lookout-Event): every stored event delivered at least once, every delivery names a stored event, the
     outbox empty; repeats are counted (at-least-once allows them);
  7. exits 1 with a one-line reason when the server or the receiver dies, a stream fails, an add or a remove is
     refused, or the server does not exit 0 on SIGTERM; the server and the receiver are always stopped. Criteria
     not met are reported, not an exit status, unless --strict.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

from serve_common import (API, REPO, TOKEN_MASK, Fail, Server, add_server_arguments, describe_device, die_with_parent,
                          free_tcp_port, git_commit, last_line, leak_sample, loadavg, now, rnd, serve_command,
                          stop_process, write_results)

TOKEN = "serve-soak-token"

RULES = """# serve_soak.py: rules that fire often on the shapes clips; every event goes to the webhook
zones:
  - {{name: left, polygon: [[0.05, 0.1], [0.45, 0.1], [0.45, 0.9], [0.05, 0.9]]}}
  - {{name: middle, polygon: [[0.3, 0.3], [0.7, 0.3], [0.7, 0.7], [0.3, 0.7]]}}
lines:
  - {{name: vertical, from: [0.5, 0.0], to: [0.5, 1.0]}}
  - {{name: horizontal, from: [0.0, 0.5], to: [1.0, 0.5]}}
sinks:
  - {{name: hook, type: webhook, url: "http://127.0.0.1:{port}/events", snapshot: none, timeout: 5, backoff: 0.5,
     max_backoff: 4}}
rules:
  - {{name: enter-left, trigger: enter, zone: left}}
  - {{name: leave-left, trigger: leave, zone: left}}
  - {{name: cross-vertical, trigger: cross, line: vertical}}
  - {{name: cross-horizontal, trigger: cross, line: horizontal}}
  - {{name: enter-middle, trigger: enter, zone: middle}}
  - {{name: dwell-middle, trigger: dwell, zone: middle, seconds: 1}}
"""


class Receiver:
    """scripts/webhook-receiver.py on a free loopback port."""

    def __init__(self, folder, timeout=15):
        self.port = free_tcp_port()
        self.log_path = os.path.join(folder, "webhook.jsonl")
        self.out_path = os.path.join(folder, "webhook-receiver.txt")
        out = open(self.out_path, "w")
        self.process = subprocess.Popen([sys.executable, os.path.join(REPO, "scripts", "webhook-receiver.py"),
                                         str(self.port), self.log_path], stdout=out, stderr=subprocess.STDOUT,
                                        preexec_fn=die_with_parent)
        deadline = now() + timeout
        while now() < deadline and self.process.poll() is None:
            if last_line(self.out_path).startswith("listening"):
                return
            time.sleep(0.05)
        self.stop()
        raise Fail(f"the webhook receiver did not start: {last_line(self.out_path)}")

    def check(self):
        if self.process.poll() is not None:
            raise Fail(f"the webhook receiver died (exit {self.process.returncode}): {last_line(self.out_path)}")

    def count(self):
        try:
            with open(self.log_path, "rb") as f:
                return sum(1 for _ in f)
        except OSError:
            return 0

    def records(self):
        out = []
        try:
            with open(self.log_path) as f:
                for line in f:
                    try:
                        out.append(json.loads(line))
                    except ValueError:
                        pass  # a line cut by the receiver's end
        except OSError:
            pass
        return out

    def stop(self):
        stop_process(self.process)


class Bench:
    def __init__(self, args):
        self.args = args
        self.out_lines = []
        self.server = None
        self.receiver = None
        self.api = None
        self.names = [f"s{i}" for i in range(args.streams)]
        self.samples = []
        self.churn = {"added": 0, "removed": 0, "add_s": [], "delete_s": []}
        self.server_exit = None
        self.failure = None
        self.store = None
        self.summary = {}
        self.criteria = []
        self.path = None
        self.on_gpu = args.device.startswith("cuda")
        self.started = None

    def say(self, text=""):
        print(text, flush=True)
        self.out_lines.append(text)

    def start(self):
        a = self.args
        self.folder = tempfile.mkdtemp(prefix="serve-soak-")
        self.say(f"work folder {self.folder}")
        self.receiver = Receiver(self.folder)
        self.say(f"webhook receiver on port {self.receiver.port}")
        rules = os.path.join(self.folder, "rules.yaml")
        with open(rules, "w") as f:
            f.write(RULES.format(port=self.receiver.port))
        config = os.path.join(self.folder, "serve.yaml")
        with open(config, "w") as f:
            f.write("# serve_soak.py: no stream at start; the streams come through the API\nstreams: []\n")
        self.db = os.path.join(self.folder, "events.db")
        command = serve_command(a, config, self.db, TOKEN, extra=["--rules", rules])
        self.command = command
        self.say("$ " + " ".join(command))
        self.server = Server(command, os.path.join(self.folder, "serve.log"), a.start_timeout)
        self.say(f"serving on port {self.server.port} (pid {self.server.pid}); {self.server.device_line or ''}")
        self.api = API(self.server.port, TOKEN)
        for name in self.names:
            self.api.expect("POST", "/api/v1/streams", 201, {"name": name, "url": a.clip, "loop": True, "live": True})
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
        self.say(f"{len(self.names)} paced streams running; soak: {a.warmup} s warm-up + {a.seconds} s, a stream "
                 f"added or removed every {a.churn_every} s, a sample every {a.sample_every} s")

    def sample(self):
        _, data, _ = self.api.request("GET", "/api/v1/streams")
        by = {s["name"]: s for s in data["streams"]}
        for n in self.names:
            if n not in by:
                raise Fail(f"stream {n} is gone from GET /api/v1/streams")
            if by[n]["state"] in ("failed", "ended"):
                raise Fail(f"stream {n} {by[n]['state']}: {by[n]['last_error']}")
        s = leak_sample(self.server.pid, len(self.samples), self.on_gpu)
        s.pop("cycle")
        s["seconds"] = round(now() - self.started, 1)
        s["frames"] = sum(by[n]["frames"] for n in self.names)
        s["dropped"] = sum(by[n]["dropped"] for n in self.names)
        s["streams"] = len(by)
        s["deliveries"] = self.receiver.count()
        s["outbox"] = self.outbox_rows()
        s["churn_added"] = self.churn["added"]
        self.samples.append(s)
        prev = self.samples[-2] if len(self.samples) > 1 else None
        fps = (s["frames"] - prev["frames"]) / (s["t"] - prev["t"]) if prev else None
        dev = f", device {s['device_memory_mib']:.0f} MiB" if s["device_memory_mib"] is not None else ""
        self.say(f"  {s['seconds']:6.1f} s  RSS {s['rss_kib'] / 1024:.1f} MiB{dev}, {s['fds']} fds, {s['threads']} "
                 f"threads, {s['streams']} streams, {fps:.1f} fps, {s['deliveries']} deliveries ({s['outbox']} owed), "
                 f"{self.churn['added']} added / {self.churn['removed']} removed" if fps is not None else
                 f"  {s['seconds']:6.1f} s  RSS {s['rss_kib'] / 1024:.1f} MiB{dev}, {s['fds']} fds, {s['threads']} "
                 f"threads, {s['streams']} streams")

    def outbox_rows(self):
        """Deliveries owed right now (the store read-only, beside the server's writes); None when it cannot be read."""
        try:
            con = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=1)
            try:
                return con.execute("SELECT count(*) FROM outbox").fetchone()[0]
            finally:
                con.close()
        except sqlite3.Error:
            return None

    def churn_tick(self, current):
        a = self.args
        if current is None:
            name = f"c{self.churn['added']}"
            status, data, elapsed = self.api.request("POST", "/api/v1/streams",
                                                     {"name": name, "url": a.clip, "loop": True, "live": True})
            if status != 201:
                raise Fail(f"POST /api/v1/streams {{name: {name}}}: expected 201, got {status}: {str(data)[:200]}")
            self.churn["added"] += 1
            self.churn["add_s"].append(elapsed)
            return name
        status, data, elapsed = self.api.request("DELETE", f"/api/v1/streams/{current}")
        if status != 204:
            raise Fail(f"DELETE /api/v1/streams/{current}: expected 204, got {status}: {str(data)[:200]}")
        self.churn["removed"] += 1
        self.churn["delete_s"].append(elapsed)
        return None

    def run(self, write):
        a = self.args
        self.started = now()
        end = self.started + a.warmup + a.seconds
        next_sample = self.started
        next_churn = self.started + a.churn_every
        current = None
        try:
            while now() < end:
                self.server.check()
                self.receiver.check()
                if now() >= next_churn:
                    current = self.churn_tick(current)
                    next_churn += a.churn_every
                if now() >= next_sample:
                    self.sample()
                    write()
                    next_sample += a.sample_every
                time.sleep(max(0.0, min(0.2, min(next_churn, next_sample, end) - now())))
            self.sample()
        finally:
            if current is not None and self.server.process.poll() is None:
                self.churn_tick(current)

    def stop(self):
        if self.server is not None:
            self.server_exit = self.server.stop(self.args.stop_timeout)
            tail = [line for _, line in self.server.lines[-3:]]
            self.say(f"lookout serve stopped on SIGTERM: exit {self.server_exit}; last lines: {tail}")
        if self.receiver is not None:
            time.sleep(0.5)  # a POST answered just before the exit is in the log (fsynced before the answer)
            self.receiver.stop()

    def compare_store(self):
        """The store's events against the receiver's log."""
        if self.server is None or not os.path.exists(self.db):
            return
        try:
            con = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
            stored = {row[0]: (row[1], row[2]) for row in con.execute("SELECT id, rule, state FROM events")}
            owed = {row[0] for row in con.execute("SELECT event_id FROM outbox")}
            outbox = con.execute("SELECT count(*) FROM outbox").fetchone()[0]
            deliveries = con.execute("SELECT count(*) FROM deliveries").fetchone()[0]
            con.close()
        except sqlite3.Error as e:
            self.store = {"error": f"{type(e).__name__}: {e}"}
            return
        received = collections.Counter()
        for r in self.receiver.records():
            event = r.get("event_id") or r.get("idempotency_key") or (r.get("body") or {}).get("id")
            received[event] += 1
        missing = [e for e in stored if e not in received]
        lost = [e for e in missing if e not in owed]
        unknown = [e for e in received if e not in stored]
        by_rule = collections.Counter(rule for rule, _ in stored.values())
        self.store = {
            "events_stored": len(stored), "events_by_rule": dict(sorted(by_rule.items())),
            "events_open_at_end": sum(1 for _, state in stored.values() if state == "open"),
            "deliveries_received": sum(received.values()), "events_received": len(received),
            "repeats": sum(c - 1 for c in received.values() if c > 1),
            "stored_not_delivered": len(missing), "stored_not_delivered_ids": missing[:20],
            "delivered_not_stored": len(unknown), "delivered_not_stored_ids": unknown[:20],
            "stored_not_delivered_nor_owed": len(lost), "lost_ids": lost[:20],
            "outbox_rows_left": outbox, "deliveries_rows": deliveries,
        }
        self.say(f"store: {len(stored)} events ({dict(sorted(by_rule.items()))}); webhook: {sum(received.values())} "
                 f"deliveries of {len(received)} events ({self.store['repeats']} repeats); stored but not delivered "
                 f"{len(missing)} ({len(lost)} of them not owed in the outbox either), delivered but not stored "
                 f"{len(unknown)}, outbox rows left {outbox}")

    def summarize(self):
        a = self.args
        f = {"seconds_run": self.samples[-1]["seconds"] if self.samples else 0, "churn_added": self.churn["added"],
             "churn_removed": self.churn["removed"]}
        for key in ("add_s", "delete_s"):
            v = self.churn[key]
            f[f"churn_{key}_max"] = rnd(max(v)) if v else None
        warm = next((s for s in self.samples if s["seconds"] >= a.warmup), None)
        last = self.samples[-1] if self.samples else None
        if warm and last and last is not warm:
            f["from_seconds"] = warm["seconds"]
            f["to_seconds"] = last["seconds"]
            after = [s for s in self.samples if s["seconds"] >= warm["seconds"]]
            for key in ("rss_kib", "device_memory_mib", "fds", "threads"):
                if warm[key] is None or last[key] is None:
                    f[key] = None
                    continue
                peak = max(s[key] for s in after if s[key] is not None)
                f[key] = {"at_warm": warm[key], "at_end": last[key], "max": peak,
                          "growth_pct": rnd(100 * (last[key] - warm[key]) / warm[key], 3) if warm[key] else None,
                          "max_growth_pct": rnd(100 * (peak - warm[key]) / warm[key], 3) if warm[key] else None}
            f["pipeline_fps"] = rnd((last["frames"] - warm["frames"]) / (last["t"] - warm["t"]), 1)
            f["deliveries_per_s"] = rnd((last["deliveries"] - warm["deliveries"]) / (last["t"] - warm["t"]), 2)
        self.summary = f
        self.criteria = []

        def add(name, ok, measured):
            self.criteria.append({"criterion": name, "met": ok, "measured": measured})

        tol = a.tolerance_pct
        for key, label in (("rss_kib", "RSS"), ("device_memory_mib", "device memory")):
            g = f.get(key)
            if g and g["growth_pct"] is not None:
                add(f"{label} flat after the warm-up (< {tol:g}% growth, {f['from_seconds']} → {f['to_seconds']} s)",
                    g["growth_pct"] < tol and g["max_growth_pct"] < tol,
                    f"{g['growth_pct']:+.2f}% at the end, {g['max_growth_pct']:+.2f}% at most")
        if self.store and "events_stored" in self.store:
            st = self.store
            add("events fired", st["events_stored"] > 0, f"{st['events_stored']} stored")
            add("every stored event delivered to the webhook at least once", st["stored_not_delivered"] == 0,
                f"{st['stored_not_delivered']} of {st['events_stored']} not delivered (outbox rows left "
                f"{st['outbox_rows_left']})")
            add("no event lost: every stored event delivered or still owed in the outbox (sent at the next start)",
                st["stored_not_delivered_nor_owed"] == 0, f"{st['stored_not_delivered_nor_owed']} neither")
            add("every delivery names a stored event", st["delivered_not_stored"] == 0,
                f"{st['delivered_not_stored']} of {st['events_received']} unknown")

    def write(self, started_wall, start_load, commit):
        a = self.args
        device, driver, tag = describe_device(a.device)
        date = datetime.datetime.fromtimestamp(started_wall, datetime.timezone.utc)
        if self.path is None:
            self.path = a.json
            if self.path is None:
                folder = os.path.join(REPO, "bench", "results", "runs", "serve")
                os.makedirs(folder, exist_ok=True)
                base = f"serve-soak-{tag}-{date:%Y-%m-%d}"
                self.path = os.path.join(folder, base + ".json")
                letter = ord("b")
                while os.path.exists(self.path):
                    self.path = os.path.join(folder, f"{base}-{chr(letter)}.json")
                    letter += 1
        settings = {k: v for k, v in vars(a).items() if k != "json"}
        for key in ("clip", "model", "binary"):
            if settings[key] and settings[key].startswith(REPO + "/"):
                settings[key] = os.path.relpath(settings[key], REPO)
        samples = [{k: v for k, v in s.items() if k != "thread_names"} for s in self.samples]
        doc = {
            "benchmark": "serve-soak", "commit": commit, "device": device, "driver": driver,
            "date": f"{date:%Y-%m-%dT%H:%M:%SZ}",
            "result": ("failed: " + self.failure if self.failure else
                       "completed" if self.server_exit is not None else "running (written after each sample)"),
            "note": "one device call is 10 minutes at most, startup included: the soak is --warmup + --seconds",
            "settings": settings,
            "server_command": [TOKEN_MASK if x == TOKEN else x for x in getattr(self, "command", [])],
            "server_device_line": self.server.device_line if self.server else None,
            "rules": RULES.format(port="PORT"),
            "load": {"loadavg_at_start": start_load, "loadavg_now": loadavg(), "cpus": os.cpu_count()},
            "criteria": self.criteria, "summary": self.summary, "store": self.store,
            "server_exit": self.server_exit,
            "thread_names_at_end": self.samples[-1]["thread_names"] if self.samples else None,
            "sample_fields": list(samples[0].keys()) if samples else [],
            "samples": [list(s.values()) for s in samples],
        }
        write_results(self.path, doc, self.out_lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[1], formatter_class=argparse.RawTextHelpFormatter)
    add_server_arguments(ap, "every stream's clip (looped, paced)")
    ap.add_argument("--streams", type=int, default=4, help="streams (default 4)")
    ap.add_argument("--churn-every", type=float, default=3.0, help="s between a stream added and it removed, and "
                                                                   "so on (default 3)")
    ap.add_argument("--seconds", type=float, default=90.0, help="s of soak after the warm-up (default 90)")
    ap.add_argument("--warmup", type=float, default=30.0, help="s before the growth baseline (default 30)")
    ap.add_argument("--sample-every", type=float, default=10.0, help="s between samples (default 10)")
    ap.add_argument("--tolerance-pct", type=float, default=2.0, help="RSS and device memory growth allowed (2)")
    ap.add_argument("--start-timeout", type=float, default=120.0, help="s for 'serving on', then for every stream "
                                                                       "to run (default 120)")
    ap.add_argument("--stop-timeout", type=float, default=60.0, help="s for the exit after SIGTERM (default 60)")
    ap.add_argument("--json", default=None, help="where the JSON goes (default: bench/results/runs/serve/"
                                                 "serve-soak-<device>-<date>.json, .txt beside it)")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a criterion is not met")
    args = ap.parse_args()
    args.binary = os.path.abspath(args.binary)
    args.clip = os.path.abspath(args.clip)
    args.model = os.path.abspath(args.model) if args.model else None
    if not os.access(args.binary, os.X_OK):
        print(f"serve_soak: no executable {args.binary} (build it, or give --binary)", file=sys.stderr)
        return 2
    if not os.path.exists(args.clip):
        print(f"serve_soak: no clip {args.clip}", file=sys.stderr)
        return 2
    if args.streams < 1 or args.seconds <= 0 or args.churn_every <= 0 or args.sample_every <= 0:
        print("serve_soak: --streams must be ≥ 1; --seconds, --churn-every, --sample-every > 0", file=sys.stderr)
        return 2

    bench = Bench(args)
    started_wall = time.time()
    start_load = loadavg()
    commit = git_commit()
    bench.say(f"serve_soak: {args.streams} paced streams of {os.path.relpath(args.clip, REPO)}, {args.warmup} s "
              f"warm-up + {args.seconds} s, device {args.device}, binary {args.binary}; load average {start_load}")
    interrupted = False

    def on_term(signum, frame):  # noqa: ARG001
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    lock = threading.Lock()

    def write():
        with lock:
            bench.write(started_wall, start_load, commit)

    try:
        bench.start()
        bench.run(write)
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
    bench.compare_store()
    bench.summarize()
    f = bench.summary
    if bench.samples:
        bench.say("")
        bench.say("| measure | value |")
        bench.say("| --- | --- |")
        bench.say(f"| soak | {f['seconds_run']} s ({args.warmup} s warm-up), {args.streams} streams, "
                  f"{f['churn_added']} added / {f['churn_removed']} removed |")
        for key, label, unit in (("rss_kib", "RSS", "KiB"), ("device_memory_mib", "device memory", "MiB"),
                                 ("fds", "open fds", ""), ("threads", "threads", "")):
            g = f.get(key)
            if g:
                bench.say(f"| {label} {f['from_seconds']} → {f['to_seconds']} s | {g['at_warm']:g} → "
                          f"{g['at_end']:g} {unit} ({g['growth_pct']:+.2f}%; max {g['max']:g}, "
                          f"{g['max_growth_pct']:+.2f}%) |")
            elif key in f:
                bench.say(f"| {label} | n/a |")
        if "pipeline_fps" in f:
            bench.say(f"| pipeline fps / webhook deliveries per s after the warm-up | {f['pipeline_fps']} / "
                      f"{f['deliveries_per_s']} |")
        bench.say(f"| server exit on SIGTERM | {bench.server_exit} |")
    for c in bench.criteria:
        bench.say(f"{'met    ' if c['met'] else 'NOT MET'}  {c['criterion']}: {c['measured']}")
    if bench.failure:
        bench.say(f"serve_soak: FAILED: {bench.failure}")
    if bench.samples:
        write()
        print(f"wrote {os.path.relpath(bench.path)} and {os.path.relpath(os.path.splitext(bench.path)[0])}.txt",
              flush=True)
    if bench.failure:
        print(f"serve_soak: {bench.failure}", file=sys.stderr)
        return 130 if interrupted else 1
    if args.strict and not all(c["met"] for c in bench.criteria):
        print("serve_soak: criteria not met", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
