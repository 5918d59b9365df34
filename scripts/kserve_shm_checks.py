"""System shared memory through tritonclient against `lookout serve --inference-only --allow-client-shm=true`
(docs/inference-server.md): regions made with tritonclient.utils.shared_memory as inputs and outputs of NAME-detect,
status and unregister, the errors Triton gives (unknown region, out of bounds, a region past its object, a name
registered twice, reading after unregister), >= 100 malformed shared-memory requests, and a server started without
the flag refusing to register. Called by scripts/kserve-checks.py."""
import base64
import json
import os
import re

import kserve_server
import numpy as np
import tritonclient.http as httpclient
import tritonclient.utils.shared_memory as shm
from tritonclient.utils import InferenceServerException


# A CUDA IPC handle's 64 bytes, base64 as tritonclient.http sends them (not a handle of any allocation).
ZERO_HANDLE = base64.b64encode(bytes(64)).decode()


def refused(call, pattern=None):
    """The HTTP status and message of a call tritonclient raised on; (None, None) when it succeeded."""
    try:
        call()
        return None, None
    except InferenceServerException as e:
        message = e.message() or ""
        return (e.status(), message) if pattern is None or re.search(pattern, message) else ("unexpected", message)


def run(client, url, model, bgr, expected, rows, same, check, raw_request):
    h, w = bgr.shape[:2]
    size = h * w * 3
    tag = os.getpid()
    keys = {name: f"/lookout_checks_{tag}_{name}" for name in ("in", "out", "small")}
    handles = []
    try:
        client.unregister_system_shared_memory()
        page = 4096
        # The input one page into its object, so that offset is exercised.
        h_in = shm.create_shared_memory_region("in", keys["in"], page + size)
        handles.append(h_in)
        shm.set_shared_memory_region(h_in, [bgr[None]], offset=page)
        h_out = shm.create_shared_memory_region("out", keys["out"], 7200 + 8)
        handles.append(h_out)
        h_small = shm.create_shared_memory_region("small", keys["small"], 64)
        handles.append(h_small)
        client.register_system_shared_memory("in", keys["in"], size, offset=page)
        client.register_system_shared_memory("out", keys["out"], 7208)
        status = client.get_system_shared_memory_status()
        check(sorted((s["name"], s["key"], int(s["offset"]), int(s["byte_size"])) for s in status)
              == [("in", keys["in"], page, size), ("out", keys["out"], 0, 7208)], f"system shm status {status}")
        one = client.get_system_shared_memory_status("in")
        check(len(one) == 1 and one[0]["name"] == "in", "system shm status of one region")
        check("system_shared_memory" in client.get_server_metadata()["extensions"], "extension system_shared_memory listed")

        def shm_input(region="in", byte_size=size, offset=0, shape=(1, h, w, 3)):
            inp = httpclient.InferInput("images", list(shape), "UINT8")
            inp.set_shared_memory(region, byte_size, offset=offset)
            return inp

        def shm_outputs(det=("out", 7200, 0), cnt=("out", 4, 7200)):
            o1 = httpclient.InferRequestedOutput("detections", binary_data=True)
            o1.set_shared_memory(det[0], det[1], offset=det[2])
            o2 = httpclient.InferRequestedOutput("count", binary_data=True)
            o2.set_shared_memory(cnt[0], cnt[1], offset=cnt[2])
            return [o1, o2]

        # Input and outputs in shared memory.
        result = client.infer(model, [shm_input()], outputs=shm_outputs())
        response = result.get_response()
        outs = {o["name"]: o for o in response["outputs"]}
        # As Triton answers: name, datatype and shape, no parameters (its C++ client takes those for binary data) and
        # no data.
        check(all(set(outs[n]) == {"name", "datatype", "shape"} for n in ("detections", "count"))
              and outs["detections"]["shape"] == [1, 300, 6] and outs["count"]["shape"] == [1],
              f"shm outputs carry name, datatype and shape only: {outs['count']}")
        count = shm.get_contents_as_numpy(h_out, np.int32, [1], offset=7200)
        detections = shm.get_contents_as_numpy(h_out, np.float32, [1, 300, 6])
        same(rows(detections[0], count[0]), expected, "system shm input and outputs")
        check(not detections[0][int(count[0]):].any(), "shm output: rows past count are zeros")
        # Input in shared memory, outputs in the response (and the other way round): the same boxes as binary HTTP.
        outputs = [httpclient.InferRequestedOutput(n, binary_data=True) for n in ("detections", "count")]
        result = client.infer(model, [shm_input()], outputs=outputs)
        same(rows(result.as_numpy("detections")[0], result.as_numpy("count")[0]), expected,
             "system shm input, binary HTTP outputs")
        plain = httpclient.InferInput("images", [1, h, w, 3], "UINT8")
        plain.set_data_from_numpy(bgr[None])
        shm.set_shared_memory_region(h_out, [np.zeros(1802, dtype=np.float32)])
        client.infer(model, [plain], outputs=shm_outputs())
        count = shm.get_contents_as_numpy(h_out, np.int32, [1], offset=7200)
        detections = shm.get_contents_as_numpy(h_out, np.float32, [1, 300, 6])
        same(rows(detections[0], count[0]), expected, "binary HTTP input, system shm outputs")

        # Errors (each a 400 with Triton's wording where Triton has one).
        def infer(**kw):
            return lambda: client.infer(model, [shm_input(**{k: v for k, v in kw.items() if k != "outputs"})],
                                        outputs=kw.get("outputs", outputs))
        cases = [
            ("an unknown input region", infer(region="nope"), r"Unable to find shared memory region: 'nope'"),
            ("an input past the region (offset 1)", infer(offset=1), r"out of bounds"),
            ("an input byte size unlike its shape", infer(byte_size=size - 3), r"expected"),
            ("an input shape larger than the region", infer(byte_size=h * (w + 1) * 3, shape=(1, h, w + 1, 3)), r"out of bounds"),
            ("an output region too small", infer(outputs=shm_outputs(det=("out", 100, 0))), r"at least 7200 bytes"),
            ("an output past the region", infer(outputs=shm_outputs(cnt=("out", 4, 7206))), r"out of bounds"),
            ("an unknown output region", infer(outputs=shm_outputs(cnt=("nope", 4, 0))), r"Unable to find"),
            ("a region past its object", lambda: client.register_system_shared_memory("big", keys["small"], 65),
             r"invalid args"),
            ("a region offset past its object", lambda: client.register_system_shared_memory(
                "big", keys["small"], 8, offset=60), r"invalid args"),
            ("a name registered twice", lambda: client.register_system_shared_memory("in", keys["small"], 8),
             r"already in manager"),
            ("a key that does not exist", lambda: client.register_system_shared_memory(
                "k", f"/lookout_checks_{tag}_none", 8), r"Unable to open shared memory region"),
            ("a key with a path", lambda: client.register_system_shared_memory("k", "/../etc/passwd", 8),
             r"Unable to open"),
            ("the status of an unknown region", lambda: client.get_system_shared_memory_status("nope"),
             r"Unable to find system shared memory region: 'nope'"),
            ("a CUDA region without a GPU", lambda: client.register_cuda_shared_memory("g", ZERO_HANDLE, 0, 64),
             r"--device cuda"),
        ]
        for what, call, pattern in cases:
            code, message = refused(call, pattern)
            check(code == "400", f"shm error, {what}: {code} {message}")
        # A client that registered a small window of a big object cannot read past the window.
        client.register_system_shared_memory("window", keys["in"], 16, offset=page)
        code, message = refused(infer(region="window"), r"out of bounds")
        check(code == "400", f"shm error, reading past a region's window: {code} {message}")
        code, message = refused(infer(region="window", byte_size=48, shape=(1, 4, 4, 3)), r"out of bounds")
        check(code == "400", f"shm error, a window's offset + size past it: {code} {message}")

        # Malformed shared-memory requests: each answered 4xx with an error, never 5xx or a dropped connection.
        bad = fuzz(url, model, keys, size, raw_request)
        check(not bad[1], f"{bad[0]} malformed shared-memory requests answered 4xx with an error"
              + (f"; not: {bad[1][:10]}" if bad[1] else ""))
        check(bad[0] >= 100, f"at least 100 malformed shared-memory requests ({bad[0]})")

        # Unregister one, then all; a request on an unregistered region fails.
        client.unregister_system_shared_memory("window")
        client.unregister_system_shared_memory("window")  # unknown now: not an error, as in Triton
        client.unregister_system_shared_memory("in")
        code, message = refused(infer(), r"Unable to find shared memory region: 'in'")
        check(code == "400", f"shm error, reading after unregister: {code} {message}")
        check([s["name"] for s in client.get_system_shared_memory_status()] == ["out"], "unregister one region")
        client.unregister_system_shared_memory()
        check(client.get_system_shared_memory_status() == [], "unregister all regions")
        result = client.infer(model, [plain], outputs=outputs)
        same(rows(result.as_numpy("detections")[0], result.as_numpy("count")[0]), expected,
             "detections unchanged after the shared-memory checks")
    finally:
        for handle in handles:
            shm.destroy_shared_memory_region(handle)


