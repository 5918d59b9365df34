"""The inference server's shared memory on the GPU machine (scripts/gpu-kserve-checks.sh runs it against
`lookout serve --inference-only --device cuda --allow-client-shm=true`, from a second process):

  check: NAME-detect on an image with its input and outputs in binary HTTP, in system shared memory
         (tritonclient.utils.shared_memory) and in CUDA shared memory (device memory of this process, exported with
         cudaIpcGetMemHandle), each identical to `lookout detect --device cuda`.
  perf:  a closed-loop load generator at each concurrency (threads, one keep-alive connection each) against NAME-detect
         with a 1080p UINT8 image, its input sent as binary HTTP (`none`), or read from one system or one CUDA region
         (`system`, `cuda`; each thread's outputs in its own region); throughput and latency percentiles as JSON and a
         table. perf_analyzer's PyPI wheel is a 2 KB stub without the binary, so it cannot be carried.

CUDA memory comes from the CUDA runtime the machine's PyTorch loads (ctypes: cudaMalloc, cudaMemcpy,
cudaIpcGetMemHandle), not from tritonclient's cuda_shared_memory helper, whose cuda-python wheel (8 MB) does not fit
the device carry.
"""
import argparse
import base64
import ctypes
import http.client
import json
import subprocess
import sys
import threading
import time
import urllib.parse

import numpy as np

failures = []


def check(condition, what):
    print(("PASS " if condition else "FAIL ") + what, flush=True)
    if not condition:
        failures.append(what)


# MARK: CUDA through the runtime PyTorch ships


class CUDARuntime:
    HOST_TO_DEVICE, DEVICE_TO_HOST = 1, 2

    def __init__(self):
        import torch

        torch.cuda.init()  # loads libcudart and makes a context
        self.lib = None
        for name in ("libcudart.so.13", "libcudart.so.12", "libcudart.so"):
            try:
                self.lib = ctypes.CDLL(name)
                break
            except OSError:
                continue
        if self.lib is None:
            import glob
            import os

            found = glob.glob(os.path.join(os.path.dirname(torch.__file__), "..", "nvidia", "cu*", "lib", "libcudart.so*"))
            found += glob.glob(os.path.join(os.path.dirname(torch.__file__), "lib", "libcudart*.so*"))
            if not found:
                raise RuntimeError("no libcudart next to PyTorch")
            self.lib = ctypes.CDLL(found[0])
        self.lib.cudaMalloc.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_size_t]
        self.lib.cudaMemcpy.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        self.lib.cudaFree.argtypes = [ctypes.c_void_p]
        self.lib.cudaIpcGetMemHandle.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
        self.lib.cudaSetDevice(0)

    def call(self, status, what):
        if status != 0:
            raise RuntimeError(f"{what}: CUDA error {status}")

    def alloc(self, size):
        pointer = ctypes.c_void_p()
        self.call(self.lib.cudaMalloc(ctypes.byref(pointer), size), "cudaMalloc")
        return pointer.value

    def free(self, pointer):
        self.lib.cudaFree(pointer)

    def upload(self, pointer, array):
        array = np.ascontiguousarray(array)
        self.call(self.lib.cudaMemcpy(pointer, array.ctypes.data, array.nbytes, self.HOST_TO_DEVICE), "cudaMemcpy")

    def download(self, pointer, dtype, shape, offset=0):
        out = np.empty(shape, dtype=dtype)
        self.call(self.lib.cudaMemcpy(out.ctypes.data, pointer + offset, out.nbytes, self.DEVICE_TO_HOST), "cudaMemcpy")
        return out

    def handle(self, pointer):
        """The allocation's 64-byte IPC handle, base64 as the register request takes it."""
        raw = ctypes.create_string_buffer(64)
        self.call(self.lib.cudaIpcGetMemHandle(raw, pointer), "cudaIpcGetMemHandle")
        return base64.b64encode(raw.raw).decode()


# MARK: correctness through tritonclient


def reference(binary, image):
    out = subprocess.run([binary, "detect", image, "--device", "cuda", "--json", "-"], check=True,
                         capture_output=True, text=True).stdout
    line = json.loads(out.strip().splitlines()[0])
    return [(d["box"], d["confidence"], d["class"]) for d in line["detections"]]


def rows(detections, count):
    return [([float(v) for v in detections[i][:4]], float(detections[i][4]), int(detections[i][5]))
            for i in range(int(count))]


