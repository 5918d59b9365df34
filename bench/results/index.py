#!/usr/bin/env python3
"""Regenerates the run tables of bench/results/README.md from the result files themselves.

    python3 bench/results/index.py           # rewrite the tables between the <!-- runs:KEY --> markers
    python3 bench/results/index.py --check   # exit 1 if the tables are stale, a run is unfiled, or a cited file is missing
    python3 bench/results/index.py --file    # move files lying at the top of bench/results/ into runs/<kind>/ (git mv)

Every run lives in runs/<kind>/ (kind from the file name: engine, acceptance, transfer, pipeline, selftest, ncu,
track, decode, serve).
A table lists every run of one series, newest first: the file (with its companion console logs), the date and
commit and device from the JSON's metadata, one headline figure. Text logs without metadata (self-tests,
acceptance, Nsight Compute) take the date from their name and the commit from LOG_COMMITS below.
Everything in README.md outside the generated blocks is hand-written and kept as it is; a series with no marker
in README.md gets its table under "Other runs" at the end. Python 3 standard library only.
"""

import argparse
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
RUNS = os.path.join(HERE, "runs")
README = os.path.join(HERE, "README.md")
REPO = os.path.dirname(os.path.dirname(HERE))

# Kind (= folder under runs/) from the file name; first match wins.
KINDS = [
    ("acceptance", r"^(engine|families|nvdec)-acceptance-|^nvdec-faults-"),
    ("engine", r"^engine-"),
    ("transfer", r"^transfer-"),
    ("pipeline", r"^pipeline-"),
    ("selftest", r"^selftest-"),
    ("ncu", r"^ncu-"),
    ("track", r"^track-"),
    ("decode", r"^decode-"),
    ("serve", r"^serve-"),
]

# Series: (key, title, kind, pattern on the file name). A file belongs to the first series it matches; files that
# match none are listed under "other <kind>". Only "primary" files are rows: JSON reports, and text logs of kinds
# that have no JSON. Console logs and samples sharing a JSON's stem are shown beside it.
SERIES = [
    ("engine-cpu", "Engine, CPU", "engine", r"^engine-cpu-.*\.json$"),
    ("engine-gpu", "Engine, GPU", "engine", r"^engine-h\d+-.*\.json$"),
    ("engine-gpu-wgmma", "Engine, GPU, with the wgmma kernels", "engine", r"^engine-wgmma-.*\.json$"),
    ("engine-gpu-families", "Engine, GPU, YOLO11 and YOLO26", "engine", r"^engine-families-.*\.json$"),
    ("acceptance", "detect / val on the GPU", "acceptance", r"^engine-acceptance-.*\.txt$"),
    ("acceptance-families", "YOLO11 / YOLO26 val and detect on the GPU", "acceptance",
     r"^families-acceptance-.*\.txt$"),
    ("acceptance-nvdec", "NVDEC faults and RTSP restart", "acceptance", r"^nvdec-faults-.*\.txt$"),
    ("transfer", "Transfer modes", "transfer", r"^transfer-h\d+-.*\.json$"),
    ("transfer-experiments", "Transfer experiments", "transfer",
     r"^transfer-(gate|hugepages|probe|streamed|threads)-.*\.json$"),
    ("pipeline-gpu", "Pipeline, GPU", "pipeline", r"^pipeline-h\d+-.*\.json$"),
    ("pipeline-soak", "Pipeline soak", "pipeline", r"^pipeline-soak-.*\.json$"),
    ("pipeline-cpu", "Pipeline, CPU", "pipeline", r"^pipeline-cpu-.*\.json$"),
    ("selftest-gpu", "GPU self-test", "selftest", r"^selftest-gpu-.*\.txt$"),
    ("selftest-pipeline", "Pipeline self-test", "selftest", r"^selftest-pipeline-.*\.txt$"),
    ("ncu", "Nsight Compute", "ncu", r"^ncu-.*\.txt$"),
    ("track-cpu", "Tracking and rules, CPU", "track", r"^track-cpu-.*\.json$"),
    ("decode-gpu", "Decode only (NVDEC and CPU)", "decode", r"^decode-h\d+-.*\.json$"),
    ("serve-cycles", "Serve: cameras added and removed at run time", "serve", r"^serve-cycles-.*\.json$"),
    ("serve-batching", "Inference server: dynamic batching", "serve", r"^serve-batching-.*\.json$"),
]

