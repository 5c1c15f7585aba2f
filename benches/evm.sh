#!/usr/bin/env bash
# On-chain verifiers side by side (zkinfer's, snark-verifier's, EZKL 23.0.5's): installs
# onnxruntime, solcjs and EZKL when missing, builds zkinfer and the evm_run example, runs
# benches/evm.py and prints the table.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-onnxruntime.sh
bash scripts/ensure-solc.sh
.venv/bin/python -c "import ezkl" 2>/dev/null || .venv/bin/pip install -q ezkl==23.0.5
.venv/bin/python -c "import onnx, numpy" 2>/dev/null || .venv/bin/pip install -q onnx numpy
cargo build --release --bin zkinfer
cargo build --release -p zkinfer-examples --example evm_run
.venv/bin/python benches/evm.py "$@"
