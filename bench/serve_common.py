"""What the `lookout serve` benchmarks share (bench/serve_cycles.py, serve_viewers.py, serve_soak.py): the server
started and its stderr read, an HTTP client for its API, /metrics parsed, the server process and the machine sampled
from /proc (and nvidia-smi on a GPU), the results' JSON layout. Python 3.11, standard library only."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKEN_MASK = "TOKEN"

class Fail(Exception):
    """A one-line reason to stop the run."""


def now():
    return time.monotonic()


def percentile(values, q):
    """Linear interpolation between closest ranks (numpy's default); None for no values."""
    v = sorted(x for x in values if x is not None)
    if not v:
        return None
    pos = (len(v) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def rnd(x, digits=4):
    return None if x is None else round(x, digits)


def free_tcp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def udp_range_free(start, count):
    for port in range(start, start + count):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def last_line(path):
    try:
        with open(path, errors="replace") as f:
            lines = [x.strip() for x in f if x.strip()]
        return lines[-1] if lines else "(no output)"
    except OSError:
        return "(no log)"


# ---- lookout serve ----------------------------------------------------------------------------------------------

def die_with_parent():
    """In the child before exec (Linux): SIGKILL when the benchmark dies, however it dies (a `timeout -s KILL`
    included), so that no server outlives it and skews the next run."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Server:
    """`lookout serve`; its stderr lines are kept with the time they were read."""

    def __init__(self, command, log_path, timeout):
        self.command = command
        self.lines = []  # (monotonic time, line)
        self.lock = threading.Lock()
        self.port = None
        self.device_line = None
        self.log = open(log_path, "w")
        self.listening = threading.Event()
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                        preexec_fn=die_with_parent)
        threading.Thread(target=self.read, daemon=True).start()
        if not self.listening.wait(timeout) or self.port is None:
            try:  # stderr closed: it is exiting, or has
                code = self.process.wait(5) if self.listening.is_set() else self.process.poll()
            except subprocess.TimeoutExpired:
                code = None
            self.stop(5)
            when = (f"exited {code} before its 'serving on' line" if code is not None
                    else f"printed no 'serving on' line in {timeout} s")
            raise Fail(f"lookout serve {when}; its last stderr line: {self.last()}")

    def read(self):
        for line in self.process.stderr:
            t = now()
            line = line.rstrip("\n")
            self.log.write(f"{time.time():.3f} {line}\n")
            self.log.flush()
            with self.lock:
                self.lines.append((t, line))
            if line.startswith("device:") and self.device_line is None:
                self.device_line = line
            found = re.search(r"serving on http://([^/\s]+):(\d+)/", line)
            if found and self.port is None:
                self.port = int(found.group(2))
                self.listening.set()
        self.listening.set()

    def last(self):
        with self.lock:
            return self.lines[-1][1] if self.lines else "(none)"

    def find_line(self, pattern, since_index=0):
        """(time, line, index) of the first stderr line from since_index on matching pattern, or None."""
        with self.lock:
            for i in range(since_index, len(self.lines)):
                if re.search(pattern, self.lines[i][1]):
                    return self.lines[i][0], self.lines[i][1], i
        return None

    def line_count(self):
        with self.lock:
            return len(self.lines)

    @property
    def pid(self):
        return self.process.pid

    def check(self):
        if self.process.poll() is not None:
            raise Fail(f"lookout serve died (exit {self.process.returncode}); its last stderr line: {self.last()}")

    def stop(self, timeout=120):
        """SIGTERM; the exit status, or None when it had to be killed after `timeout` s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return None


class API:
    """HTTP/1.1 keep-alive client, one connection per thread; times each request. The server closes a connection
    that sends no request within 10 s of its previous response (docs/serve.md, slow-loris): a request that finds
    its connection closed is sent once more on a new one."""

    def __init__(self, port, token):
        self.port = port
        self.headers = {"Authorization": f"Bearer {token}"}
        self.local = threading.local()

    def _conn(self, fresh=False):
        c = getattr(self.local, "conn", None)
        if c is None or fresh:
            if c is not None:
                c.close()
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            self.local.conn = c
        return c

    def request(self, method, path, body=None):
        """(status, parsed JSON or text or None, seconds from sending to the whole response read)."""
        data = json.dumps(body).encode() if body is not None else None
        headers = dict(self.headers)
        if data is not None:
            headers["Content-Type"] = "application/json"
        for attempt in range(2):
            conn = self._conn(fresh=attempt > 0)
            try:
                t0 = now()
                conn.request(method, path, body=data, headers=headers)
                resp = conn.getresponse()
                raw = resp.read()
                elapsed = now() - t0
                break
            except (http.client.HTTPException, ConnectionError, socket.timeout, OSError) as e:
                if attempt == 1:
                    raise Fail(f"{method} {path}: {type(e).__name__}: {e}") from None
        ctype = resp.getheader("Content-Type", "")
        if "json" in ctype and raw:
            try:
                return resp.status, json.loads(raw), elapsed
            except ValueError:
                return resp.status, raw.decode(errors="replace"), elapsed
        return resp.status, raw.decode(errors="replace") if raw else None, elapsed

    def expect(self, method, path, status, body=None):
        got, data, elapsed = self.request(method, path, body)
        if got != status:
            raise Fail(f"{method} {path}: expected {status}, got {got}: {str(data)[:200]}")
        return data, elapsed


def parse_metrics(text):
    """[(name, {label: value}, float)] of a Prometheus text exposition."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$", line)
        if not m:
            continue
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        try:
            value = float(m.group(3))
        except ValueError:
            continue
        out.append((m.group(1), labels, value))
    return out


def histogram_quantile(q, buckets):
    """Prometheus' histogram_quantile over {le: cumulative count} (le as float, inf included)."""
    items = sorted(buckets.items())
    if not items or items[-1][1] <= 0:
        return None
    total = items[-1][1]
    rank = q * total
    prev_le, prev_count = 0.0, 0.0
    for le, count in items:
        if count >= rank:
            if le == float("inf"):
                return prev_le
            if count == prev_count:
                return le
            return prev_le + (le - prev_le) * (rank - prev_count) / (count - prev_count)
        prev_le, prev_count = le, count
    return prev_le


# ---- the process and the machine --------------------------------------------------------------------------------

def proc_status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            fields[k] = v.strip()
    return fields


def proc_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(parts[11]) + int(parts[12])) / ticks  # utime + stime


def machine_cpu():
    """(busy, total) jiffies of all CPUs."""
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    return sum(parts) - idle, sum(parts)


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def nvidia_smi(args):
    if shutil.which("nvidia-smi") is None:
        return None
    try:
        r = subprocess.run(["nvidia-smi"] + args, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return r.stdout if r.returncode == 0 else None


def device_memory_mib(pid):
    out = nvidia_smi(["--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"])
    if out is None:
        return None
    total = 0.0
    for line in out.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 2 and parts[0] == str(pid):
            try:
                total += float(parts[1])
            except ValueError:
                pass
    return total


def leak_sample(pid, cycle, on_gpu):
    s = proc_status(pid)
    return {
        "cycle": cycle,
        "t": round(now(), 3),
        "rss_kib": int(s["VmRSS"].split()[0]),
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "threads": int(s["Threads"]),
        "device_memory_mib": device_memory_mib(pid) if on_gpu else None,
        "loadavg": loadavg(),
        "thread_names": thread_names(pid),
    }


def thread_names(pid):
    """{name: count} of the process' threads (which kind of thread a growing count is)."""
    names = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
        except OSError:
            continue
        name = re.sub(r"\d+$", "N", name) if name.startswith("lookout-src-") else name
        names[name] = names.get(name, 0) + 1
    return dict(sorted(names.items()))


def describe_device(device):
    """(device, driver, tag for the file name)."""
    if device.startswith("cuda"):
        index = device.split(":", 1)[1] if ":" in device else "0"
        out = nvidia_smi(["--query-gpu=index,name,driver_version", "--format=csv,noheader"])
        if out:
            rows = [[p.strip() for p in line.split(",")] for line in out.strip().splitlines()]
            row = next((r for r in rows if r[0] == index), rows[0])
            name, driver = row[1], row[2]
            m = re.search(r"\b([A-Z]\d{2,4})\b", name)
            return name, driver, (m.group(1).lower() if m else "gpu")
        return device, None, "gpu"
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model} ({os.cpu_count()} threads)", None, "cpu"


def git_commit():
    if os.environ.get("LOOKOUT_COMMIT"):
        return os.environ["LOOKOUT_COMMIT"]
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def other_load():
    """The busiest other processes right now (ps' lifetime %CPU), to say what else ran."""
    try:
        out = subprocess.run(["ps", "-eo", "pid,pcpu,etimes,comm", "--sort=-pcpu"], capture_output=True,
                             text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    rows = []
    for line in out.splitlines()[1:]:
        parts = line.split(None, 3)
        if len(parts) == 4 and int(parts[0]) != os.getpid():
            try:
                if float(parts[1]) >= 5.0:
                    rows.append({"pid": int(parts[0]), "cpu_pct": float(parts[1]), "seconds": int(parts[2]),
                                 "command": parts[3]})
            except ValueError:
                pass
    return rows[:8]


def ms(seconds):
    return None if seconds is None else seconds * 1000


def dump(value, indent=0):
    """JSON with dicts indented and lists of scalars (a cycle's row) on one line."""
    pad = "  " * indent
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f'{pad}  {json.dumps(str(k))}: {dump(v, indent + 1)}' for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list):
        if all(not isinstance(v, (dict, list)) for v in value):
            return json.dumps(value, ensure_ascii=False)
        items = [f"{pad}  {dump(v, indent + 1)}" for v in value]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(value, ensure_ascii=False)


def add_server_arguments(ap, clip_help, model_help="lookout serve --model (default: Models/shapes-yolov8n.onnx)"):
    """The options every serve benchmark takes: the binary, the server's device, model, --planned-streams, --batch,
    --decode, and the clip its streams play."""
    default_binary = next((p for p in (os.path.join(REPO, ".build", "release", "lookout"),
                                       os.path.join(REPO, ".build", "debug", "lookout")) if os.path.exists(p)),
                          os.path.join(REPO, ".build", "release", "lookout"))
    ap.add_argument("--binary", default=default_binary, help="the lookout executable (default: %(default)s)")
    ap.add_argument("--device", default="cpu", help="lookout serve --device (cpu, cuda, cuda:N; default cpu)")
    ap.add_argument("--model", default=os.path.join(REPO, "Models", "shapes-yolov8n.onnx"), help=model_help)
    ap.add_argument("--planned-streams", type=int, default=None, help="lookout serve --planned-streams")
    ap.add_argument("--batch", type=int, default=None, help="lookout serve --batch")
    ap.add_argument("--decode", default=None, help="lookout serve --decode (cpu, nvdec, auto)")
    ap.add_argument("--clip", default=os.path.join(REPO, "Tests", "Fixtures", "video", "shapes-640x384.mp4"),
                    help=clip_help)


def serve_command(args, config, db, token, extra=()):
    """`lookout serve` as the benchmarks start it: CONFIG (no stream at start), any free port, the bearer token, the
    store DB, EXTRA, the device, and the model, --planned-streams, --batch and --decode when given ('' model: the
    server's default)."""
    command = [args.binary, "serve", "--config", config, *extra, "--port", "0", "--token", token, "--db", db,
               "--device", args.device]
    for flag, value in (("--model", args.model or None), ("--planned-streams", args.planned_streams),
                        ("--batch", args.batch), ("--decode", args.decode)):
        if value is not None:
            command += [flag, str(value)]
    return command


def stop_process(process, timeout=5):
    """SIGTERM, then SIGKILL when it has not exited within TIMEOUT s."""
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def write_results(path, doc, out_lines):
    """The results: DOC as JSON at PATH and the printed lines beside it (.txt); returns both paths."""
    with open(path, "w") as fh:
        fh.write(dump(doc) + "\n")
    txt = os.path.splitext(path)[0] + ".txt"
    with open(txt, "w") as fh:
        fh.write("\n".join(out_lines) + "\n")
    return path, txt
