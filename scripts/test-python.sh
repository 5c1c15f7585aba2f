#!/usr/bin/env bash
# The Python package: builds and installs it (with its Ray extra) into .venv the way a user
# would (`pip install ./python`), runs its pytest suite, then the Ray cluster example (head
# and two worker nodes on localhost, one killed mid-run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-onnxruntime.sh
echo "python: pip install './python[ray,test]' into .venv (maturin builds the extension)"
.venv/bin/pip install -q "./python[ray,test]"
# The interop tests run the CLI: the release build, as the GPU bench's CPU half made it.
cargo build -q --release --bin zkinfer
# The attack proofs the verifiers must refuse (written by the on-chain entry's test).
[ -s target/attack-fixtures/input-out-of-bound/proof.json ] ||
  cargo test -q -p zkinfer-tests --test onchain_entry inputs_outside >/dev/null
ZKINFER_BIN="$PWD/target/release/zkinfer" .venv/bin/python -m pytest -q python/tests
bash examples/ray_cluster.sh 8
