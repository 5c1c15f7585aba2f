#!/usr/bin/env bash
# Optimistic inference end to end on LeNet split into 3 shards: an honest node and a cheating
# node (one activation of the middle shard altered) claim the model's output at the cost of
# inference; a watcher re-executes and catches the cheat; anyone holding the input proves the
# one wrong segment (a fraud proof); then, in an in-process EVM (revm), the optimistic
# contract takes both claims with their bonds, slashes the cheat with the fraud proof and
# finalizes the honest claim after the challenge window. Prints each step's time and gas.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-onnxruntime.sh
bash scripts/ensure-solc.sh
cargo build --release --bin zkinfer
cargo build --release -p zkinfer-examples --example optimistic_evm
Z=target/release/zkinfer
OUT=target/optimistic
rm -rf "$OUT"
mkdir -p "$OUT"
# The model corpus sits beside the repository (tests read it there too).
M=${ZKINFER_CORPUS:-../shared/corpus}/cnn/lenet_digits
[ -f "$M/model.onnx" ] || { echo "no $M/model.onnx: set ZKINFER_CORPUS to the corpus" >&2; exit 2; }
I=$M/input.json
step() {
  echo
  echo "\$ zkinfer $*"
  local t; t=$(date +%s%N)
  local rc=0
  "$Z" "$@" || rc=$?
  echo "  (took $(( ($(date +%s%N) - t) / 1000000 )) ms, exit $rc)"
  return $rc
}
echo "== the model, split into 3 segments, and each segment's keys (once, by the publisher)"
step compile "$M/model.onnx" -o "$OUT/lenet.zkc" --input "$I"
step split "$OUT/lenet.zkc" --shards 3 -o "$OUT/shards"
for i in 0 1 2; do step setup "$OUT/shards/shard-$i.zkc" -o "$OUT/keys-$i"; done
KEYS=(--keys "$OUT/keys-0" --keys "$OUT/keys-1" --keys "$OUT/keys-2")

echo
echo "== an honest node and a cheating node claim the output (no proving)"
step claim "$OUT/shards" --input "$I" -o "$OUT/honest.json" --node honest "${KEYS[@]}"
step claim "$OUT/shards" --input "$I" -o "$OUT/cheat.json" --node cheater "${KEYS[@]}" \
  --alter-activation 1:5:1

echo
echo "== a watcher checks the claims (re-execution, then claim against claim)"
step check-claim "$OUT/honest.json" --model "$OUT/shards" --input "$I"
step check-claim "$OUT/cheat.json" --model "$OUT/shards" --input "$I" || true
step compare-claims "$OUT/honest.json" "$OUT/cheat.json" || true

echo
echo "== the watcher proves the one wrong segment and checks the fraud proof off chain"
step dispute "$OUT/cheat.json" --model "$OUT/shards" --input "$I" "${KEYS[@]}" \
  -o "$OUT/fraud.json"
step verify-dispute "$OUT/cheat.json" "$OUT/fraud.json" --keys "$OUT/keys-1"

echo
echo "== the contract (written for integrators, and run in an in-process EVM)"
step export-optimistic "${KEYS[@]}" -o "$OUT/contracts"
echo
echo "\$ optimistic_evm (deploy, submit both claims, challenge the cheat, finalize the honest claim)"
t=$(date +%s%N)
target/release/examples/optimistic_evm "${KEYS[@]}" --honest "$OUT/honest.json" \
  --cheat "$OUT/cheat.json" --fraud-proof "$OUT/fraud.json"
echo "  (took $(( ($(date +%s%N) - t) / 1000000 )) ms, most of it solc compiling the contracts)"
