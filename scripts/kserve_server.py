"""Starts a second `lookout serve --inference-only` for the inference-server checks that need their own flags."""
import re
import subprocess
import time


def start(binary, models, *flags, grpc=False, timeout=120):
    """`binary serve --inference-only --model-repository MODELS --http-port 0 --grpc-port -1 --metrics-port -1 FLAGS…`
    (with grpc: `--grpc-port 0`); returns the process and its HOST:PORT, HTTP's from the `inference server on
    http://…` stderr line or with grpc the gRPC one's from `inference gRPC server on …` (None when it never came)."""
    process = subprocess.Popen(
        [binary, "serve", "--inference-only", "--model-repository", models, "--http-port", "0",
         "--grpc-port", "0" if grpc else "-1", "--metrics-port", "-1", *flags],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    pattern = r"inference gRPC server on (\S+)" if grpc else r"inference server on http://(\S+)"
    url = None
    deadline = time.time() + timeout
    while url is None and time.time() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        found = re.search(pattern, line)
        url = found.group(1) if found else None
    return process, url
