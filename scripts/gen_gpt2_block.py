#!/usr/bin/env python3
"""GPT-2 small transformer blocks (d = 768, 12 heads, MLP 3072) with deterministic random
weights, written with numpy and onnx alone: no torch, no transformers.

The corpus generator `../shared/corpus/gen/gen_gpt2_small.py` exports GPT-2 small through
torch; torch's PyPI wheels for Linux pull the CUDA libraries (several GB), which this project's
machines do not install. This script writes the same block graph that generator's TorchScript
export writes (node for node, as the corpus's `exports/gpt2_tiny_op17` shows it at d = 64):

    LayerNormalization -> Reshape [-1, d] -> Gemm (c_attn, d x 3d) -> Reshape [1, T, 3d]
    -> Split (axis 2) -> Reshape [1, T, H, d/H] -> Transpose (Q, V: 0213; K: 0231)
    -> MatMul Q.K^T -> Mul 1/sqrt(d/H) -> Add causal mask (constant [1, 1, T, T], 0 / float min)
    -> Softmax -> Cast -> MatMul .V -> Transpose -> Reshape -> Gemm (c_proj) -> Add residual
    -> LayerNormalization -> Gemm (c_fc, d x 4d) -> tanh-GELU (Mul, Pow 3, Mul, Add, Mul, Tanh,
    Add 1, Mul) -> Gemm (c_proj, 4d x d) -> Add residual

Weights follow transformers' GPT-2 initialisation (Conv1D weights normal(0, 0.02), the
residual projections normal(0, 0.02 / sqrt(2 * n_layer))), except that biases and the
LayerNorm affine parameters are drawn at random too (transformers starts them at 0 and 1),
so that every bias path is exercised. Block 0's input is an embedding-like hidden state,
wte[ids] + wpe[0..T) with both tables normal(0, 0.02); block i's input is block i-1's
onnxruntime output. Each block is one folder in the corpus entry format:

    OUT_DIR/block-i/  model.onnx, input.json, expected_output.json (onnxruntime CPU, 1 thread),
                      meta.json

With --merged, OUT_DIR/blocks-N/ also holds the N blocks as one model (block i reads block
i-1's output; node names are already distinct, `/h.i/...`), its input block 0's and its
expected output the last block's: `zkinfer split --at /h.i/Add_1` cuts it back into blocks,
chained by Poseidon commitments (benches/gpt2_chain.sh).

usage: .venv/bin/python scripts/gen_gpt2_block.py OUT_DIR [--blocks 1] [--seq 16] [--seed 0]
       [--d 768] [--heads 12] [--merged]
"""
import argparse
import json
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

N_LAYER = 12
VOCAB = 50257


