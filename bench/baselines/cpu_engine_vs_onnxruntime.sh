#!/usr/bin/env bash
# Lookout's CPU engine against onnxruntime CPU on the same model, batch and iteration count, side by side.
#
#   bench/baselines/cpu_engine_vs_onnxruntime.sh MODEL [BATCH=1] [ITER=100]
#
# 1. `lookout bench engine --model MODEL --device cpu --batch B --iterations N --json F`
#    (the binary from $LOOKOUT_BIN, else .build/release/lookout: `swift build -c release`);
# 2. bench/baselines/onnxruntime_engine.py --model MODEL --batch B --iterations N --merge F
#    (default session options; it takes imgsz and warm-up from F's settings);
# 3. prints both rows and the ratio lookout p50 / onnxruntime p50, and keeps F as
#    bench/results/runs/engine/engine-cpu-<UTC date-time>.json.
# PYTHON picks the interpreter (default python3; needs numpy and onnxruntime).
set -euo pipefail

if [[ $# -lt 1 || "$1" == "-h" || "$1" == "--help" ]]; then
    sed -n '2,/^set /p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'
    exit 2
fi
MODEL=$1
BATCH=${2:-1}
ITER=${3:-100}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LOOKOUT=${LOOKOUT_BIN:-$ROOT/.build/release/lookout}
PYTHON=${PYTHON:-python3}

if [[ ! -f "$MODEL" ]]; then
    echo "error: model '$MODEL' not found" >&2
    exit 1
fi
if [[ ! -x "$LOOKOUT" ]]; then
    echo "error: lookout binary '$LOOKOUT' not found; run 'swift build -c release' or set LOOKOUT_BIN" >&2
    exit 1
fi

STAMP=$(date -u +%Y%m%d-%H%M%S)
mkdir -p "$ROOT/bench/results/runs/engine"
TMP=$(mktemp "${TMPDIR:-/tmp}/engine-cpu-XXXXXX.json")
trap 'rm -f "$TMP"' EXIT

echo "== lookout bench engine ($LOOKOUT)"
"$LOOKOUT" bench engine --model "$MODEL" --device cpu --batch "$BATCH" --iterations "$ITER" --json "$TMP"
echo "== onnxruntime"
"$PYTHON" "$ROOT/bench/baselines/onnxruntime_engine.py" --model "$MODEL" --batch "$BATCH" --iterations "$ITER" \
    --merge "$TMP" > /dev/null

OUT="$ROOT/bench/results/runs/engine/engine-cpu-$STAMP.json"
cp "$TMP" "$OUT"
"$PYTHON" - "$OUT" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
rows = report.get("rows", [])
print(f"{'backend':<18} {'precision':<9} {'batch':>5} {'img/s':>10} {'p50 ms':>9} {'p99 ms':>9}")
for r in rows:
    print(f"{r.get('backend', '?'):<18} {r.get('precision', '?'):<9} {r.get('batch', 0):>5} "
          f"{float(r.get('throughput', 0)):>10.2f} {float(r.get('p50_ms', 0)):>9.3f} {float(r.get('p99_ms', 0)):>9.3f}")
def p50(backend):
    vals = [float(r["p50_ms"]) for r in rows if r.get("backend") == backend and "p50_ms" in r]
    return vals[-1] if vals else None
lk, ox = p50("lookout-cpu"), p50("onnxruntime-cpu")
if lk is not None and ox:
    print(f"lookout p50 / onnxruntime p50 = {lk:.3f} / {ox:.3f} ms = {lk / ox:.2f}x"
          f" ({'lookout faster' if lk < ox else 'onnxruntime faster' if lk > ox else 'equal'})")
else:
    print("ratio unavailable: missing lookout-cpu or onnxruntime-cpu row", file=sys.stderr)
    sys.exit(1)
PY
echo "report: ${OUT#$ROOT/}"
