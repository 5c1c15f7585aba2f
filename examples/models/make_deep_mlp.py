"""Writes a deep MLP whose circuit is set by its layers, not by its lookup table (unlike the
corpus models, whose k is the table's): 64 -> 8 x [Gemm(256) -> Relu] -> Gemm(10), fixed-seed
weights, plus an input file in EZKL's shape. Used by examples/sharded_pipeline.py to show what
sharding saves per node. Needs `pip install onnx numpy`.

    python3 examples/models/make_deep_mlp.py OUT_DIR   # writes OUT_DIR/model.onnx, input.json
"""
import json, os, sys
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

out = sys.argv[1] if len(sys.argv) > 1 else "target/deep_mlp"
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(11)
widths = [64] + [256] * 8 + [10]
nodes, inits, x = [], [], "x"
for i, (a, b) in enumerate(zip(widths, widths[1:])):
    w = rng.normal(0, 1.2 / np.sqrt(a), (b, a)).astype(np.float32)
    bias = rng.normal(0, 0.05, (b,)).astype(np.float32)
    inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(bias, f"b{i}")]
    y = f"h{i}" if i + 2 < len(widths) else "logits"
    nodes.append(helper.make_node("Gemm", [x, f"w{i}", f"b{i}"], [y], name=f"fc{i}", transB=1))
    if i + 2 < len(widths):
        nodes.append(helper.make_node("Relu", [y], [f"a{i}"], name=f"relu{i}"))
        y = f"a{i}"
    x = y
graph = helper.make_graph(
    nodes, "deep_mlp",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
    [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])],
    inits,
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, os.path.join(out, "model.onnx"))
with open(os.path.join(out, "input.json"), "w") as f:
    json.dump({"input_data": [rng.uniform(0, 1, 64).round(4).tolist()]}, f)
print(f"wrote {out}/model.onnx and {out}/input.json")