def block_model(i, rng, d, heads, t):
    """One GPT-2 block as the TorchScript exporter writes it, with its weights drawn from rng."""
    p = f"/h.{i}"
    hd = d // heads
    nodes, inits = [], []

    def init(name, array):
        inits.append(numpy_helper.from_array(np.asarray(array, dtype=np.float32), name))
        return name

    def const(name, array):
        out = f"{p}/{name}_output_0"
        nodes.append(
            helper.make_node(
                "Constant", [], [out], name=f"{p}/{name}",
                value=numpy_helper.from_array(np.asarray(array)),
            )
        )
        return out

    def node(op, name, inputs, n_out=1, **attrs):
        outs = [f"{p}/{name}_output_{k}" for k in range(n_out)]
        nodes.append(helper.make_node(op, inputs, outs, name=f"{p}/{name}", **attrs))
        return outs[0] if n_out == 1 else outs

    def normal(shape, std):
        return rng.normal(0.0, std, shape).astype(np.float32)

    def layer_norm(name, x):
        w = init(f"h.{i}.{name}.weight", 1.0 + normal([d], 0.1))
        b = init(f"h.{i}.{name}.bias", normal([d], 0.02))
        return node("LayerNormalization", f"{name}/LayerNormalization", [x, w, b],
                    axis=-1, epsilon=1e-5)

    def conv1d(name, x, d_in, d_out, std, width):
        """transformers' Conv1D: Reshape to 2-D, Gemm, Reshape back."""
        flat = node("Reshape", f"{name}/Reshape",
                    [x, const(f"{name}/Constant", np.array([-1, d_in], np.int64))])
        w = init(f"h.{i}.{name}.weight", normal([d_in, d_out], std))
        b = init(f"h.{i}.{name}.bias", normal([d_out], 0.02))
        y = node("Gemm", f"{name}/Gemm", [flat, w, b], alpha=1.0, beta=1.0)
        return node("Reshape", f"{name}/Reshape_1",
                    [y, const(f"{name}/Constant_1", np.array([1, t, width], np.int64))])

    x = "hidden_in"
    resid_std = 0.02 / np.sqrt(2 * N_LAYER)
    # attention
    h = layer_norm("ln_1", x)
    qkv = conv1d("attn/c_attn", h, d, 3 * d, 0.02, 3 * d)
    q, k, v = node("Split", "attn/Split",
                   [qkv, const("attn/Constant", np.array([d, d, d], np.int64))],
                   n_out=3, axis=2)
    heads_shape = np.array([1, t, heads, hd], np.int64)
    k = node("Reshape", "attn/Reshape", [k, const("attn/Constant_1", heads_shape)])
    v = node("Reshape", "attn/Reshape_1", [v, const("attn/Constant_2", heads_shape)])
    v = node("Transpose", "attn/Transpose", [v], perm=[0, 2, 1, 3])
    q = node("Reshape", "attn/Reshape_2", [q, const("attn/Constant_3", heads_shape)])
    q = node("Transpose", "attn/Transpose_1", [q], perm=[0, 2, 1, 3])
    k = node("Transpose", "attn/Transpose_2", [k], perm=[0, 2, 3, 1])
    s = node("MatMul", "attn/MatMul", [q, k])
    s = node("Mul", "attn/Mul", [s, const("attn/Constant_4", np.array(1.0 / np.sqrt(hd), np.float32))])
    mask = np.triu(np.full((t, t), np.finfo(np.float32).min, np.float32), 1)[None, None]
    s = node("Add", "attn/Add", [s, init(f"h.{i}.attn.causal_mask", mask)])
    s = node("Softmax", "attn/Softmax", [s], axis=-1)
    s = node("Cast", "attn/Cast", [s], to=TensorProto.FLOAT)
    a = node("MatMul", "attn/MatMul_1", [s, v])
    a = node("Transpose", "attn/Transpose_3", [a], perm=[0, 2, 1, 3])
    a = node("Reshape", "attn/Reshape_3", [a, const("attn/Constant_5", np.array([1, t, d], np.int64))])
    a = conv1d("attn/c_proj", a, d, d, resid_std, d)
    x = node("Add", "Add", [a, x])
    # MLP with tanh-GELU
    h = layer_norm("ln_2", x)
    f = conv1d("mlp/c_fc", h, d, 4 * d, 0.02, 4 * d)
    half = node("Mul", "mlp/act/Mul", [f, const("mlp/act/Constant", np.array(0.5, np.float32))])
    cube = node("Pow", "mlp/act/Pow", [f, const("mlp/act/Constant_1", np.array(3.0, np.float32))])
    cube = node("Mul", "mlp/act/Mul_1", [cube, const("mlp/act/Constant_2", np.array(0.044715, np.float32))])
    inner = node("Add", "mlp/act/Add", [f, cube])
    inner = node("Mul", "mlp/act/Mul_2",
                 [inner, const("mlp/act/Constant_3", np.array(np.sqrt(2.0 / np.pi), np.float32))])
    th = node("Tanh", "mlp/act/Tanh", [inner])
    th = node("Add", "mlp/act/Add_1", [th, const("mlp/act/Constant_4", np.array(1.0, np.float32))])
    g = node("Mul", "mlp/act/Mul_3", [half, th])
    m = conv1d("mlp/c_proj", g, 4 * d, d, resid_std, d)
    out = node("Add", "Add_1", [x, m])
    nodes.append(helper.make_node("Identity", [out], ["hidden_out"], name=f"{p}/output"))

    graph = helper.make_graph(
        nodes, f"gpt2_block_{i}",
        [helper.make_tensor_value_info("hidden_in", TensorProto.FLOAT, [1, t, d])],
        [helper.make_tensor_value_info("hidden_out", TensorProto.FLOAT, [1, t, d])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="zkinfer scripts/gen_gpt2_block.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def merged_model(models):
    """The blocks as one model: block i's `hidden_in` is block i-1's output."""
    nodes, inits = [], []
    for i, m in enumerate(models):
        rename = {"hidden_in": f"/h.{i - 1}/output_0"} if i > 0 else {}
        if i + 1 < len(models):
            rename["hidden_out"] = f"/h.{i}/output_0"
        for n in m.graph.node:
            n = onnx.NodeProto.FromString(n.SerializeToString())
            n.input[:] = [rename.get(x, x) for x in n.input]
            n.output[:] = [rename.get(x, x) for x in n.output]
            nodes.append(n)
        inits.extend(m.graph.initializer)
    graph = helper.make_graph(
        nodes, f"gpt2_blocks_{len(models)}",
        list(models[0].graph.input), list(models[-1].graph.output), inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="zkinfer scripts/gen_gpt2_block.py --merged")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def flat(a):
    return [float(str(v)) for v in np.asarray(a, np.float32).reshape(-1)]


def write_case(folder, x, y):
    """The corpus entry's input.json and expected_output.json."""
    with open(os.path.join(folder, "input.json"), "w") as f:
        json.dump({"input_data": [flat(x)]}, f, separators=(",", ":"))
    with open(os.path.join(folder, "expected_output.json"), "w") as f:
        json.dump({"output_data": [flat(y)]}, f, separators=(",", ":"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--blocks", type=int, default=1)
    ap.add_argument("--seq", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--d", type=int, default=768)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--merged", action="store_true")
    args = ap.parse_args()
    t, d = args.seq, args.d
    rng = np.random.default_rng(args.seed)
    ids = rng.integers(0, VOCAB, (1, t))
    # Only the rows the prompt uses are drawn: wte[ids] and wpe[0..T) are each normal(0, 0.02).
    hidden = (rng.normal(0, 0.02, (1, t, d)) + rng.normal(0, 0.02, (1, t, d))).astype(np.float32)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    first_input, models = hidden, []
    for i in range(args.blocks):
        model = block_model(i, rng, d, args.heads, t)
        sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
        (out,) = sess.run(None, {"hidden_in": hidden})
        folder = os.path.join(args.out_dir, f"block-{i}")
        os.makedirs(folder, exist_ok=True)
        onnx.save(model, os.path.join(folder, "model.onnx"))
        write_case(folder, hidden, out)
        params = sum(int(np.prod(x.dims)) for x in model.graph.initializer)
        meta = {
            "source": "zkinfer scripts/gen_gpt2_block.py (numpy + onnx; the node pattern of "
                      "transformers' GPT-2 block under the TorchScript exporter, opset 17)",
            "block": i, "n_embd": d, "n_head": args.heads, "seq": t, "seed": args.seed,
            "params": params,
            "expected_output_by": f"onnxruntime {ort.__version__} CPUExecutionProvider, 1 thread",
            "input_abs_max": float(np.abs(hidden).max()),
            "output_abs_max": float(np.abs(out).max()),
        }
        with open(os.path.join(folder, "meta.json"), "w") as f:
            json.dump(meta, f, indent=1)
        print(f"{folder}: {len(model.graph.node)} nodes, {params} parameters, "
              f"|out| max {np.abs(out).max():.4f}")
        hidden = out
        models.append(model)
    if args.merged:
        model = merged_model(models)
        sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
        (out,) = sess.run(None, {"hidden_in": first_input})
        # The merged model computes what the blocks did one after the other.
        assert np.array_equal(out, hidden), np.abs(out - hidden).max()
        folder = os.path.join(args.out_dir, f"blocks-{args.blocks}")
        os.makedirs(folder, exist_ok=True)
        onnx.save(model, os.path.join(folder, "model.onnx"))
        write_case(folder, first_input, out)
        print(f"{folder}: {len(model.graph.node)} nodes, the {args.blocks} blocks in one model")


if __name__ == "__main__":
    main()
