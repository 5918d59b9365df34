#!/usr/bin/env python3
"""The KServe v2 / Open Inference Protocol checks of `lookout serve --inference-only` (scripts/kserve-checks.sh
starts the server and runs this), with NVIDIA's own client, tritonclient[http] (the version the wrapper pins):

1. server live / ready / metadata; model metadata, config and ready for NAME and NAME-detect;
2. NAME-detect on Models/sample.jpg as raw UINT8 BGR (binary data, then JSON), as UINT8 RGB with `color: rgb`, and
   as an `encoded` JPEG: boxes and classes identical to `lookout detect Models/sample.jpg --json -`, confidences
   within 1e-4; `conf` and `max_det` parameters honoured;
3. NAME (the raw network) on a random float input: the output shape as exported, values equal to onnxruntime's
   (when onnxruntime is installed); with --dynamic (the dynamic export scripts/test generates), a [2, 3, 320, 480]
   input against onnxruntime and a batch of two images through its -detect model against `lookout detect --model`;
   its dynamic batching (scripts/kserve_batch_checks.py): 16 concurrent requests answered as when sent one at a
   time, fewer executions than images, and a server stopped by SIGTERM with requests queued answering them all;
4. statistics; the repository index, unload (model not ready, infer refused), load (ready again);
5. at least 200 malformed requests over raw HTTP (wrong shapes and datatypes, truncated binary sections, lying
   binary_data_size and Inference-Header-Content-Length, unknown models and outputs, huge sizes, bad JSON), each
   answered 4xx with a JSON `error`; 800 random mutations of a valid binary request, each answered 200 or 4xx (at
   least 1,000 malformed requests in all); the server still live and detecting the same boxes after;
6. with --metrics-url, Triton's Prometheus metrics: the per-model counters equal the statistics' counts.

    python scripts/kserve-checks.py --url http://127.0.0.1:PORT --binary .build/debug/lookout --model NAME
Exit 0 when everything passed."""
import argparse
import http.client
import json
import subprocess
import sys
import urllib.parse

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

failures = []


def check(condition, what):
    print(("PASS " if condition else "FAIL ") + what)
    if not condition:
        failures.append(what)


def reference(binary, image, model=None):
    command = [binary, "detect", image, "--json", "-"] + (["--model", model] if model else [])
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    line = json.loads(out.strip().splitlines()[0])
    return [(d["box"], d["confidence"], d["class"]) for d in line["detections"]]


def same(found, expected, what):
    ok = len(found) == len(expected)
    worst = 0.0
    if ok:
        for (box, conf, cls), (ebox, econf, ecls) in zip(found, expected):
            worst = max(worst, abs(conf - econf))
            # `lookout detect --json` prints boxes rounded to 0.01 px at most
            if cls != ecls or any(abs(a - b) > 0.01 + 1e-4 for a, b in zip(box, ebox)) or abs(conf - econf) > 1e-4:
                ok = False
    check(ok, f"{what}: {len(found)} detections, identical to lookout detect ({len(expected)}), max conf diff {worst:.2e}")


def rows(detections, count):
    return [
        ([float(v) for v in detections[i][:4]], float(detections[i][4]), int(detections[i][5]))
        for i in range(int(count))
    ]


def detect(client, model, inputs, binary, parameters=None):
    outputs = [httpclient.InferRequestedOutput(n, binary_data=binary) for n in ("detections", "count")]
    result = client.infer(model, inputs, outputs=outputs, parameters=parameters)
    detections = result.as_numpy("detections")
    count = result.as_numpy("count")
    return detections, count


