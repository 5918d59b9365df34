#!/usr/bin/env bash
# YOLO11 and YOLO26 on the GPU machine (issue 12): for each named model, `val` and `detect` on the GPU against
# Ultralytics' mAP and predictions for the 120 val images (scripts/compare_predictions.py at the GPU acceptance:
# class, IoU >= 0.95, |dconf| <= 0.01, >= 99% matched, <= 1% extra), and for dynamic models `bench engine` at batch 1
# and 32 beside the PyTorch baselines of the model's .pt (bench/baselines/engine_pytorch.py).
# Usage (repo root there): bash scripts/gpu-family-checks.sh DIR OUT NAME[,NAME…]
#   The models come from ../shared/fixtures/shapes-v11-v26, packed by scripts/pack-families-for-device.sh into
#   DIR/families: the static exports, the compact pairs of the dynamic and end-to-end ones (rebuilt here, sha256
#   checked, by scripts/fixtures/rebuild_models.py), the predictions, the mAP file and the .pt baselines (models and
#   .pt xz-compressed: 16% smaller). A call may
#   carry part of it: each copies what it carried to /tmp/families, where later calls on the same warm machine find
#   it. The binary, wheels and the yolov8n .pt are found as gpu-env.sh finds them (DIR, else /tmp).
set -u
dir=$1
final=$2
names=$3
steps=families
out=/tmp/out-families
mkdir -p $out /tmp/families
[ -d "$dir/families" ] && cp -n "$dir/families/"* /tmp/families/
source "$(dirname "$0")/gpu-env.sh"
set -o pipefail
fam=/tmp/families
for packed in $fam/*.xz; do [ -f "$packed" ] && [ ! -f "${packed%.xz}" ] && xz -dc "$packed" > "${packed%.xz}"; done
for static in shapes-yolo11n shapes-yolo26n; do
  stems=$(cd $fam && ls $static-*.compact.json 2>/dev/null | sed 's/.compact.json$//')
  [ -n "$stems" ] && [ -f $fam/$static.onnx ] &&
    python3 scripts/fixtures/rebuild_models.py --static $fam/$static.onnx --compact-dir $fam --out $fam --stems $stems
done
images=Tests/Fixtures/shapes/val/images
compare=scripts/compare_predictions.py
# Every plan step of each named dynamic model against the CPU backend, then its tuned batch-32 instance (eager and
# graph replay): pinpoints the first wrong step, and a fused launch racing with its own output shows at batch 32.
models=()
for name in ${names//,/ }; do [[ $name == *-dynamic ]] && [ -f "$fam/$name.onnx" ] && models+=(--engine-model "$fam/$name.onnx"); done
if [ ${#models[@]} -gt 0 ]; then
  timeout 600 $bin selftest --gpu --engine-models-only "${models[@]}" 2>&1 | tee "$out/selftest-models.txt"
fi
for name in ${names//,/ }; do
  model=$fam/$name.onnx
  [ -f "$model" ] || { echo "$name: $model is not here" | tee -a "$out/missing.txt"; continue; }
  echo "== $name (ultralytics: $(python3 -c "import json;print(json.load(open('$fam/ultralytics_onnx_val_map.json')).get('$name.onnx'))"))"
  timeout 90 $bin val --device cuda --model "$model" --data Tests/Fixtures/shapes/val 2>&1 | tee "$out/val-$name.txt"
  timeout 90 $bin detect --device cuda --model "$model" --json "$out/detect-$name.jsonl" $images > "$out/detect-$name.txt" 2>&1
  python3 $compare "$out/detect-$name.jsonl" "$fam/${name}_val_predictions.json" --iou 0.95 --conf 0.01 --matched 0.99 \
    --extra 0.01 2>&1 | tee "$out/compare-$name.txt"
  pt=$fam/${name%-dynamic}.pt
  if [[ $name == *-dynamic ]] && [ -f "$pt" ]; then
    timeout 240 $bin bench engine --device cuda --model "$model" --batch 1 --batch 32 --iterations 200 --warmup 20 \
      --images $images --baseline bench/baselines/engine_pytorch.py --baseline-model "$pt" \
      --json "$out/engine-$name.json" 2>&1 | tee "$out/engine-$name.txt"
  fi
done
tar czf "$final/families.tgz" -C $out .
echo "done: $names"
