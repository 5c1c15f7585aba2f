#!/usr/bin/env bash
# Every exports model through the CLI (compile, setup, prove with the reference, verify):
# installs onnxruntime into .venv when missing, builds zkinfer, prints the table.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-onnxruntime.sh
cargo build --release --bin zkinfer
.venv/bin/python benches/exports.py "$@"
