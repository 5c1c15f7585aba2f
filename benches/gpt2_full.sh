#!/usr/bin/env bash
# GPT-2 small, token ids in, next token out, proven node by node: generates the model
# (scripts/gen_gpt2_full.py: the embedding in vocabulary slices, the blocks, ln_f and the LM
# head in vocabulary slices with a running argmax), compiles it, cuts it with `zkinfer split`
# into one shard per embedding slice, per block and per head slice, then sets up and proves
# every shard from the previous shard's activations (each step timed with its peak memory),
# and verifies the chain with `verify-chain`. Prints one table row per shard, the chain's
# verify time and the proven next token against onnxruntime's.
#
# On 2 cores: about 5 minutes and 13 GB per block, 3 minutes per embedding slice and 2 per head
# slice; with 12 layers and 9 slices, about 2.5 hours with the compile. The proving key of one
# shard at a time is kept (up to 2.5 GB).
#
# usage: bash benches/gpt2_full.sh [LAYERS (default 12)] [SLICES (default 9, odd: see the generator)]
#        [WORKDIR (default target/gpt2-full)]
# GEN_ARGS: more arguments for the generator (a smaller model: "--d 64 --heads 4 --vocab 5000").
# ZKINFER: another build of the CLI (say, a copy, so that rebuilding meanwhile does not change it).
set -euo pipefail
cd "$(dirname "$0")/.."
layers=${1:-12}
slices=${2:-9}
work=${3:-target/gpt2-full}
bash scripts/ensure-onnxruntime.sh
cargo build --release --bin zkinfer
z=${ZKINFER:-$PWD/target/release/zkinfer}
mkdir -p "$work"
m=gpt2-$layers
# shellcheck disable=SC2086
[ -f "$work/$m/expected_output.json" ] ||
  .venv/bin/python scripts/gen_gpt2_full.py "$work" --layers "$layers" --slices "$slices" ${GEN_ARGS:-}
cd "$work"
. "$OLDPWD/benches/timed.sh"
. "$OLDPWD/benches/chain.sh"

# (Compiled once: delete WORKDIR/gpt2-L.zkc to recompile.)
# COMPILE_ARGS: more arguments for `zkinfer compile` (say, "--scale 12 --max-shift 19").
# shellcheck disable=SC2086
[ -f "$m.zkc" ] || timed compile "$z" compile "$m/model.onnx" --input "$m/input.json" -o "$m.zkc" ${COMPILE_ARGS:-}
tail -2 compile.log
# Shard names, and the node each ends with. Slice 0's sum with the position embedding is
# folded into its product's bias, so it ends with its Gather; the last head slice ends the model.
names=() cuts=()
for s in $(seq 0 $((slices - 1))); do
  names+=("embedding slice $s")
  if [ "$s" = 0 ]; then cuts+=("/wte.0/Gather"); else cuts+=("/wte.$s/Add"); fi
done
for i in $(seq 0 $((layers - 1))); do names+=("block $i"); cuts+=("/h.$i/Add_1"); done
for s in $(seq 0 $((slices - 1))); do
  if [ "$s" = 0 ]; then names+=("ln_f + LM head slice 0"); else names+=("LM head slice $s"); fi
  if [ "$s" -lt $((slices - 1)) ]; then cuts+=("/lm.$s/Max"); fi
done
rm -rf shards
timed split "$z" split "$m.zkc" --at "$(IFS=,; echo "${cuts[*]}")" -o shards
sed -n '1,2p' split.log
printf '%s\n' "${names[@]}" > names.txt
n=${#names[@]}
prove_chain "$z" "$m/input.json" "$n"

python3 - "$n" "$m" <<'PY'
import json, sys
n, m = int(sys.argv[1]), sys.argv[2]
got = json.load(open(f"proof-{n - 1}.json"))["outputs"]
want = json.load(open(f"{m}/expected_output.json"))["output_data"]
print(f"next token: proven {int(got[0][0])}, onnxruntime {int(want[0][0])}; "
      f"its logit: proven {got[1][0]:.4f}, onnxruntime {want[1][0]:.4f}")
PY
