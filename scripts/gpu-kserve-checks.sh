#!/usr/bin/env bash
# The inference server's shared memory on the GPU machine (issue 15): `lookout serve --inference-only --device cuda
# --allow-client-shm=true` over the repo's Models/shapes-yolov8n.onnx, then scripts/gpu_kserve_checks.py from a second
# process: NAME-detect with binary HTTP, system shared memory and CUDA shared memory (identical to `lookout detect
# --device cuda`), CUDA errors, and a load run per shared-memory mode (none, system, cuda) at concurrency 1 to 64 on a
# 1080p UINT8 image (tables and JSON in OUT).
# Usage (repo root there): bash scripts/gpu-kserve-checks.sh DIR OUT [steps]
#   DIR: what scripts/pack-kserve-for-device.sh made (.device/kserve: lookout.xz, COMMIT, wheels/ with tritonclient's
#   HTTP client). steps: check,perf (default both). KSERVE_SECONDS (8) and KSERVE_CONCURRENCY (1,2,4,8,16,32,64) size
#   the load run; KSERVE_SERVE_FLAGS adds serve flags (e.g. --max-queue-delay-us 500).
#   Step `pa` alone, from DIR = .device/kserve-pa (`KSERVE_PACK=perf_analyzer bash scripts/pack-kserve-for-device.sh`):
#   Triton's perf_analyzer against the server on the GPU, HTTP and gRPC, --shared-memory none, system and cuda
#   (scripts/perf-analyzer-checks.sh; its outputs in OUT/perf_analyzer).
set -u
dir=$1
out=$2
steps=${3:-check,perf}
bin=/tmp/lookout
if [ ! -x $bin ]; then
  xz -dc "$dir/lookout.xz" > $bin && chmod +x $bin || { echo "cannot unpack $dir/lookout.xz"; exit 1; }
fi
if [ "$steps" = pa ]; then
  mkdir -p /tmp/pa/lib "$out/perf_analyzer"
  cp "$dir/perf_analyzer/perf_analyzer" /tmp/pa/ && cp "$dir"/perf_analyzer/lib/libb64* /tmp/pa/lib/
  xz -dc "$dir/perf_analyzer/lib/perf_analyzer.bin.xz" > /tmp/pa/lib/perf_analyzer.bin && chmod +x /tmp/pa/lib/perf_analyzer.bin
  xz -dc "$dir/perf_analyzer/lib/libcudart.so.12.xz" > /tmp/pa/lib/libcudart.so.12
  { echo "commit $(cat "$dir/COMMIT" 2>/dev/null)"; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; } \
    | tee "$out/perf_analyzer/probe.txt"
  PERF_ANALYZER=/tmp/pa/perf_analyzer PA_SHARED_MEMORY="none system cuda" PA_DEVICE=cuda PA_CONCURRENCY=4 \
    PA_REQUESTS=50 PA_OUT="$out/perf_analyzer" bash scripts/perf-analyzer-checks.sh $bin Models/shapes-yolov8n.onnx "" \
    2>&1 | tee "$out/perf_analyzer/checks.txt"
  exit "${PIPESTATUS[0]}"
fi
if [ ! -d /tmp/kserve-site ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/kserve-site "$dir"/wheels/*.whl || exit 1
  # tritonclient.utils imports ml_dtypes for BF16 only; its 5 MB wheel does not fit the carry, so a stand-in when the
  # machine has none (these checks send UINT8 and read FP32 and INT32).
  python3 -c "import ml_dtypes" 2>/dev/null || echo "bfloat16 = None  # stand-in: no BF16 tensors here" > /tmp/kserve-site/ml_dtypes.py
fi
export PYTHONPATH=/tmp/kserve-site PYTHONUNBUFFERED=1 LOOKOUT_CACHE_DIR=/tmp/lookout-cache
{ echo "commit $(cat "$dir/COMMIT" 2>/dev/null)"; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  nproc; df -h /dev/shm; } 2>&1 | tee "$out/probe.txt"

models=/tmp/kserve-models
rm -rf $models && mkdir -p $models && ln -s "$PWD/Models/shapes-yolov8n.onnx" $models/
log=$out/serve.log
# shellcheck disable=SC2086
$bin serve --inference-only --device cuda --model-repository $models --http-port 0 --metrics-port 0 --allow-client-shm=true \
  ${KSERVE_SERVE_FLAGS:-} >/dev/null 2>"$log" &
server=$!
url=""
for _ in $(seq 1 1500); do
  url=$(sed -n 's/.*inference server on \(http:\/\/[^ ]*\).*/\1/p' "$log" | head -1)
  [ -n "$url" ] && break
  kill -0 $server 2>/dev/null || { echo "the server exited:"; tail -20 "$log"; exit 1; }
  sleep 0.2
done
[ -n "$url" ] || { echo "no listening line in 300 s"; tail -20 "$log"; kill -KILL $server; exit 1; }
echo "server on $url"
nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader -l 1 > "$out/smi.csv" 2>&1 &
smi=$!
status=0
python3 scripts/gpu_kserve_checks.py --url "$url" --binary $bin --out "$out" --steps "$steps" \
  --seconds "${KSERVE_SECONDS:-8}" --concurrency "${KSERVE_CONCURRENCY:-1,2,4,8,16,32,64}" 2>&1 \
  | tee "$out/gpu-kserve-checks.txt" || status=1
grep -q "gpu-kserve-checks: all passed" "$out/gpu-kserve-checks.txt" || status=1
# Triton's metrics after the run (nv_inference_* per model, nv_cpu_*), kept beside the results.
metrics=$(sed -n 's/.*inference metrics on \(http:\/\/[^ ]*\).*/\1/p' "$log" | head -1)
if [ -n "$metrics" ]; then
  python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=30).read().decode())' \
    "$metrics" > "$out/metrics.txt" 2>&1 || status=1
  grep '^nv_inference_\(request_success\|request_failure\|count\|exec_count\){' "$out/metrics.txt" || status=1
fi
kill $smi 2>/dev/null
kill -TERM $server
for _ in $(seq 1 300); do kill -0 $server 2>/dev/null || break; sleep 0.1; done
if kill -0 $server 2>/dev/null; then echo "FAIL SIGTERM: still running after 30 s"; kill -KILL $server; status=1
else wait $server; rc=$?; echo "server exit $rc"; [ $rc -eq 0 ] || status=1; fi
exit $status
