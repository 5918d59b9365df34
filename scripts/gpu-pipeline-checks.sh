#!/usr/bin/env bash
# One command on the GPU machine for the streaming pipeline's GPU path (issue 5): the pipeline checks in every
# transfer mode, `bench pipeline` at 32 x 1080p in every mode beside the Ultralytics loops, and the memory soak.
# Usage (repo root there): bash DIR/gpu-pipeline-checks.sh DIR OUT [steps]
#   DIR holds COMMIT and the baseline model (shapes-yolov8n.pt); the binary is /tmp/lookout, or is assembled from
#   /tmp/lookout.xz.part* (copied there by earlier calls, see docs/gpu-machine.md); the Ultralytics wheels are
#   /tmp/wheels (or DIR/wheels). steps: comma list of probe,selftest,bench,soak,nvdec (default probe,selftest,bench).
#   SOAK_SECONDS (default 270) and SOAK_WARMUP (30) size the soak run. NVDEC_VIDEOS (space-separated) adds clips
#   whose every frame the selftest's NVDEC check compares with FFmpeg's; `nvdec` runs `bench decode` and
#   `bench pipeline --decode nvdec,cpu` at NVDEC_STREAMS (default 32,64) streams, and `bench decode` on each of
#   NVDEC_DECODE_EXTRA (e.g. a HEVC clip) too (NVDEC_SKIP_DECODE_BENCH=1 skips the `bench decode` runs). `events`: 64 streams without and with tracking, 10 rules and the store
#   (issue 13). `paced`: `bench pipeline --paced --search` from PACED_FROM (100) up to PACED_MAX (200) streams with
#   PACED_DECODE (nvdec). `gpuselftest`: `selftest --gpu` without the val images. `allocsites`: a short
#   NVDEC run at NVDEC_STREAMS recording where its host allocations come from (alloc-sites.txt). SOAK_DECODE and SOAK_STREAMS set the
#   soak's decode (cpu) and stream count (32).
#   Results gather in /tmp/out-pipeline and are packed into OUT/pipeline.tgz after every step (the device tool returns
#   at most 8 files, and a call cut off at its limit still returns what was packed).
set -u
dir=$1
final=$2
steps=${3:-probe,selftest,bench}
out=/tmp/out-pipeline
mkdir -p $out
pack() { tar czf "$final/pipeline.tgz.part" -C $out . && mv "$final/pipeline.tgz.part" "$final/pipeline.tgz"; }
source "$(dirname "$0")/gpu-env.sh"
video=Tests/Fixtures/video/shapes-1080p.mp4
model=$models/shapes-yolov8n-dynamic.onnx  # rebuilt by gpu-models.sh (sourced by gpu-env.sh)
baseline=${BASELINE:-bench/baselines/pipeline_ultralytics.py}
[ -f "$dir/pipeline_ultralytics.py" ] && baseline=$dir/pipeline_ultralytics.py
set -o pipefail
if has probe; then
  { nvidia-smi --query-gpu=name,driver_version,memory.used,memory.total,utilization.gpu --format=csv; nproc
    lscpu | grep -E "Model name|Thread|Core|Socket"; ls -la $bin; $bin --help | head -3; } 2>&1 | tee "$out/probe.txt"
  pack
fi
if has gpuselftest; then
  timeout 120 $bin selftest --gpu 2>&1 | tee "$out/selftest-gpu.txt"
  pack
fi
if has selftest; then
  extra=()
  for clip in ${NVDEC_VIDEOS:-}; do extra+=(--nvdec-video "$clip"); done
  timeout 300 $bin selftest --gpu --pipeline-only --pipeline-video $video --pipeline-model $model \
    --pipeline-modes ${SELFTEST_MODES:-all} "${extra[@]}" 2>&1 | tee "$out/selftest-pipeline.txt"
  pack
fi
smi() { nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader -l 1 > "$1" 2>&1 & echo $!; }
if has bench; then
  pid=$(smi "$out/smi-bench.csv")
  # The Ultralytics loops beside it when the baseline model came along.
  base=()
  [ -f "$pt" ] && base=(--baseline $baseline --baseline-model $pt)
  timeout 420 $bin bench pipeline --device cuda --model $model --imgsz 640 --source $video --streams 32 --batch 32 \
    --mode ${MODES:-pageable,pinned,pinned-raw,mapped,managed} --seconds ${BENCH_SECONDS:-10} --warmup ${BENCH_WARMUP:-5} \
    "${base[@]}" --json "$out/pipeline-h100.json" 2>&1 | tee "$out/bench.txt"
  kill $pid
  pack
fi
if has events; then
  # Issue 13: the cost of tracking, 10 rules and the SQLite store at 64 streams (fps with events / without).
  timeout 200 $bin bench pipeline --device cuda --model $model --imgsz 640 --source $video --streams 64 --batch 32 \
    --decode ${EVENTS_DECODE:-cpu} --seconds ${BENCH_SECONDS:-10} --warmup ${BENCH_WARMUP:-5} --tracker bytetrack --rules bench/rules-10.yaml \
    --db /tmp/bench-events.db --compare-tracking --json "$out/pipeline-events.json" 2>&1 | tee "$out/events.txt"
  pack
