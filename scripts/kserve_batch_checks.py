"""Dynamic batching through tritonclient against `lookout serve --inference-only` (docs/inference-server.md): 16
concurrent requests to a dynamic export's NAME-detect (images of three sizes, batches of one and two, two `conf`
values) each get exactly the detections they get when sent one at a time, and the statistics show fewer executions
than inferred images; the config shows max_batch_size and dynamic_batching; a server stopped by SIGTERM while
requests wait in its queue answers every one of them and exits 0. Called by scripts/kserve-checks.py."""
import os
import shutil
import signal
import tempfile
import time

import gevent
import kserve_server
import numpy as np
import tritonclient.http as httpclient


def requests(bgr):
    """16 requests: (images [N, H, W, 3], parameters)."""
    flipped = np.ascontiguousarray(bgr[:, ::-1])
    crop = np.ascontiguousarray(bgr[: bgr.shape[0] * 2 // 3, : bgr.shape[1] // 2])
    variants = [
        (bgr[None], None), (flipped[None], None), (crop[None], None), (np.stack([bgr, flipped]), None),
        (bgr[None], {"conf": 0.5}), (crop[None], {"conf": 0.5}), (flipped[None], {"max_det": 50}), (bgr[None], None),
    ]
    return variants * 2


def infer(client, model, images, parameters):
    inp = httpclient.InferInput("images", list(images.shape), "UINT8")
    inp.set_data_from_numpy(images)
    outputs = [httpclient.InferRequestedOutput(n) for n in ("detections", "count")]
    return client.async_infer(model, [inp], outputs=outputs, parameters=parameters)


def answers(futures):
    return [(r.as_numpy("detections"), r.as_numpy("count")) for r in (f.get_result() for f in futures)]


def run(url, model, bgr, check):
    client = httpclient.InferenceServerClient(url, concurrency=16, network_timeout=300)
    config = client.get_model_config(model)
    check(config.get("max_batch_size", 0) > 1 and "dynamic_batching" in config
          and config["input"][0]["dims"] == [-1, -1, 3],
          f"{model} config: max_batch_size {config.get('max_batch_size')}, dynamic_batching "
          f"{config.get('dynamic_batching')}, images dims {config['input'][0]['dims']}")
    work = requests(bgr)
    sequential = [answers([infer(client, model, images, p)])[0] for images, p in work]
    before = client.get_inference_statistics(model)["model_stats"][0]
    start = time.time()
    concurrent = answers([infer(client, model, images, p) for images, p in work])
    elapsed = time.time() - start
    after = client.get_inference_statistics(model)["model_stats"][0]
    same = [np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(sequential, concurrent)]
    check(all(same), f"16 concurrent requests to {model}: detections identical to sequential ones "
          f"({sum(same)} of 16; {sum(int(c.sum()) for _, c in concurrent)} boxes in all)")
    executions = after["execution_count"] - before["execution_count"]
    rows = after["inference_count"] - before["inference_count"]
    sizes = {b["batch_size"]: b["compute_infer"]["count"] for b in after["batch_stats"]}
    check(rows == sum(len(images) for images, _ in work) and executions < rows,
          f"statistics: {executions} executions for {rows} images ({elapsed:.2f} s; batch sizes so far {sizes})")
    client.close()


def drain(binary, onnx, model, bgr, check):
    """SIGTERM while requests wait in the queue (a 30 s queue delay holds them; the signal ends the wait): each is
    answered, the server exits 0.
    `model` is NAME-detect of `onnx`, served alone from a temporary folder."""
    models = tempfile.mkdtemp(prefix="kserve-batch.")
    os.symlink(os.path.abspath(onnx), os.path.join(models, model.removesuffix("-detect") + ".onnx"))
    process, url = kserve_server.start(binary, models, "--max-queue-delay-us", "30000000")
    try:
        check(url is not None, "a server with --max-queue-delay-us 30000000 starts")
        if url is None:
            return
        client = httpclient.InferenceServerClient(url, concurrency=6, network_timeout=120)
        futures = [infer(client, model, bgr[None], None) for _ in range(6)]
        # The first request would wait 30 s in the queue for others; the signal comes while all six wait, and they run
        # at once. (tritonclient sends from gevent greenlets: a gevent sleep lets them run.)
        gevent.sleep(4)
        process.send_signal(signal.SIGTERM)
        signalled = time.time()
        results = []
        for f in futures:
            try:
                results.append(int(f.get_result().as_numpy("count")[0]))
            except Exception as e:  # a dropped connection or a refusal
                results.append(f"{type(e).__name__}: {e}")
        answered = [r for r in results if isinstance(r, int)]
        check(len(answered) == 6 and len(set(answered)) == 1,
              f"SIGTERM with 6 requests queued: every one answered ({results})")
        code = process.wait(timeout=60)
        after = time.time() - signalled
        check(code == 0 and after < 16, f"SIGTERM with requests queued: the server exited {code}, {after:.1f} s after "
              "the signal (under 16 s: the queue delay, 26 s left, ends at the signal)")
        client.close()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        shutil.rmtree(models, ignore_errors=True)
