#!/usr/bin/env bash
# The inference server's gRPC checks (KServe v2 / Open Inference Protocol over gRPC, docs/inference-server.md), beside
# scripts/kserve-checks.sh (HTTP):
#   bash scripts/kserve-grpc-checks.sh [BINARY]        (default .build/debug/lookout)
# 1. tritonclient[http,grpc] (pinned) into .venv when missing;
# 2. `lookout serve --inference-only --model-repository TMP --http-port 0 --grpc-port 0 --allow-client-shm=true`, TMP
#    holding a link to Models/shapes-yolov8n.onnx; the gRPC address read from its `inference gRPC server on
#    HOST:PORT` line on stderr;
# 3. scripts/kserve-checks-grpc.py against it (every method through tritonclient.grpc, raw, typed and shared-memory
#    tensors against `lookout detect` and onnxruntime, ≥ 1,000 malformed calls through grpcio);
# 4. SIGTERM: the server must exit 0 within 30 s.
# Exit 0 when all of it passed. The server's stderr: $KSERVE_CHECKS_LOG (default: a temporary file).
set -euo pipefail
cd "$(dirname "$0")/.."
name=kserve-grpc-checks
source scripts/lib/server.sh

binary=${1:-.build/debug/lookout}
if [ ! -x "$binary" ]; then
    echo "kserve-grpc-checks: no executable $binary (build it first: swift build)" >&2
    exit 2
fi

TRITONCLIENT_VERSION=2.73.0  # as scripts/kserve-checks.sh
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
if ! .venv/bin/python - <<EOF 2>/dev/null; then
import importlib.metadata as m, sys
import tritonclient.http, tritonclient.grpc, geventhttpclient, grpc
sys.exit(0 if m.version("tritonclient") == "$TRITONCLIENT_VERSION" else 1)
EOF
    .venv/bin/python -m pip install -q --disable-pip-version-check "tritonclient[http,grpc]==$TRITONCLIENT_VERSION"
fi

work=$(mktemp -d /tmp/kserve-grpc-checks.XXXXXX)
log=${KSERVE_CHECKS_LOG:-$work/serve.log}
mkdir "$work/models"
ln -s "$PWD/Models/shapes-yolov8n.onnx" "$work/models/shapes-yolov8n.onnx"
server=""
cleanup() {
    if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
        kill -KILL "$server" 2>/dev/null || true
    fi
}
trap cleanup EXIT

echo "kserve-grpc-checks: $binary serve --inference-only --model-repository $work/models --http-port 0 --grpc-port 0 --metrics-port -1 --allow-client-shm=true (stderr: $log)"
"$binary" serve --inference-only --model-repository "$work/models" --http-port 0 --grpc-port 0 --metrics-port -1 \
    --allow-client-shm=true \
    >"$work/serve.out" 2>"$log" &
server=$!

address=$(listening 's/.*inference gRPC server on \([^ ]*\).*/\1/p') || exit 1
echo "kserve-grpc-checks: the server listens on (gRPC) $address"

status=0
.venv/bin/python scripts/kserve-checks-grpc.py --grpc "$address" --binary "$binary" --models "$work/models" || status=1

finish "$status" "$work"
