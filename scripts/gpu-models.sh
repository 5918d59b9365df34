# Sourced by the GPU-machine check scripts (through gpu-env.sh, and by gpu-checks.sh) from the repo root there, with
# `dir` (the carried folder) set: rebuilds shapes-yolov8n-dynamic.onnx and shapes-yolov8n-fp16.onnx, which are not
# committed, into Tests/Fixtures/generated/shapes (exported as `models`) before any step reads them. python3 + numpy,
# under a second, every byte sha256-checked (scripts/fixtures/rebuild_models.py) from Models/shapes-yolov8n.onnx and
# Tests/Fixtures/shapes/*.compact.{onnx,json}; the copies scripts/pack-for-device.sh puts in DIR serve when the tree
# lacks them.
models=Tests/Fixtures/generated/shapes
rebuild=scripts/fixtures/rebuild_models.py
compact=Tests/Fixtures/shapes
if [ ! -f $rebuild ] || [ ! -f $compact/shapes-yolov8n-dynamic.compact.json ]; then
  rebuild=$dir/rebuild_models.py
  compact=$dir
fi
python3 "$rebuild" --static Models/shapes-yolov8n.onnx --compact-dir "$compact" --out $models ||
  { echo "cannot rebuild the shapes models into $models ($rebuild)"; exit 1; }
