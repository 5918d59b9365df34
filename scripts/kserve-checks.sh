#!/usr/bin/env bash
# The inference server checks (KServe v2 / Open Inference Protocol over HTTP, docs/inference-server.md):
#   bash scripts/kserve-checks.sh [BINARY]        (default .build/debug/lookout)
# 1. tritonclient[http] (pinned) into .venv when missing (scripts/test creates .venv);
# 2. `lookout serve --inference-only --model-repository TMP --http-port 0 --metrics-port 0`, TMP holding a link to
#    Models/shapes-yolov8n.onnx (and to the generated dynamic export when scripts/test has made it); its URLs read
#    from the `inference server on http://HOST:PORT` and `inference metrics on http://HOST:PORT/metrics` lines;
# 3. scripts/kserve-checks.py against it (tritonclient's calls, detections against `lookout detect`, ≥ 200
#    malformed requests; system shared memory through scripts/kserve_shm_checks.py, and a second server without
#    --allow-client-shm refusing it);
# 4. SIGTERM: the server must exit 0 within 30 s.
# Exit 0 when all of it passed. The server's stderr: $KSERVE_CHECKS_LOG (default: a temporary file).
set -euo pipefail
cd "$(dirname "$0")/.."
name=kserve-checks
source scripts/lib/server.sh

binary=${1:-.build/debug/lookout}
if [ ! -x "$binary" ]; then
    echo "kserve-checks: no executable $binary (build it first: swift build)" >&2
    exit 2
fi

# Pinned: the version the checks were written against. 2.73.0 takes numpy 2 (older ones pull numpy 1.x, which the
# fixtures' OpenCV refuses).
TRITONCLIENT_VERSION=2.73.0
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
if ! .venv/bin/python - <<EOF 2>/dev/null; then
import importlib.metadata as m, sys
import tritonclient.http, geventhttpclient
sys.exit(0 if m.version("tritonclient") == "$TRITONCLIENT_VERSION" else 1)
EOF
    .venv/bin/python -m pip install -q --disable-pip-version-check "tritonclient[http]==$TRITONCLIENT_VERSION"
fi

work=$(mktemp -d /tmp/kserve-checks.XXXXXX)
log=${KSERVE_CHECKS_LOG:-$work/serve.log}
mkdir "$work/models"
ln -s "$PWD/Models/shapes-yolov8n.onnx" "$work/models/shapes-yolov8n.onnx"
# The dynamic export scripts/test generates (batches and sizes of the client's choice), when it is there.
dynamic=Tests/Fixtures/generated/shapes/shapes-yolov8n-dynamic.onnx
extra=()
if [ -f "$dynamic" ]; then
    ln -s "$PWD/$dynamic" "$work/models/shapes-yolov8n-dynamic.onnx"
    extra=(--dynamic shapes-yolov8n-dynamic --dynamic-onnx "$dynamic")
fi
server=""
cleanup() {
    if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
        kill -KILL "$server" 2>/dev/null || true
    fi
}
trap cleanup EXIT

echo "kserve-checks: $binary serve --inference-only --model-repository $work/models --http-port 0 --grpc-port -1 --metrics-port 0 --allow-client-shm=true (stderr: $log)"
"$binary" serve --inference-only --model-repository "$work/models" --http-port 0 --grpc-port -1 --metrics-port 0 \
    --allow-client-shm=true \
    >"$work/serve.out" 2>"$log" &
server=$!

url=$(listening 's/.*inference server on \(http:\/\/[^ ]*\).*/\1/p') || exit 1
echo "kserve-checks: the server listens on $url"
metrics=$(listening 's/.*inference metrics on \(http:\/\/[^ ]*\).*/\1/p') || exit 1

status=0
.venv/bin/python scripts/kserve-checks.py --url "$url" --metrics-url "$metrics" --binary "$binary" --models "$work/models" "${extra[@]}" || status=1

finish "$status" "$work"
