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
# Each step is skipped when its output exists (delete it to redo it). About 8 min to export and
# compile, 6 to split and an hour to prove on 2 cores; the largest shards (the embedding and
# the LM head, 38.6M weights each) take about 17 GiB.
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
