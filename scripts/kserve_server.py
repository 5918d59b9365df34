"""Starts a second `lookout serve --inference-only` for the inference-server checks that need their own flags."""
import re
import subprocess
import time


def start(binary, models, *flags, timeout=120):
    """`binary serve --inference-only --model-repository MODELS --http-port 0 --grpc-port -1 --metrics-port -1 FLAGS…`;
    returns the
    process and its HOST:PORT from the `inference server on http://…` stderr line (None when it never came)."""
    process = subprocess.Popen(
        [binary, "serve", "--inference-only", "--model-repository", models, "--http-port", "0", "--grpc-port", "-1",
         "--metrics-port", "-1", *flags], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = None
    deadline = time.time() + timeout
    while url is None and time.time() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        found = re.search(r"inference server on http://(\S+)", line)
        url = found.group(1) if found else None
    return process, url
