#!/usr/bin/env bash
# Optimistic mode's claim cost against inference: for each model, `zkinfer claim` (the integer
# evaluation of every segment and the Poseidon commitment of every boundary, the models held
# in memory: median of --repeat runs) and onnxruntime's forward pass of the same model on the
# same input (CPU, every core, median of 20), alternated model by model in one run. Then the
# same claim made by two processes with 1 and with 2 threads, compared with `compare-claims`
# (integer semantics: they must agree bit for bit). Prints one table.
#
# usage: bash benches/optimistic.sh [GPT2_DIR]
#   GPT2_DIR: a directory where benches/gpt2_full.sh's model is (gpt2-12/ and gpt2-12.zkc;
#   split here into its 30 node-sized shards when shards/ is missing). Without it, the tiny
#   decoders and LeNet only (a minute).
# ZKINFER: another build of the CLI. BEFORE: a previous build with `claim --repeat`, timed
# beside it (the two alternated, model by model) for the column "previous build".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-onnxruntime.sh
[ -n "${ZKINFER:-}" ] || cargo build --release --bin zkinfer
z=${ZKINFER:-$PWD/target/release/zkinfer}
py=.venv/bin/python
work=target/optimistic-bench
mkdir -p "$work"
corpus=../shared/corpus
rows=()

# claim_vs_ort NAME MODEL(.zkc or shard dir) ONNX INPUT REPEAT
claim_vs_ort() {
  local name=$1 model=$2 onnx=$3 input=$4 repeat=$5
  local c o
  c=$("$z" claim "$model" --input "$input" -o "$work/$name.claim.json" --repeat "$repeat" | sed -n 1p)
  o=$("$py" benches/ort_time.py "$onnx" "$input")
  local cms oms bms=-
  cms=$(sed -E 's/^claimed [0-9]+ segment\(s\) in ([0-9.]+) ms.*/\1/' <<<"$c")
  if [ -n "${BEFORE:-}" ]; then
    bms=$("$BEFORE" claim "$model" --input "$input" -o "$work/$name.before.json" --repeat "$repeat" |
      sed -n 1p | sed -E 's/^claimed [0-9]+ segment\(s\) in ([0-9.]+) ms.*/\1/')
    "$z" compare-claims "$work/$name.claim.json" "$work/$name.before.json" >/dev/null
  fi
  oms=$(sed -E 's/onnxruntime median ([0-9.]+) ms.*/\1/' <<<"$o")
  local segs
  segs=$(sed -E 's/claimed ([0-9]+) segment.*/\1/' <<<"$c")
  # Two processes, 1 and 2 threads: the same claim.
  RAYON_NUM_THREADS=1 "$z" claim "$model" --input "$input" -o "$work/$name.t1.json" >/dev/null
  RAYON_NUM_THREADS=2 "$z" claim "$model" --input "$input" -o "$work/$name.t2.json" >/dev/null
  local agree=no
  "$z" compare-claims "$work/$name.t1.json" "$work/$name.t2.json" >/dev/null 2>&1 && agree=yes
  rows+=("$(printf '| %s | %s | %s | %s | %s | %.1f | %s |' "$name" "$segs" "$bms" "$cms" "$oms" \
    "$(python3 -c "print($cms / $oms)")" "$agree")")
}

for m in gpt2_tiny_op17 llama_tiny_op17; do
  d=$corpus/exports/$m
  [ -f "$work/$m.zkc" ] || "$z" compile "$d/model.onnx" --input "$d/input.json" -o "$work/$m.zkc" >/dev/null
  claim_vs_ort "$m" "$work/$m.zkc" "$d/model.onnx" "$d/input.json" 200
done
d=$corpus/cnn/lenet_digits
[ -f "$work/lenet.zkc" ] || "$z" compile "$d/model.onnx" --input "$d/input.json" -o "$work/lenet.zkc" >/dev/null
[ -d "$work/lenet-shards" ] || "$z" split "$work/lenet.zkc" --shards 3 -o "$work/lenet-shards" >/dev/null
claim_vs_ort "lenet_digits (3 shards)" "$work/lenet-shards" "$d/model.onnx" "$d/input.json" 200

if [ -n "${1:-}" ]; then
  g=$1
  if [ ! -d "$g/shards" ]; then
    # The cuts of benches/gpt2_full.sh: each embedding slice, each block, each head slice.
    cuts=()
    for s in $(seq 0 8); do
      if [ "$s" = 0 ]; then cuts+=("/wte.0/Gather"); else cuts+=("/wte.$s/Add"); fi
    done
    for i in $(seq 0 11); do cuts+=("/h.$i/Add_1"); done
    for s in $(seq 0 7); do cuts+=("/lm.$s/Max"); done
    "$z" split "$g/gpt2-12.zkc" --at "$(IFS=,; echo "${cuts[*]}")" -o "$g/shards" >/dev/null
  fi
  claim_vs_ort "GPT-2 small (30 shards)" "$g/shards" "$g/gpt2-12/model.onnx" "$g/gpt2-12/input.json" 5
fi

echo
echo "| model | segments | claim, previous build (ms) | claim (ms) | onnxruntime (ms) | claim / onnxruntime | 1 and 2 threads agree |"
echo "|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
