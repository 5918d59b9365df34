#!/usr/bin/env python3
"""The gRPC half of the inference server checks (scripts/kserve-grpc-checks.sh starts the server and runs this), with
tritonclient.grpc (the version the wrapper pins) and grpcio directly:

1. ServerLive, ServerReady, ServerMetadata; ModelMetadata, ModelConfig, ModelReady of NAME and NAME-detect; an
   unknown model not ready, its metadata NOT_FOUND;
2. ModelInfer on NAME-detect with Models/sample.jpg: UINT8 BGR in raw_input_contents and in typed contents
   (uint_contents), RGB with `color`, an encoded JPEG in raw contents and in bytes_contents, a batch of two:
   boxes and classes identical to `lookout detect Models/sample.jpg --json -`, confidences within 1e-4; `conf`,
   `max_det`, `classes` as InferParameter; ModelStreamInfer (tritonclient's stream): 12 requests answered by id,
   a wrong datatype and an unknown model answered with their errors on the same stream;
3. NAME (the raw network) on a random input in raw and in fp32_contents: equal to each other and to onnxruntime's
   output (when onnxruntime is installed);
4. ModelStatistics, RepositoryIndex, RepositoryModelUnload (NAME UNAVAILABLE, its infer refused UNAVAILABLE),
   RepositoryModelLoad; a message over 256 MiB refused (RESOURCE_EXHAUSTED or a reset stream); system shared memory
   (register, status, NAME-detect with its input and outputs in regions identical to lookout detect, errors,
   unregister; the server runs with --allow-client-shm=true);
5. at least 1,000 malformed calls through grpcio: built requests (wrong datatypes, shapes, raw_input_contents of the
   wrong length or count, typed contents in the wrong field or out of range, unknown models, versions, outputs and
   parameters, huge dims, bad images), random mutations of a valid serialized ModelInferRequest, random structured
   requests and non-protobuf bytes; each answered with a status (not OK unless the mutation stayed valid), none
   hanging; the malformed inference requests that are valid protobuf again on one ModelStreamInfer stream, each
   answered there; then the server still live, ready and detecting the same boxes; with --models, a second server
   stopped by SIGTERM with one stream cancelled by its client and one kept open exits 0 after the 10-s grace.

    python scripts/kserve-checks-grpc.py --grpc 127.0.0.1:PORT --binary .build/debug/lookout
Exit 0 when everything passed."""
import argparse
import base64
import importlib.util
import os
import subprocess
import sys

import grpc
import numpy as np
import tritonclient.grpc as grpcclient
from tritonclient.grpc import service_pb2
from tritonclient.utils import InferenceServerException

# The HTTP checks' helpers (check, reference, same, rows): one definition of "identical to lookout detect".
_spec = importlib.util.spec_from_file_location("kserve_checks", os.path.join(os.path.dirname(__file__), "kserve-checks.py"))
http_checks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(http_checks)
check, reference, same, rows = http_checks.check, http_checks.reference, http_checks.same, http_checks.rows
failures = http_checks.failures

INFER = "/inference.GRPCInferenceService/ModelInfer"


def code_of(e):
    """The gRPC status name of a tritonclient error ("StatusCode.NOT_FOUND" → "NOT_FOUND")."""
    return str(e.status()).replace("StatusCode.", "")


def refused(call, code, what):
    try:
        call()
        check(False, f"{what}: refused with {code} (it succeeded)")
    except InferenceServerException as e:
        check(code_of(e) == code, f"{what}: {code_of(e)} {e.message()!r}")


def detect(client, model, inputs, parameters=None):
    outputs = [grpcclient.InferRequestedOutput(n) for n in ("detections", "count")]
    result = client.infer(model, inputs, outputs=outputs, parameters=parameters)
    return result.as_numpy("detections"), result.as_numpy("count")


def tensor(name, datatype, shape):
    t = service_pb2.ModelInferRequest().InferInputTensor()
    t.name, t.datatype = name, datatype
    t.shape.extend(shape)
    return t


def request(model, inputs, raw=None, parameters=None, outputs=None, version=""):
    r = service_pb2.ModelInferRequest(model_name=model, model_version=version)
    r.inputs.extend(inputs)
    if raw is not None:
        r.raw_input_contents.extend(raw)
    for key, value in (parameters or {}).items():
        p = r.parameters[key]
        if isinstance(value, bool):
            p.bool_param = value
        elif isinstance(value, int):
            p.int64_param = value
        elif isinstance(value, float):
            p.double_param = value
        elif isinstance(value, str):
            p.string_param = value
        # None: a parameter with no value set
    for name in outputs or []:
        r.outputs.add().name = name
    return r


