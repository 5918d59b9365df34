#!/usr/bin/env bash
# Triton's own perf_analyzer against `lookout serve --inference-only` (docs/inference-server.md):
#   bash scripts/perf-analyzer-checks.sh [BINARY] [MODEL.onnx] [SHAPE]
# (defaults: .build/debug/lookout, the generated dynamic export at 3,64,64, which keeps a debug build fast; an empty
# SHAPE for a static export, whose input shape is fixed). PA_DEVICE (e.g. cuda) adds `--device` to the server.
# 1. perf_analyzer into .venv/perf_analyzer (scripts/install-perf-analyzer.sh) unless PERF_ANALYZER names one;
# 2. the server with MODEL alone in its repository, HTTP and gRPC on free ports;
# 3. perf_analyzer on the raw model over HTTP and gRPC with each of PA_SHARED_MEMORY (default "none system"; add
#    cuda on a GPU machine) at concurrency PA_CONCURRENCY (default 2), count windows of PA_REQUESTS (default 4)
#    requests: each run must exit 0 with a throughput and the server-side split it reads from the statistics
#    (queue, compute input, infer, output; perf_analyzer refuses a server whose three compute counts differ);
#    output lines in $PA_OUT (default: a temporary folder) when set;
# 4. SIGTERM: the server must exit 0.
# The detect model (`NAME-detect`) is not run: its two inputs (`images`, `encoded`) are optional, which
# perf_analyzer's shared-memory modes refuse, and the reshape-to-scalar `encoded` input has no shape it can send.
set -euo pipefail
cd "$(dirname "$0")/.."
name=perf-analyzer-checks
source scripts/lib/server.sh

binary=${1:-.build/debug/lookout}
model=${2:-Tests/Fixtures/generated/shapes/shapes-yolov8n-dynamic.onnx}
shape=${3-3,64,64}
if [ ! -x "$binary" ] || [ ! -f "$model" ]; then
    echo "$name: no executable $binary or no model $model (scripts/test builds and generates them)" >&2
    exit 2
fi
pa=${PERF_ANALYZER:-}
if [ -z "$pa" ]; then
    pa=$(bash scripts/install-perf-analyzer.sh | tail -1)
fi
work=$(mktemp -d /tmp/perf-analyzer-checks.XXXXXX)
out=${PA_OUT:-$work/out}
mkdir -p "$out" "$work/models"
stem=$(basename "$model" .onnx)
ln -s "$(cd "$(dirname "$model")" && pwd)/$(basename "$model")" "$work/models/$stem.onnx"
log=$work/serve.log
server=""
cleanup() {
    if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
        kill -KILL "$server" 2>/dev/null || true
    fi
}
trap cleanup EXIT

device=()
[ -n "${PA_DEVICE:-}" ] && device=(--device "$PA_DEVICE")
echo "$name: $binary serve --inference-only --model-repository $work/models --http-port 0 --grpc-port 0 --metrics-port -1 --allow-client-shm=true ${device[*]}"
"$binary" serve --inference-only --model-repository "$work/models" --http-port 0 --grpc-port 0 --metrics-port -1 \
    --allow-client-shm=true "${device[@]}" >"$work/serve.out" 2>"$log" &
server=$!
http=$(listening 's/.*inference server on http:\/\/\([^ ]*\).*/\1/p') || exit 1
grpc=$(listening 's/.*inference gRPC server on \([^ ]*\).*/\1/p') || exit 1
echo "$name: HTTP $http, gRPC $grpc, $("$pa" --version 2>&1 | head -1)"

status=0
for memory in ${PA_SHARED_MEMORY:-none system}; do
    for protocol in http grpc; do
        url=$http
        [ "$protocol" = grpc ] && url=$grpc
        file="$out/$protocol-$memory.txt"
        command=("$pa" -m "$stem" -u "$url" -i "$protocol" --shared-memory "$memory")
        [ -n "$shape" ] && command+=(--shape "images:$shape")
        command+=(--concurrency-range "${PA_CONCURRENCY:-2}" --measurement-mode count_windows
            --measurement-request-count "${PA_REQUESTS:-4}" --stability-percentage 100 --max-trials 10)
        rc=0
        timeout 300 "${command[@]}" >"$file" 2>&1 || rc=$?
        throughput=$(sed -n 's/.*Throughput: \([0-9.]*\) infer\/sec.*/\1/p' "$file" | tail -1)
        split=$(grep -m1 "Avg request latency" "$file" | sed 's/^ *//' || true)
        if [ "$rc" -eq 0 ] && [ -n "$throughput" ] && [[ "$split" == *"compute input"*"compute output"* ]]; then
            echo "PASS perf_analyzer $protocol --shared-memory $memory: $throughput infer/s; $split"
        else
            echo "FAIL perf_analyzer $protocol --shared-memory $memory (exit $rc): $(tail -3 "$file" | tr '\n' ' ')" >&2
            status=1
        fi
    done
done

finish "$status" "$work"
