#!/usr/bin/env bash
# Packs the YOLO11/YOLO26 models of ../shared/fixtures/shapes-v11-v26 for scripts/gpu-family-checks.sh into
# .device/fam/families (ignored by git; name .device/fam in the device tool's `carry`): the two static exports, the
# compact pairs of the dynamic and end-to-end exports (scripts/fixtures/rebuild_models.py --make-compact; ~0.9 MB
# instead of ~29 MB, rebuilt byte for byte there), the Ultralytics predictions and mAP, and the .pt baselines.
# ~23 MB in all: with the tree (~40 MB) it fits one call without the binary, so it travels in a second call on the
# warm machine (docs/gpu-machine.md); SKIP_PT="shapes-yolo26n" leaves out .pt files sent with the first call.
set -euo pipefail
cd "$(dirname "$0")/.."
src=${LOOKOUT_SHARED:-../shared}/fixtures/shapes-v11-v26
out=.device/fam/families
rm -rf .device/fam && mkdir -p $out
python3 scripts/fixtures/rebuild_models.py --static $src/shapes-yolo11n.onnx --compact-dir $out \
    --make-compact $src/shapes-yolo11n-dynamic.onnx
python3 scripts/fixtures/rebuild_models.py --static $src/shapes-yolo26n.onnx --compact-dir $out \
    --make-compact $src/shapes-yolo26n-dynamic.onnx $src/shapes-yolo26n-end2end.onnx
cp $src/*_val_predictions.json $src/ultralytics_onnx_val_map.json $out/
# Trained fp32 weights and the .pt zip compress by ~16% with xz -9e; gpu-family-checks.sh unpacks them.
for file in shapes-yolo11n.onnx shapes-yolo26n.onnx shapes-yolo11n.pt shapes-yolo26n.pt; do
    [[ " ${SKIP_PT:-} " == *" ${file%.pt} "* && $file == *.pt ]] && continue
    xz -T2 -9e -c $src/$file > $out/$file.xz
done
rm -f $out/.*.check* 2>/dev/null || true
du -sh $out
