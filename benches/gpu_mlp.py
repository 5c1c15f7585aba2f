#!/usr/bin/env python3
"""Writes a synthetic dense MLP whose circuit is set by its layers (not by a lookup table), for
benches/gpu.py: a batch of B rows through L fully connected layers of width W with ReLU
between, fixed-seed weights. The circuit has about B·L·W² / lanes rows, so B sets k.

    python3 benches/gpu_mlp.py OUT_DIR BATCH [LAYERS=4] [WIDTH=256]

writes OUT_DIR/model.onnx and OUT_DIR/input.json (EZKL's shape). Needs numpy and onnx.
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def write(out, batch, layers=4, width=256):
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(7)
    nodes, inits, x = [], [], "x"
    for i in range(layers):
        w = rng.normal(0, 1.0 / np.sqrt(width), (width, width)).astype(np.float32)
        b = rng.normal(0, 0.05, (width,)).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(b, f"b{i}")]
        y = f"h{i}"
        nodes.append(helper.make_node("Gemm", [x, f"w{i}", f"b{i}"], [y], name=f"fc{i}", transB=1))
        if i + 1 < layers:
            nodes.append(helper.make_node("Relu", [y], [f"a{i}"], name=f"relu{i}"))
            y = f"a{i}"
        x = y
    graph = helper.make_graph(
        nodes,
        "gpu_mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, width])],
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, [batch, width])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(out, "model.onnx"))
    data = rng.uniform(-1, 1, (batch, width)).round(3).reshape(-1).tolist()
    with open(os.path.join(out, "input.json"), "w") as f:
        json.dump({"input_data": [data]}, f)


if __name__ == "__main__":
    args = sys.argv[1:]
    write(args[0], int(args[1]), *(int(a) for a in args[2:]))
