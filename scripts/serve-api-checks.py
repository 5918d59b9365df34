#!/usr/bin/env python3
"""Checks a running `lookout serve` against its HTTP contract and OpenAPI document (web/openapi.yaml).

    python3 scripts/serve-api-checks.py --url http://127.0.0.1:PORT --token T --spec web/openapi.yaml

Python 3.11, the standard library, `requests`, `PyYAML`/`jsonschema` (both come with schemathesis) and schemathesis.
Written against schemathesis 4.32.5 (`pip install schemathesis==4.32.5`, Python 3.11; hypothesis 6.170.27), run
through its CLI (`python -m schemathesis.cli run`, 4.x options) with this file as its hooks module
(SCHEMATHESIS_HOOKS: `before_call` below keeps generated requests from deleting the streams the other checks use and
from opening anything but a nonexistent file as a stream).

What it checks, in order (one line per check; a summary; exit 1 on any failure):
  0. the server is live and ready; discovery: a stream (the demo stream), its first frame, a zone over the whole
     frame so that events happen, an event id (a dummy ULID when none came);
  1. streaming endpoints with a short read: MJPEG's first parts (image/jpeg, Content-Length, JPEG markers), also with
     `access_token`; SSE answers text/event-stream and an event it sends matches the Event schema;
  2. auth matrix: every guarded operation of the spec answers 401 JSON {"error"} with `WWW-Authenticate: Bearer`
     without a token, with a wrong bearer token and with a wrong `access_token`; with the token (header, and query
     for GETs) it answers a documented 2xx (or the documented 404 where no such resource can exist); the public
     operations answer without a token; an unknown path answers 401 without a token, 404 with it;
  3. abuse: malformed JSON, wrong types, missing and unknown fields, bad names, a 1 MiB body (413), name conflicts
     (409), unknown streams and events (404), bad query values, wrong methods (405): each a 4xx JSON error; a
     slow-loris attack (20 sockets sending a header byte a second) is cut off within --slowloris-limit seconds while
     normal requests keep being answered;
  4. schemathesis over the spec with the token (streaming operations excluded), at least --min-requests requests,
     checks not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance;
  5. afterwards: the demo stream still exists (resumed if a generated request paused it), /health/live is 200 and
     GET /api/v1/streams works.
"""

from __future__ import annotations

import os

# --- schemathesis hooks (this file is loaded as the hooks module under this name) -------------------------------
if __name__ == "_schemathesis_hooks":
    import re as _re

    import schemathesis

    _PROTECTED = {n for n in os.environ.get("LOOKOUT_CHECKS_PROTECT", "").split(",") if n}

    @schemathesis.hook
    def before_call(context, case, kwargs):  # noqa: ARG001 - the hook's signature
        method = case.operation.method.upper()
        path = case.operation.path
        params = case.path_parameters
        if method == "DELETE" and isinstance(params, dict) and params.get("name") in _PROTECTED:
            params["name"] = "checks-protected-not-deleted"
        if method == "POST" and path == "/api/v1/streams" and isinstance(case.body, dict):
            url = case.body.get("url")
            if isinstance(url, str) and 1 <= len(url) <= 2048:
                # Keep the generated text (for the server's URL handling) but never reach a host or a real file:
                # a path under a directory that does not exist (the kernel stops at it; no '/' or ':' survive).
                safe = "/nonexistent/lookout-serve-checks/" + _re.sub(r"[/:\\]", "_", url)
                case.body["url"] = safe[:2048]


import argparse
import copy
import http.client
import json
import random
import re
import select
import socket
import string
import subprocess
import sys
import tempfile
import time
import urllib.parse

JSON_ERROR = "a JSON {\"error\": string}"
DUMMY_ULID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
SAFE_URL = "/nonexistent/lookout-serve-checks/stream.mp4"
STREAMING = {"streamMJPEG", "liveEvents"}
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def rand_suffix(n: int = 6) -> str:
    return "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(n))


