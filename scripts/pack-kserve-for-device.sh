#!/usr/bin/env bash
# Packs what scripts/gpu-kserve-checks.sh needs into .device/kserve (ignored by git; the device tool's `carry`): the
# static release binary, stripped and xz-compressed (~12 MB), COMMIT, and tritonclient 2.73.0's HTTP client with its
# dependencies as Python 3.12 manylinux wheels (~7 MB: tritonclient, geventhttpclient, gevent, greenlet,
# zope.event, zope.interface, brotli, certifi, python-rapidjson, urllib3). Not carried: ml_dtypes (5 MB; imported by
# tritonclient.utils for BF16 only, gpu-kserve-checks.sh puts a stand-in when the machine lacks it), cuda-python
# (tritonclient's cuda_shared_memory helper, 8 MB; the checks use the CUDA runtime PyTorch ships instead) and
# perf_analyzer (PyPI's is a stub; gpu_kserve_checks.py has its own load generator).
# The tree (~41 MiB) and this folder (~18 MiB) travel together (64 MiB at most), so perf_analyzer (~5 MiB packed, from
# scripts/install-perf-analyzer.sh) goes in a folder of its own, with the binary and no wheels, for the `pa` step:
#   KSERVE_PACK=perf_analyzer bash scripts/pack-kserve-for-device.sh   (.device/kserve-pa)
# Usage: bash scripts/pack-kserve-for-device.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-ffmpeg-static.sh
LOOKOUT_DEV_FLAGS=1 LOOKOUT_STATIC_LIBS=1 swift build -c release --static-swift-stdlib --product lookout \
    --scratch-path .build-static
pack=.device/kserve
[ "${KSERVE_PACK:-wheels}" = perf_analyzer ] && pack=.device/kserve-pa
rm -rf $pack && mkdir -p $pack
strip -o $pack/lookout .build-static/release/lookout
xz -T2 -6 -f $pack/lookout
if [ "${KSERVE_PACK:-wheels}" = perf_analyzer ]; then
    bash scripts/install-perf-analyzer.sh $pack/perf_analyzer
    xz -T2 -6 -f $pack/perf_analyzer/lib/perf_analyzer.bin $pack/perf_analyzer/lib/libcudart.so.12
else
    mkdir -p $pack/wheels
    python3 -m pip download -q --no-deps --python-version 3.12 --only-binary=:all: --platform manylinux2014_x86_64 \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 -d $pack/wheels \
        "tritonclient==2.73.0" geventhttpclient gevent "greenlet<3.4.0" zope.event zope.interface brotli certifi \
        python-rapidjson "urllib3>=2.0.7"
fi
echo "$(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo -dirty)" > $pack/COMMIT
du -sh $pack $pack/*
tree=$(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1)
carried=$(du -sb $pack | cut -f1)
echo "tree $((tree >> 20)) MiB + carried $((carried >> 20)) MiB = $(((tree + carried) >> 20)) MiB (limit 64 MiB)"
