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
n=${#names[@]}
chain=()
for i in $(seq 0 $((n - 1))); do
  timed "setup-$i" "$z" setup "shards/shard-$i.zkc" -o "keys-$i"
  input=(--input "$m/input.json") out=()
  if [ "$i" -gt 0 ]; then input=(--input-activations "act-$((i - 1)).json"); fi
  if [ "$i" -lt $((n - 1)) ]; then out=(--output-activations "act-$i.json"); fi
  timed "prove-$i" "$z" prove "shards/shard-$i.zkc" --keys "keys-$i" "${input[@]}" \
    -o "proof-$i.json" "${out[@]}"
  echo "shard $i (${names[$i]}): setup $(cut -d' ' -f1 "setup-$i.time") s, prove $(cut -d' ' -f1 "prove-$i.time") s"
  chain+=(--keys "keys-$i" --proof "proof-$i.json")
  # The next node needs only this shard's proof and activations: the proving key goes.
  rm -rf "keys-$i/pk.bin"
done
timed verify "$z" verify-chain "${chain[@]}"

printf '%s\n' "${names[@]}" > names.txt
python3 - "$n" "$m" <<'PY'
import json, re, sys
n, m = int(sys.argv[1]), sys.argv[2]
names = open("names.txt").read().splitlines()
t = lambda f: open(f"{f}.time").read().split()
mib = lambda kib: f"{int(kib) / 1024:.0f}"
print("| shard | k | rows | setup (s) | setup peak (MiB) | prove (s) | prove peak (MiB) | proof (B) |")
print("|---|---|---|---|---|---|---|---|")
# `split` prints one line per shard: index, nodes, k, rows, ...
shards = {int(a): (k, rows) for a, k, rows in
          re.findall(r"^\s+(\d+)\s+#\S+ \(.*\)\s+(\d+)\s+(\d+)\s", open("split.log").read(), re.M)}
total = 0.0
for i in range(n):
    proof = re.search(r"\((\d+) bytes\)", open(f"prove-{i}.log").read()).group(1)
    s, p = t(f"setup-{i}"), t(f"prove-{i}")
    total += float(p[0])
    k, rows = shards[i]
    print(f"| {names[i]} | {k} | {rows} | {float(s[0]):.0f} | {mib(s[1])} "
          f"| {float(p[0]):.0f} | {mib(p[1])} | {proof} |")
print(f"\nproving, all shards one after the other: {total / 60:.1f} min")
v = t("verify")
print(f"verify-chain: {1000 * float(v[0]):.0f} ms for {n} proofs")
got = json.load(open(f"proof-{n - 1}.json"))["outputs"]
want = json.load(open(f"{m}/expected_output.json"))["output_data"]
print(f"next token: proven {int(got[0][0])}, onnxruntime {int(want[0][0])}; "
      f"its logit: proven {got[1][0]:.4f}, onnxruntime {want[1][0]:.4f}")
PY
