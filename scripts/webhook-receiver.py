#!/usr/bin/env python3
"""A webhook receiver for Lookout's tests: accepts POSTs on 127.0.0.1:PORT and appends one JSON line per request to
LOG ({"idempotency_key": …, "event_id": …, "body": <the JSON body>}), flushed and fsynced before answering 200.

    python3 scripts/webhook-receiver.py PORT LOG [--status CODE] [--delay SECONDS]

--status answers every request with CODE instead (a failing receiver); --delay waits before answering (a hanging
one). Prints "listening PORT" once bound. Stops on SIGTERM/SIGKILL like any process.
"""
import http.server
import json
import os
import sys
import time


def main():
    port = int(sys.argv[1])
    log_path = sys.argv[2]
    status = 200
    delay = 0.0
    args = sys.argv[3:]
    while args:
        flag = args.pop(0)
        if flag == "--status":
            status = int(args.pop(0))
        elif flag == "--delay":
            delay = float(args.pop(0))
    log = open(log_path, "a")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            if delay:
                time.sleep(delay)
            if status == 200:
                record = {
                    "idempotency_key": self.headers.get("Idempotency-Key"),
                    "event_id": self.headers.get("X-Lookout-Event"),
                    "body": json.loads(body),
                }
                log.write(json.dumps(record) + "\n")
                log.flush()
                os.fsync(log.fileno())
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print(f"listening {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