# Commits of the text logs that carry none, with where the attribution comes from (the results commit that added
# the file, or the docs). Keep it in step when adding a self-test, acceptance or ncu log.
LOG_COMMITS = {
    "selftest-gpu-h100-2026-12-07-c.txt": ("e926149", "docs/gpu-machine.md, 2026-12-07 third session"),
    "nvdec-faults-rtsp-h100-2026-12-07-b.txt": ("f9db6b5", "docs/gpu-machine.md, 2026-12-07 third session"),
    "selftest-pipeline-h100-2026-12-07.txt": ("2e46423", "docs/gpu-machine.md, 2026-12-07 third session"),
    "selftest-gpu-h100-2026-12-07-b.txt": ("2e46423", "docs/gpu-machine.md, 2026-12-07 third session"),
    "families-acceptance-h100-2026-12-07.txt": ("2e46423", "docs/gpu-machine.md, 2026-12-07 third session"),
    "nvdec-faults-rtsp-h100-2026-12-07.txt": ("2e46423", "docs/gpu-machine.md, 2026-12-07 third session"),
    "engine-acceptance-h100-2026-11-25-e.txt": ("372ab14", "results commit 8339841"),
    "engine-acceptance-h100-2026-11-25-f.txt": ("f535225", "results commit ebb484a"),
    "engine-acceptance-h100-2026-11-25-g.txt": ("ddf70dc", "docs/cuda-backend.md"),
    "engine-acceptance-h100-2026-11-25-h.txt": ("60c49df", "docs/cuda-backend.md"),
    "selftest-gpu-h100-2026-11-24.txt": ("cuda-branch?", "added with transfer-h100-2026-11-24.json (862abde)"),
    "selftest-gpu-h100-2026-11-24-cuda2.txt": ("502e984?", "added with engine-h100-2026-11-24.json (7081adf)"),
    "selftest-gpu-h100-2026-11-25.txt": ("5577c03?", "added with engine-h100-2026-11-25.json (79c96fe)"),
    "selftest-gpu-h100-2026-11-25-b.txt": ("089ede8", "added with engine-h100-2026-11-25-b.json (d3e43cc)"),
    "selftest-gpu-h100-2026-11-25-c.txt": ("36a232b", "added with engine-h100-2026-11-25-c.json (676ce26)"),
    "selftest-gpu-h100-2026-11-25-d.txt": ("20aaeed", "results commit 977d0fe"),
    "selftest-gpu-h100-2026-11-25-e.txt": ("372ab14", "results commit 8339841"),
    "selftest-gpu-h100-2026-11-25-f.txt": ("f535225", "results commit ebb484a"),
    "selftest-gpu-h100-2026-11-25-g.txt": ("ddf70dc", "docs/cuda-backend.md"),
    "selftest-gpu-h100-2026-11-25-h.txt": ("777e51b?", "added with transfer-h100-2026-11-25-{f,g,h}.json (f25834f)"),
    "selftest-gpu-h100-2026-11-25-i.txt": ("0e5a91f", "results commit 57b52ac"),
    "selftest-gpu-h100-2026-11-25-k.txt": ("60c49df", "docs/cuda-backend.md"),
    "selftest-pipeline-h100-2026-11-24.txt": ("32f285d", "docs/streaming.md"),
    "selftest-pipeline-h100-2026-11-25.txt": ("5577c03", "docs/streaming.md"),
    "selftest-pipeline-h100-2026-11-25-b.txt": ("0e5a91f", "results commit 57b52ac"),
    "engine-acceptance-h100-2026-12-07.txt": ("daf6c55", "the binary's COMMIT (code of f307c62), docs/gpu-machine.md"),
    "selftest-gpu-h100-2026-12-07.txt": ("daf6c55", "the binary's COMMIT (code of f307c62), docs/gpu-machine.md"),
    "selftest-pipeline-h100-2026-12-07-incomplete.txt": ("daf6c55", "the binary's COMMIT; stopped at its 300 s limit"),
    "ncu-conv-h100-2026-11-24.txt": ("502e984?", "added with engine-h100-2026-11-24.json (7081adf)"),
    "ncu-conv-h100-2026-11-25-d.txt": ("20aaeed", "results commit 977d0fe"),
}

