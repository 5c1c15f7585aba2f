#!/usr/bin/env bash
# From a fresh machine to a verified proof of examples/models/tiny_mlp.onnx:
# installs onnxruntime into .venv when missing, builds zkinfer, then compile -> setup -> prove
# -> verify, printing outputs and timings.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-onnxruntime.sh
cargo build --release --bin zkinfer
Z=target/release/zkinfer
OUT=target/demo
mkdir -p "$OUT"
M=examples/models/tiny_mlp.onnx
I=examples/models/tiny_mlp.input.json
step() {
  echo
  echo "\$ zkinfer $*"
  local t; t=$(date +%s%N)
  "$Z" "$@"
  echo "  (command took $(( ($(date +%s%N) - t) / 1000000 )) ms)"
}
step inspect "$M"
step compile "$M" -o "$OUT/model.zkc" --input "$I"
step setup "$OUT/model.zkc" -o "$OUT/keys"
step prove "$OUT/model.zkc" --keys "$OUT/keys" --input "$I" -o "$OUT/proof.json"
step verify --keys "$OUT/keys" --proof "$OUT/proof.json"