def same(found, expected, what, baseline=None):
    """Boxes and classes as `lookout detect --device cuda` prints them (0.01 px, fp16 engine: 0.05 px and 1e-3 in
    confidence, as the server's batch may be padded differently), and, given `baseline` (binary HTTP's rows), the
    very same floats."""
    ok = len(found) == len(expected)
    worst, worst_box = 0.0, 0.0
    if ok:
        for (box, conf, cls), (ebox, econf, ecls) in zip(found, expected):
            worst = max(worst, abs(conf - econf))
            worst_box = max([worst_box] + [abs(a - b) for a, b in zip(box, ebox)])
            if cls != ecls or any(abs(a - b) > 0.05 for a, b in zip(box, ebox)) or abs(conf - econf) > 1e-3:
                ok = False
    exact = baseline is None or found == baseline
    check(ok and exact, f"{what}: {len(found)} detections, as lookout detect --device cuda ({len(expected)}): max box "
                        f"diff {worst_box:.3f} px, max conf diff {worst:.2e}"
                        + ("" if baseline is None else f"; {'bit-identical' if exact else 'NOT identical'} to binary HTTP"))
    return ok and exact


def correctness(url, model, binary, image_path, bgr, cuda):
    import tritonclient.http as httpclient
    import tritonclient.utils.shared_memory as shm

    client = httpclient.InferenceServerClient(url)
    meta = client.get_server_metadata()
    check("system_shared_memory" in meta["extensions"] and "cuda_shared_memory" in meta["extensions"],
          f"extensions {meta['extensions']}")
    expected = reference(binary, image_path)
    check(len(expected) > 0, f"lookout detect --device cuda finds {len(expected)} boxes")
    h, w = bgr.shape[:2]
    size = h * w * 3
    det_bytes, out_bytes = 300 * 6 * 4, 300 * 6 * 4 + 4
    results = {}

    outputs = [httpclient.InferRequestedOutput(n, binary_data=True) for n in ("detections", "count")]
    inp = httpclient.InferInput("images", [1, h, w, 3], "UINT8")
    inp.set_data_from_numpy(bgr[None])
    r = client.infer(model, [inp], outputs=outputs)
    baseline = rows(r.as_numpy("detections")[0], r.as_numpy("count")[0])
    results["none"] = same(baseline, expected, "binary HTTP")

    client.unregister_system_shared_memory()
    client.unregister_cuda_shared_memory()
    h_in = shm.create_shared_memory_region("gpu_in", "/lookout_gpu_in", size)
    h_out = shm.create_shared_memory_region("gpu_out", "/lookout_gpu_out", out_bytes)
    try:
        shm.set_shared_memory_region(h_in, [bgr[None]])
        client.register_system_shared_memory("gpu_in", "/lookout_gpu_in", size)
        client.register_system_shared_memory("gpu_out", "/lookout_gpu_out", out_bytes)
        inp = httpclient.InferInput("images", [1, h, w, 3], "UINT8")
        inp.set_shared_memory("gpu_in", size)
        o1 = httpclient.InferRequestedOutput("detections")
        o1.set_shared_memory("gpu_out", det_bytes)
        o2 = httpclient.InferRequestedOutput("count")
        o2.set_shared_memory("gpu_out", 4, offset=det_bytes)
        client.infer(model, [inp], outputs=[o1, o2])
        count = shm.get_contents_as_numpy(h_out, np.int32, [1], offset=det_bytes)
        detections = shm.get_contents_as_numpy(h_out, np.float32, [1, 300, 6])
        results["system"] = same(rows(detections[0], count[0]), expected, "system shared memory in and out", baseline)
        client.unregister_system_shared_memory()
    finally:
        shm.destroy_shared_memory_region(h_in)
        shm.destroy_shared_memory_region(h_out)

    d_in, d_out = cuda.alloc(size), cuda.alloc(out_bytes)
    try:
        cuda.upload(d_in, bgr[None])
        cuda.upload(d_out, np.zeros(out_bytes, dtype=np.uint8))
        client.register_cuda_shared_memory("gpu_in", cuda.handle(d_in), 0, size)
        client.register_cuda_shared_memory("gpu_out", cuda.handle(d_out), 0, out_bytes)
        status = client.get_cuda_shared_memory_status()
        check(sorted((s["name"], int(s["device_id"]), int(s["byte_size"])) for s in status)
              == [("gpu_in", 0, size), ("gpu_out", 0, out_bytes)], f"CUDA shm status {status}")
        inp = httpclient.InferInput("images", [1, h, w, 3], "UINT8")
        inp.set_shared_memory("gpu_in", size)
        o1 = httpclient.InferRequestedOutput("detections")
        o1.set_shared_memory("gpu_out", det_bytes)
        o2 = httpclient.InferRequestedOutput("count")
        o2.set_shared_memory("gpu_out", 4, offset=det_bytes)
        client.infer(model, [inp], outputs=[o1, o2])
        count = cuda.download(d_out, np.int32, [1], offset=det_bytes)
        detections = cuda.download(d_out, np.float32, [1, 300, 6])
        results["cuda"] = same(rows(detections[0], count[0]), expected, "CUDA shared memory in and out", baseline)
        # CUDA input, outputs in the response.
        r = client.infer(model, [inp], outputs=outputs)
        same(rows(r.as_numpy("detections")[0], r.as_numpy("count")[0]), expected, "CUDA input, binary HTTP outputs", baseline)
        # Errors: past the region, a bad handle, a name registered twice.
        for what, call in [
            ("offset past a CUDA region", lambda: client.infer(model, [_shm_input(httpclient, "gpu_in", size, 1, h, w)])),
            ("a CUDA handle of nothing", lambda: client.register_cuda_shared_memory(
                "bad", base64.b64encode(bytes(64)).decode(), 0, 64)),
            ("a CUDA name twice", lambda: client.register_cuda_shared_memory("gpu_in", cuda.handle(d_in), 0, size)),
            ("a device that does not exist", lambda: client.register_cuda_shared_memory(
                "far", cuda.handle(d_in), 99, size)),
        ]:
            try:
                call()
                check(False, f"CUDA shm error, {what}: accepted")
            except Exception as e:  # tritonclient's InferenceServerException
                status = getattr(e, "status", lambda: None)()
                check(status == "400", f"CUDA shm error, {what}: {status} {e}")
        client.unregister_cuda_shared_memory()
        check(client.get_cuda_shared_memory_status() == [], "CUDA shm unregister all")
    finally:
        cuda.free(d_in)
        cuda.free(d_out)
    check(client.is_server_live(), "server live after the CUDA checks")
    return results


