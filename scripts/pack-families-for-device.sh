#!/usr/bin/env bash
# Packs the YOLO11/YOLO26 models of ../shared/fixtures/shapes-v11-v26 for scripts/gpu-family-checks.sh into
# .device/fam/families (ignored by git; name .device/fam in the device tool's `carry`): the two static exports, the
# compact pairs of the dynamic and end-to-end exports (scripts/fixtures/rebuild_models.py --make-compact; ~0.9 MB
# instead of ~29 MB, rebuilt byte for byte there), the Ultralytics predictions and mAP, and the .pt baselines.
# ~26 MB in all: with the tree (~39 MB) it fits one call without the binary, so it travels in a second call on the
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
cp $src/shapes-yolo11n.onnx $src/shapes-yolo26n.onnx $src/*_val_predictions.json $src/ultralytics_onnx_val_map.json $out/
for pt in shapes-yolo11n shapes-yolo26n; do
    [[ " ${SKIP_PT:-} " == *" $pt "* ]] || cp $src/$pt.pt $out/
done
rm -f $out/.*.check* 2>/dev/null || true
du -sh $out