def raw_request(url, method, path, body=b"", headers=None):
    parts = urllib.parse.urlparse(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def malformed(model, raw_model):
    """(what, path, body, headers) of requests the server must refuse with 4xx."""
    infer = f"/v2/models/{model}/infer"
    raw_infer = f"/v2/models/{raw_model}/infer"
    cases = []

    def js(what, obj, path=infer):
        cases.append((what, path, json.dumps(obj).encode(), {"Content-Type": "application/json"}))

    def binary(what, header, data, path=infer, length=None):
        text = json.dumps(header).encode()
        cases.append((what, path, text + data, {"Inference-Header-Content-Length": str(len(text) if length is None else length)}))

    image = {"name": "images", "datatype": "UINT8", "shape": [1, 4, 4, 3], "data": [0] * 48}
    # bad JSON
    for i, text in enumerate([b"", b"{", b"[]", b"null", b"42", b'"x"', b"{\"inputs\":", b"{\"inputs\": [}", b"\xff\xfe",
                              b"{" * 100 + b"}" * 100, b"[" * 10000, b"{\"inputs\": [" * 50, b"{\"inputs\": 5}",
                              b"{\"inputs\": []}", b"{\"inputs\": [1]}", b"{\"inputs\": [{}]}", b"{'inputs': []}",
                              b"{\"inputs\": [{\"name\": 5}]}", b"\x00" * 64, b"{\"inputs\":[{\"name\":\"images\"}]}"]):
        cases.append((f"bad JSON #{i}", infer, text, {}))
    # datatypes
    for dt in ["FP32", "INT8", "INT32", "INT64", "FP16", "BF16", "FP64", "BOOL", "BYTES", "UINT16", "uint8", "U8", "", 7]:
        js(f"images as {dt}", {"inputs": [dict(image, datatype=dt)]})
        js(f"raw images as {dt}", {"inputs": [{"name": "images", "datatype": dt, "shape": [1, 3, 640, 640], "data": [0]}]}, raw_infer)
    # shapes
    for shape in [[4, 4, 3], [1, 4, 4], [1, 4, 4, 4], [1, 4, 4, 1], [0, 4, 4, 3], [1, 0, 4, 3], [1, 4, 0, 3], [-1, 4, 4, 3],
                  [1, -4, -4, 3], [2, 4, 4, 3], [1, 2, 24, 3], [100, 1, 1, 3], [1, 4, 4, 3, 1], [], [1], "x", [1.5, 4, 4, 3],
                  [1, 4, 4, "3"], [2 ** 40, 2 ** 40, 3, 3], [2 ** 62, 4, 4, 3], [65, 1, 1, 3]]:
        js(f"images shape {shape}", {"inputs": [dict(image, shape=shape)]})
    for shape in [[1, 3, 640], [1, 3, 320, 320], [2, 3, 640, 640], [1, 4, 640, 640], [1, 3, 640, 641], [0, 3, 640, 640],
                  [1, 3, 2 ** 31, 2 ** 31], [1, 1, 1, 1]]:
        n = 1
        for d in shape:
            n *= max(d, 0)
        data = [0.0] * n if n <= 3 * 640 * 640 and n != 3 * 640 * 640 else [0.0]
        js(f"raw shape {shape}", {"inputs": [{"name": "images", "datatype": "FP32", "shape": shape, "data": data}]}, raw_infer)
    # data counts and values
    for what, data in [("47 values", [0] * 47), ("49 values", [0] * 49), ("256", [256] + [0] * 47), ("-1", [-1] + [0] * 47),
                       ("1.5", [1.5] + [0] * 47), ("string", ["a"] + [0] * 47), ("null", [None] + [0] * 47),
                       ("object", [{}] + [0] * 47), ("nested ragged", [[0] * 47]), ("true", [True] + [0] * 47),
                       ("not an array", 5), ("empty", [])]:
        js(f"images data {what}", {"inputs": [dict(image, data=data)]})
    # names, inputs, outputs, parameters
    js("unknown input", {"inputs": [dict(image, name="pixels")]})
    js("two inputs", {"inputs": [image, image]})
    js("images and encoded", {"inputs": [image, {"name": "encoded", "datatype": "BYTES", "shape": [1], "data": ["x"]}]})
    js("no name", {"inputs": [{k: v for k, v in image.items() if k != "name"}]})
    js("no shape", {"inputs": [{k: v for k, v in image.items() if k != "shape"}]})
    js("no data", {"inputs": [{k: v for k, v in image.items() if k != "data"}]})
    js("unknown output", {"inputs": [image], "outputs": [{"name": "boxes"}]})
    js("output without name", {"inputs": [image], "outputs": [{}]})
    js("outputs not a list", {"inputs": [image], "outputs": 3})
    js("binary_data not bool", {"inputs": [image], "outputs": [{"name": "count", "parameters": {"binary_data": "yes"}}]})
    js("binary_data_output not bool", {"inputs": [image], "parameters": {"binary_data_output": 1}})
    js("parameters not object", {"inputs": [image], "parameters": [1]})
    for key, value in [("conf", 2), ("conf", -0.1), ("conf", "x"), ("conf", [1]), ("iou", 1.5), ("iou", -1), ("max_det", 0),
                       ("max_det", -5), ("max_det", 1.5), ("max_det", 10 ** 9), ("max_det", "many"), ("classes", [-1]),
                       ("classes", ["a"]), ("classes", "0,x"), ("classes", [1.5]), ("color", "hsv"), ("color", 1),
                       ("conf", None), ("iou", "nan")]:
        js(f"parameter {key}={value}", {"inputs": [image], "parameters": {key: value}})
    # encoded
    for what, data in [("not an image", ["hello"]), ("empty", [""]), ("truncated JPEG header", ["\u00ff\u00d8\u00ff"]),
                       ("number", [5])]:
        js(f"encoded {what}", {"inputs": [{"name": "encoded", "datatype": "BYTES", "shape": [1], "data": data}]})
    js("encoded as UINT8", {"inputs": [{"name": "encoded", "datatype": "UINT8", "shape": [1], "data": [1]}]})
    js("encoded zero images", {"inputs": [{"name": "encoded", "datatype": "BYTES", "shape": [0], "data": []}]})
    # binary sections
    pixels = bytes(48)
    header = lambda size, **kw: {"inputs": [dict({k: v for k, v in image.items() if k != "data"}, parameters={"binary_data_size": size}, **kw)]}
    for size in [0, 1, 47, 49, 96, 10 ** 6, 2 ** 31, 2 ** 63 - 1, -1, -(2 ** 40)]:
        binary(f"binary_data_size {size} for 48 bytes", header(size), pixels)
    for sent in [0, 1, 24, 47]:
        binary(f"truncated binary section ({sent} of 48 bytes)", header(48), pixels[:sent])
    binary("binary section past the inputs", header(48), pixels + b"extra")
    binary("binary_data_size as string", header("48"), pixels)
    binary("binary_data_size as float", header(48.5), pixels)
    binary("binary for FP32 raw model, 3 bytes", {"inputs": [{"name": "images", "datatype": "FP32", "shape": [1, 3, 640, 640], "parameters": {"binary_data_size": 3}}]}, b"abc", raw_infer)
    binary("binary for FP32 raw model, lying size", {"inputs": [{"name": "images", "datatype": "FP32", "shape": [1, 3, 640, 640], "parameters": {"binary_data_size": 4 * 3 * 640 * 640}}]}, bytes(1000), raw_infer)
    for length in [-1, 10 ** 9, 2 ** 64, "abc", "", "12x"]:
        binary(f"Inference-Header-Content-Length {length!r}", header(48), pixels, length=length)
    binary("Inference-Header-Content-Length cutting the JSON", header(48), pixels, length=10)
    binary("Inference-Header-Content-Length 0", header(48), pixels, length=0)
    for what, item in [("length past the section", (1000).to_bytes(4, "little") + b"abc"), ("cut length", b"\x01\x00"),
                       ("garbage image", (3).to_bytes(4, "little") + b"abc"), ("huge length", b"\xff\xff\xff\xff" + b"x"),
                       ("two items for shape [1]", (1).to_bytes(4, "little") * 2 + b"a"),
                       ("empty item", (0).to_bytes(4, "little"))]:
        binary(f"encoded binary: {what}", {"inputs": [{"name": "encoded", "datatype": "BYTES", "shape": [1], "parameters": {"binary_data_size": len(item)}}]}, item)
    # random bytes in binary sections of the right size but the wrong type combinations
    rng = np.random.default_rng(15)
    for i in range(40):
        n = int(rng.integers(0, 200))
        blob = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        dt = ["UINT8", "FP32", "BYTES", "INT32"][i % 4]
        shape = [int(rng.integers(-2, 5)) for _ in range(int(rng.integers(0, 6)))]
        size = int(rng.integers(-5, n + 5))
        if dt == "UINT8" and len(shape) == 4 and shape[3] == 3 and min(shape) >= 1 and size == n == int(np.prod(shape)):
            size += 1
        binary(f"random binary #{i} ({dt} {shape}, size {size}, {n} bytes)", {"inputs": [{"name": "images" if dt != "BYTES" else "encoded", "datatype": dt, "shape": shape, "parameters": {"binary_data_size": size}}]}, blob)
    # unknown models and versions
    for name in ["nope", "shapes", "shapes-yolov8n-detect-detect", "%2e%2e", "a" * 300, ""]:
        cases.append((f"infer on unknown model {name[:20]!r}", f"/v2/models/{name}/infer", json.dumps({"inputs": [image]}).encode(), {}))
    cases.append(("infer on version 2", f"/v2/models/{model}/versions/2/infer", json.dumps({"inputs": [image]}).encode(), {}))
    cases.append(("metadata of unknown model", "/v2/models/nope", None, {}))
    cases.append(("config of unknown model", "/v2/models/nope/config", None, {}))
    cases.append(("load of unknown model", "/v2/repository/models/nope/load", b"{}", {}))
    cases.append(("unload of unknown model", "/v2/repository/models/nope/unload", b"{}", {}))
    cases.append(("index with bad JSON", "/v2/repository/index", b"{", {}))
    cases.append(("no such path", "/v2/nothing", None, {}))
    return cases


def metrics_checks(client, metrics_url, detect_model, model):
    """GET the metrics and compare Triton's per-model counters with the statistics extension's counts."""
    parsed = urllib.parse.urlparse(metrics_url)
    conn = http.client.HTTPConnection(parsed.netloc, timeout=30)
    conn.request("GET", parsed.path)
    response = conn.getresponse()
    text = response.read().decode()
    conn.close()
    check(response.status == 200 and response.getheader("Content-Type", "").startswith("text/plain"),
          f"GET {metrics_url}: {response.status} {response.getheader('Content-Type')}")
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    for name in (detect_model, model):
        stats = client.get_inference_statistics(name)["model_stats"][0]
        labels = f'{{model="{name}",version="1"}}'
        expected = {
            "nv_inference_request_success": stats["inference_stats"]["success"]["count"],
            "nv_inference_request_failure": stats["inference_stats"]["fail"]["count"],
            "nv_inference_count": stats["inference_count"],
            "nv_inference_exec_count": stats["execution_count"],
            "nv_inference_pending_request_count": 0,
        }
        found = {metric: samples.get(metric + labels) for metric in expected}
        check(found == {k: float(v) for k, v in expected.items()},
              f"metrics of {name} equal its statistics: {found}")
        for phase in ("queue", "compute_input", "compute_infer", "compute_output"):
            metric = "nv_inference_queue_duration_us" if phase == "queue" else f"nv_inference_{phase}_duration_us"
            us = samples.get(metric + labels, -1)
            check(abs(us - stats["inference_stats"][phase]["ns"] / 1000) < 1,
                  f"metrics of {name}: {phase} {us:.1f} µs, statistics {stats['inference_stats'][phase]['ns'] / 1000:.1f} µs")
    cpu = [samples.get(k) for k in ("nv_cpu_utilization", "nv_cpu_memory_total_bytes", "nv_cpu_memory_used_bytes")]
    check(None not in cpu and 0 <= cpu[0] <= 1 and 0 < cpu[2] <= cpu[1], f"CPU metrics {cpu}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--model", default="shapes-yolov8n")
    parser.add_argument("--image", default="Models/sample.jpg")
    parser.add_argument("--onnx", default="Models/shapes-yolov8n.onnx")
    parser.add_argument("--dynamic", help="a dynamic export's model name in the repository (optional)")
    parser.add_argument("--dynamic-onnx", help="its ONNX file")
    parser.add_argument("--metrics-url", help="the server's Prometheus metrics (optional): Triton's counts checked")
    parser.add_argument("--models", help="the model repository, for a second server without shared memory (optional)")
    args = parser.parse_args()
    import cv2

    model, detect_model = args.model, args.model + "-detect"
    client = httpclient.InferenceServerClient(url=urllib.parse.urlparse(args.url).netloc, network_timeout=120)

    # 1. health and metadata
    check(client.is_server_live(), "server live")
    check(client.is_server_ready(), "server ready")
    meta = client.get_server_metadata()
    check(meta["name"] == "lookout" and "binary_tensor_data" in meta["extensions"], f"server metadata {meta}")
    m = client.get_model_metadata(detect_model)
    names = {t["name"]: (t["datatype"], t["shape"]) for t in m["inputs"] + m["outputs"]}
    check(names == {"images": ("UINT8", [-1, -1, -1, 3]), "encoded": ("BYTES", [-1]),
                    "detections": ("FP32", [-1, -1, 6]), "count": ("INT32", [-1])}, f"{detect_model} metadata")
    raw_meta = client.get_model_metadata(model, model_version="1")
    check(raw_meta["inputs"][0]["name"] == "images" and raw_meta["inputs"][0]["datatype"] == "FP32"
          and raw_meta["inputs"][0]["shape"][1] == 3, f"{model} metadata {raw_meta['inputs']} -> {raw_meta['outputs']}")
    config = client.get_model_config(model)
    check(config["name"] == model and "max_batch_size" in config and config["input"][0]["data_type"] == "TYPE_FP32",
          f"{model} config")
    check(client.get_model_config(detect_model)["output"][1]["data_type"] == "TYPE_INT32", f"{detect_model} config")
    check(client.is_model_ready(model) and client.is_model_ready(detect_model), "models ready")
    check(not client.is_model_ready("nope"), "an unknown model is not ready")

    # 2. detections against lookout detect
    expected = reference(args.binary, args.image)
    check(len(expected) > 0, f"lookout detect finds {len(expected)} boxes in {args.image}")
    bgr = cv2.imread(args.image, cv2.IMREAD_COLOR)
    h, w = bgr.shape[:2]
    for binary in (True, False):
        inp = httpclient.InferInput("images", [1, h, w, 3], "UINT8")
        inp.set_data_from_numpy(bgr[None], binary_data=binary)
        detections, count = detect(client, detect_model, [inp], binary)
        check(detections.shape == (1, 300, 6) and count.shape == (1,) and count.dtype == np.int32,
              f"detect outputs {detections.shape} {detections.dtype}, {count.shape} {count.dtype}")
        same(rows(detections[0], count[0]), expected, f"UINT8 BGR {'binary' if binary else 'JSON'}")
        check(not detections[0][int(count[0]):].any(), "rows past count are zeros")
    inp = httpclient.InferInput("images", [1, h, w, 3], "UINT8")
    inp.set_data_from_numpy(np.ascontiguousarray(bgr[None, :, :, ::-1]))
    detections, count = detect(client, detect_model, [inp], True, parameters={"color": "rgb"})
    same(rows(detections[0], count[0]), expected, "UINT8 RGB with color=rgb")
    jpeg = open(args.image, "rb").read()
    for n in (1, 2):
        enc = httpclient.InferInput("encoded", [n], "BYTES")
        enc.set_data_from_numpy(np.array([jpeg] * n, dtype=np.object_))
        detections, count = detect(client, detect_model, [enc], True)
        for i in range(n):
            same(rows(detections[i], count[i]), expected, f"encoded JPEG, batch of {n}, image {i}")
    detections, count = detect(client, detect_model, [enc], True, parameters={"conf": 0.8, "max_det": 2})
    high = [e for e in expected if e[1] > 0.8][:2]
    check(detections.shape == (2, 2, 6), f"max_det 2 gives {detections.shape}")
    same(rows(detections[0], count[0]), high, "conf 0.8, max_det 2")
    result = client.infer(detect_model, [enc])  # no outputs named: every output, in binary
    check(result.as_numpy("count").tolist() == [len(expected)] * 2, "no outputs requested: all outputs returned")

    # 3. the raw network
    shape = raw_meta["inputs"][0]["shape"]
    size = (shape[2] if shape[2] > 0 else 640, shape[3] if shape[3] > 0 else 640)
    rng = np.random.default_rng(1)
    x = rng.random((1, 3, size[0], size[1]), dtype=np.float32)
    inp = httpclient.InferInput("images", list(x.shape), "FP32")
    inp.set_data_from_numpy(x)
    out_name = raw_meta["outputs"][0]["name"]
    out = client.infer(model, [inp], outputs=[httpclient.InferRequestedOutput(out_name)]).as_numpy(out_name)
    declared = raw_meta["outputs"][0]["shape"]
    check(out.dtype == np.float32 and len(out.shape) == 3 and all(d in (-1, o) for d, o in zip(declared, out.shape)),
          f"raw {model}: output {out_name} {out.shape} (declared {declared})")
    try:
        import onnxruntime

        session = onnxruntime.InferenceSession(args.onnx, providers=["CPUExecutionProvider"])
        ref = session.run(None, {session.get_inputs()[0].name: x})[0]
        diff = float(np.abs(ref - out).max()) if ref.shape == out.shape else float("inf")
        check(diff < 1e-2 * max(1.0, float(np.abs(ref).max()) / 100), f"raw {model} equals onnxruntime (max diff {diff:.2e})")
    except ImportError:
        print("SKIP raw output against onnxruntime (not installed)")

    # 3b. a dynamic export (when scripts/test has generated it): batches and sizes of the client's choice
    if args.dynamic:
        dyn_meta = client.get_model_metadata(args.dynamic)
        check(dyn_meta["inputs"][0]["shape"] == [-1, 3, -1, -1], f"dynamic {args.dynamic}: input {dyn_meta['inputs'][0]['shape']}")
        dyn_x = rng.random((2, 3, 320, 480), dtype=np.float32)
        dyn_inp = httpclient.InferInput("images", list(dyn_x.shape), "FP32")
        dyn_inp.set_data_from_numpy(dyn_x)
        dyn_out = client.infer(args.dynamic, [dyn_inp]).as_numpy(dyn_meta["outputs"][0]["name"])
        try:
            import onnxruntime

            session = onnxruntime.InferenceSession(args.dynamic_onnx, providers=["CPUExecutionProvider"])
            ref = session.run(None, {session.get_inputs()[0].name: dyn_x})[0]
            diff = float(np.abs(ref - dyn_out).max()) if ref.shape == dyn_out.shape else float("inf")
            check(diff < 1e-2, f"dynamic {args.dynamic} [2, 3, 320, 480]: output {dyn_out.shape} equals onnxruntime (max diff {diff:.2e})")
        except ImportError:
            check(dyn_out.shape[:2] == (2, 8), f"dynamic {args.dynamic}: output {dyn_out.shape}")
        dyn_expected = reference(args.binary, args.image, args.dynamic_onnx)
        dyn_inp = httpclient.InferInput("images", [2, h, w, 3], "UINT8")
        dyn_inp.set_data_from_numpy(np.stack([bgr, bgr]))
        detections, count = detect(client, args.dynamic + "-detect", [dyn_inp], True)
        for i in range(2):
            same(rows(detections[i], count[i]), dyn_expected, f"dynamic {args.dynamic}-detect, batch of 2, image {i}")

        # 3c. dynamic batching: concurrent requests merged, each answered as alone; SIGTERM with requests queued
        import kserve_batch_checks

        kserve_batch_checks.run(urllib.parse.urlparse(args.url).netloc, args.dynamic + "-detect", bgr, check)
        kserve_batch_checks.drain(args.binary, args.dynamic_onnx, args.dynamic + "-detect", bgr, check)

    # 4. statistics and the repository
    stats = client.get_inference_statistics(detect_model)["model_stats"][0]
    check(stats["inference_stats"]["success"]["count"] >= 6 and stats["inference_stats"]["success"]["ns"] > 0,
          f"stats: {stats['inference_stats']['success']}")
    # One count per answered request in each phase, all four with time in them: perf_analyzer refuses a server
    # whose compute_input, compute_infer and compute_output counts differ.
    phases = {p: stats["inference_stats"][p] for p in ("queue", "compute_input", "compute_infer", "compute_output")}
    check(all(int(d["count"]) == int(stats["inference_stats"]["success"]["count"]) and int(d["ns"]) > 0
              for d in phases.values()), f"stats phases, one count per answered request: {phases}")
    served = {model, detect_model} | ({args.dynamic, args.dynamic + "-detect"} if args.dynamic else set())
    check({s["name"] for s in client.get_inference_statistics()["model_stats"]} == served, "stats of every model")
    index = client.get_model_repository_index()
    check({e["name"]: e["state"] for e in index} == {name: "READY" for name in served}, f"repository index {index}")
    client.unload_model(model)
    check(not client.is_model_ready(model) and client.is_model_ready(detect_model), "unload: NAME not ready, NAME-detect still ready")
    try:
        client.infer(model, [inp])
        check(False, "infer on an unloaded model refused")
    except InferenceServerException as e:
        check(e.status() in ("400", "404", "503") or "not ready" in str(e), f"infer on an unloaded model refused: {e}")
    state = {e["name"]: e["state"] for e in client.get_model_repository_index()}
    check(state[model] == "UNAVAILABLE", "the index says UNAVAILABLE")
    client.load_model(model)
    check(client.is_model_ready(model), "load: ready again")
    check(client.infer(model, [inp]).as_numpy(out_name).shape == out.shape, "load: infers again")

    # 4b. system shared memory (the server runs with --allow-client-shm=true)
    import kserve_shm_checks

    kserve_shm_checks.run(client, args.url, detect_model, bgr, expected, rows, same, check, raw_request)
    if args.models:
        kserve_shm_checks.refused_without_flag(args.binary, args.models, check)

    # 5. malformed requests
    cases = malformed(detect_model, model)
    bad = []
    for what, path, body, headers in cases:
        try:
            status, text = raw_request(args.url, "GET" if body is None else "POST", path, body or b"", headers)
            has_error = status >= 400 and b'"error"' in text
        except Exception as e:  # a dropped connection counts as a failure
            status, has_error = f"exception {e}", False
        if not (isinstance(status, int) and 400 <= status < 500 and has_error):
            bad.append(f"{what}: {status}")
    check(len(cases) >= 200 and not bad, f"{len(cases)} malformed requests answered 4xx with an error" + (f"; not: {bad[:10]}" if bad else ""))
    # Mutations of one valid binary request (a 4x4 image): bytes of the JSON header flipped, inserted, deleted, the
    # body cut; each answered 200 (still valid) or 4xx, never 5xx or a dropped connection.
    header = json.dumps({"inputs": [{"name": "images", "datatype": "UINT8", "shape": [1, 4, 4, 3],
                                     "parameters": {"binary_data_size": 48}}],
                         "outputs": [{"name": "count", "parameters": {"binary_data": True}}]}).encode()
    valid = header + bytes(range(48))
    rng = np.random.default_rng(2026)
    mutated_bad, statuses = [], {}
    mutations = 800
    for i in range(mutations):
        body = bytearray(valid)
        length = len(header)
        for _ in range(int(rng.integers(1, 4))):
            if length == 0:  # cut to nothing: nothing left to mutate
                break
            op = int(rng.integers(0, 4))
            at = int(rng.integers(0, length))
            if op == 0:
                body[at] = int(rng.integers(0, 256))
            elif op == 1:
                body[at:at] = bytes([int(rng.choice(list(b'{}[]",:0123456789-e.')))])
                length += 1
            elif op == 2 and length > 1:
                del body[at]
                length -= 1
            else:
                body = body[: int(rng.integers(0, len(body)))]
                length = min(length, len(body))
        try:
            status, text = raw_request(args.url, "POST", f"/v2/models/{detect_model}/infer", bytes(body),
                                       {"Inference-Header-Content-Length": str(length)})
        except Exception as e:
            status = f"exception {e}"
        statuses[status] = statuses.get(status, 0) + 1
        if not (status == 200 or (isinstance(status, int) and 400 <= status < 500)):
            mutated_bad.append(f"mutation {i}: {status}")
    check(not mutated_bad, f"{mutations} mutated requests answered 200 or 4xx ({statuses})" + (f"; not: {mutated_bad[:10]}" if mutated_bad else ""))
    check(len(cases) + mutations >= 1000, f"{len(cases) + mutations} malformed HTTP requests in all")
    check(client.is_server_live() and client.is_server_ready(), "server still live and ready after the malformed requests")
    inp = httpclient.InferInput("images", [1, h, w, 3], "UINT8")
    inp.set_data_from_numpy(bgr[None])
    detections, count = detect(client, detect_model, [inp], True)
    same(rows(detections[0], count[0]), expected, "detections unchanged after the malformed requests")
    fails = client.get_inference_statistics(detect_model)["model_stats"][0]["inference_stats"]["fail"]["count"]
    check(fails > 100, f"failed inferences counted ({fails})")

    # 6. Triton's Prometheus metrics: the same counts as the statistics
    if args.metrics_url:
        metrics_checks(client, args.metrics_url, detect_model, model)

    print(f"kserve-checks: {len(failures)} failed" if failures else "kserve-checks: all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
