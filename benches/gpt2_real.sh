#!/usr/bin/env bash
# GPT-2 at its real width (d = 768, 12 heads, vocab 50257, 2 layers, transformers' own
# initialization) exported the ordinary way (TorchScript exporter, opset 17, `input_ids` and
# `attention_mask` with dynamic batch and sequence axes), compiled, split into shards of about
# equal estimated cost, proven shard by shard as a chain, verified with `verify-chain`, and
# its next token compared with onnxruntime's.
#
#   bash benches/gpt2_real.sh [WORKDIR]      (default target/gpt2-real)
#
# PY: a Python with torch, transformers, onnx and onnxruntime (scripts/gen_hf_exports.py).
# SHARDS: how many shards (default 8). COMPILE_ARGS: default "--scale 12 --max-shift 19".
# Each step is skipped when its output exists (delete it to redo it). On 2 cores: about 4 min to
# export and compile, 6 to split, 50 to set up and 36 to prove (BENCHMARKS.md#gpt2-real); the
# largest shards (the embedding and the LM head, 38.6M weights each, k = 21) take 19 GiB.
set -euo pipefail
work=${1:-target/gpt2-real}
py=${PY:-python3}
shards=${SHARDS:-8}
cargo build --release --bin zkinfer
z=${ZKINFER:-$PWD/target/release/zkinfer}
m=gpt2_real_op17
mkdir -p "$work"
[ -f "$work/$m/model.onnx" ] || "$py" scripts/gen_hf_exports.py "$work" "$m"
cd "$work"
. "$OLDPWD/benches/timed.sh"
. "$OLDPWD/benches/chain.sh"
# The unpadded sample (samples.json holds a padded one first).
python3 - "$m" <<'PY'
import json, sys
s = json.load(open(f"{sys.argv[1]}/samples.json"))
json.dump({"input_data": s["samples"][1]["input_data"]}, open(f"{sys.argv[1]}/input_full.json", "w"))
PY
# shellcheck disable=SC2086
[ -f "$m.zkc" ] || timed compile "$z" compile "$m/model.onnx" --input "$m/input_full.json" \
  -o "$m.zkc" ${COMPILE_ARGS:---scale 12 --max-shift 19}
[ -d shards ] || timed split "$z" split "$m.zkc" --shards "$shards" -o shards
sed -n '1,2p' split.log
seq 0 $((shards - 1)) | sed 's/^/shard /' > names.txt
prove_chain "$z" "$m/input_full.json" "$shards"

python3 - "$shards" "$m" <<'PY'
import json, sys
n, m = int(sys.argv[1]), sys.argv[2]
got = json.load(open(f"proof-{n - 1}.json"))["outputs"][0]
want = json.load(open(f"{m}/samples.json"))["expected"][1][0]
vocab = 50257
last = lambda v: v[len(v) - vocab:]
arg = lambda v: max(range(len(v)), key=lambda i: (v[i], -i))
g, w = last(got), last(want)
err = max(abs(a - b) for a, b in zip(got, want))
print(f"next token: proven {arg(g)}, onnxruntime {arg(w)}; "
      f"max |logit - onnxruntime| over all {len(got)} logits: {err:.4f}")
PY

# The same chain with its two linear ends computed by the verifier instead of proven: the
# embedding from the input, the head from the activations shard n-2 handed on.
mid=()
for i in $(seq 1 $((shards - 2))); do mid+=(--keys "keys-$i" --proof "proof-$i.json"); done
timed verify-computed "$z" verify-chain --compute shards/shard-0.zkc --input "$m/input_full.json" \
  "${mid[@]}" --compute "shards/shard-$((shards - 1)).zkc" --activations "act-$((shards - 2)).json"
grep -E "is VALID" verify-computed.log
echo "verify-chain with both ends computed: $(cut -d' ' -f1 verify-computed.time) s, $(( $(cut -d' ' -f2 verify-computed.time) / 1024 )) MiB"
python3 - "$m" <<'PY'
import json, sys
line = next(l for l in open("verify-computed.log") if l.startswith("verified output 0: ["))
got = [float(x) for x in line.strip()[len("verified output 0: ["):-1].split(", ")]
want = json.load(open(f"{sys.argv[1]}/samples.json"))["expected"][1][0]
vocab = 50257
arg = lambda v: max(range(len(v)), key=lambda i: (v[i], -i))
rows = lambda v: [v[t:t + vocab] for t in range(0, len(v), vocab)]
same = sum(arg(a) == arg(b) for a, b in zip(rows(got), rows(want)))
print(f"ends computed: next token {arg(got[-vocab:])}, onnxruntime {arg(want[-vocab:])}; argmax "
      f"equal at {same} of {len(rows(want))} positions")
PY