class Checks:
    def __init__(self, args: argparse.Namespace):
        import requests
        import yaml

        self.requests = requests
        self.args = args
        self.base = args.url.rstrip("/")
        split = urllib.parse.urlsplit(self.base)
        self.host = split.hostname or "127.0.0.1"
        self.port = split.port or 80
        self.token = args.token
        with open(args.spec, encoding="utf-8") as f:
            self.spec = yaml.safe_load(f)
        self.session = requests.Session()
        self.passed = 0
        self.failures: list[str] = []
        self.notes: list[str] = []
        self.sent = 0
        self.schemathesis_requests = 0
        self.stream = "demo"
        # The URL of the streams the checks create: the demo stream's file (one the server can open), paced.
        self.file_url = SAFE_URL
        self.event_id: str | None = None
        self.created_streams: list[str] = []

    # --- reporting ---------------------------------------------------------------------------------------------
    def ok(self, name: str, detail: str = "") -> None:
        self.passed += 1
        print(f"PASS {name}" + (f" ({detail})" if detail else ""), flush=True)

    def fail(self, name: str, reason: str) -> None:
        self.failures.append(f"{name}: {reason}")
        print(f"FAIL {name}: {reason}", flush=True)

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"NOTE {text}", flush=True)

    def check(self, name: str, problem: str | None, detail: str = "") -> bool:
        if problem:
            self.fail(name, problem)
            return False
        self.ok(name, detail)
        return True

    # --- HTTP --------------------------------------------------------------------------------------------------
    def request(self, method: str, path: str, auth: str | None = "header", timeout: float = 15, **kw):
        """auth: "header" (the token), "query" (access_token), "wrong" (a wrong bearer), "wrong-query", or None."""
        headers = dict(kw.pop("headers", {}) or {})
        params = dict(kw.pop("params", {}) or {})
        if auth == "header":
            headers["Authorization"] = f"Bearer {self.token}"
        elif auth == "wrong":
            headers["Authorization"] = f"Bearer {self.token}x"
        elif auth == "query":
            params["access_token"] = self.token
        elif auth == "wrong-query":
            params["access_token"] = self.token + "x"
        self.sent += 1
        return self.session.request(
            method, self.base + path, headers=headers, params=params or None, timeout=timeout, **kw
        )

    def describe(self, r) -> str:
        ctype = r.headers.get("Content-Type", "")
        if ctype.startswith(("multipart/", "text/event-stream")):
            return f"{r.status_code} {ctype!r} (a stream: body not read)"
        return f"{r.status_code} {ctype!r} {r.content[:200]!r}"

    def error_problem(self, r, statuses) -> str | None:
        """None when r answers one of statuses with a JSON {"error": string}."""
        if isinstance(statuses, int):
            statuses = (statuses,)
        if r.status_code not in statuses:
            return f"expected {'/'.join(map(str, statuses))}, got {self.describe(r)}"
        ctype = r.headers.get("Content-Type", "")
        if not ctype.startswith("application/json"):
            return f"expected {JSON_ERROR}, got Content-Type {ctype!r}"
        try:
            body = r.json()
        except ValueError:
            return f"expected {JSON_ERROR}, got {r.content[:200]!r}"
        if not isinstance(body, dict) or not isinstance(body.get("error"), str) or not body["error"]:
            return f"expected {JSON_ERROR}, got {body!r}"[:300]
        if "\n" in body["error"]:
            return f"the error is more than one line: {body['error']!r}"[:300]
        return None

    def expect_error(self, name: str, statuses, method: str, path: str, **kw) -> None:
        try:
            r = self.request(method, path, **kw)
        except self.requests.RequestException as e:
            self.fail(name, f"{method} {path}: {type(e).__name__}: {e}")
            return
        self.check(name, self.error_problem(r, statuses))

    def schema_problem(self, instance, component: str) -> str | None:
        import jsonschema

        schema = {"$ref": f"#/components/schemas/{component}", "components": self.spec["components"]}
        errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(instance), key=lambda e: list(e.path))
        if errors:
            e = errors[0]
            return f"not a {component}: {'/'.join(map(str, e.path))}: {e.message}"[:400]
        return None

    # --- 0. readiness and discovery ------------------------------------------------------------------------------
    def wait_ready(self) -> bool:
        deadline = time.monotonic() + self.args.ready_timeout
        last = "no answer"
        while time.monotonic() < deadline:
            try:
                r = self.request("GET", "/health/ready", auth=None, timeout=5)
                last = self.describe(r)
                if r.status_code == 200 and r.json() == {"status": "ready"}:
                    live = self.request("GET", "/health/live", auth=None, timeout=5)
                    return self.check(
                        "health: live and ready without a token",
                        None if live.status_code == 200 and live.json() == {"status": "live"} else self.describe(live),
                    )
                if r.status_code == 503 and r.json() != {"status": "starting"}:
                    last = f"503 but not {{'status': 'starting'}}: {r.content[:200]!r}"
            except (self.requests.RequestException, ValueError) as e:
                last = f"{type(e).__name__}: {e}"
            time.sleep(0.5)
        self.fail("health: ready", f"not ready within {self.args.ready_timeout} s: {last}")
        return False

    def discover(self) -> None:
        r = self.request("GET", "/api/v1/streams")
        if r.status_code != 200:
            self.fail("discover: GET /api/v1/streams", self.describe(r))
            return
        body = r.json()
        problem = None
        for s in body.get("streams", []) if isinstance(body, dict) else []:
            problem = problem or self.schema_problem(s, "Stream")
        names = [s.get("name") for s in body.get("streams", [])] if isinstance(body, dict) else []
        if not names:
            problem = problem or f"no stream (the demo stream should be there): {body!r}"[:300]
        self.check("discover: GET /api/v1/streams lists Streams", problem, f"{len(names)} streams")
        if names:
            self.stream = "demo" if "demo" in names else names[0]
            url = next(s.get("url") for s in body["streams"] if s.get("name") == self.stream)
            if isinstance(url, str) and "://" not in url:
                self.file_url = url
            else:
                self.note(f"the demo stream's URL {url!r} is not a file: created streams use {SAFE_URL}")
        r = self.request("GET", "/openapi.yaml")
        with open(self.args.spec, "rb") as f:
            local = f.read()
        self.check(
            f"GET /openapi.yaml serves {self.args.spec} (application/yaml)",
            None
            if r.status_code == 200 and r.headers.get("Content-Type", "").startswith("application/yaml")
            and r.content.rstrip(b"\n") == local.rstrip(b"\n")
            else f"{r.status_code} {r.headers.get('Content-Type')!r}, {len(r.content)} bytes, "
            + (
                "the same text"
                if r.content.rstrip(b"\n") == local.rstrip(b"\n")
                else f"not the text of {self.args.spec} ({len(local)} bytes): rerun scripts/embed-web.py and rebuild"
            ),
        )
        # The first frame: the model loads and the first frame is decoded.
        r = self.wait_frame()
        if r is not None and r.status_code == 200:
            jpeg = r.content
            self.check(
                f"frame.jpg of {self.stream!r} is a JPEG",
                None
                if r.headers.get("Content-Type", "").startswith("image/jpeg")
                and jpeg[:2] == b"\xff\xd8"
                and jpeg.rstrip(b"\0")[-2:] == b"\xff\xd9"
                else f"{r.headers.get('Content-Type')!r} {jpeg[:16]!r}...{jpeg[-16:]!r}",
                f"{len(jpeg)} bytes",
            )
        else:
            detail = self.describe(r) if r is not None else "no answer"
            self.fail(f"frame.jpg of {self.stream!r}", f"no frame within {self.args.frame_timeout} s: {detail}")
            if r is not None and r.status_code == 404:
                self.check("frame.jpg before a frame: 404 JSON error", self.error_problem(r, 404))

    def wait_frame(self):
        """Polls frame.jpg of the demo stream until it answers 200 (or --frame-timeout); the last response."""
        deadline = time.monotonic() + self.args.frame_timeout
        r = None
        while time.monotonic() < deadline:
            r = self.request("GET", f"/api/v1/streams/{self.stream}/frame.jpg")
            if r.status_code == 200:
                break
            time.sleep(0.5)
        return r

    def add_zone_and_find_event(self) -> None:
        """A zone over the whole frame with an `enter` rule: every track entering it makes an event."""
        zone = {
            "name": "checks-everywhere",
            "stream": self.stream,
            "points": [[0, 0], [1, 0], [1, 1], [0, 1]],
            "trigger": "enter",
        }
        r = self.request("POST", "/api/v1/zones", json=zone)
        if r.status_code == 201:
            body = r.json()
            problem = None
            if not isinstance(body, dict) or "zone" not in body or "rule" not in body:
                problem = f"expected {{zone, rule}}, got {body!r}"[:300]
            else:
                problem = self.schema_problem(body["zone"], "Zone") or self.schema_problem(body["rule"], "Rule")
                if not problem and body["zone"].get("name") != zone["name"]:
                    problem = f"zone name {body['zone'].get('name')!r}"
            self.check("POST /api/v1/zones over the whole frame: 201 {zone, rule}", problem)
        elif r.status_code == 409:
            self.ok("POST /api/v1/zones over the whole frame", "409: there from an earlier run")
        else:
            self.fail("POST /api/v1/zones over the whole frame", self.describe(r))
        r = self.request("GET", "/api/v1/rules")
        problem = None if r.status_code == 200 else self.describe(r)
        if not problem:
            body = r.json()
            if not isinstance(body, dict) or not all(isinstance(body.get(k), list) for k in ("zones", "lines", "rules")):
                problem = f"expected {{zones, lines, rules}}, got {body!r}"[:300]
            elif not any(z.get("name") == zone["name"] for z in body["zones"]):
                problem = f"the new zone is not among {[z.get('name') for z in body['zones']]}"
        self.check("GET /api/v1/rules lists the new zone", problem)

    def wait_for_event(self) -> None:
        deadline = time.monotonic() + self.args.event_timeout
        while time.monotonic() < deadline:
            r = self.request("GET", "/api/v1/events", params={"limit": 5})
            if r.status_code != 200:
                self.fail("GET /api/v1/events", self.describe(r))
                return
            events = r.json().get("events") or []
            if events:
                self.event_id = events[0].get("id")
                problem = self.schema_problem(events[0], "Event")
                self.check("an event of the whole-frame zone matches the Event schema", problem, self.event_id)
                self.check_event(events[0])
                return
            time.sleep(1)
        self.note(
            f"no event within {self.args.event_timeout} s: the event id checks use the dummy {DUMMY_ULID} (404s)"
        )

    def check_event(self, event: dict) -> None:
        eid = event.get("id")
        r = self.request("GET", f"/api/v1/events/{eid}")
        self.check(
            "GET /api/v1/events/{id} answers the same event",
            None if r.status_code == 200 and r.json().get("id") == eid else self.describe(r),
        )
        snap = event.get("snapshot")
        if snap is not None:
            r = self.request("GET", snap)
            self.check(
                "the event's snapshot URL answers a JPEG",
                None
                if r.status_code == 200
                and r.headers.get("Content-Type", "").startswith("image/jpeg")
                and r.content[:2] == b"\xff\xd8"
                else f"GET {snap}: {self.describe(r)}",
            )
        # Paging: `next` is an event id to pass as `before`.
        r = self.request("GET", "/api/v1/events", params={"limit": 1})
        body = r.json() if r.status_code == 200 else {}
        nxt = body.get("next")
        if nxt is not None:
            r2 = self.request("GET", "/api/v1/events", params={"limit": 1, "before": nxt})
            ok = r2.status_code == 200 and all(e.get("id") != body["events"][0]["id"] for e in r2.json()["events"])
            self.check("events paging: `next` passed as `before` gives the older page", None if ok else self.describe(r2))

    # --- 1. streaming endpoints (short reads) --------------------------------------------------------------------
    def open_stream(self, path: str, query: dict | None = None, header_token: bool = True, timeout: float = 5):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        headers = {"Authorization": f"Bearer {self.token}"} if header_token else {}
        if query:
            path += "?" + urllib.parse.urlencode(query)
        self.sent += 1
        conn.request("GET", path, headers=headers)
        return conn, conn.getresponse()

    def read_until(self, resp, done, limit_s: float, cap: int = 8 << 20) -> bytes:
        """Reads resp until done(buffer) or limit_s seconds (socket timeouts between reads are retried)."""
        buf = b""
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline and len(buf) < cap and not done(buf):
            try:
                chunk = resp.read1(65536)
            except (socket.timeout, TimeoutError):
                continue
            if not chunk:
                break
            buf += chunk
        return buf

    @staticmethod
    def mjpeg_parts(buf: bytes, boundary: bytes) -> list[bytes] | str:
        """The complete JPEG parts at the start of buf, or the framing problem."""
        parts = []
        pos = 0
        while True:
            if len(buf) - pos < len(boundary) + 4:
                return parts
            if not buf.startswith(b"--" + boundary + b"\r\n", pos):
                return f"part {len(parts) + 1} does not start with --{boundary.decode()}\\r\\n: {buf[pos:pos + 60]!r}"
            end = buf.find(b"\r\n\r\n", pos)
            if end < 0:
                return parts
            head = buf[pos + len(boundary) + 4 : end].decode("latin-1").split("\r\n")
            fields = {}
            for line in head:
                k, _, v = line.partition(":")
                fields[k.strip().lower()] = v.strip()
            if fields.get("content-type") != "image/jpeg":
                return f"part {len(parts) + 1} Content-Type {fields.get('content-type')!r}"
            if not fields.get("content-length", "").isdigit():
                return f"part {len(parts) + 1} Content-Length {fields.get('content-length')!r}"
            n = int(fields["content-length"])
            start = end + 4
            if len(buf) < start + n + 2:
                return parts
            jpeg = buf[start : start + n]
            if jpeg[:2] != b"\xff\xd8" or jpeg[-2:] != b"\xff\xd9":
                return f"part {len(parts) + 1} is not one JPEG (starts {jpeg[:4]!r}, ends {jpeg[-4:]!r})"
            if buf[start + n : start + n + 2] != b"\r\n":
                return f"part {len(parts) + 1} is not followed by \\r\\n: {buf[start + n:start + n + 20]!r}"
            parts.append(jpeg)
            pos = start + n + 2

    def check_mjpeg(self, use_query: bool) -> None:
        name = "MJPEG " + ("with ?access_token" if use_query else "with the bearer header") + ": first parts"
        path = f"/api/v1/streams/{urllib.parse.quote(self.stream)}/mjpeg"
        try:
            conn, resp = self.open_stream(path, {"access_token": self.token} if use_query else None, not use_query)
        except OSError as e:
            self.fail(name, f"{type(e).__name__}: {e}")
            return
        try:
            ctype = resp.getheader("Content-Type", "")
            if resp.status != 200 or not ctype.startswith("multipart/x-mixed-replace"):
                self.fail(name, f"{resp.status} {ctype!r}")
                return
            m = re.search(r"boundary=\"?([^\";]+)", ctype)
            if not m or m.group(1) != "lookout-frame":
                self.fail(name, f"Content-Type {ctype!r}: expected boundary=lookout-frame")
                return
            boundary = m.group(1).encode()
            buf = self.read_until(
                resp, lambda b: not isinstance(self.mjpeg_parts(b, boundary), list) or len(self.mjpeg_parts(b, boundary)) >= 2,
                self.args.stream_timeout,
            )
            parts = self.mjpeg_parts(buf, boundary)
            if isinstance(parts, str):
                self.fail(name, parts)
            elif len(parts) < 2:
                self.fail(name, f"{len(parts)} complete parts within {self.args.stream_timeout} s ({len(buf)} bytes)")
            else:
                self.ok(name, f"2 parts of {len(parts[0])} and {len(parts[1])} bytes")
        finally:
            conn.close()

    def open_sse(self):
        try:
            return self.open_stream("/api/v1/events/live", timeout=2)
        except OSError as e:
            self.fail("SSE /api/v1/events/live", f"{type(e).__name__}: {e}")
            return None

    def check_sse(self, opened) -> None:
        name = "SSE /api/v1/events/live"
        if opened is None:
            return
        conn, resp = opened
        try:
            ctype = resp.getheader("Content-Type", "")
            if resp.status != 200 or not ctype.startswith("text/event-stream"):
                self.fail(name, f"{resp.status} {ctype!r}")
                return
            self.ok(f"{name} answers text/event-stream")
            if self.event_id is None:
                self.note("no event came, so the SSE data is not checked")
                return

            def first_event(b: bytes) -> bool:
                return re.search(rb"(^|\n)event: event\ndata: [^\n]*\n\n", b) is not None

            buf = self.read_until(resp, first_event, self.args.event_timeout)
            m = re.search(rb"(^|\n)event: event\ndata: ([^\n]*)\n\n", buf)
            if not m:
                self.fail(name, f"no `event: event\\ndata: ...\\n\\n` within {self.args.event_timeout} s: {buf[:300]!r}")
                return
            try:
                event = json.loads(m.group(2))
            except ValueError:
                self.fail(name, f"data is not JSON: {m.group(2)[:200]!r}")
                return
            self.check(f"{name}: an event's data matches the Event schema", self.schema_problem(event, "Event"))
        finally:
            conn.close()

    # --- 2. auth matrix ------------------------------------------------------------------------------------------
    def operations(self):
        default_security = self.spec.get("security", [])
        for path, item in self.spec["paths"].items():
            for method in METHODS:
                op = item.get(method)
                if op is None:
                    continue
                guarded = op.get("security", default_security) != []
                yield path, method.upper(), op, guarded

    def stream_body(self, name: str) -> dict:
        return {"name": name, "url": self.file_url, "live": True}

    def new_stream(self, prefix: str) -> str:
        name = f"{prefix}-{rand_suffix()}"
        r = self.request("POST", "/api/v1/streams", json=self.stream_body(name))
        if r.status_code != 201:
            self.fail(f"POST /api/v1/streams {name!r} (setup)", self.describe(r))
        else:
            self.created_streams.append(name)
        return name

    def fill(self, path: str, method: str) -> tuple[str, object, set[int]]:
        """The concrete path, a JSON body and the statuses a request with the token should answer."""
        op = self.spec["paths"][path][method.lower()]
        documented = {int(c) for c in op["responses"] if c.isdigit()}
        expected = {c for c in documented if 200 <= c < 300}
        concrete = path
        if "{name}" in path:
            name = self.new_stream("checks-del") if method == "DELETE" else self.stream
            concrete = concrete.replace("{name}", urllib.parse.quote(name))
        if "{id}" in path:
            concrete = concrete.replace("{id}", self.event_id or DUMMY_ULID)
            if self.event_id is None:
                expected = {404}
        if "{file}" in path:
            concrete = concrete.replace("{file}", "checks-no-such-file.js")
            expected = {200, 404}
        body = None
        if path == "/api/v1/streams" and method == "POST":
            body = self.stream_body(f"checks-auth-{rand_suffix()}")
        elif path == "/api/v1/zones" and method == "POST":
            body = {"name": f"checks-auth-{rand_suffix()}", "points": [[0, 0], [0.5, 0], [0.5, 0.5]]}
        elif "requestBody" in op:
            body = {}
        return concrete, body, expected

    def authorized(self, path: str, method: str, op: dict, concrete: str, body, expected: set[int], auth: str):
        label = f"auth: {method} {concrete} with the token" + (" as ?access_token" if auth == "query" else "")
        streaming = op.get("operationId") in STREAMING
        try:
            r = self.request(method, concrete, auth=auth, json=body, stream=streaming)
        except self.requests.RequestException as e:
            self.fail(label, f"{type(e).__name__}: {e}")
            return
        try:
            if r.status_code not in expected:
                self.fail(label, f"expected {sorted(expected)}, got {self.describe(r) if not streaming else r.status_code}")
                return
            if body is not None and path == "/api/v1/streams" and r.status_code == 201:
                self.request("DELETE", f"/api/v1/streams/{body['name']}")
            documented = op["responses"].get(str(r.status_code), {})
            if "$ref" in documented:
                documented = self.spec["components"]["responses"][documented["$ref"].rsplit("/", 1)[1]]
            types = list((documented.get("content") or {}).keys())
            ctype = r.headers.get("Content-Type", "")
            if types and not any(
                t == "*/*" or ctype.split(";")[0].strip() == t.split(";")[0].strip() for t in types
            ):
                self.fail(label, f"Content-Type {ctype!r}, documented {types}")
                return
            self.ok(label, str(r.status_code))
        finally:
            r.close()

    def auth_matrix(self) -> None:
        # Pause and resume last: a resumed stream has no frame until its first new one.
        ops = sorted(self.operations(), key=lambda o: o[0].endswith(("/pause", "/resume")))
        for path, method, op, guarded in ops:
            if not guarded:
                concrete, _, expected = self.fill(path, method)
                r = self.request(method, concrete, auth=None)
                self.check(
                    f"public: {method} {concrete} without a token",
                    None if r.status_code in expected else f"expected {sorted(expected)}, got {self.describe(r)}",
                    str(r.status_code),
                )
                continue
            concrete, body, expected = self.fill(path, method)
            for auth, what in ((None, "no token"), ("wrong", "a wrong bearer token"), ("wrong-query", "a wrong ?access_token")):
                label = f"auth: {method} {concrete} with {what}"
                try:
                    r = self.request(method, concrete, auth=auth, json=body, stream=op.get("operationId") in STREAMING)
                except self.requests.RequestException as e:
                    self.fail(label, f"{type(e).__name__}: {e}")
                    continue
                problem = self.error_problem(r, 401)
                challenge = r.headers.get("WWW-Authenticate", "")
                if not problem and not challenge.startswith("Bearer"):
                    problem = f"WWW-Authenticate {challenge!r}, expected Bearer"
                r.close()
                self.check(label, problem)
            self.authorized(path, method, op, concrete, body, expected, "header")
            if method == "GET":
                self.authorized(path, method, op, concrete, None, expected, "query")
            if method == "POST" and path.endswith("/pause"):
                self.request("POST", concrete.replace("/pause", "/resume"))
        r = self.wait_frame()
        if r is None or r.status_code != 200:
            self.fail("a frame after resume", f"no frame within {self.args.frame_timeout} s: {self.describe(r) if r is not None else ''}")
        # A right header wins over a wrong query token ("unless the request carries" either).
        r = self.request("GET", "/api/v1/streams", params={"access_token": self.token + "x"})
        self.check("auth: the bearer header with a wrong ?access_token beside it", None if r.status_code == 200 else self.describe(r))
        for auth, code in ((None, 401), ("header", 404)):
            r = self.request("GET", "/api/v1/checks-no-such-path", auth=auth)
            self.check(f"unknown path {'with' if auth else 'without'} the token: {code}", self.error_problem(r, code))

    # --- 3. abuse ------------------------------------------------------------------------------------------------
    def raw_exchange(self, data: bytes, read_timeout: float = 15) -> bytes:
        """Sends data over a fresh connection (ignoring a server that closes early) and returns what came back."""
        s = socket.create_connection((self.host, self.port), timeout=read_timeout)
        self.sent += 1
        try:
            try:
                view = memoryview(data)
                while view:
                    n = s.send(view[:65536])
                    view = view[n:]
            except (BrokenPipeError, ConnectionResetError):
                pass
            out = b""
            try:
                while b"\r\n\r\n" not in out or len(out) < out.find(b"\r\n\r\n") + 4 + self._content_length(out):
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    out += chunk
            except (ConnectionResetError, socket.timeout, TimeoutError):
                pass
            return out
        finally:
            s.close()

    @staticmethod
    def _content_length(head: bytes) -> int:
        m = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.I)
        return int(m.group(1)) if m else 0

    def big_body(self, name: str, path: str, size: int, auth: bool = True) -> None:
        body = b'{"name": "checks-big", "url": "' + b"a" * (size - 40) + b'"}'
        body += b" " * (size - len(body))
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n" + (f"Authorization: Bearer {self.token}\r\n" if auth else "") + "\r\n"
        ).encode()
        out = self.raw_exchange(head + body)
        status = out.split(b" ", 2)[1] if out.startswith(b"HTTP/1.") else b""
        problem = None
        if status != b"413":
            problem = f"expected 413, got {out[:300]!r}"
        else:
            headers, _, payload = out.partition(b"\r\n\r\n")
            try:
                err = json.loads(payload[: self._content_length(out)] or b"null")
            except ValueError:
                err = None
            if not (isinstance(err, dict) and isinstance(err.get("error"), str)):
                problem = f"413 without {JSON_ERROR}: {out[:300]!r}"
        self.check(name, problem)

    def abuse(self) -> None:
        post = "/api/v1/streams"
        raw = {"headers": {"Content-Type": "application/json"}}
        for label, data in (
            ("malformed JSON", b'{"name": "x", "url": '),
            ("a JSON array", b"[]"),
            ("a JSON string", b'"demo"'),
            ("JSON null", b"null"),
            ("an empty body", b""),
            ("not UTF-8", b'{"name": "\xff\xfe", "url": "x"}'),
        ):
            self.expect_error(f"abuse: POST {post} with {label}: 400", 400, "POST", post, data=data, **raw)
        good = {"name": f"checks-ab-{rand_suffix()}", "url": self.file_url}
        cases = [
            ("name a number", {**good, "name": 5}),
            ("url a number", {**good, "url": 5}),
            ("loop a string", {**good, "loop": "yes"}),
            ("live a number", {**good, "live": 1}),
            ("name null", {**good, "name": None}),
            ("no url", {"name": good["name"]}),
            ("no name", {"url": self.file_url}),
            ("an unknown field", {**good, "colour": "red"}),
            ("an empty name", {**good, "name": ""}),
            ("a 65-character name", {**good, "name": "a" * 65}),
            ("a 10,000-character name", {**good, "name": "a" * 10000}),
            ("a name with a space", {**good, "name": "a b"}),
            ("a name with a slash", {**good, "name": "a/b"}),
            ("a name starting with '-'", {**good, "name": "-a"}),
            ("a name with non-ASCII", {**good, "name": "caf\u00e9"}),
            ("an empty url", {**good, "url": ""}),
            ("a 2,049-character url", {**good, "url": "/" + "a" * 2048}),
        ]
        for label, body in cases:
            self.expect_error(f"abuse: POST {post} with {label}: 400", 400, "POST", post, json=body)
        r = self.request("GET", f"/api/v1/streams/{good['name']}")
        self.check("abuse: none of the rejected bodies made a stream", None if r.status_code == 404 else self.describe(r))
        # A 64-character name is the longest allowed.
        longest = "c" + rand_suffix(63)
        r = self.request("POST", post, json=self.stream_body(longest))
        if r.status_code == 201:
            self.request("DELETE", f"{post}/{longest}")
        self.check("POST /api/v1/streams with a 64-character name: 201", None if r.status_code == 201 else self.describe(r))
        self.expect_error(
            f"abuse: POST {post} with the name of an existing stream: 409",
            409, "POST", post, json=self.stream_body(self.stream),
        )
        self.big_body("abuse: POST /api/v1/streams with a 1 MiB body: 413", post, 1 << 20)
        self.big_body("abuse: POST /api/v1/streams with a 64 KiB + 1 byte body: 413", post, 64 * 1024 + 1)
        self.big_body("abuse: POST /api/v1/zones with a 1 MiB body: 413", "/api/v1/zones", 1 << 20)

        zone = {"name": f"checks-z-{rand_suffix()}", "points": [[0, 0], [1, 0], [1, 1]]}
        zcases = [
            ("malformed JSON", None),
            ("two points", {**zone, "points": [[0, 0], [1, 1]]}),
            ("65 points", {**zone, "points": [[i / 65, 0.5] for i in range(65)]}),
            ("a point outside 0..1", {**zone, "points": [[0, 0], [2, 0], [1, 1]]}),
            ("a point of three numbers", {**zone, "points": [[0, 0, 0], [1, 0], [1, 1]]}),
            ("a point of strings", {**zone, "points": [["0", "0"], [1, 0], [1, 1]]}),
            ("points not a list", {**zone, "points": "0,0 1,0 1,1"}),
            ("an unknown trigger", {**zone, "trigger": "explode"}),
            ("seconds a string", {**zone, "trigger": "dwell", "seconds": "5"}),
            ("at_least a string", {**zone, "trigger": "count", "at_least": "2"}),
            ("classes a string", {**zone, "classes": "person"}),
            ("an unknown field", {**zone, "colour": "red"}),
            ("a bad name", {**zone, "name": "no spaces"}),
            ("no points", {"name": zone["name"]}),
        ]
        for label, body in zcases:
            if body is None:
                self.expect_error(
                    f"abuse: POST /api/v1/zones with {label}: 400", 400, "POST", "/api/v1/zones",
                    data=b'{"name": ', **raw,
                )
            else:
                self.expect_error(f"abuse: POST /api/v1/zones with {label}: 400", 400, "POST", "/api/v1/zones", json=body)
        self.expect_error(
            "abuse: POST /api/v1/zones with a zone name in use: 409", 409, "POST", "/api/v1/zones",
            json={**zone, "name": "checks-everywhere"},
        )

        unknown = f"checks-nope-{rand_suffix()}"
        for method, path in (
            ("GET", f"/api/v1/streams/{unknown}"),
            ("DELETE", f"/api/v1/streams/{unknown}"),
            ("POST", f"/api/v1/streams/{unknown}/pause"),
            ("POST", f"/api/v1/streams/{unknown}/resume"),
            ("GET", f"/api/v1/streams/{unknown}/frame.jpg"),
            ("GET", f"/api/v1/streams/{unknown}/mjpeg"),
            ("GET", f"/api/v1/events/{DUMMY_ULID}"),
            ("GET", f"/api/v1/events/{DUMMY_ULID}/snapshot.jpg"),
            ("GET", "/api/v1/events/not-an-id"),
            ("GET", "/api/v1/events/not-an-id/snapshot.jpg"),
            ("GET", "/api/v1/streams/%2e%2e%2fetc"),
            ("GET", "/api/v1/nothing"),
        ):
            self.expect_error(f"abuse: {method} {path}: 404", 404, method, path)

        for query in (
            {"limit": "0"}, {"limit": "501"}, {"limit": "-1"}, {"limit": "abc"}, {"limit": "1.5"}, {"limit": ""},
            {"since": "garbage"}, {"until": "garbage"}, {"since": "2026-13-45"}, {"state": "bogus"},
            {"before": "garbage"},
        ):
            self.expect_error(f"abuse: GET /api/v1/events?{urllib.parse.urlencode(query)}: 400", 400, "GET", "/api/v1/events", params=query)
        for query in ({"limit": "500"}, {"limit": "1"}, {"since": "1700000000"}, {"since": "2026-01-01T00:00:00Z"},
                      {"until": "2100-01-01"}, {"state": "open"}, {"before": DUMMY_ULID}):
            r = self.request("GET", "/api/v1/events", params=query)
            self.check(f"GET /api/v1/events?{urllib.parse.urlencode(query)}: 200", None if r.status_code == 200 else self.describe(r))

        for method, path in (
            ("PUT", "/api/v1/streams"),
            ("DELETE", "/api/v1/streams"),
            ("PATCH", f"/api/v1/streams/{self.stream}"),
            ("GET", f"/api/v1/streams/{self.stream}/pause"),
            ("DELETE", "/api/v1/events"),
            ("POST", "/api/v1/counts"),
            ("GET", "/api/v1/zones"),
        ):
            self.expect_error(f"abuse: {method} {path}: 405", 405, method, path)

    # --- 3b. slow loris --------------------------------------------------------------------------------------------
    def slowloris(self) -> None:
        n, limit = self.args.slowloris_sockets, self.args.slowloris_limit
        name = f"slow-loris: {n} sockets sending a header byte a second"
        payload = f"GET /health/live HTTP/1.1\r\nHost: {self.host}\r\nX-Slow: ".encode() + b"a" * 4096
        socks = []
        try:
            for _ in range(n):
                s = socket.create_connection((self.host, self.port), timeout=5)
                s.setblocking(False)
                socks.append(s)
        except OSError as e:
            self.fail(name, f"could not open the sockets: {e}")
            for s in socks:
                s.close()
            return
        start = time.monotonic()
        closed_at: dict[int, float] = {}
        sent = [0] * n
        normal_ok = normal_failed = 0
        normal_errors: list[str] = []
        tick = 0
        try:
            while len(closed_at) < n and time.monotonic() - start < limit:
                for i, s in enumerate(socks):
                    if i in closed_at:
                        continue
                    try:
                        s.send(payload[sent[i] : sent[i] + 1])
                        sent[i] += 1
                    except (BlockingIOError, InterruptedError):
                        pass
                    except OSError:
                        closed_at[i] = time.monotonic() - start
                open_socks = [s for i, s in enumerate(socks) if i not in closed_at]
                readable, _, _ = select.select(open_socks, [], [], 0) if open_socks else ([], [], [])
                for s in readable:
                    i = socks.index(s)
                    try:
                        if not s.recv(65536):
                            closed_at[i] = time.monotonic() - start
                    except (BlockingIOError, InterruptedError):
                        pass
                    except OSError:
                        closed_at[i] = time.monotonic() - start
                # Normal clients keep being served meanwhile.
                if tick % 2 == 0:
                    for path, auth in (("/health/live", None), ("/api/v1/streams", "header")):
                        try:
                            r = self.request("GET", path, auth=auth, timeout=5)
                            if r.status_code == 200:
                                normal_ok += 1
                            else:
                                normal_failed += 1
                                normal_errors.append(f"GET {path}: {r.status_code}")
                        except self.requests.RequestException as e:
                            normal_failed += 1
                            normal_errors.append(f"GET {path}: {type(e).__name__}")
                tick += 1
                deadline = start + tick
                # Wait out the second, noticing closes as they happen.
                while True:
                    left = deadline - time.monotonic()
                    open_socks = [s for i, s in enumerate(socks) if i not in closed_at]
                    if left <= 0 or not open_socks:
                        break
                    readable, _, _ = select.select(open_socks, [], [], left)
                    for s in readable:
                        i = socks.index(s)
                        try:
                            if not s.recv(65536):
                                closed_at[i] = time.monotonic() - start
                        except (BlockingIOError, InterruptedError):
                            pass
                        except OSError:
                            closed_at[i] = time.monotonic() - start
        finally:
            for s in socks:
                s.close()
        elapsed = time.monotonic() - start
        if len(closed_at) < n:
            self.fail(name, f"{n - len(closed_at)} of {n} sockets still open after {elapsed:.0f} s (limit {limit} s)")
        else:
            self.ok(f"{name}: all cut off", f"within {max(closed_at.values()):.1f} s, after {max(sent)} bytes at most")
        self.check(
            "slow-loris: normal requests answered during it",
            None if normal_failed == 0 and normal_ok > 0 else f"{normal_failed} failed ({normal_errors[:5]}), {normal_ok} ok",
            f"{normal_ok} requests",
        )

    # --- 4. schemathesis ---------------------------------------------------------------------------------------------
    def schemathesis(self) -> None:
        spec = copy.deepcopy(self.spec)
        spec["components"]["parameters"]["StreamName"]["example"] = self.stream
        if self.event_id:
            spec["components"]["parameters"]["EventIDPath"]["example"] = self.event_id
        # DELETE gets its own parameter with a scratch stream as its example (a stream made for it just below),
        # never the demo stream; the before_call hook above also swaps any generated protected name.
        scratch = self.new_stream("checks-scratch")
        spec["paths"]["/api/v1/streams/{name}"]["delete"]["parameters"] = [
            {"name": "name", "in": "path", "required": True, "schema": {"$ref": "#/components/schemas/Name"},
             "example": scratch}
        ]
        r = self.request("GET", "/api/v1/streams")
        protected = {s["name"] for s in r.json()["streams"]} - {scratch} if r.status_code == 200 else {self.stream}
        protected.add(self.stream)
        workdir = tempfile.mkdtemp(prefix="serve-api-checks-")
        spec_path = os.path.join(workdir, "openapi.json")
        with open(spec_path, "w", encoding="utf-8") as f:
            json.dump(spec, f)
        report_dir = os.path.join(workdir, "report")
        cmd = [
            sys.executable, "-m", "schemathesis.cli", "run", spec_path,
            "--url", self.base,
            "--header", f"Authorization: Bearer {self.token}",
            "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            "--phases", "examples,coverage,fuzzing",
            "--max-examples", str(self.args.max_examples),
            "--seed", str(self.args.seed),
            # One worker: with two, CPython 3.11's ast.parse (hypothesis describing a lambda) races and fails with
            # "SystemError: AST constructor recursion depth mismatch".
            "--workers", str(self.args.workers),
            "--request-timeout", "20",
            "--generation-database", "none",
            "--generation-with-security-parameters", "false",
            "--suppress-health-check", "all",
            "--report", "ndjson,junit",
            "--report-dir", report_dir,
            "--no-color",
        ]
        for op in sorted(STREAMING):
            cmd += ["--exclude-operation-id", op]
        env = dict(os.environ)
        env["SCHEMATHESIS_HOOKS"] = os.path.abspath(__file__)
        env["LOOKOUT_CHECKS_PROTECT"] = ",".join(sorted(protected))
        print(f"... schemathesis: {' '.join(c if 'Bearer' not in c else 'Authorization: Bearer ***' for c in cmd)}", flush=True)
        log_path = os.path.join(workdir, "schemathesis.log")
        started = time.monotonic()
        try:
            with open(log_path, "w", encoding="utf-8") as log:
                proc = subprocess.run(cmd, env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT, timeout=self.args.schemathesis_timeout)
            rc = proc.returncode
        except subprocess.TimeoutExpired:
            rc = None
        took = time.monotonic() - started
        with open(log_path, encoding="utf-8", errors="replace") as f:
            output = f.read()
        self.schemathesis_requests = self.count_requests(report_dir)
        detail = f"{self.schemathesis_requests} requests in {took:.0f} s; log {log_path}"
        if rc is None:
            self.fail("schemathesis", f"ran over {self.args.schemathesis_timeout} s; {detail}\n{output[-3000:]}")
        elif rc != 0:
            self.fail("schemathesis", f"exit {rc}; {detail}\n{self.failures_excerpt(output)}")
        else:
            self.ok("schemathesis: 4 checks over every non-streaming operation", detail)
        if self.schemathesis_requests < self.args.min_requests:
            self.fail(
                "schemathesis request count",
                f"{self.schemathesis_requests} requests, fewer than {self.args.min_requests} (raise --max-examples)",
            )

    @staticmethod
    def failures_excerpt(output: str) -> str:
        start = output.find("FAILURES")
        text = output[start:] if start >= 0 else output
        return text[:12000] + ("\n[... cut; see the log]" if len(text) > 12000 else "")

    @staticmethod
    def count_requests(report_dir: str) -> int:
        """Requests recorded in the NDJSON event report (one interaction per request)."""
        count = 0
        for root, _, files in os.walk(report_dir):
            for f in files:
                if not f.endswith(".ndjson"):
                    continue
                with open(os.path.join(root, f), encoding="utf-8") as fh:
                    for line in fh:
                        try:
                            event = json.loads(line)
                        except ValueError:
                            continue
                        count += count_interactions(event)
        return count

    # --- 5. afterwards ---------------------------------------------------------------------------------------------
    def afterwards(self) -> None:
        r = self.request("GET", f"/api/v1/streams/{self.stream}")
        if r.status_code == 200 and r.json().get("state") == "paused":
            r = self.request("POST", f"/api/v1/streams/{self.stream}/resume")
            self.check(f"afterwards: resuming {self.stream!r} (paused by a generated request)", None if r.status_code == 200 else self.describe(r))
        else:
            self.check(f"afterwards: {self.stream!r} still exists", None if r.status_code == 200 else self.describe(r))
        r = self.request("GET", "/health/live", auth=None)
        self.check("afterwards: /health/live 200", None if r.status_code == 200 else self.describe(r))
        r = self.request("GET", "/api/v1/streams")
        self.check("afterwards: GET /api/v1/streams 200", None if r.status_code == 200 else self.describe(r))
        for name in self.created_streams:
            self.request("DELETE", f"/api/v1/streams/{name}")