COMPANION_EXT = (".txt", ".log", ".csv")
DATE_IN_NAME = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})(?:-(\d{6}))?")


def kind_of(name):
    for kind, pattern in KINDS:
        if re.match(pattern, name):
            return kind
    return None


def series_of(name, kind):
    for key, _, skind, pattern in SERIES:
        if skind == kind and re.match(pattern, name):
            return key
    return "other-" + kind


def load_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def read_text(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def short_device(device):
    if not device:
        return "?"
    d = re.sub(r"^device:\s*", "", str(device))
    d = re.sub(r"^cpu,\s*", "", d)
    d = re.sub(r"\s*\(cuda:.*$", "", d)          # "NVIDIA H100 80GB HBM3 (cuda:0, sm_90, …)" -> "NVIDIA H100 80GB HBM3"
    d = re.sub(r"\s*\(--device.*\)$", "", d)
    return d.replace("NVIDIA ", "")


def short_commit(commit):
    c = str(commit or "?")
    return c[:7] if re.fullmatch(r"[0-9a-f]{8,40}", c) else c


def date_from_name(name):
    m = DATE_IN_NAME.search(name)
    if not m:
        return "?"
    date = f"{m.group(1)}-{m.group(2)}-{m.group(3)}"
    if m.group(4):
        t = m.group(4)
        date += f"T{t[0:2]}:{t[2:4]}:{t[4:6]}Z"
    return date


def name_order(name):
    """Sort key for files of one day without a time: the unsuffixed run first, then its letters/numbers."""
    stem = os.path.splitext(name)[0]
    m = DATE_IN_NAME.search(stem)
    suffix = stem[m.end():].lstrip("-") if m else stem
    return (len(suffix) > 0, suffix)


def pct(x):
    return f"{100 * x:.1f}%"


def ratio(a, b):
    return f"{a / b:.2f}×" if a and b else "?"


def fmt_num(x, digits=1):
    if x is None:
        return "?"
    return f"{x:,.{digits}f}"


# ---- headline figures -------------------------------------------------------------------------------------------

def headline_engine(d):
    rows = d.get("rows", [])
    by = {(r.get("backend"), r.get("batch")): r for r in rows}
    if any(r.get("backend") == "lookout-cpu" for r in rows):
        lk = next(r for r in rows if r.get("backend") == "lookout-cpu")
        ox = next((r for r in rows if r.get("backend") == "onnxruntime-cpu"), None)
        model = os.path.basename(d.get("settings", {}).get("model", "?"))
        text = f"{model}, batch {lk.get('batch')}: p50 {lk['p50_ms']:.1f} ms"
        if ox:
            text += f" vs onnxruntime {ox['p50_ms']:.1f} ms = **{lk['p50_ms'] / ox['p50_ms']:.2f}×**"
        return text
    parts = []
    l32, p32 = by.get(("lookout-cuda", 32)), by.get(("pytorch-cudagraph", 32))
    if l32 and p32:
        parts.append(f"batch 32 {fmt_num(l32['throughput'], 0)} vs {fmt_num(p32['throughput'], 0)} img/s "
                     f"= **{l32['throughput'] / p32['throughput']:.2f}×** PyTorch CUDA graph")
    l64, p64 = by.get(("lookout-cuda", 64)), by.get(("pytorch-cudagraph", 64))
    if l64 and p64:
        parts.append(f"batch 64 {l64['throughput'] / p64['throughput']:.2f}×")
    l1 = by.get(("lookout-cuda", 1))
    if l1:
        parts.append(f"batch 1 p50 {l1['p50_ms']:.3f} ms")
    return "; ".join(parts) or "?"


def headline_transfer_one(d):
    rows = {r.get("mode"): r for r in d.get("rows", [])}
    peak = d.get("h2d_peak_pinned_gbps")
    pg, pn, raw = rows.get("pageable"), rows.get("pinned"), rows.get("pinned-raw")
    parts = []
    if pn and "copy_vs_pinned_peak" in pn:
        parts.append(f"`pinned` copy {pn.get('copy_gbps', 0):.2f} GB/s = **{pct(pn['copy_vs_pinned_peak'])}** of "
                     f"{peak:.2f} GB/s peak" if peak else f"`pinned` copy {pct(pn['copy_vs_pinned_peak'])} of peak")
    for mode, row in rows.items():  # an older binary's variants of the pinned mode ("pinned+flush", …)
        if mode.startswith("pinned+") and "copy_vs_pinned_peak" in row:
            parts.append(f"`{mode}` {pct(row['copy_vs_pinned_peak'])}")
    if pn and pg:
        parts.append(f"`pinned`/`pageable` {ratio(pn.get('fps'), pg.get('fps'))}")
    if raw and pg:
        parts.append(f"`pinned-raw`/`pageable` {ratio(raw.get('fps'), pg.get('fps'))}")
    return "; ".join(parts) or "?"


def headline_transfer(d):
    if "runs" in d:  # several runs in one file (transfer-threads)
        parts = []
        for r in d["runs"]:
            rows = {x.get("mode"): x for x in r.get("rows", [])}
            pn = rows.get("pinned")
            threads = r.get("settings", {}).get("cpu_threads", "?")
            if pn and "copy_vs_pinned_peak" in pn:
                parts.append(f"{threads} threads {pct(pn['copy_vs_pinned_peak'])}")
        return "`pinned` copy of peak: " + ", ".join(parts) if parts else "?"
    return headline_transfer_one(d)


def headline_pipeline(d):
    rows = d.get("rows", [])
    ours = [r for r in rows if r.get("system") == "lookout"]
    if not ours:
        return "?"
    if any(r.get("mode") == "cpu" for r in ours):
        text = ", ".join(f"{r.get('streams')} stream{'s' if r.get('streams') != 1 else ''} {fmt_num(r.get('fps'), 0)} fps"
                         f"{' (' + str(r.get('dropped')) + ' dropped)' if r.get('dropped') else ''}" for r in ours)
        return text + f"; lost {sum(r.get('lost') or 0 for r in ours)}"
    best = max(ours, key=lambda r: r.get("fps") or 0)
    text = (f"{best.get('streams')} streams, `{best.get('mode')}` **{fmt_num(best.get('fps'))} fps**, "
            f"p99 {best.get('p99_ms')} ms, lost {best.get('lost')}")
    loop = next((r for r in rows if r.get("system") == "ultralytics" and r.get("streams") == best.get("streams")), None)
    if loop:
        text += f"; {ratio(best.get('fps'), loop.get('fps'))} the Ultralytics loop"
    cpu_decode = next((r for r in ours if best.get("decode") == "nvdec" and r.get("decode") == "cpu"
                       and r.get("streams") == best.get("streams")), None)
    if cpu_decode:
        text += (f"; {ratio(best.get('fps'), cpu_decode.get('fps'))} CPU decode `{cpu_decode.get('mode')}`, "
                 f"CPU {fmt_num(best.get('cpu_ms_per_frame'), 3)} vs {fmt_num(cpu_decode.get('cpu_ms_per_frame'), 3)} "
                 f"ms per frame")
    pageable = next((r for r in ours if r.get("mode") == "pageable"), None)
    if pageable and pageable is not best:
        text += f", {ratio(best.get('fps'), pageable.get('fps'))} `pageable`"
    if "rss_growth_pct" in best and len(ours) == 1:
        text += (f"; over {best.get('seconds')} s RSS {best['rss_growth_pct']:+.2f}%, device memory "
                 f"{best.get('device_memory_growth_pct', 0):+.2f}%")
    return text


def headline_log(name, text):
    if name.startswith("engine-acceptance-"):
        parts = []
        m = re.search(r'"reference_boxes":\s*(\d+),\s*"matched":\s*(\d+).*?"extra":\s*(\d+)', text)
        if m:
            parts.append(f"detect {m.group(2)}/{m.group(1)} boxes matched, {m.group(3)} extra")
        m = re.search(r'"map50":([0-9.]+),"map50_95":([0-9.]+)', text)
        if m:
            parts.append(f"val mAP50-95 {float(m.group(2)):.4f}, mAP50 {float(m.group(1)):.4f}")
        return "; ".join(parts) or "?"
    if name.startswith("selftest-"):
        m = re.findall(r"^(\d+) passed, (\d+) failed", text, re.M)
        if m:
            passed, failed = m[-1]
            total = int(passed) + int(failed)
            text2 = f"**{passed}/{total}** passed"
            boxes = re.findall(r"(\d+)/(\d+) boxes matched", text)
            if boxes and name.startswith("selftest-pipeline-"):
                ok = all(a == b for a, b in boxes)
                text2 += f"; {boxes[0][0]}/{boxes[0][1]} boxes vs the CPU path in every mode" if ok else "; boxes differ"
            return text2
        return "no summary line (run cut short?)"
    if name.startswith("families-acceptance-"):
        models = re.findall(r"^== (\S+)\n(?:.*\n)*?.*?\"map50_95\":([0-9.]+).*\n.*?\"matched_rate\": ([0-9.]+).*?\"pass\": (true|false)",
                            text, re.M)
        return "; ".join(f"{m}: mAP50-95 {float(v):.4f}, {float(r) * 100:.1f}% matched{'' if p == 'true' else ' **FAIL**'}"
                         for m, v, r, p in models) or "?"
    if name.startswith("nvdec-faults-"):
        parts = []
        m = re.search(r"results per stream (\{.*\})", text)
        if m:
            parts.append(f"faults: results per stream {m.group(1)}")
        errors = re.findall(r"(\d+) decode errors", text)
        parts.append(f"{errors[-1]} decode errors reported" if errors else "no decode error reported")
        m = re.search(r"reconnected after ([0-9.]+) s", text)
        if m:
            parts.append(f"RTSP back after {m.group(1)} s without frames (server away 3 s)")
        return "; ".join(parts)
    if name.startswith("ncu-"):
        kernels = sorted(set(re.findall(r'Profiling "([^"]+)"', text)) or
                         set(re.findall(r"^\s{2}(lookout_\w+)", text, re.M)))
        return f"{len(kernels)} kernel{'s' if len(kernels) != 1 else ''}: " + ", ".join(f"`{k}`" for k in kernels)
    return "?"


def headline_track(d):
    rows = d.get("rows", [])
    if not rows:
        return "?"
    r = rows[0]
    objects = (d.get("settings") or {}).get("objects")
    return (f"ByteTrack + {r.get('rules')} rules at {objects} objects: **{r.get('tracker_rules_mean_us')} µs** per frame "
            f"(p99 {r.get('tracker_rules_p99_us')}; tracker alone {r.get('tracker_mean_us')})")


def headline_decode(d):
    rows = d.get("rows", [])
    settings = d.get("settings") or {}
    source = os.path.basename(str(settings.get("source", "?")))
    parts = [f"{r.get('decode')} {r.get('streams')} streams **{fmt_num(r.get('fps'), 0)} fps** "
             f"({r.get('cpu_cores_used')} cores)" for r in rows]
    return f"{source}: " + ", ".join(parts) if parts else "?"


def headline_serve_cycles(d):
    s = d.get("summary") or {}
    settings = d.get("settings") or {}
    done, planned = s.get("cycles_done"), settings.get("cycles")
    run, rem = s.get("add_to_running_s"), s.get("removed_s")
    if not run or not rem:
        return f"**FAILED** before any cycle: {d.get('result', '?')}"
    text = (f"{done:,}" + (f" of {planned:,}" if planned and planned != done else "") + " add/remove cycles: "
            f"add → running p50 **{run['p50']:.2f} s** (max {run['max']:.2f}), removed p50 **{rem['p50']:.3f} s** "
            f"(max {rem['max']:.3f})")
    leak = s.get("leak") or {}
    parts = []
    if leak.get("rss_kib"):
        parts.append(f"RSS {leak['rss_kib']['growth_pct']:+.2f}%")
    for key in ("fds", "threads"):
        if leak.get(key):
            parts.append(f"{key} {leak[key]['delta']:+d}")
    if leak.get("device_memory_mib"):
        parts.append(f"device memory {leak['device_memory_mib']['delta']:+.0f} MiB")
    if parts:
        text += f"; from cycle {leak.get('from_cycle')}: " + ", ".join(parts)
    if s.get("background_fps_ratio") is not None:
        text += f"; {settings.get('background', '?')} background streams' fps during/before {s['background_fps_ratio']:.2f}×"
    if str(d.get("result", "")).startswith("failed"):
        text += f"; **{d['result']}**"
    return text


def headline_serve_batching(d):
    rows = d.get("rows", [])
    parts = []
    for c in sorted({r["concurrency"] for r in rows}):
        on = next((r for r in rows if r["concurrency"] == c and r["batching"] == "on"), None)
        off = next((r for r in rows if r["concurrency"] == c and r["batching"] == "off"), None)
        if on and off:
            parts.append(f"concurrency {c}: {on['requests_per_s']:.2f} vs {off['requests_per_s']:.2f} req/s "
                         f"= **{on['requests_per_s'] / off['requests_per_s']:.2f}×** ({on['rows_per_execution']} a batch)")
    return "batching on vs off: " + "; ".join(parts) if parts else "?"


HEADLINES = {"engine": headline_engine, "transfer": headline_transfer, "pipeline": headline_pipeline,
             "track": headline_track, "decode": headline_decode, "serve-cycles": headline_serve_cycles,
             "serve-batching": headline_serve_batching}


# ---- collecting runs --------------------------------------------------------------------------------------------

def notes_for(name, d):
    notes = []
    if d is not None:
        if "commit_note" in d:
            m = re.search(r"reported (\w+)", d["commit_note"])
            notes.append("commit set by hand (the binary reported " + (m.group(1) if m else "another") + ")")
        commit = d.get("commit") or (d.get("runs") or [{}])[0].get("commit")
        if commit and not re.fullmatch(r"[0-9a-f]{7,40}", str(commit)):
            notes.append(f"commit is a branch name (`{commit}`)")
        if "runs" in d:
            notes.append(f"{len(d['runs'])} runs in one file")
    if "disturbed" in name:
        notes.append("disturbed (link shared; not a figure)")
    return "; ".join(notes)


def collect():
    """Returns (series -> [run], unfiled names, misplaced names)."""
    files = {}  # kind folder -> names
    if os.path.isdir(RUNS):
        for kind in sorted(os.listdir(RUNS)):
            folder = os.path.join(RUNS, kind)
            if os.path.isdir(folder):
                files[kind] = sorted(n for n in os.listdir(folder) if os.path.isfile(os.path.join(folder, n)))
    unfiled = sorted(n for n in os.listdir(HERE)
                     if os.path.isfile(os.path.join(HERE, n)) and n not in ("README.md", "index.py"))
    misplaced = []
    series = {}
    for kind, names in files.items():
        jsons = {os.path.splitext(n)[0]: n for n in names if n.endswith(".json")}
        for name in names:
            if kind_of(name) != kind:
                misplaced.append(f"runs/{kind}/{name}")
            stem, ext = os.path.splitext(name)
            if ext != ".json":
                # a console log / samples of a JSON run: same stem, or stem + "-nvidia-smi"
                if stem in jsons or re.sub(r"-nvidia-smi$", "", stem) in jsons:
                    continue
                if ext not in COMPANION_EXT:
                    continue
            path = os.path.join(RUNS, kind, name)
            run = {"name": name, "kind": kind, "rel": f"runs/{kind}/{name}"}
            companions = sorted(n for n in names if n != name and ext == ".json" and
                                (os.path.splitext(n)[0] == stem or n.startswith(stem + "-nvidia-smi")))
            run["companions"] = companions
            if ext == ".json":
                d = load_json(path)
                if d is None:
                    run.update(date="?", commit="?", device="?", headline="unreadable JSON", notes="")
                else:
                    meta = d if "commit" in d or "runs" not in d else d["runs"][0]
                    run["date"] = meta.get("date") or date_from_name(name)
                    run["commit"] = short_commit(meta.get("commit"))
                    run["device"] = short_device(meta.get("device"))
                    fn = HEADLINES.get(d.get("benchmark") or kind, lambda _: "?")
                    try:
                        run["headline"] = fn(d)
                    except (KeyError, TypeError, ValueError, ZeroDivisionError, StopIteration) as e:
                        run["headline"] = f"? ({type(e).__name__})"
                    run["notes"] = notes_for(name, d)
            else:
                text = read_text(path)
                run["date"] = date_from_name(name)
                commit, source = LOG_COMMITS.get(name, (None, None))
                if commit is None:
                    m = re.search(r"commit ([0-9a-f]{7,40})", text)
                    commit, source = (m.group(1), "the log") if m else ("?", None)
                run["commit"] = short_commit(commit)
                run["commit_source"] = source
                m = re.search(r"device:? (NVIDIA [^(\n]+?)\s*\(", text)
                run["device"] = short_device(m.group(1)) if m else ("H100 80GB HBM3" if "h100" in name else "?")
                run["headline"] = headline_log(name, text)
                run["notes"] = notes_for(name, None)
            series.setdefault(series_of(name, kind), []).append(run)
    for runs in series.values():
        runs.sort(key=lambda r: (r["date"][:10], r["date"] if "T" in r["date"] else "", name_order(r["name"])),
                  reverse=True)
    return series, unfiled, misplaced


# ---- rendering --------------------------------------------------------------------------------------------------

BEGIN = "<!-- runs:{key} (generated by index.py: edit the files or index.py, not this table) -->"
END = "<!-- /runs:{key} -->"
BLOCK = re.compile(r"<!-- runs:([\w-]+) \(generated[^>]*-->\n.*?<!-- /runs:\1 -->", re.S)


def marked_runs(text):
    """File names the hand-written part of the README names on a line starting "**Current" or "**Newest" (the
    current runs of a section), to mark them in the tables."""
    marks = {}
    for line in BLOCK.sub("", text).splitlines():
        for label in ("Newest", "Current"):  # a file on both lines is marked current
            if line.startswith("**" + label):
                for name in re.findall(r"[\w.-]+\.(?:json|txt|log|csv)", line):
                    marks[name] = label.lower()
    return marks


def render_table(key, runs, marks):
    lines = [BEGIN.format(key=key)]
    if not runs:
        lines += ["", "(no runs)", ""]
    else:
        lines += ["", "| run | date (UTC) | commit | device | headline | also | notes |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        for r in runs:
            mark = f" ◀ {marks[r['name']]}" if r["name"] in marks else ""
            also = ", ".join(f"[{os.path.splitext(c)[1][1:] if not c.endswith('-nvidia-smi.csv') else 'nvidia-smi'}]"
                             f"(runs/{r['kind']}/{c})" for c in r["companions"])
            commit = r["commit"]
            if r.get("commit_source") and r["commit_source"] != "the log":
                commit += "†"
            date = r["date"].replace("T", " ").replace("Z", "")
            lines.append(f"| [{r['name']}]({r['rel']}){mark} | {date} | {commit} | {r['device']} | "
                         f"{r['headline']} | {also} | {r['notes']} |")
        lines.append("")
    lines.append(END.format(key=key))
    return "\n".join(lines)


DEFAULT_README = """# Benchmark results

Every run of every benchmark, kept in `runs/<kind>/`; the tables are generated by `python3 bench/results/index.py`.

## Other runs
"""


def render(text, series, unfiled):
    marks = marked_runs(text)
    present = set()

    def replace(m):
        key = m.group(1)
        present.add(key)
        return render_table(key, series.get(key, []), marks)

    text = BLOCK.sub(replace, text)
    # series with runs but no marker: appended under "Other runs" (created when missing)
    missing = [k for k in sorted(series) if k not in present]
    if missing:
        if "\n## Other runs" not in text:
            text = text.rstrip("\n") + "\n\n## Other runs\n"
        for key in missing:
            title = next((s[1] for s in SERIES if s[0] == key), key)
            text = text.rstrip("\n") + f"\n\n### {title}\n\n" + render_table(key, series[key], marks) + "\n"
    # unfiled files
    text = re.sub(r"\n<!-- unfiled -->.*?<!-- /unfiled -->\n", "\n", text, flags=re.S)
    if unfiled:
        lines = ["<!-- unfiled -->", "", "**Not filed yet** (run `python3 bench/results/index.py --file`):", ""]
        lines += [f"- [{n}]({n})" for n in unfiled]
        lines += ["", "<!-- /unfiled -->"]
        text = text.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n"
    return text


# ---- checks and filing ------------------------------------------------------------------------------------------

def cited_elsewhere():
    """Problems with cited results: result file names in README.md and docs/*.md that exist nowhere under
    bench/results/ or whose bench/results/ path is wrong, and links of this README that lead nowhere."""
    existing = set()
    for root, _, names in os.walk(HERE):
        existing.update(names)
    sources = [os.path.join(REPO, "README.md")]
    docs = os.path.join(REPO, "docs")
    if os.path.isdir(docs):
        sources += [os.path.join(docs, n) for n in sorted(os.listdir(docs)) if n.endswith(".md")]
    pattern = re.compile(r"(?:engine|transfer|pipeline|selftest|ncu)-[\w.{},…*-]*?\.(?:json|txt|log|csv)")
    problems = []
    for src in sources:
        for i, line in enumerate(read_text(src).splitlines(), 1):
            for m in pattern.finditer(line):
                name = m.group(0)
                if any(ch in name for ch in "{}…*") or name.startswith("-"):
                    continue  # brace/glob shorthands: not checked
                if name not in existing:
                    problems.append(f"{os.path.relpath(src, REPO)}:{i}: {name} not found under bench/results/")
            for m in re.finditer(r"bench/results/([\w./-]+\.(?:json|txt|log|csv))", line):
                if not os.path.exists(os.path.join(HERE, m.group(1))) and "*" not in m.group(1):
                    problems.append(f"{os.path.relpath(src, REPO)}:{i}: bench/results/{m.group(1)} does not exist")
    for i, line in enumerate(read_text(README).splitlines(), 1):
        for m in re.finditer(r"\]\(([^)#\s]+)\)", line):
            target = m.group(1)
            if "://" not in target and not os.path.exists(os.path.join(HERE, target)):
                problems.append(f"bench/results/README.md:{i}: link to {target} leads nowhere")
    return problems


def file_unfiled(unfiled):
    moved = 0
    for name in unfiled:
        kind = kind_of(name)
        if kind is None or not DATE_IN_NAME.search(name):
            print(f"not filed: {name} (name it <benchmark>[-variant]-<machine>-<YYYY-MM-DD>[-x].<ext> first)",
                  file=sys.stderr)
            continue
        target = os.path.join(RUNS, kind, name)
        if os.path.exists(target):
            print(f"not filed: {name} (runs/{kind}/{name} exists)", file=sys.stderr)
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        src = os.path.join(HERE, name)
        tracked = subprocess.run(["git", "ls-files", "--error-unmatch", src], cwd=HERE,
                                 capture_output=True).returncode == 0
        if tracked:
            subprocess.run(["git", "mv", src, target], cwd=HERE, check=True)
        else:
            os.rename(src, target)
        print(f"filed {name} -> runs/{kind}/{name}")
        moved += 1
    return moved


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if README.md is stale, runs are unfiled or cited "
                                                        "files are missing; change nothing")
    ap.add_argument("--file", action="store_true", help="move files at the top of bench/results/ into runs/<kind>/")
    args = ap.parse_args()

    series, unfiled, misplaced = collect()
    if args.file and unfiled:
        file_unfiled(unfiled)
        series, unfiled, misplaced = collect()
    old = read_text(README) or DEFAULT_README
    new = render(old, series, unfiled)
    problems = [f"runs/…: {m} is in the wrong folder (kind {kind_of(os.path.basename(m))})" for m in misplaced]
    if args.check:
        if new != old:
            problems.append("bench/results/README.md is stale: run python3 bench/results/index.py")
        problems += [f"unfiled: bench/results/{n}" for n in unfiled]
        problems += cited_elsewhere()
        for p in problems:
            print(p, file=sys.stderr)
        return 1 if problems else 0
    if new != old:
        with open(README, "w", encoding="utf-8") as f:
            f.write(new)
        print(f"wrote {os.path.relpath(README, REPO)} ({sum(len(v) for v in series.values())} runs)")
    else:
        print("bench/results/README.md is up to date")
    for p in problems + cited_elsewhere():
        print("warning:", p, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
