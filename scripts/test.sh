#!/usr/bin/env bash
# The test command: formatting, lints, then every test (in-process, optimized test profile).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-onnxruntime.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
