"""Writes examples/models/tiny_mlp.onnx: 4 -> Gemm(8) -> Relu -> Gemm(3) -> Softmax, fixed-seed
weights, and an input file in EZKL's shape. Needs `pip install onnx numpy`."""
import json, os
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

rng = np.random.default_rng(7)
here = os.path.dirname(os.path.abspath(__file__))
w1 = rng.normal(0, 0.6, (8, 4)).astype(np.float32)
b1 = rng.normal(0, 0.1, (8,)).astype(np.float32)
w2 = rng.normal(0, 0.6, (3, 8)).astype(np.float32)
b2 = rng.normal(0, 0.1, (3,)).astype(np.float32)
nodes = [
    helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], name="fc1", transB=1),
    helper.make_node("Relu", ["h"], ["a"], name="relu1"),
    helper.make_node("Gemm", ["a", "w2", "b2"], ["logits"], name="fc2", transB=1),
    helper.make_node("Softmax", ["logits"], ["probabilities"], name="softmax", axis=-1),
]
graph = helper.make_graph(
    nodes, "tiny_mlp",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch_size", 4])],
    [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch_size", 3])],
    [numpy_helper.from_array(a, n) for a, n in [(w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2")]],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, os.path.join(here, "tiny_mlp.onnx"))
with open(os.path.join(here, "tiny_mlp.input.json"), "w") as f:
    json.dump({"input_data": [[0.5, -1.2, 0.8, 0.3]]}, f)