def fuzz(url, model, keys, size, raw_request):
    """(count, failures) of malformed register/status/unregister/infer requests."""
    cases = []
    base = "/v2/systemsharedmemory"
    good = {"key": keys["small"], "offset": 0, "byte_size": 8}
    for i, body in enumerate([b"", b"{", b"[]", b"null", b"5", b'"x"', b"\xff", b"{" * 200, b"[" * 5000,
                              b'{"key": }', b"\x00" * 32]):
        cases.append((f"register body #{i}", "POST", f"{base}/region/f/register", body))
    values = [None, -1, -4096, 2**63, 2**64, 1e300, 1.5, "8", "", [], {}, True, "x" * 2000]
    for field in ("key", "offset", "byte_size"):
        for v in values:
            body = dict(good)
            if v is None:
                del body[field]
                if field == "offset":
                    continue  # offset is optional
            else:
                body[field] = v
            cases.append((f"register {field}={str(v)[:20]}", "POST", f"{base}/region/f/register", json.dumps(body).encode()))
    for key in ["", "/", "//", "/a/b", "..", "/..", "/.", "no_such_key", "/" + "k" * 300, "/dev/shm/x", "\u00e9\u00e9"]:
        cases.append((f"register key {key[:20]!r}", "POST", f"{base}/region/f/register",
                      json.dumps(dict(good, key=key)).encode()))
    for body in [b"{", json.dumps({"raw_handle": "x", "device_id": 0, "byte_size": 8}).encode(),
                 json.dumps({"raw_handle": {"b64": "!!"}, "device_id": 0, "byte_size": 8}).encode(),
                 json.dumps({"raw_handle": {"b64": "AAAA"}, "device_id": -1, "byte_size": 8}).encode(),
                 json.dumps({"device_id": 0, "byte_size": 8}).encode()]:
        cases.append(("cuda register", "POST", "/v2/cudasharedmemory/region/g/register", body))
    cases.append(("status of an unknown region", "GET", f"{base}/region/nope/status", None))
    cases.append(("unregister with a bad body", "POST", f"{base}/region/x/unregister", b"{"))
    cases.append(("unregister all with a bad body", "POST", f"{base}/unregister", b"[" * 3000))
    infer = f"/v2/models/{model}/infer"
    image = {"name": "images", "datatype": "UINT8", "shape": [1, 4, 4, 3]}
    params = [
        {"shared_memory_region": "out"},
        {"shared_memory_byte_size": 48},
        {"shared_memory_offset": 0},
        {"shared_memory_region": 5, "shared_memory_byte_size": 48},
        {"shared_memory_region": None, "shared_memory_byte_size": 48},
        {"shared_memory_region": "out", "shared_memory_byte_size": -48},
        {"shared_memory_region": "out", "shared_memory_byte_size": "48"},
        {"shared_memory_region": "out", "shared_memory_byte_size": 48.5},
        {"shared_memory_region": "out", "shared_memory_byte_size": 2**63},
        {"shared_memory_region": "out", "shared_memory_byte_size": 48, "shared_memory_offset": -1},
        {"shared_memory_region": "out", "shared_memory_byte_size": 48, "shared_memory_offset": 2**62},
        {"shared_memory_region": "out", "shared_memory_byte_size": 48, "shared_memory_offset": 9223372036854775807},
        {"shared_memory_region": "out", "shared_memory_byte_size": 48, "shared_memory_offset": "1"},
        {"shared_memory_region": "out", "shared_memory_byte_size": 48, "shared_memory_offset": 7200},
        {"shared_memory_region": "out", "shared_memory_byte_size": 47},
        {"shared_memory_region": "out", "shared_memory_byte_size": 0},
        {"shared_memory_region": "", "shared_memory_byte_size": 48},
        {"shared_memory_region": "x" * 5000, "shared_memory_byte_size": 48},
        {"shared_memory_region": "out", "shared_memory_byte_size": 48, "binary_data_size": 48},
        {"shared_memory_region": "in", "shared_memory_byte_size": size},
    ]
    for i, p in enumerate(params):
        cases.append((f"infer input params #{i}", "POST", infer,
                      json.dumps({"inputs": [dict(image, parameters=p)]}).encode()))
        cases.append((f"infer input params #{i} with data", "POST", infer,
                      json.dumps({"inputs": [dict(image, parameters=p, data=[0] * 48)]}).encode()))
        if i in (14, 18, 19):
            continue  # valid for the 4-byte output 'count'
        cases.append((f"infer output params #{i}", "POST", infer, json.dumps(
            {"inputs": [dict(image, data=[0] * 48)], "outputs": [{"name": "count", "parameters": p}]}).encode()))
    for shape in ([1, 4, 4], [2, 4, 4, 3], [1, 2**31, 2**31, 3], [-1, 4, 4, 3]):
        cases.append((f"infer shm shape {shape}", "POST", infer, json.dumps(
            {"inputs": [dict(image, shape=shape, parameters={"shared_memory_region": "out",
                                                             "shared_memory_byte_size": 48})]}).encode()))
    failures = []
    for what, method, path, body in cases:
        try:
            status, text = raw_request(url, method, path, body or b"",
                                       {"Content-Type": "application/json"} if body else {})
            ok = 400 <= status < 500 and b'"error"' in text
        except Exception as e:
            status, ok = f"exception {e}", False
        if not ok:
            failures.append(f"{what}: {status}")
    return len(cases), failures


def refused_without_flag(binary, models, check):
    """A server started without --allow-client-shm refuses to register, saying how to enable it."""
    process, url = kserve_server.start(binary, models)
    try:
        check(url is not None, "a server without --allow-client-shm starts")
        if url is None:
            return
        client = httpclient.InferenceServerClient(url)
        code, message = refused(lambda: client.register_system_shared_memory("r", "/lookout_any", 8),
                                r"--allow-client-shm=true")
        check(code == "400", f"without --allow-client-shm, register refused: {code} {message}")
        code, message = refused(lambda: client.register_cuda_shared_memory("g", ZERO_HANDLE, 0, 8),
                                r"--allow-client-shm=true")
        check(code == "400", f"without --allow-client-shm, CUDA register refused: {code} {message}")
        check("system_shared_memory" not in client.get_server_metadata()["extensions"],
              "without --allow-client-shm, the extension is not listed")
    finally:
        process.terminate()
        process.wait(timeout=30)
