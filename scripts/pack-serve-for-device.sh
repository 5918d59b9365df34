#!/usr/bin/env bash
# Fills .device/serve (ignored by git; the device tool's `carry`) with what scripts/gpu-serve-checks.sh needs besides
# the tree: the RTSP camera's clip as H.264 Annex-B (scripts/rtsp_file_server.py plays it; the GPU machine has no
# FFmpeg), made here from Tests/Fixtures/video/shapes-640x384.mp4 — baseline profile, no B-frames, a keyframe every
# 15 frames (~80 KB) — and, given one, the binary: BINARY.xz (the stripped static build xz-compressed, e.g.
# .device/kserve/lookout.xz from scripts/pack-kserve-for-device.sh) copied as lookout.xz with the COMMIT file beside
# it (or `git rev-parse --short HEAD` when it has none). Prints the sizes: the tree and this folder travel together
# (64 MiB at most).
# Usage: bash scripts/pack-serve-for-device.sh [BINARY.xz]
set -euo pipefail
cd "$(dirname "$0")/.."
out=.device/serve
mkdir -p $out
command -v ffmpeg > /dev/null || { echo "pack-serve-for-device: ffmpeg is needed to make the Annex-B clip"; exit 1; }
ffmpeg -hide_banner -loglevel error -y -i Tests/Fixtures/video/shapes-640x384.mp4 -an -c:v libx264 -profile:v baseline \
    -bf 0 -g 15 -b:v 600k -bsf:v h264_mp4toannexb -f h264 $out/shapes-640x384.h264
if [ $# -ge 1 ]; then
  [ -f "$1" ] || { echo "pack-serve-for-device: no binary $1"; exit 1; }
  cp "$1" $out/lookout.xz
  if [ -f "$(dirname "$1")/COMMIT" ]; then cp "$(dirname "$1")/COMMIT" $out/COMMIT
  else echo "$(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo -dirty)" > $out/COMMIT; fi
fi
du -sh $out $out/*
tree=$(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1)
carried=$(du -sb $out | cut -f1)
echo "tree $((tree >> 20)) MiB + carried $((carried >> 20)) MiB = $(((tree + carried) >> 20)) MiB (limit 64 MiB)"
