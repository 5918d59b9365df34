#!/usr/bin/env bash
# One command on the GPU machine for `lookout serve` (issue 14's GPU points), within one device call (≤ 9 min).
# Usage (repo root there): bash scripts/gpu-serve-checks.sh DIR OUT [steps]
#   DIR (.device/serve, filled by scripts/pack-serve-for-device.sh) holds the Annex-B clip shapes-640x384.h264, and
#   lookout.xz + COMMIT unless the binary is found otherwise (scripts/gpu-env.sh: /tmp/lookout, DIR/lookout[.xz]).
#   steps, a comma list (default probe,cycles,viewers,soak):
#     probe    the GPU, the CPUs, the binary;
#     cycles   bench/serve_cycles.py: CYCLES (150) add/remove cycles of an RTSP camera (scripts/rtsp_file_server.py
#              playing the clip over TCP on loopback) beside BACKGROUND (32) paced looping 1080p streams: add →
#              running, removed, the background's fps and latency, RSS/fds/threads/device memory (~3 min, limit 180 s);
#     viewers  bench/serve_viewers.py at VIEWER_STREAMS (32) 1080p streams and VIEWERS (50) MJPEG viewers (a third
#              slow), paced and then unpaced (~2 × 40 s, limit 60 s each);
#     soak     bench/serve_soak.py: SOAK_STREAMS (64) paced 1080p streams, six rules firing into the store and a
#              webhook (scripts/webhook-receiver.py), a stream added or removed every SOAK_CHURN (3) s, RSS and device
#              memory every 10 s, SOAK_SECONDS (150) after SOAK_WARMUP (30) s, then the store against the webhook's
#              log — the issue's 10 minutes do not fit one call with the other steps (~3.5 min, limit 230 s);
#   SERVE_DECODE (auto), SERVE_BATCH (32) and SERVE_DEVICE (cuda; cpu for a trial run) go to `lookout serve`.
#   Results gather in /tmp/out-serve and are packed into OUT/serve.tgz after every step (a call cut off at its
#   limit still returns what was packed); each step's console output is STEP.txt there, its last lines printed.
#   The steps' limits add up to 530 s (probe ~5 s; ~470 s expected): one call of the device tool (600 s).
set -u
dir=$1
final=$2
steps=${3:-probe,cycles,viewers,soak}
out=/tmp/out-serve
rm -rf "$out"; mkdir -p "$out" "$final"
pack() { tar czf "$final/serve.tgz.part" -C $out . && mv "$final/serve.tgz.part" "$final/serve.tgz"; }
source "$(dirname "$0")/gpu-env.sh"
video=Tests/Fixtures/video/shapes-1080p.mp4
model=$models/shapes-yolov8n-dynamic.onnx  # rebuilt by gpu-models.sh (sourced by gpu-env.sh)
clip=$dir/shapes-640x384.h264
serve=(--binary $bin --device ${SERVE_DEVICE:-cuda} --model $model --batch ${SERVE_BATCH:-32}
  --decode ${SERVE_DECODE:-auto})
set -o pipefail
# Each step: its own time limit (SIGTERM, then SIGKILL 10 s later; the benchmarks stop the server on SIGTERM, and it
# dies with them on SIGKILL), its console in STEP.txt, its exit status at the end of it.
step() {
  local name=$1 limit=$2
  shift 2
  echo "== $name (limit $limit s) $(date -u +%H:%M:%S)"
  timeout -k 10 $limit "$@" > "$out/$name.txt" 2>&1
  local rc=$?
  echo "exit $rc" >> "$out/$name.txt"
  tail -${TAIL:-25} "$out/$name.txt"
  pack
}
if has probe; then
  { nvidia-smi --query-gpu=name,driver_version,memory.used,memory.total --format=csv; nproc; ls -la $bin "$clip"
    $bin serve --help | head -3; echo "commit $LOOKOUT_COMMIT"; } > "$out/probe.txt" 2>&1
  cat "$out/probe.txt"
  pack
fi
[ -f "$clip" ] || { echo "gpu-serve-checks: no clip $clip (bash scripts/pack-serve-for-device.sh)"; exit 1; }
if has cycles; then
  step cycles 180 python3 bench/serve_cycles.py "${serve[@]}" --clip $video --background ${BACKGROUND:-32} \
    --rtsp-annexb "$clip" --rtsp-fps 30 --cycles ${CYCLES:-150} --leak-warmup 30 --window 10 --warmup 5 \
    --max-minutes 1.8 --stop-timeout 15 --json "$out/serve-cycles-cuda.json"
fi
if has viewers; then
  step viewers-paced 60 python3 bench/serve_viewers.py "${serve[@]}" --clip $video --streams ${VIEWER_STREAMS:-32} \
    --viewers ${VIEWERS:-50} --window 8 --warmup 3 --stop-timeout 15 --json "$out/serve-viewers-cuda-paced.json"
  step viewers-unpaced 60 python3 bench/serve_viewers.py "${serve[@]}" --clip $video --unpaced \
    --streams ${VIEWER_STREAMS:-32} --viewers ${VIEWERS:-50} --window 8 --warmup 3 --stop-timeout 15 \
    --json "$out/serve-viewers-cuda-unpaced.json"
fi
if has soak; then
  step soak 230 python3 bench/serve_soak.py "${serve[@]}" --clip $video --streams ${SOAK_STREAMS:-64} \
    --churn-every ${SOAK_CHURN:-3} --seconds ${SOAK_SECONDS:-150} --warmup ${SOAK_WARMUP:-30} --stop-timeout 25 \
    --json "$out/serve-soak-cuda.json"
fi
pack
echo "done: $steps; results in $final/serve.tgz"
