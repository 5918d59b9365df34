#!/usr/bin/env bash
# Packs what scripts/gpu-kserve-checks.sh needs into .device/kserve (ignored by git; the device tool's `carry`): the
# static release binary, stripped and xz-compressed (~12 MB), COMMIT, and tritonclient 2.73.0's HTTP client with its
# dependencies as Python 3.12 manylinux wheels (~7 MB: tritonclient, geventhttpclient, gevent, greenlet,
# zope.event, zope.interface, brotli, certifi, python-rapidjson, urllib3). Not carried: ml_dtypes (5 MB; imported by
# tritonclient.utils for BF16 only, gpu-kserve-checks.sh puts a stand-in when the machine lacks it), cuda-python
# (tritonclient's cuda_shared_memory helper, 8 MB; the checks use the CUDA runtime PyTorch ships instead) and
# perf_analyzer (its PyPI wheel is a stub without the binary; gpu_kserve_checks.py has its own load generator).
# The tree (~40 MiB) and this folder (~18 MiB) travel together (64 MiB at most).
# Usage: bash scripts/pack-kserve-for-device.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-ffmpeg-static.sh
LOOKOUT_DEV_FLAGS=1 LOOKOUT_STATIC_LIBS=1 swift build -c release --static-swift-stdlib --product lookout \
    --scratch-path .build-static
rm -rf .device/kserve && mkdir -p .device/kserve/wheels
strip -o .device/kserve/lookout .build-static/release/lookout
xz -T2 -6 -f .device/kserve/lookout
python3 -m pip download -q --no-deps --python-version 3.12 --only-binary=:all: --platform manylinux2014_x86_64 \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 -d .device/kserve/wheels \
    "tritonclient==2.73.0" geventhttpclient gevent "greenlet<3.4.0" zope.event zope.interface brotli certifi \
    python-rapidjson "urllib3>=2.0.7"
echo "$(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo -dirty)" > .device/kserve/COMMIT
du -sh .device/kserve .device/kserve/*
tree=$(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1)
carried=$(du -sb .device/kserve | cut -f1)
echo "tree $((tree >> 20)) MiB + carried $((carried >> 20)) MiB = $(((tree + carried) >> 20)) MiB (limit 64 MiB)"
