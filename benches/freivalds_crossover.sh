#!/usr/bin/env bash
# Where Freivalds' check over a constant matrix beats the direct map: one product `x·W` (x
# [T, D] an input, W [D, D] constant), compiled twice per (D, T), with `--products auto` (the
# planner takes the check where it saves rows) and `--products direct` (always the term-by-term
# map), each set up, proven and verified through the CLI. Prints one table row per (D, T): k,
# rows, setup and prove seconds of each, and the ratio of the prove times.
#
# About 10 minutes on 2 cores (the SRS files for k up to 17 are generated once and cached).
#
# usage: bash benches/freivalds_crossover.sh [DIMS (default "32 128")] [TOKENS (default "1 2 4 8 16")]
#        [WORKDIR (default target/freivalds-crossover)]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-onnxruntime.sh
cargo build --release --bin zkinfer
dims=${1:-32 128}
tokens=${2:-1 2 4 8 16}
work=${3:-target/freivalds-crossover}
z=${ZKINFER:-$PWD/target/release/zkinfer}
mkdir -p "$work"
py=$PWD/.venv/bin/python
cd "$work"
. "$OLDPWD/benches/timed.sh"

rows=()
for d in $dims; do
  for t in $tokens; do
    m=mm-$d-$t
    "$py" - "$m" "$d" "$t" <<'PY'
import json, os, sys
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
import onnxruntime as ort

out, d, t = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(d * 1000 + t)
w = (rng.standard_normal((d, d)) / np.sqrt(d)).astype(np.float32)
g = helper.make_graph(
    [helper.make_node("MatMul", ["x", "w"], ["y"])], "mm",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [t, d])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [t, d])],
    [numpy_helper.from_array(w, "w")])
model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
model.ir_version = 8
onnx.save(model, f"{out}/model.onnx")
x = rng.uniform(-1, 1, (t, d)).astype(np.float32)
json.dump({"input_data": [x.ravel().tolist()]}, open(f"{out}/input.json", "w"))
PY
    for how in auto direct; do
      timed "compile-$m-$how" "$z" compile "$m/model.onnx" --input "$m/input.json" --scale 10 \
        --products "$how" -o "$m-$how.zkc" > /dev/null
      timed "setup-$m-$how" "$z" setup "$m-$how.zkc" -o "$m-$how.keys" > /dev/null
      timed "prove-$m-$how" "$z" prove "$m-$how.zkc" --keys "$m-$how.keys" --input "$m/input.json" \
        -o "$m-$how.proof" > /dev/null
      timed "verify-$m-$how" "$z" verify --keys "$m-$how.keys" --proof "$m-$how.proof" > /dev/null
      rm -rf "$m-$how.keys"
    done
    rows+=("$m")
  done
done

python3 - "${rows[@]}" <<'PY'
import re, sys
def get(m, how):
    c = open(f"compile-{m}-{how}.log").read()
    k, rows = re.search(r"k = (\d+), rows = (\d+)", c).groups()
    check = "yes" if "Freivalds' check" in c else "no"
    t = lambda s: float(open(f"{s}-{m}-{how}.time").read().split()[0])
    return check, int(k), int(rows), t("setup"), t("prove")
print("| D | T | check taken | k (check / direct) | rows (check / direct) | setup s (check / direct) "
      "| prove s (check / direct) | prove direct / check |")
print("|---|---|---|---|---|---|---|---|")
for m in sys.argv[1:]:
    _, d, t = m.split("-")
    a, b = get(m, "auto"), get(m, "direct")
    print(f"| {d} | {t} | {a[0]} | {a[1]} / {b[1]} | {a[2]:,} / {b[2]:,} | {a[3]:.1f} / {b[3]:.1f} "
          f"| {a[4]:.1f} / {b[4]:.1f} | {b[4] / a[4]:.2f} |")
PY