def _shm_input(httpclient, region, size, offset, h, w):
    inp = httpclient.InferInput("images", [1, h, w, 3], "UINT8")
    inp.set_shared_memory(region, size, offset=offset)
    return inp


# MARK: load


def infer_body(model_input, outputs):
    return json.dumps({"inputs": [model_input], "outputs": outputs}).encode()


class Worker(threading.Thread):
    def __init__(self, url, model, body, headers, stop, latencies, errors):
        super().__init__(daemon=True)
        self.parts = urllib.parse.urlparse(url)
        self.path = f"/v2/models/{model}/infer"
        self.body, self.headers = body, headers
        self.stop, self.latencies, self.errors = stop, latencies, errors

    def run(self):
        connection = http.client.HTTPConnection(self.parts.hostname, self.parts.port, timeout=120)
        while not self.stop.is_set():
            start = time.perf_counter()
            try:
                connection.request("POST", self.path, body=self.body, headers=self.headers)
                response = connection.getresponse()
                text = response.read()
                if response.status != 200:
                    self.errors.append(f"{response.status} {text[:200]!r}")
                    continue
            except Exception as e:
                self.errors.append(str(e))
                connection.close()
                connection = http.client.HTTPConnection(self.parts.hostname, self.parts.port, timeout=120)
                continue
            self.latencies.append((time.perf_counter(), time.perf_counter() - start))
        connection.close()


