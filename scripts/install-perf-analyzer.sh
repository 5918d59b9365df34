#!/usr/bin/env bash
# Triton's perf_analyzer into DIR (default .venv/perf_analyzer), runnable as DIR/perf_analyzer:
#   bash scripts/install-perf-analyzer.sh [DIR]
# PyPI's `perf-analyzer` package is a stub without the binary; the tritonclient wheels up to 2.41 carry the real one
# (bin/perf_analyzer, built with CUDA shared memory support). It links libb64.so.0d (Debian/Ubuntu's libb64-0d) and
# libcudart.so.12 (NVIDIA's nvidia-cuda-runtime-cu12 wheel; it loads without a GPU, where only
# `--shared-memory cuda` needs one): both go into DIR/lib, so that DIR works on a machine without network (the GPU
# machine: carry DIR). Nothing is installed system-wide. Prints DIR/perf_analyzer.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-.venv/perf_analyzer}
TRITONCLIENT_WITH_PA=2.41.1
CUDART=12.9.79
if [ -x "$dir/perf_analyzer" ] && "$dir/perf_analyzer" --version >/dev/null 2>&1; then
    echo "$dir/perf_analyzer"
    exit 0
fi
python=${PYTHON:-python3}
[ -x .venv/bin/python ] && python=$PWD/.venv/bin/python
work=$(mktemp -d /tmp/perf-analyzer.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$dir/lib"
"$python" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
    --platform manylinux1_x86_64 -d "$work" "tritonclient==$TRITONCLIENT_WITH_PA"
"$python" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
    --platform manylinux2014_x86_64 -d "$work" "nvidia-cuda-runtime-cu12==$CUDART"
(cd "$work" && "$python" -m zipfile -e tritonclient-*.whl tc && "$python" -m zipfile -e nvidia_cuda_runtime_cu12-*.whl rt)
cp "$work"/tc/tritonclient-*.data/data/bin/perf_analyzer "$dir/lib/perf_analyzer.bin"
chmod +x "$dir/lib/perf_analyzer.bin"
cp "$work"/rt/nvidia/cuda_runtime/lib/libcudart.so.12 "$dir/lib/"
# libb64 from the distribution's package, unpacked here (apt-get download needs no root).
download() { (cd "$work" && apt-get download -qq libb64-0d >/dev/null 2>&1); }
if ! download; then
    # A fresh machine has no package lists yet.
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    download
fi
(cd "$work" && dpkg-deb -x libb64-0d_*.deb b64)
cp "$work"/b64/usr/lib/x86_64-linux-gnu/libb64.so.0d* "$dir/lib/"
cat >"$dir/perf_analyzer" <<'EOF'
#!/usr/bin/env bash
# perf_analyzer with the libraries beside it (scripts/install-perf-analyzer.sh).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "$here/lib/perf_analyzer.bin" "$@"
EOF
chmod +x "$dir/perf_analyzer"
"$dir/perf_analyzer" --version >/dev/null 2>&1 || "$dir/perf_analyzer" --help >/dev/null
echo "$dir/perf_analyzer"
