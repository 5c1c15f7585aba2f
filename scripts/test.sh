#!/usr/bin/env bash
# The test command: formatting, lints, then every test (in-process, optimized test profile).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-onnxruntime.sh
bash scripts/ensure-solc.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
# The conformance count, printed (the run above already checked it).
cargo test -p zkinfer-tests --test onnx_node -- --nocapture 2>&1 | grep "^onnx-node:"
