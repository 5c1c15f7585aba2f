#!/usr/bin/env bash
# The test command: formatting, lints, then every test (in-process, optimized test profile).
set -euo pipefail
cd "$(dirname "$0")/.."
# A clean clone gains nothing from incremental compilation; it only adds gigabytes to target/.
export CARGO_INCREMENTAL=0
bash scripts/ensure-onnxruntime.sh
bash scripts/ensure-solc.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
FUZZ_SECONDS=30 cargo test --workspace   # the fuzzing campaign: 30 s per target
# The `cuda` feature (GPU proving) compiles where nvcc is on PATH; elsewhere it is skipped.
if command -v nvcc >/dev/null 2>&1; then
  bash scripts/build-cuda.sh check
else
  echo "cuda feature: not compiled here (nvcc not on PATH; scripts/build-cuda.sh installs it from PyPI)"
fi
# The WebAssembly verifier in Node and in a headless Chromium.
bash scripts/test-wasm.sh
# The GPU benchmark's CPU half (benches/gpu.sh on a GPU machine runs both halves): every
# path of the script, small circuits, each proof verified (it exits 1 otherwise).
bash benches/gpu.sh --cpu-only --max-k 15 --json target/gpu-cpu-only.json
# The Python package (pytest) and the Ray cluster example.
bash scripts/test-python.sh
# The conformance count, printed (the run above already checked it).
cargo test --workspace --test onnx_node -- --nocapture 2>&1 | grep "^onnx-node:"
