#!/usr/bin/env bash
# Packs what a GPU-machine run needs into .device/run (ignored by git; named in the device tool's `carry`): the
# static release binary, stripped and xz-compressed (~11 MB: no Foundation, so no ICU data), COMMIT, the PyTorch .pt,
# the Ultralytics wheels, the baseline and helper scripts, and the model rebuilder (scripts/fixtures/rebuild_models.py
# + Tests/Fixtures/shapes/*.compact.*; it also needs Models/shapes-yolov8n.onnx, which is in the tree) for
# scripts/gpu-models.sh. The tree (~39 MB) and this folder (~20 MB) travel together in one call (64 MiB at most).
# On the machine: `bash scripts/gpu-engine-checks.sh .device/run $OUT …` (or gpu-pipeline-checks.sh); see
# docs/gpu-machine.md.
# Usage: bash scripts/pack-for-device.sh   (builds the static FFmpeg once, scripts/build-ffmpeg-static.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${LOOKOUT_SHARED:-../shared}
# The dynamic and fp16 models are rebuilt on the machine from the static model and the compact files: check here
# first that they still rebuild (sha256) before any device time is spent.
python3 scripts/fixtures/rebuild_models.py
bash scripts/build-ffmpeg-static.sh
LOOKOUT_DEV_FLAGS=1 LOOKOUT_STATIC_LIBS=1 swift build -c release --static-swift-stdlib --product lookout \
    --scratch-path .build-static
rm -rf .device && mkdir -p .device/run
strip -o .device/lookout .build-static/release/lookout
xz -T2 -6 -c .device/lookout > .device/run/lookout.xz
rm .device/lookout
cp "$shared/fixtures/shapes/shapes-yolov8n.pt" .device/run/
mkdir -p .device/run/wheels
cp -r "$shared/wheels/"* .device/run/wheels/
echo "$(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo -dirty)" > .device/run/COMMIT
cp scripts/val_to_raw.py scripts/compare_predictions.py bench/baselines/engine_pytorch.py \
    bench/baselines/transfer_pytorch.py bench/baselines/pipeline_ultralytics.py .device/run/
cp scripts/fixtures/rebuild_models.py Tests/Fixtures/shapes/*.compact.onnx Tests/Fixtures/shapes/*.compact.json .device/run/
du -sh .device/run .device/run/*
tree=$(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1)
carried=$(du -sb .device/run | cut -f1)
echo "tree $((tree >> 20)) MiB + carried $((carried >> 20)) MiB = $(((tree + carried) >> 20)) MiB (limit 64 MiB)"