def outputs_of(response):
    """name → numpy array of a ModelInferResponse's raw outputs."""
    types = {"FP32": np.float32, "INT32": np.int32}
    return {o.name: np.frombuffer(raw, dtype=types[o.datatype]).reshape(list(o.shape))
            for o, raw in zip(response.outputs, response.raw_output_contents)}


def malformed(model, raw_model):
    """(what, method, serialized bytes, may be OK) of calls the server must answer with a status."""
    cases = []

    def add(what, message, method=INFER, ok=False):
        cases.append((what, method, message if isinstance(message, bytes) else message.SerializeToString(), ok))

    pixels = bytes(48)
    image = lambda **kw: tensor(kw.get("name", "images"), kw.get("datatype", "UINT8"), kw.get("shape", [1, 4, 4, 3]))
    # datatypes and shapes
    for dt in ["FP32", "INT8", "INT32", "INT64", "FP16", "BF16", "FP64", "BOOL", "BYTES", "UINT16", "uint8", "U8", "", "UINT8 "]:
        add(f"images as {dt!r}", request(model, [image(datatype=dt)], [pixels]))
        add(f"raw images as {dt!r}", request(raw_model, [tensor("images", dt, [1, 3, 640, 640])], [bytes(16)]))
    for shape in [[4, 4, 3], [1, 4, 4], [1, 4, 4, 4], [1, 4, 4, 1], [0, 4, 4, 3], [1, 0, 4, 3], [1, 4, 0, 3], [-1, 4, 4, 3],
                  [1, -4, -4, 3], [2, 4, 4, 3], [1, 2, 24, 3], [100, 1, 1, 3], [1, 4, 4, 3, 1], [], [1],
                  [2 ** 40, 2 ** 40, 3, 3], [2 ** 62, 4, 4, 3], [65, 1, 1, 3], [-(2 ** 63), 1, 1, 3], [2 ** 63 - 1] * 4]:
        add(f"images shape {shape}", request(model, [image(shape=shape)], [pixels]))
    for shape in [[1, 3, 640], [1, 3, 320, 320], [2, 3, 640, 640], [1, 4, 640, 640], [1, 3, 640, 641], [0, 3, 640, 640],
                  [1, 3, 2 ** 31, 2 ** 31], [1, 1, 1, 1]]:
        add(f"raw shape {shape}", request(raw_model, [tensor("images", "FP32", shape)], [bytes(4)]))
    # raw_input_contents of the wrong length or count
    for n in [0, 1, 47, 49, 96, 10 ** 6]:
        add(f"raw_input_contents of {n} bytes for 48", request(model, [image()], [bytes(n)]))
    add("two raw_input_contents for one input", request(model, [image()], [pixels, pixels]))
    add("raw_input_contents without inputs", request(model, [], [pixels]))
    add("no inputs", request(model, []))
    add("no data", request(model, [image()]))
    add("3 bytes for the FP32 raw model", request(raw_model, [tensor("images", "FP32", [1, 3, 640, 640])], [b"abc"]))
    add("lying size for the FP32 raw model", request(raw_model, [tensor("images", "FP32", [1, 3, 640, 640])], [bytes(1000)]))
    both = image()
    both.contents.uint_contents.extend([0] * 48)
    add("raw and typed contents", request(model, [both], [pixels]))
    # typed contents
    for field, values in [("int_contents", [0] * 48), ("fp32_contents", [0.0] * 48), ("bytes_contents", [b"x"] * 48),
                          ("uint64_contents", [0] * 48), ("bool_contents", [False] * 48), ("int64_contents", [0] * 48)]:
        t = image()
        getattr(t.contents, field).extend(values)
        add(f"UINT8 data in {field}", request(model, [t]))
    for what, values in [("47 values", [0] * 47), ("49 values", [0] * 49), ("256", [256] + [0] * 47),
                         ("2**32-1", [2 ** 32 - 1] + [0] * 47), ("none", [])]:
        t = image()
        t.contents.uint_contents.extend(values)
        add(f"uint_contents {what}", request(model, [t]))
    t = tensor("images", "FP16", [1, 3, 640, 640])
    t.contents.fp32_contents.extend([0.0] * 4)
    add("FP16 typed contents", request(raw_model, [t]))
    t = tensor("images", "FP32", [1, 3, 640, 640])
    t.contents.fp32_contents.extend([0.0] * 10)
    add("fp32_contents of 10 values for the raw model", request(raw_model, [t]))
    # names, inputs, outputs, parameters
    add("unknown input", request(model, [image(name="pixels")], [pixels]))
    add("input without name", request(model, [image(name="")], [pixels]))
    add("two inputs", request(model, [image(), image()], [pixels, pixels]))
    add("images and encoded", request(model, [image(), tensor("encoded", "BYTES", [1])], [pixels, (1).to_bytes(4, "little") + b"x"]))
    add("unknown output", request(model, [image()], [pixels], outputs=["boxes"]))
    add("output without name", request(model, [image()], [pixels], outputs=[""]))
    shm = image()
    shm.parameters["shared_memory_region"].string_param = "region"
    add("shared_memory_region input", request(model, [shm]))
    for key, value in [("conf", 2.0), ("conf", -0.1), ("conf", "x"), ("iou", 1.5), ("iou", -1.0), ("max_det", 0),
                       ("max_det", -5), ("max_det", 1.5), ("max_det", 10 ** 9), ("max_det", "many"), ("classes", -1),
                       ("classes", "a"), ("classes", "0,x"), ("classes", 1.5), ("color", "hsv"), ("color", 1),
                       ("conf", None), ("iou", "nan"), ("classes", True), ("conf", True)]:
        add(f"parameter {key}={value!r}", request(model, [image()], [pixels], parameters={key: value}))
    huge = request(model, [image()], [pixels])
    huge.parameters["max_det"].uint64_param = 2 ** 64 - 1
    add("parameter max_det uint64 2**64-1", huge)
    # encoded images
    for what, item in [("not an image", b"hello"), ("empty", b""), ("truncated JPEG header", b"\xff\xd8\xff")]:
        t = tensor("encoded", "BYTES", [1])
        t.contents.bytes_contents.append(item)
        add(f"encoded {what} (bytes_contents)", request(model, [t]))
    for what, blob in [("length past the entry", (1000).to_bytes(4, "little") + b"abc"), ("cut length", b"\x01\x00"),
                       ("garbage image", (3).to_bytes(4, "little") + b"abc"), ("huge length", b"\xff\xff\xff\xff" + b"x"),
                       ("two items for shape [1]", (1).to_bytes(4, "little") * 2 + b"a"),
                       ("empty item", (0).to_bytes(4, "little"))]:
        add(f"encoded raw: {what}", request(model, [tensor("encoded", "BYTES", [1])], [blob]))
    add("encoded as UINT8", request(model, [tensor("encoded", "UINT8", [1])], [b"\x01"]))
    add("encoded zero images", request(model, [tensor("encoded", "BYTES", [0])], [b""]))
    # unknown models and versions
    for name in ["nope", "shapes", model + "-detect", "../" + model, "a" * 300, ""]:
        add(f"infer on unknown model {name[:20]!r}", request(name, [image()], [pixels]))
    add("infer on version 2", request(model, [image()], [pixels], version="2"))
    add("metadata of unknown model", service_pb2.ModelMetadataRequest(name="nope"), "/inference.GRPCInferenceService/ModelMetadata")
    add("config of unknown model", service_pb2.ModelConfigRequest(name="nope"), "/inference.GRPCInferenceService/ModelConfig")
    add("config of version 7", service_pb2.ModelConfigRequest(name=model, version="7"), "/inference.GRPCInferenceService/ModelConfig")
    add("statistics of unknown model", service_pb2.ModelStatisticsRequest(name="nope"), "/inference.GRPCInferenceService/ModelStatistics")
    add("load of unknown model", service_pb2.RepositoryModelLoadRequest(model_name="nope"), "/inference.GRPCInferenceService/RepositoryModelLoad")
    add("unload of unknown model", service_pb2.RepositoryModelUnloadRequest(model_name="nope"), "/inference.GRPCInferenceService/RepositoryModelUnload")
    load = service_pb2.RepositoryModelLoadRequest(model_name=raw_model)
    load.parameters["config"].string_param = "{}"
    add("load with a config parameter", load, "/inference.GRPCInferenceService/RepositoryModelLoad")
    # random structured requests: datatypes, shapes and raw lengths that disagree
    rng = np.random.default_rng(15)
    for i in range(150):
        dt = ["UINT8", "FP32", "BYTES", "INT32", "FP16", "BOOL"][i % 6]
        shape = [int(rng.integers(-2, 6)) for _ in range(int(rng.integers(0, 6)))]
        n = int(rng.integers(0, 200))
        blob = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        name = "images" if dt != "BYTES" else "encoded"
        valid = dt == "UINT8" and len(shape) == 4 and shape[3] == 3 and min(shape) >= 1 and n == int(np.prod(shape))
        add(f"random #{i} ({dt} {shape}, {n} bytes)", request(model, [tensor(name, dt, shape)], [blob]), ok=valid)
    # mutations of a valid serialized request: the message's bytes before the pixels flipped, inserted, deleted, cut
    valid = request(model, [image()], [bytes(range(48))], parameters={"conf": 0.25}, outputs=["count"]).SerializeToString()
    head = len(valid) - 48
    for i in range(650):
        body = bytearray(valid)
        for _ in range(int(rng.integers(1, 4))):
            op = int(rng.integers(0, 4))
            at = int(rng.integers(0, max(1, min(head, len(body)))))
            if op == 0 and body:
                body[at] = int(rng.integers(0, 256))
            elif op == 1:
                body[at:at] = bytes([int(rng.integers(0, 256))])
            elif op == 2 and len(body) > 1:
                del body[at]
            elif len(body) > 1:
                body = body[: int(rng.integers(0, len(body)))]
        add(f"mutation {i}", bytes(body), ok=True)
    # not protobuf at all
    for i in range(120):
        n = int(rng.integers(1, 4096))
        blob = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        method = ["ModelInfer", "ModelMetadata", "ModelConfig", "ModelReady"][i % 4]
        add(f"garbage #{i} ({n} bytes) to {method}", blob, f"/inference.GRPCInferenceService/{method}", ok=True)
    for text in [b"GET / HTTP/1.1\r\n\r\n", b"{\"inputs\": []}", b"\xff" * 64, b"\x0a\xff\xff\xff\xff\x0f", b"\x2a\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01"]:
        add(f"garbage {text[:12]!r}", text)
    return cases


