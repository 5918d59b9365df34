#!/usr/bin/env bash
# One command on the GPU machine: probe, GPU self-test, transfer benchmark with the PyTorch baseline.
# Usage (from the repo root there): bash DIR/gpu-checks.sh DIR OUT  — DIR holds the lookout binary and these scripts.
set -u
dir=$1
out=$2
export LOOKOUT_CACHE_DIR=/tmp/lookout-cache LOOKOUT_COMMIT=${LOOKOUT_COMMIT:-unknown} PYTHONUNBUFFERED=1
{
  nvidia-smi; cat /proc/driver/nvidia/version; ldd --version | head -1; cat /etc/os-release | head -2
  ldconfig -p | grep -E "libcuda\.so|libnvrtc" ; ls -d /usr/local/cuda* 2>/dev/null
  python3 -c "import torch, cv2, numpy; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'cv2', cv2.__version__, 'numpy', numpy.__version__)"
  python3 -c "import nvidia, os; print(nvidia.__path__)" 2>&1
  find / -xdev -name "libnvrtc.so*" 2>/dev/null | head
  nproc; free -g | head -2
  ldd "$dir/lookout"
} > "$out/probe.txt" 2>&1
source "$(dirname "$0")/gpu-models.sh"  # the dynamic and fp16 shapes models, before the self-test reads them
python3 "$dir/val_to_raw.py" Tests/Fixtures/shapes/val/images /tmp/valraw
set -o pipefail
"$dir/lookout" selftest --gpu --raw-images /tmp/valraw 2>&1 | tee "$out/selftest.txt"
selftest=$?
"$dir/lookout" bench transfer --resolution 1080p --baseline "$dir/transfer_pytorch.py" \
  --output "$out/transfer-h100.json" 2>&1 | tee "$out/bench.txt"
bench=$?
# The pinned mode once more with ordinary (cached) pinned staging, to show what write-combining changes.
"$dir/lookout" bench transfer --resolution 1080p --modes pinned --staging cached \
  --output "$out/transfer-h100-pinned-cached.json" 2>&1 | tail -3 | tee -a "$out/bench.txt"
echo "selftest exit $selftest, bench exit $bench"
