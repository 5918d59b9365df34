# Sourced by the GPU-machine check scripts (gpu-engine-checks.sh, gpu-pipeline-checks.sh) with `dir` (the carried
# folder) and `steps` set: the commit and cache settings, the binary in /tmp/lookout (from DIR/lookout, DIR/lookout.xz
# or the parts scripts/pack-for-device.sh made, copied to /tmp/lookout.xz.part* by earlier calls), Ultralytics from
# the carried wheels, the baseline model `pt`, and the rebuilt dynamic and fp16 models in `models` (gpu-models.sh).
commit=$(cat "$dir/COMMIT" 2>/dev/null || echo unknown)
export LOOKOUT_CACHE_DIR=/tmp/lookout-cache PYTHONUNBUFFERED=1 LOOKOUT_COMMIT=${LOOKOUT_COMMIT:-$commit}
has() { [[ ",$steps," == *",$1,"* ]]; }
bin=/tmp/lookout
if [ ! -x $bin ]; then
  if [ -f "$dir/lookout" ]; then cp "$dir/lookout" $bin
  elif [ -f "$dir/lookout.xz" ]; then xz -dc "$dir/lookout.xz" > $bin
  else cat /tmp/lookout.xz.part* | xz -dc > $bin || { echo "cannot assemble the binary"; exit 1; }; fi
  chmod +x $bin
fi
wheels=$dir/wheels
[ -d "$wheels" ] || wheels=/tmp/wheels
if [ -d "$wheels" ] && [ ! -d /tmp/site ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site "$wheels"/*.whl
  mkdir -p "$HOME/.config/Ultralytics"
  cp "$(python3 -c 'import matplotlib,os;print(os.path.join(os.path.dirname(matplotlib.__file__),"mpl-data/fonts/ttf/DejaVuSans.ttf"))')" "$HOME/.config/Ultralytics/Arial.ttf"
fi
export PYTHONPATH=/tmp/site:$wheels/stub YOLO_OFFLINE=1
pt=$dir/shapes-yolov8n.pt
[ -f "$pt" ] || pt=/tmp/shapes-yolov8n.pt
source "$(dirname "${BASH_SOURCE[0]}")/gpu-models.sh"