def shared_memory(client, model, bgr, expected):
    """Register, status, NAME-detect with its input and outputs in regions, unregister, errors."""
    import tritonclient.utils.shared_memory as shm

    pid = os.getpid()
    size = bgr.nbytes
    h_in = shm.create_shared_memory_region("grpc_in", f"/lookout_grpc_in_{pid}", size)
    h_out = shm.create_shared_memory_region("grpc_out", f"/lookout_grpc_out_{pid}", 7200 + 4)
    try:
        shm.set_shared_memory_region(h_in, [bgr[None]])
        client.register_system_shared_memory("grpc_in", f"/lookout_grpc_in_{pid}", size)
        client.register_system_shared_memory("grpc_out", f"/lookout_grpc_out_{pid}", 7204)
        status = client.get_system_shared_memory_status(as_json=True).get("regions", {})
        check(status.get("grpc_in", {}).get("key") == f"/lookout_grpc_in_{pid}" and int(status["grpc_in"]["byte_size"]) == size
              and "grpc_out" in status, "gRPC SystemSharedMemoryStatus lists both regions")
        check("system_shared_memory" in client.get_server_metadata(as_json=True)["extensions"],
              "gRPC ServerMetadata lists system_shared_memory")
        inp = grpcclient.InferInput("images", [1, *bgr.shape], "UINT8")
        inp.set_shared_memory("grpc_in", size)
        det = grpcclient.InferRequestedOutput("detections")
        det.set_shared_memory("grpc_out", 7200)
        cnt = grpcclient.InferRequestedOutput("count")
        cnt.set_shared_memory("grpc_out", 4, offset=7200)
        result = client.infer(model, [inp], outputs=[det, cnt])
        out = result.get_output("count")
        check(out is not None and out.parameters["shared_memory_byte_size"].int64_param == 4
              and out.parameters["shared_memory_offset"].int64_param == 7200, "gRPC shared-memory outputs carry their location")
        n = int(shm.get_contents_as_numpy(h_out, np.int32, [1], offset=7200)[0])
        boxes = shm.get_contents_as_numpy(h_out, np.float32, [1, 300, 6])
        same(rows(boxes[0], n), expected, "gRPC NAME-detect with its input and outputs in system shared memory")
        inp.set_shared_memory("grpc_in", size - 1)
        refused(lambda: client.infer(model, [inp]), "INVALID_ARGUMENT", "gRPC shared_memory_byte_size one byte short")
        inp.set_shared_memory("nope", size)
        refused(lambda: client.infer(model, [inp]), "INVALID_ARGUMENT", "gRPC an unknown region")
        refused(lambda: client.register_system_shared_memory("grpc_in", f"/lookout_grpc_in_{pid}", 8), "INVALID_ARGUMENT",
                "gRPC a region name registered twice")
        refused(lambda: client.register_system_shared_memory("x", f"/lookout_grpc_in_{pid}", size + 1), "INVALID_ARGUMENT",
                "gRPC a region past its object")
        refused(lambda: client.register_cuda_shared_memory("g", base64.b64encode(bytes(64)), 0, 64), "INVALID_ARGUMENT",
                "gRPC a CUDA region on a CPU server")
        client.unregister_system_shared_memory("grpc_in")
        left = client.get_system_shared_memory_status(as_json=True).get("regions", {})
        check("grpc_in" not in left and "grpc_out" in left, "gRPC SystemSharedMemoryUnregister of one region")
        client.unregister_system_shared_memory()
        check(not client.get_system_shared_memory_status(as_json=True).get("regions"), "gRPC unregister of every region")
        check(not client.get_cuda_shared_memory_status(as_json=True).get("regions"), "gRPC CudaSharedMemoryStatus (none)")
    finally:
        shm.destroy_shared_memory_region(h_in)
        shm.destroy_shared_memory_region(h_out)


