#!/usr/bin/env bash
# One GPT-2 small transformer block (d = 768, 12 heads, MLP 3072, T = 16 tokens) through the
# CLI: generates it with scripts/gen_gpt2_block.py (numpy + onnx, deterministic random
# weights, onnxruntime's output), compiles, shows where the rows go, sets up, proves with the
# onnxruntime reference on and verifies, each step timed with its peak memory. Prints one
# table row. About 10 minutes and 8 GB of memory on 2 cores; the keys take 3.7 GB of disk and
# their precomputed cosets (`setup --precompute-cosets`, on by default here) 7.5 GB more.
#
# usage: [SETUP_ARGS=""] bash benches/gpt2_block.sh [WORKDIR (default target/gpt2-small)]
# (SETUP_ARGS="" sets up without pk.cosets: every proof computes the cosets)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-onnxruntime.sh
cargo build --release --bin zkinfer
work=${1:-target/gpt2-small}
# ZKINFER: another build of the CLI (say, a copy, so that rebuilding meanwhile does not change it).
z=${ZKINFER:-$PWD/target/release/zkinfer}
mkdir -p "$work"
[ -f "$work/block-0/model.onnx" ] || .venv/bin/python scripts/gen_gpt2_block.py "$work"
cd "$work"
. "$OLDPWD/benches/timed.sh"

timed compile "$z" compile block-0/model.onnx --input block-0/input.json -o block-0.zkc
"$z" inspect block-0.zkc --rows | sed -n '/^circuit:/,$p'
# shellcheck disable=SC2086 # SETUP_ARGS is a list of options
timed setup "$z" setup block-0.zkc -o block-0.keys ${SETUP_ARGS---precompute-cosets}
timed prove "$z" prove block-0.zkc --keys block-0.keys --input block-0/input.json -o block-0.proof
timed verify "$z" verify --keys block-0.keys --proof block-0.proof

python3 - <<'EOF'
import json, re
t = {n: open(f"{n}.time").read().split() for n in ("compile", "setup", "prove", "verify")}
log = open("prove.log").read()
proof = re.search(r"\((\d+) bytes\)", log).group(1)
k = re.search(r"k = (\d+)", open("compile.log").read()).group(1)
rows = re.search(r"rows = (\d+)", open("compile.log").read()).group(1)
# The largest difference between the proven output and onnxruntime's.
p = json.load(open("block-0.proof"))
got = p["outputs"][0]
want = json.load(open("block-0/expected_output.json"))["output_data"][0]
err = max(abs(a - b) for a, b in zip(got, want))
mib = lambda s: f"{int(s) / 1024:.0f}"
print("| block | k | rows | setup (s) | setup peak (MiB) | prove (s) | prove peak (MiB) | verify (ms) | proof (B) | max \\|proven − onnxruntime\\| |")
print("|---|---|---|---|---|---|---|---|---|---|")
print(f"| GPT-2 small block 0 (T = 16) | {k} | {rows} | {float(t['setup'][0]):.0f} | {mib(t['setup'][1])} "
      f"| {float(t['prove'][0]):.0f} | {mib(t['prove'][1])} | {1000 * float(t['verify'][0]):.0f} | {proof} | {err:.4f} |")
EOF
