#!/usr/bin/env bash
# Installs onnxruntime 1.31.1 into ./.venv unless its library is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
if ls .venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* >/dev/null 2>&1; then
  exit 0
fi
echo "installing onnxruntime==1.31.1 into .venv (the float reference; the library is loaded at run time)"
python3 -m venv .venv
.venv/bin/pip install -q onnxruntime==1.31.1
