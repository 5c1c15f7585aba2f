#!/usr/bin/env bash
# The Hugging Face conformance set (tests/hf-exports) through the CLI: installs onnxruntime
# into .venv when missing, builds zkinfer, prints the table (benches/hf_exports.py).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-onnxruntime.sh
cargo build --release --bin zkinfer
.venv/bin/python benches/hf_exports.py "$@"
