#!/usr/bin/env bash
# Packs what a GPU-machine run needs into .device/ (ignored by git; named in the device tool's `carry`): the static
# release binary, stripped and xz-compressed, split into parts small enough to travel beside the working tree
# (the tool carries 64 MiB in all, the tree is ~39 MB), plus COMMIT, the PyTorch .pt and the Ultralytics wheels.
#   .device/p1 … .device/pN   one part each (lookout.xz.partK); the first also holds the .pt, the second the wheels
#   .device/run               COMMIT and the helper scripts the check scripts read from DIR, and the model rebuilder
#                             (scripts/fixtures/rebuild_models.py + Tests/Fixtures/shapes/*.compact.*; it also needs
#                             Models/shapes-yolov8n.onnx, which is in the tree) for scripts/gpu-models.sh
# On the machine, one call per part copies it to /tmp (`cp .device/pK/* /tmp/`; /tmp survives while the machine is
# warm); the check scripts then assemble /tmp/lookout.xz.part* into /tmp/lookout. See docs/gpu-machine.md.
# Usage: bash scripts/pack-for-device.sh [PART_MB]   (needs scripts/build-ffmpeg-static.sh to have run once)
set -euo pipefail
cd "$(dirname "$0")/.."
part_mb=${1:-7}
shared=${LOOKOUT_SHARED:-../shared}
# The dynamic and fp16 models are rebuilt on the machine from the static model and the compact files: check here
# first that they still rebuild (sha256) before any device time is spent.
python3 scripts/fixtures/rebuild_models.py
bash scripts/build-ffmpeg-static.sh
LOOKOUT_STATIC_LIBS=1 swift build -c release --static-swift-stdlib --product lookout --scratch-path .build-static
rm -rf .device && mkdir -p .device/run
strip -o .device/lookout .build-static/release/lookout
xz -T2 -6 -c .device/lookout > .device/lookout.xz
rm .device/lookout
split -b "${part_mb}m" -d -a 1 .device/lookout.xz .device/lookout.xz.part
rm .device/lookout.xz
n=0
for part in .device/lookout.xz.part*; do
    n=$((n + 1))
    mkdir -p ".device/p$n"
    mv "$part" ".device/p$n/lookout.xz.part$n"
done
cp "$shared/fixtures/shapes/shapes-yolov8n.pt" .device/p1/
mkdir -p .device/p2/wheels
cp -r "$shared/wheels/"* .device/p2/wheels/
echo "$(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo -dirty)" > .device/run/COMMIT
cp scripts/val_to_raw.py scripts/compare_predictions.py bench/baselines/engine_pytorch.py \
    bench/baselines/transfer_pytorch.py bench/baselines/pipeline_ultralytics.py .device/run/
cp scripts/fixtures/rebuild_models.py Tests/Fixtures/shapes/*.compact.onnx Tests/Fixtures/shapes/*.compact.json .device/run/
du -sh .device/*
echo "parts: $n"