def count_interactions(event) -> int:
    """Counts the recorded request/response interactions inside one NDJSON event of schemathesis' report."""
    found = 0
    stack = [event]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("interactions"), (dict, list)):
                found += len(node["interactions"])
                continue
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", required=True, help="the server, e.g. http://127.0.0.1:8080")
    ap.add_argument("--token", required=True)
    ap.add_argument("--spec", default="web/openapi.yaml")
    ap.add_argument("--ready-timeout", type=float, default=120)
    ap.add_argument("--frame-timeout", type=float, default=60)
    ap.add_argument("--event-timeout", type=float, default=30)
    ap.add_argument("--stream-timeout", type=float, default=20)
    ap.add_argument("--slowloris-sockets", type=int, default=20)
    ap.add_argument("--slowloris-limit", type=float, default=60)
    ap.add_argument("--max-examples", type=int, default=100, help="schemathesis' per-operation example count")
    ap.add_argument("--min-requests", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=1, help="schemathesis' workers")
    ap.add_argument("--seed", type=int, default=20261207)
    ap.add_argument("--schemathesis-timeout", type=float, default=240)
    ap.add_argument("--skip", default="", help="comma-separated parts to skip: streaming,auth,abuse,slowloris,schemathesis")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))

    c = Checks(args)
    started = time.monotonic()
    if c.wait_ready():
        c.discover()
        sse = c.open_sse() if "streaming" not in skip else None
        c.add_zone_and_find_event()
        c.wait_for_event()
        if "streaming" not in skip:
            c.check_sse(sse)
            c.check_mjpeg(use_query=False)
            c.check_mjpeg(use_query=True)
        if "auth" not in skip:
            c.auth_matrix()
        if "abuse" not in skip:
            c.abuse()
        if "slowloris" not in skip:
            c.slowloris()
        if "schemathesis" not in skip:
            c.schemathesis()
        c.afterwards()
    took = time.monotonic() - started
    print(
        f"\nrequests: {c.sent} by the checks, {c.schemathesis_requests} by schemathesis "
        f"({c.sent + c.schemathesis_requests} in all), {took:.0f} s"
    )
    for n in c.notes:
        print(f"note: {n}")
    for f in c.failures:
        print(f"failed: {f.splitlines()[0]}")
    print(f"{c.passed} passed, {len(c.failures)} failed")
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main())