def stream_checks(client, detect_model, bgr, expected):
    import queue

    answers = queue.Queue()
    client.start_stream(callback=lambda result, error: answers.put((result, error)))
    h, w = bgr.shape[:2]
    image = grpcclient.InferInput("images", [1, h, w, 3], "UINT8")
    image.set_data_from_numpy(bgr[None])
    wrong = grpcclient.InferInput("images", [1, 2, 2, 3], "FP32")
    wrong.set_data_from_numpy(np.zeros((1, 2, 2, 3), np.float32))
    ids = [f"stream-{i}" for i in range(12)]
    for i, request_id in enumerate(ids):
        client.async_stream_infer(detect_model, [image], request_id=request_id)
        if i == 4:
            client.async_stream_infer(detect_model, [wrong], request_id="wrong-datatype")
        if i == 8:
            client.async_stream_infer("nope", [image], request_id="unknown-model")
    results, errors = {}, []
    try:
        for _ in range(len(ids) + 2):
            result, error = answers.get(timeout=300)
            if error is not None:
                errors.append(str(error))
            else:
                results[result.get_response().id] = result
    except queue.Empty:
        pass
    client.stop_stream()
    check(sorted(results) == sorted(ids), f"gRPC ModelStreamInfer: {len(results)} of {len(ids)} answers, by id")
    ok = all(r.as_numpy("count").tolist() == [len(expected)] for r in results.values())
    if ok and results:
        first = results[ids[0]]
        same(rows(first.as_numpy("detections")[0], first.as_numpy("count")[0]), expected,
             "gRPC ModelStreamInfer detections")
    check(ok, "gRPC ModelStreamInfer: every answer has the expected count")
    check(len(errors) == 2 and any("expected UINT8" in e for e in errors) and any("nope" in e for e in errors),
          f"gRPC ModelStreamInfer: the two bad requests answered with their errors on the stream {errors}")