fi
if has paced; then
  pid=$(smi "$out/smi-paced.csv")
  timeout ${PACED_TIMEOUT:-400} $bin bench pipeline --device cuda --model $model --imgsz 640 --source $video --paced --search \
    --streams ${PACED_FROM:-100} --max-streams ${PACED_MAX:-200} --batch 32 --decode ${PACED_DECODE:-nvdec} \
    --seconds ${PACED_SECONDS:-10} --warmup ${PACED_WARMUP:-4} --json "$out/pipeline-paced.json" 2>&1 | tee "$out/paced.txt"
  kill $pid
  pack
fi
if has soak; then
  if [ "${SOAK_STREAMS:-}" = held ]; then
    # The stream count the paced search held (its "held in real time: N streams" line), else PACED_FROM.
    SOAK_STREAMS=$(sed -n 's/^held in real time: \([0-9]*\) streams.*/\1/p' "$out/paced.txt" 2>/dev/null | tail -1)
    [ -n "$SOAK_STREAMS" ] && [ "$SOAK_STREAMS" -gt 0 ] || SOAK_STREAMS=${PACED_FROM:-100}
  fi
  pid=$(smi "$out/smi-soak.csv")
  timeout 560 $bin bench pipeline --device cuda --model $model --imgsz 640 --source $video \
    --streams ${SOAK_STREAMS:-32} --batch 32 --decode ${SOAK_DECODE:-cpu} ${SOAK_PACED:+--paced} \
    --mode ${SOAK_MODE:-pinned-raw} --seconds ${SOAK_SECONDS:-270} --warmup ${SOAK_WARMUP:-30} --sample-every 30 \
    --json "$out/pipeline-soak-h100.json" 2>&1 | tee "$out/soak.txt"
  kill $pid
  pack
fi
if has allocsites; then
  # Where the NVDEC path's host allocations come from: the stacks of every 16th allocation of a short run, for
  # scripts/alloc-sites.py (with the unstripped binary of the same commit) on the development machine.
  timeout 90 $bin bench pipeline --device cuda --model $model --imgsz 640 --source $video \
    --streams ${NVDEC_STREAMS:-64} --batch 32 --decode nvdec --seconds 5 --warmup ${BENCH_WARMUP:-5} \
    --allocation-sites "$out/alloc-sites.txt" --json "$out/pipeline-allocsites.json" 2>&1 | tee "$out/bench-allocsites.txt"
  pack
fi
if has nvdec; then
  pid=$(smi "$out/smi-nvdec.csv")
  [ -n "${NVDEC_SKIP_DECODE_BENCH:-}" ] || timeout 150 $bin bench decode --source $video --streams ${NVDEC_STREAMS:-32,64} --decode nvdec,cpu --seconds 8 \
    --warmup 2 --json "$out/decode.json" 2>&1 | tee "$out/decode.txt"
  n=0
  for clip in ${NVDEC_DECODE_EXTRA:-}; do
    n=$((n + 1))
    timeout 100 $bin bench decode --source $clip --streams ${NVDEC_STREAMS:-32,64} --decode nvdec,cpu --seconds 8 \
      --warmup 2 --json "$out/decode-extra$n.json" 2>&1 | tee "$out/decode-extra$n.txt"
  done
  pack
  timeout 200 $bin bench pipeline --device cuda --model $model --imgsz 640 --source $video \
    --streams ${NVDEC_STREAMS:-32,64} --batch 32 --decode nvdec,cpu --seconds ${BENCH_SECONDS:-10} \
    --warmup ${BENCH_WARMUP:-5} --json "$out/pipeline-nvdec.json" 2>&1 | tee "$out/bench-nvdec.txt"
  kill $pid
  pack
  if [ -n "${NVDEC_FAULT_CLIP:-}" ]; then
    # Bytes flipped mid-stream in one of two streams: its decode errors are reported, it goes on at the next keyframe,
    # and the clean stream delivers every frame.
    timeout 60 $bin stream --device cuda --model $model --decode nvdec --json "$out/nvdec-faults.jsonl" \
      "$NVDEC_FAULT_CLIP" "${NVDEC_FAULT_CLEAN:-$video}" > "$out/nvdec-faults.txt" 2>&1
    echo "exit $?" >> "$out/nvdec-faults.txt"
    python3 -c "import json,collections;c=collections.Counter(json.loads(l)['stream'] for l in open('$out/nvdec-faults.jsonl'));print('results per stream',dict(c))" >> "$out/nvdec-faults.txt" 2>&1
    pack
  fi
  if [ -n "${NVDEC_RTSP_CLIP:-}" ]; then
    # RTSP server killed at 6 s and back at 9 s (scripts/rtsp_file_server.py: the machine has no other): the NVDEC
    # stream must resume; `reconnected after D s` minus the 3 s the server was away is the time to resume.
    server() { python3 scripts/rtsp_file_server.py "$NVDEC_RTSP_CLIP" --port 8554 --fps 15 >> "$out/nvdec-rtsp-server.txt" 2>&1 & echo $!; }
    spid=$(server); sleep 1
    timeout 25 $bin stream --device cuda --model $model --decode nvdec --rtsp-transport tcp \
      --json "$out/nvdec-rtsp.jsonl" rtsp://127.0.0.1:8554/stream > "$out/nvdec-rtsp.txt" 2>&1 &
    sleep 6; kill $spid; echo "server killed $(date +%s.%N)" >> "$out/nvdec-rtsp.txt"
    sleep 3; spid=$(server); echo "server back $(date +%s.%N)" >> "$out/nvdec-rtsp.txt"
    sleep 17; kill $spid
    wait
    pack
  fi
fi
pack
echo "done: $steps"
