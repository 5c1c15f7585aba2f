#!/usr/bin/env bash
# zkinfer vs EZKL 23.0.5, side by side: installs EZKL (and onnxruntime) into .venv when
# missing, builds zkinfer, runs benches/compare_ezkl.py and prints the table.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-onnxruntime.sh
.venv/bin/python -c "import ezkl" 2>/dev/null || .venv/bin/pip install -q ezkl==23.0.5
cargo build --release --bin zkinfer
.venv/bin/python benches/compare_ezkl.py "$@"
