#!/usr/bin/env bash
# Packs one folder, .device/gpu (ignored by git; name it in the device tool's `carry`), from which the pipeline, the
# serve and the perf_analyzer checks all run in one call: the static release binary (stripped, xz), COMMIT, Triton's
# perf_analyzer (scripts/install-perf-analyzer.sh, its big files xz-compressed), the Ultralytics wheels (the
# baselines) and the Annex-B clip of the serve checks. ~22 MB: with the tree (~41 MiB) under the 64 MiB a call
# carries. The family and tritonclient checks need more than fits beside it (scripts/pack-families-for-device.sh,
# scripts/pack-kserve-for-device.sh): a second call right after the first, while the machine is warm, finds the
# binary in /tmp/lookout.
# Usage: bash scripts/pack-gpu-session.sh [BINARY]   (default: build the static binary in .build-static)
# Keep the unstripped binary (printed at the end): scripts/alloc-sites.py needs it to name the allocation sites.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${LOOKOUT_SHARED:-../shared}
binary=${1:-}
if [ -z "$binary" ]; then
    bash scripts/build-ffmpeg-static.sh
    LOOKOUT_DEV_FLAGS=1 LOOKOUT_STATIC_LIBS=1 swift build -c release --static-swift-stdlib --product lookout \
        --scratch-path .build-static
    binary=.build-static/release/lookout
    commit="$(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo -dirty)"
else
    commit=$(git -C "$(dirname "$binary")" rev-parse --short HEAD 2>/dev/null || git rev-parse --short HEAD)
fi
out=.device/gpu
rm -rf $out && mkdir -p $out/perf_analyzer/lib
strip -o $out/lookout "$binary"
xz -T2 -6 -f $out/lookout
echo "$commit" > $out/COMMIT
bash scripts/install-perf-analyzer.sh .venv/perf_analyzer > /dev/null
cp .venv/perf_analyzer/perf_analyzer $out/perf_analyzer/
cp .venv/perf_analyzer/lib/libb64* $out/perf_analyzer/lib/
xz -T2 -6 -c .venv/perf_analyzer/lib/perf_analyzer.bin > $out/perf_analyzer/lib/perf_analyzer.bin.xz
xz -T2 -6 -c .venv/perf_analyzer/lib/libcudart.so.12 > $out/perf_analyzer/lib/libcudart.so.12.xz
mkdir -p $out/wheels
cp -r "$shared/wheels/"* $out/wheels/
# The serve checks' Annex-B clip, made as scripts/pack-serve-for-device.sh makes it (kept in .device/serve).
[ -f .device/serve/shapes-640x384.h264 ] || bash scripts/pack-serve-for-device.sh > /dev/null
cp .device/serve/shapes-640x384.h264 $out/
du -sh $out $out/*
tree=$(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1)
carried=$(du -sb $out | cut -f1)
echo "tree $((tree >> 20)) MiB + carried $((carried >> 20)) MiB = $(((tree + carried) >> 20)) MiB (limit 64 MiB)"
echo "commit $commit; unstripped binary for scripts/alloc-sites.py: $binary (copy it aside before the next build)"
