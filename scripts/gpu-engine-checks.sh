#!/usr/bin/env bash
# One command on the GPU machine for the CUDA backend: probe, self-test (memory layer + engine), val and detect on
# the GPU against the Ultralytics references, bench engine with the PyTorch baselines, bench transfer.
# Usage (repo root there): bash DIR/gpu-engine-checks.sh DIR OUT [steps]
#   DIR holds lookout (or lookout.xz; else the parts scripts/pack-for-device.sh made, copied to /tmp/lookout.xz.part*
#   by earlier calls), the wheels (or /tmp/wheels), the .pt (or /tmp/shapes-yolov8n.pt), COMMIT and the scripts;
#   steps is a comma list of probe,selftest,engine,wgmma,val,detect,transfer,ncu (default: all but wgmma and ncu).
#   wgmma: bench engine at batch 32 with the Hopper kernels among the tuning candidates (LOOKOUT_WGMMA=1), in its
#   own process and its own cache folder (a faulting kernel cannot spoil the other steps' tuning).
set -u
dir=$1
final=$2
steps=${3:-probe,selftest,engine,val,detect,transfer}
# Results gather in $out and come back as one archive (the device tool returns at most 8 files); each step has
# its own time limit so that the archive is always written.
out=/tmp/out
mkdir -p $out
source "$(dirname "$0")/gpu-env.sh"
fixtures=Tests/Fixtures/shapes  # the static model, val/ and the references; the dynamic model is in $models
if has probe; then
  {
    nvidia-smi; ldd --version | head -1; nproc
    ldconfig -p | grep -E "libcuda\.so|libnvrtc|libcudnn"
    find / -xdev \( -name "libcudnn.so*" -o -name "libcudnn_cnn*.so*" \) 2>/dev/null | head
    python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'cudnn', torch.backends.cudnn.version())"
    python3 -c "import ultralytics; print('ultralytics', ultralytics.__version__)"
    ldd $bin; ls -la $bin
  } > "$out/probe.txt" 2>&1
fi
set -o pipefail
if has selftest; then
  python3 "$dir/val_to_raw.py" $fixtures/val/images /tmp/valraw > /dev/null
  timeout 240 $bin selftest --gpu --raw-images /tmp/valraw --engine-fixtures $fixtures 2>&1 | tee "$out/selftest.txt"
fi
if has engine; then
  timeout 300 $bin bench engine --device cuda --model $models/shapes-yolov8n-dynamic.onnx --iterations 200 --warmup 20 \
    --images $fixtures/val/images --baseline "$dir/engine_pytorch.py" --baseline-model "$pt" \
    --json "$out/engine-h100.json" 2>&1 | tee "$out/engine.txt"
fi
if has wgmma; then
  LOOKOUT_WGMMA=1 LOOKOUT_CACHE_DIR=/tmp/lookout-cache-wgmma timeout 300 $bin bench engine --device cuda \
    --model $models/shapes-yolov8n-dynamic.onnx --batch ${WGMMA_BATCHES:-32} --iterations 200 --warmup 20 \
    --images $fixtures/val/images --baseline "$dir/engine_pytorch.py" --baseline-model "$pt" \
    --json "$out/engine-wgmma-h100.json" 2>&1 | tee "$out/engine-wgmma.txt"
fi
if has val; then
  timeout 45 $bin val --device cuda --model $fixtures/shapes-yolov8n.onnx --data $fixtures/val 2>&1 | tee "$out/val-cuda.txt"
fi
if has detect; then
  timeout 45 $bin detect --device cuda --model $fixtures/shapes-yolov8n.onnx --json "$out/detect-cuda.jsonl" $fixtures/val/images > "$out/detect-cuda.txt" 2>&1
  python3 "$dir/compare_predictions.py" "$out/detect-cuda.jsonl" $fixtures/val/ultralytics_onnx_static_predictions.json 2>&1 | tee "$out/compare.txt"
fi
if has transfer; then
  timeout 150 $bin bench transfer --resolution 1080p --baseline "$dir/transfer_pytorch.py" --output "$out/transfer-h100.json" 2>&1 | tee "$out/transfer.txt"
fi
if has ncu; then
  # Nsight Compute on convolutions at batch 32 (tuning cached by then): LOOKOUT_NCU_KERNELS (a regex of entry
  # points, default the mma tiles), LOOKOUT_NCU_SKIP launches of them skipped, LOOKOUT_NCU_COUNT profiled.
  timeout 150 ncu --target-processes all -k "regex:${LOOKOUT_NCU_KERNELS:-lookout_conv_mma}" \
    --launch-skip "${LOOKOUT_NCU_SKIP:-30}" --launch-count "${LOOKOUT_NCU_COUNT:-3}" \
    --section SpeedOfLight --section Occupancy --section WarpStateStats --section MemoryWorkloadAnalysis \
    $bin bench engine --device cuda --model $models/shapes-yolov8n-dynamic.onnx --batch 32 --iterations 3 --warmup 1 \
    > "$out/ncu-conv.txt" 2>&1
  tail -80 "$out/ncu-conv.txt"
fi
tar czf "$final/results.tgz" -C $out .
cp $out/selftest.txt $out/engine.txt "$final/" 2>/dev/null
echo "done: $steps"
