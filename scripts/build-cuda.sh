#!/usr/bin/env bash
# Builds zkinfer with the `cuda` feature (prove --backend cuda, halo2-axiom-gpu).
#   bash scripts/build-cuda.sh          # cargo build --release (needs libcuda from the driver to link)
#   bash scripts/build-cuda.sh check    # cargo check: compiles the CUDA kernels, links nothing
# Without a CUDA toolkit on PATH, nvcc comes from NVIDIA's PyPI wheels (CUDA 13) installed
# into ./.venv-cuda. CUDA_ARCH defaults to 90 (H100); set it for other GPUs (89: L4/4090).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-build}
if ! command -v nvcc >/dev/null 2>&1; then
  if ! ls .venv-cuda/lib/python3*/site-packages/nvidia/cu13/bin/nvcc >/dev/null 2>&1; then
    echo "installing nvcc (PyPI: nvidia-cuda-nvcc, -runtime, -crt, -cccl, nvidia-nvvm) into .venv-cuda"
    python3 -m venv .venv-cuda
    .venv-cuda/bin/pip install -q nvidia-cuda-nvcc nvidia-cuda-runtime nvidia-nvvm \
      nvidia-cuda-crt nvidia-cuda-cccl
  fi
  cu=$(cd .venv-cuda/lib/python3*/site-packages/nvidia/cu13 && pwd)
  export PATH="$cu/bin:$PATH" CUDA_PATH="$cu" CUDA_LIB_DIR="$cu/lib"
  export LIBRARY_PATH="$cu/lib:${LIBRARY_PATH:-}"
fi
export CUDA_ARCH=${CUDA_ARCH:-90}
echo "nvcc: $(command -v nvcc) ($(nvcc --version | tail -1)), CUDA_ARCH=$CUDA_ARCH"
cargo "$mode" --release -p zkinfer --features cuda
