#!/usr/bin/env bash
# GPT-2 small transformer blocks as a chain of shards, one block per node: generates N blocks
# as one model (scripts/gen_gpt2_block.py --merged), compiles it, cuts it with `zkinfer split`
# after each block, sets up and proves every shard from the previous shard's activations
# (each step timed with its peak memory), and verifies the chain with `verify-chain`. Prints
# one table row per shard and the chain's verify time. About 8 minutes and 14 GB per block on
# 2 cores; the keys take about 2.5 GB of disk per block.
#
# usage: bash benches/gpt2_chain.sh [BLOCKS (default 2)] [WORKDIR (default target/gpt2-chain)]
set -euo pipefail
cd "$(dirname "$0")/.."
blocks=${1:-2}
bash scripts/ensure-onnxruntime.sh
cargo build --release --bin zkinfer
work=${2:-target/gpt2-chain}
# ZKINFER: another build of the CLI (say, a copy, so that rebuilding meanwhile does not change it).
z=${ZKINFER:-$PWD/target/release/zkinfer}
mkdir -p "$work"
m=blocks-$blocks
[ -f "$work/$m/model.onnx" ] || .venv/bin/python scripts/gen_gpt2_block.py "$work" --blocks "$blocks" --merged
cd "$work"
. "$OLDPWD/benches/timed.sh"
. "$OLDPWD/benches/chain.sh"

# (Compiled once: delete WORKDIR/blocks-N.zkc to recompile.)
# COMPILE_ARGS: more arguments for `zkinfer compile` (say, "--scale 12 --max-shift 19").
# shellcheck disable=SC2086
[ -f "$m.zkc" ] || timed compile "$z" compile "$m/model.onnx" --input "$m/input.json" -o "$m.zkc" ${COMPILE_ARGS:-}
# Block i ends with its second residual sum, `/h.i/Add_1`.
cuts=$(seq -s, -f "/h.%g/Add_1" 0 $((blocks - 2)))
rm -rf shards
timed split "$z" split "$m.zkc" --at "$cuts" -o shards
cat split.log
seq -f "block %g" 0 $((blocks - 1)) > names.txt
prove_chain "$z" "$m/input.json" "$blocks"

python3 - "$blocks" "$m" <<'PY'
import json, sys
blocks, m = int(sys.argv[1]), sys.argv[2]
# The chain's final output against onnxruntime's for the merged model.
got = json.load(open(f"proof-{blocks - 1}.json"))["outputs"][0]
want = json.load(open(f"{m}/expected_output.json"))["output_data"][0]
print(f"max |proven - onnxruntime| over the chain's output: {max(abs(a - b) for a, b in zip(got, want)):.4f}")
PY