def load(url, model, mode, concurrency, seconds, warmup, image, cuda, register):
    """Throughput and latency of `concurrency` closed loops for `seconds` after `warmup`."""
    h, w = image.shape[:2]
    size = h * w * 3
    out_bytes = 300 * 6 * 4 + 4
    cleanup = []
    bodies = []
    header_only = {"Content-Type": "application/json"}
    if mode == "none":
        header = json.dumps({"inputs": [{"name": "images", "datatype": "UINT8", "shape": [1, h, w, 3],
                                         "parameters": {"binary_data_size": size}}],
                             "outputs": [{"name": n, "parameters": {"binary_data": True}}
                                         for n in ("detections", "count")]}).encode()
        body = header + image.tobytes()
        bodies = [(body, {"Inference-Header-Content-Length": str(len(header))})] * concurrency
    else:
        region_in = {"shared_memory_region": f"load_{mode}_in", "shared_memory_byte_size": size}
        names = register(mode, concurrency, size, out_bytes, image, cleanup)
        for out_name in names:
            outputs = [{"name": "detections", "parameters": {"shared_memory_region": out_name,
                                                            "shared_memory_byte_size": out_bytes - 4}},
                       {"name": "count", "parameters": {"shared_memory_region": out_name, "shared_memory_byte_size": 4,
                                                        "shared_memory_offset": out_bytes - 4}}]
            model_input = {"name": "images", "datatype": "UINT8", "shape": [1, h, w, 3], "parameters": region_in}
            bodies.append((infer_body(model_input, outputs), header_only))
    stop = threading.Event()
    latencies, errors = [], []
    workers = [Worker(url, model, b, hd, stop, latencies, errors) for b, hd in bodies]
    for worker in workers:
        worker.start()
    time.sleep(warmup)
    begin = time.perf_counter()
    time.sleep(seconds)
    end = time.perf_counter()
    stop.set()
    for worker in workers:
        worker.join(timeout=130)
    for undo in cleanup:
        undo()
    window = sorted(lat for t, lat in latencies if begin <= t <= end)
    n = len(window)

    def pct(p):
        return round(window[min(n - 1, int(p / 100 * n))] * 1000, 2) if n else None

    return {"mode": mode, "concurrency": concurrency, "seconds": round(end - begin, 2), "requests": n,
            "throughput_per_s": round(n / (end - begin), 2), "p50_ms": pct(50), "p90_ms": pct(90), "p99_ms": pct(99),
            "errors": len(errors), "first_error": errors[0] if errors else None}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--model", default="shapes-yolov8n-detect")
    parser.add_argument("--image", default="Models/sample.jpg")
    parser.add_argument("--out", required=True)
    parser.add_argument("--steps", default="check,perf")
    parser.add_argument("--modes", default="none,system,cuda")
    parser.add_argument("--concurrency", default="1,2,4,8,16,32,64")
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--warmup", type=float, default=2)
    args = parser.parse_args()
    try:
        import cv2

        bgr = cv2.imread(args.image, cv2.IMREAD_COLOR)
    except ImportError:
        from PIL import Image

        bgr = np.ascontiguousarray(np.asarray(Image.open(args.image).convert("RGB"))[:, :, ::-1])
    modes = args.modes.split(",")
    cuda = CUDARuntime() if "cuda" in modes else None
    url = urllib.parse.urlparse(args.url).netloc
    steps = args.steps.split(",")
    report = {}
    if "check" in steps:
        report["check"] = correctness(url, args.model, args.binary, args.image, bgr, cuda)

    if "perf" in steps:
        import tritonclient.http as httpclient

        client = httpclient.InferenceServerClient(url)
        # A 1080p frame: the image scaled (nearest neighbour) to 1920 x 1080.
        ys = (np.arange(1080) * bgr.shape[0] // 1080).clip(0, bgr.shape[0] - 1)
        xs = (np.arange(1920) * bgr.shape[1] // 1920).clip(0, bgr.shape[1] - 1)
        frame = np.ascontiguousarray(bgr[ys][:, xs])

        def register(mode, concurrency, size, out_bytes, image, cleanup):
            names = [f"load_{mode}_out{i}" for i in range(concurrency)]
            if mode == "system":
                import tritonclient.utils.shared_memory as shm

                handles = [shm.create_shared_memory_region(f"load_{mode}_in", "/lookout_load_in", size)]
                shm.set_shared_memory_region(handles[0], [image[None]])
                client.register_system_shared_memory(f"load_{mode}_in", "/lookout_load_in", size)
                for i, name in enumerate(names):
                    handles.append(shm.create_shared_memory_region(name, f"/lookout_load_out{i}", out_bytes))
                    client.register_system_shared_memory(name, f"/lookout_load_out{i}", out_bytes)
                cleanup.append(lambda: client.unregister_system_shared_memory())
                cleanup.extend(lambda h=h: shm.destroy_shared_memory_region(h) for h in handles)
            else:
                pointers = [cuda.alloc(size)]
                cuda.upload(pointers[0], image[None])
                client.register_cuda_shared_memory(f"load_{mode}_in", cuda.handle(pointers[0]), 0, size)
                for name in names:
                    pointers.append(cuda.alloc(out_bytes))
                    client.register_cuda_shared_memory(name, cuda.handle(pointers[-1]), 0, out_bytes)
                cleanup.append(lambda: client.unregister_cuda_shared_memory())
                cleanup.extend(lambda p=p: cuda.free(p) for p in pointers)
            return names

        table = []
        for mode in modes:
            for concurrency in [int(c) for c in args.concurrency.split(",")]:
                row = load(args.url, args.model, mode, concurrency, args.seconds, args.warmup, frame, cuda, register)
                print(json.dumps(row), flush=True)
                table.append(row)
                with open(f"{args.out}/kserve-perf.json", "w") as f:
                    json.dump(table, f, indent=1)
        check(all(r["errors"] == 0 for r in table), "no failed requests under load")
        lines = ["| shared memory | concurrency | images/s | p50 ms | p90 ms | p99 ms | errors |",
                 "| --- | --- | --- | --- | --- | --- | --- |"]
        lines += [f"| {r['mode']} | {r['concurrency']} | {r['throughput_per_s']} | {r['p50_ms']} | {r['p90_ms']} | "
                  f"{r['p99_ms']} | {r['errors']} |" for r in table]
        with open(f"{args.out}/kserve-perf.md", "w") as f:
            f.write("\n".join(lines) + "\n")
        print("\n".join(lines))
        report["perf"] = table
    with open(f"{args.out}/kserve-checks.json", "w") as f:
        json.dump({"failures": failures, **report}, f, indent=1)
    print(f"gpu-kserve-checks: {len(failures)} failed" if failures else "gpu-kserve-checks: all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
