#!/usr/bin/env bash
# CPU against GPU proving in one table (benches/gpu.py says what is measured):
#   bash benches/gpu.sh [--quick] [--max-k K] [--json OUT]   on a machine with an NVIDIA GPU
#   bash benches/gpu.sh --cpu-only [--max-k K]                anywhere: the CPU half (CI runs it)
#   bash benches/gpu.sh --pack                                 prepares .gpu-bench/ to carry to
#        a GPU machine that has no Rust toolchain and no network: the CUDA build of zkinfer
#        (scripts/build-cuda.sh, here) and the three corpus models; there, run
#        `bash benches/gpu.sh --binary .gpu-bench/zkinfer`.
# Without --binary it builds target/release/zkinfer (with the `cuda` feature unless --cpu-only,
# nvcc from PyPI when missing, as scripts/build-cuda.sh does) and reports the build time.
set -euo pipefail
cd "$(dirname "$0")/.."
cpu_only=0 pack=0 binary=""
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --cpu-only) cpu_only=1; args+=("$1") ;;
    --pack) pack=1 ;;
    --binary) binary="$2"; args+=("$1" "$2"); shift ;;
    *) args+=("$1") ;;
  esac
  shift
done

if [ "$pack" = 1 ]; then
  bash scripts/build-cuda.sh
  mkdir -p .gpu-bench/corpus
  cp target/release/zkinfer .gpu-bench/zkinfer
  for m in sklearn/mlp2_relu_digits_stdops cnn/lenet_digits transformer/tiny_block_op17; do
    mkdir -p ".gpu-bench/corpus/$m"
    cp ../shared/corpus/$m/model.onnx ../shared/corpus/$m/input.json ".gpu-bench/corpus/$m/"
  done
  du -sh .gpu-bench
  echo "carry .gpu-bench; run: bash benches/gpu.sh --binary .gpu-bench/zkinfer"
  exit 0
fi

# A Python with numpy and onnx for the synthetic models: the machine's own if it has them
# (GPU images usually do), else this repo's .venv with onnx installed.
py=python3
if ! python3 -c "import numpy, onnx" 2>/dev/null; then
  bash scripts/ensure-onnxruntime.sh >/dev/null
  .venv/bin/python -c "import onnx" 2>/dev/null || .venv/bin/pip install -q "onnx>=1.16"
  py=.venv/bin/python
fi

if [ -z "$binary" ]; then
  start=$(date +%s)
  if [ "$cpu_only" = 1 ]; then
    cargo build --release --bin zkinfer
  else
    bash scripts/build-cuda.sh
  fi
  echo "build: $(( $(date +%s) - start )) s"
fi
# verify-evm compiles the verifier with solcjs when Node is there.
command -v npm >/dev/null 2>&1 && bash scripts/ensure-solc.sh >/dev/null || true
PYTHONUNBUFFERED=1 "$py" benches/gpu.py --python "$py" "${args[@]}"