def shutdown_checks(binary, models, data):
    """A second server: SIGTERM with one ModelStreamInfer stream cancelled by its client (many requests unanswered)
    and another kept open and idle; it must exit 0 once the open call is cancelled after the 10-s grace."""
    import queue
    import threading
    import time

    sys.path.insert(0, os.path.dirname(__file__))
    import kserve_server

    process, address = kserve_server.start(binary, models, grpc=True)
    if address is None:
        check(False, "a second gRPC server started")
        process.kill()
        return
    stream = grpc.insecure_channel(address).stream_stream(INFER.replace("ModelInfer", "ModelStreamInfer"))
    cancelled = stream(iter([data] * 100), timeout=300)
    next(cancelled, None)
    cancelled.cancel()
    never = queue.Queue()

    def idle():
        yield data
        never.get()  # the client keeps its side open

    kept = stream(idle(), timeout=300)
    first = next(kept, None)
    start = time.time()
    process.terminate()
    try:
        rc = process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        rc = "none within 30 s"
    took = time.time() - start
    never.put(None)
    check(first is not None and rc == 0 and 9 <= took < 30,
          f"SIGTERM with a stream cancelled by its client and one kept open: exit {rc} after {took:.1f} s "
          "(the open call cancelled after the 10-s grace)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--grpc", required=True, help="HOST:PORT of the gRPC server")
    parser.add_argument("--binary", required=True)
    parser.add_argument("--model", default="shapes-yolov8n")
    parser.add_argument("--image", default="Models/sample.jpg")
    parser.add_argument("--onnx", default="Models/shapes-yolov8n.onnx")
    parser.add_argument("--models", help="the model repository, for a second server's shutdown checks (optional)")
    args = parser.parse_args()
    import cv2

    model, detect_model = args.model, args.model + "-detect"
    client = grpcclient.InferenceServerClient(url=args.grpc)
    options = [("grpc.max_send_message_length", 512 << 20), ("grpc.max_receive_message_length", 512 << 20)]
    channel = grpc.insecure_channel(args.grpc, options=options)

    def call(method, data, timeout=60):
        """The status name and response bytes of one raw call."""
        try:
            return "OK", channel.unary_unary(method)(data, timeout=timeout)
        except grpc.RpcError as e:
            return e.code().name, e.details()

    # 1. health and metadata
    check(client.is_server_live(), "gRPC ServerLive")
    check(client.is_server_ready(), "gRPC ServerReady")
    meta = client.get_server_metadata(as_json=True)
    check(meta["name"] == "lookout" and "model_repository" in meta["extensions"], f"gRPC ServerMetadata {meta}")
    m = client.get_model_metadata(detect_model, as_json=True)
    names = {t["name"]: (t["datatype"], [int(d) for d in t["shape"]]) for t in m["inputs"] + m["outputs"]}
    check(names == {"images": ("UINT8", [-1, -1, -1, 3]), "encoded": ("BYTES", [-1]),
                    "detections": ("FP32", [-1, -1, 6]), "count": ("INT32", [-1])}, f"gRPC {detect_model} metadata")
    raw_meta = client.get_model_metadata(model, model_version="1", as_json=True)
    raw_shape = [int(d) for d in raw_meta["inputs"][0]["shape"]]
    check(raw_meta["inputs"][0]["name"] == "images" and raw_meta["inputs"][0]["datatype"] == "FP32" and raw_shape[1] == 3,
          f"gRPC {model} metadata {raw_meta['inputs']}")
    config = client.get_model_config(model, as_json=True)["config"]
    check(config["name"] == model and config["platform"] == "onnxruntime_onnx" and config["input"][0]["data_type"] == "TYPE_FP32"
          and [int(d) for d in config["input"][0]["dims"]] == raw_shape, f"gRPC {model} config")
    detect_config = client.get_model_config(detect_model).config  # the protobuf itself, as tritonclient parses it
    # NAME-detect batches (dims without the batch; count's [] is [1] reshaped, as over HTTP)
    check(detect_config.max_batch_size > 0 and [o.name for o in detect_config.output] == ["detections", "count"]
          and list(detect_config.output[0].dims) == [-1, 6] and detect_config.output[1].data_type == 8
          and list(detect_config.output[1].dims) == [1] and detect_config.output[1].HasField("reshape"),
          f"gRPC {detect_model} config (max_batch_size {detect_config.max_batch_size}, outputs, TYPE_INT32, reshape)")
    check(client.is_model_ready(model) and client.is_model_ready(detect_model), "gRPC ModelReady")
    check(not client.is_model_ready("nope"), "gRPC: an unknown model is not ready")
    refused(lambda: client.get_model_metadata("nope"), "NOT_FOUND", "gRPC metadata of an unknown model")
    refused(lambda: client.get_model_metadata(model, model_version="2"), "NOT_FOUND", "gRPC metadata of version 2")

    # 2. detections against lookout detect
    expected = reference(args.binary, args.image)
    bgr = cv2.imread(args.image, cv2.IMREAD_COLOR)
    h, w = bgr.shape[:2]
    inp = grpcclient.InferInput("images", [1, h, w, 3], "UINT8")
    inp.set_data_from_numpy(bgr[None])
    detections, count = detect(client, detect_model, [inp])
    check(detections.shape == (1, 300, 6) and count.shape == (1,) and count.dtype == np.int32,
          f"gRPC detect outputs {detections.shape} {detections.dtype}, {count.shape} {count.dtype}")
    same(rows(detections[0], count[0]), expected, "gRPC UINT8 BGR raw_input_contents")
    check(not detections[0][int(count[0]):].any(), "gRPC rows past count are zeros")
    typed = tensor("images", "UINT8", [1, h, w, 3])
    typed.contents.uint_contents.extend(bgr.reshape(-1).tolist())
    status, data = call(INFER, request(detect_model, [typed]).SerializeToString())
    out = outputs_of(service_pb2.ModelInferResponse.FromString(data)) if status == "OK" else {}
    check(status == "OK", f"gRPC UINT8 typed contents: {status}")
    if out:
        same(rows(out["detections"][0], out["count"][0]), expected, "gRPC UINT8 BGR typed contents (uint_contents)")
    inp = grpcclient.InferInput("images", [1, h, w, 3], "UINT8")
    inp.set_data_from_numpy(np.ascontiguousarray(bgr[None, :, :, ::-1]))
    detections, count = detect(client, detect_model, [inp], parameters={"color": "rgb"})
    same(rows(detections[0], count[0]), expected, "gRPC UINT8 RGB with color=rgb")
    jpeg = open(args.image, "rb").read()
    enc = grpcclient.InferInput("encoded", [2], "BYTES")
    enc.set_data_from_numpy(np.array([jpeg] * 2, dtype=np.object_))
    detections, count = detect(client, detect_model, [enc])
    for i in range(2):
        same(rows(detections[i], count[i]), expected, f"gRPC encoded JPEG raw, batch of 2, image {i}")
    typed = tensor("encoded", "BYTES", [1])
    typed.contents.bytes_contents.append(jpeg)
    status, data = call(INFER, request(detect_model, [typed]).SerializeToString())
    out = outputs_of(service_pb2.ModelInferResponse.FromString(data)) if status == "OK" else {}
    check(status == "OK", f"gRPC encoded typed contents: {status}")
    if out:
        same(rows(out["detections"][0], out["count"][0]), expected, "gRPC encoded JPEG typed contents (bytes_contents)")
    detections, count = detect(client, detect_model, [enc], parameters={"conf": 0.8, "max_det": 2})
    check(detections.shape == (2, 2, 6), f"gRPC max_det 2 gives {detections.shape}")
    same(rows(detections[0], count[0]), [e for e in expected if e[1] > 0.8][:2], "gRPC conf 0.8, max_det 2")
    classes = sorted({e[2] for e in expected})
    detections, count = detect(client, detect_model, [enc], parameters={"classes": str(classes[0])})
    same(rows(detections[0], count[0]), [e for e in expected if e[2] == classes[0]], f"gRPC classes '{classes[0]}'")
    result = client.infer(detect_model, [enc])  # no outputs named: every output
    check(result.as_numpy("count").tolist() == [len(expected)] * 2, "gRPC no outputs requested: all outputs returned")

    # 2b. ModelStreamInfer through tritonclient's stream: every answer matched by its id, each request's error
    # answered on the stream without ending it
    stream_checks(client, detect_model, bgr, expected)

    # 3. the raw network, raw and typed
    size = (raw_shape[2] if raw_shape[2] > 0 else 640, raw_shape[3] if raw_shape[3] > 0 else 640)
    rng = np.random.default_rng(1)
    x = rng.random((1, 3, size[0], size[1]), dtype=np.float32)
    inp = grpcclient.InferInput("images", list(x.shape), "FP32")
    inp.set_data_from_numpy(x)
    out_name = raw_meta["outputs"][0]["name"]
    out = client.infer(model, [inp]).as_numpy(out_name)
    typed = tensor("images", "FP32", list(x.shape))
    typed.contents.fp32_contents.extend(x.reshape(-1).tolist())
    status, data = call(INFER, request(model, [typed]).SerializeToString())
    typed_out = outputs_of(service_pb2.ModelInferResponse.FromString(data))[out_name] if status == "OK" else None
    check(typed_out is not None and typed_out.shape == out.shape and np.array_equal(typed_out, out),
          f"gRPC raw {model}: fp32_contents and raw_input_contents give the same output {out.shape}")
    try:
        import onnxruntime

        session = onnxruntime.InferenceSession(args.onnx, providers=["CPUExecutionProvider"])
        ref = session.run(None, {session.get_inputs()[0].name: x})[0]
        diff = float(np.abs(ref - out).max()) if ref.shape == out.shape else float("inf")
        check(diff < 1e-2 * max(1.0, float(np.abs(ref).max()) / 100), f"gRPC raw {model} equals onnxruntime (max diff {diff:.2e})")
    except ImportError:
        print("SKIP raw output against onnxruntime (not installed)")

    # 4. statistics and the repository
    before = client.get_inference_statistics(detect_model, as_json=True)["model_stats"][0]
    check(int(before["inference_stats"]["success"]["count"]) >= 8 and int(before["inference_stats"]["success"]["ns"]) > 0,
          f"gRPC ModelStatistics: {before['inference_stats']['success']}")
    phases = {p: before["inference_stats"].get(p, {}) for p in ("queue", "compute_input", "compute_infer", "compute_output")}
    check(all(int(d.get("count", 0)) == int(before["inference_stats"]["success"]["count"]) and int(d.get("ns", 0)) > 0
              for d in phases.values()), f"gRPC stats phases, one count per answered request: {phases}")
    every = {s["name"] for s in client.get_inference_statistics(as_json=True)["model_stats"]}
    check({model, detect_model} <= every, f"gRPC statistics of every model ({sorted(every)})")
    index = client.get_model_repository_index(as_json=True)["models"]
    check({e["name"]: e["state"] for e in index if e["name"] in (model, detect_model)} == {model: "READY", detect_model: "READY"},
          "gRPC RepositoryIndex")
    client.unload_model(model)
    check(not client.is_model_ready(model) and client.is_model_ready(detect_model),
          "gRPC unload: NAME not ready, NAME-detect still ready")
    refused(lambda: client.infer(model, [inp]), "UNAVAILABLE", "gRPC infer on an unloaded model")
    refused(lambda: client.get_model_config(model), "UNAVAILABLE", "gRPC config of an unloaded model")
    index = client.get_model_repository_index(as_json=True)["models"]
    check(any(e["name"] == model and e["state"] == "UNAVAILABLE" and e.get("reason") for e in index),
          "gRPC RepositoryIndex says UNAVAILABLE with a reason")
    ready_only = {e["name"] for e in client.get_model_repository_index(as_json=True)["models"] if e.get("state") == "READY"}
    check(model not in ready_only, "gRPC RepositoryIndex: NAME no longer READY")
    client.load_model(model)
    check(client.is_model_ready(model), "gRPC load: ready again")
    check(np.array_equal(client.infer(model, [inp]).as_numpy(out_name), out), "gRPC load: infers the same again")
    refused(lambda: client.load_model("nope"), "NOT_FOUND", "gRPC load of an unknown model")
    big = request(detect_model, [tensor("images", "UINT8", [1, 8192, 11000, 3])], [bytes(8192 * 11000 * 3)])
    status, details = call(INFER, big.SerializeToString())
    # grpc-swift refuses it from the 5-byte length prefix, before buffering it, and resets the stream: grpcio reports
    # CANCELLED (RST_STREAM) while it is still sending, RESOURCE_EXHAUSTED when the status comes first.
    check(status in ("RESOURCE_EXHAUSTED", "CANCELLED") and client.is_server_live(),
          f"gRPC message of {big.ByteSize() >> 20} MiB refused: {status} {str(details)[:80]!r}")
    del big

    # 4b. system shared memory (the server runs with --allow-client-shm=true; one registry for HTTP and gRPC)
    shared_memory(client, detect_model, bgr, expected)

    # 5. malformed calls
    cases = malformed(detect_model, model)
    bad, statuses = [], {}
    for what, method, data, may_pass in cases:
        status, details = call(method, data, timeout=60)
        statuses[status] = statuses.get(status, 0) + 1
        allowed = {"INVALID_ARGUMENT", "NOT_FOUND", "RESOURCE_EXHAUSTED"} | ({"OK"} if may_pass else set())
        if status not in allowed:
            bad.append(f"{what}: {status} {str(details)[:80]!r}")
    shown = ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))
    check(len(cases) >= 1000 and not bad, f"gRPC {len(cases)} malformed calls answered ({shown})" + (f"; not: {bad[:10]}" if bad else ""))
    # The malformed inference requests that are valid protobuf, on one ModelStreamInfer stream: each answered on it
    stream_cases = []
    for what, method, data, may_pass in cases:
        if method == INFER:
            try:
                service_pb2.ModelInferRequest.FromString(data)
                stream_cases.append((what, data, may_pass))
            except Exception:
                pass
    stream = channel.stream_stream(INFER.replace("ModelInfer", "ModelStreamInfer"))
    answers, stream_bad = [], []
    try:
        for data in stream(iter([d for _, d, _ in stream_cases]), timeout=600):
            answers.append(service_pb2.ModelStreamInferResponse.FromString(data))
    except grpc.RpcError as e:
        stream_bad.append(f"the stream ended with {e.code().name} {e.details()!r}")
    errors = sum(1 for a in answers if a.error_message)
    passed = len(answers) - errors
    may = sum(1 for _, _, may_pass in stream_cases if may_pass)
    if len(answers) != len(stream_cases) or passed > may:
        stream_bad.append(f"{len(answers)} answers to {len(stream_cases)} requests, {passed} accepted (at most {may})")
    # A client that goes away mid-stream, many requests unanswered: the server lets them go and stays live
    valid = [d for _, d, may_pass in stream_cases if may_pass][:1] * 300
    cancelled = stream(iter(valid), timeout=600)
    next(cancelled, None)
    cancelled.cancel()
    check(client.is_server_live() and client.is_model_ready(detect_model),
          "gRPC ModelStreamInfer: a stream cancelled after its first answer, 299 unanswered; the server still live")
    if args.models:
        shutdown_checks(args.binary, args.models, valid[0])
    check(len(stream_cases) >= 200 and not stream_bad,
          f"gRPC ModelStreamInfer: {len(stream_cases)} malformed requests on one stream, {errors} answered with their error"
          + (f"; not: {stream_bad}" if stream_bad else ""))
    check(client.is_server_live() and client.is_server_ready() and client.is_model_ready(detect_model),
          "gRPC server still live and ready after the malformed calls")
    inp = grpcclient.InferInput("images", [1, h, w, 3], "UINT8")
    inp.set_data_from_numpy(bgr[None])
    detections, count = detect(client, detect_model, [inp])
    same(rows(detections[0], count[0]), expected, "gRPC detections unchanged after the malformed calls")
    after = client.get_inference_statistics(detect_model, as_json=True)["model_stats"][0]
    fails = int(after["inference_stats"].get("fail", {}).get("count", 0)) - int(before["inference_stats"].get("fail", {}).get("count", 0))
    check(fails > 100, f"gRPC failed inferences counted ({fails})")

    print(f"kserve-checks-grpc: {len(failures)} failed" if failures else "kserve-checks-grpc: all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
