#!/usr/bin/env python3
"""GPT-2 small as one model for next-token prediction, cut into node-sized pieces: the token
embedding in vocabulary slices, the transformer blocks, and the final LayerNorm and LM head
in vocabulary slices with a running argmax. Deterministic random weights; numpy and onnx
alone (the blocks are scripts/gen_gpt2_block.py's).

    ids [1, T] (int64)
    -> embedding, slice s of S over the vocabulary [a, b):
         local = ids - a; inside = local >= 0 and local < b - a
         emb_s = Gather(concat(wte[a:b], 0-row), Where(inside, local, b - a))
         acc_s = acc_(s-1) + emb_s            (acc_(-1) = wpe[0:T])    node /wte.s/Add
    -> blocks 0..L-1 (LayerNorm, attention, MLP; block i ends with /h.i/Add_1)
    -> the last position's hidden state, LayerNorm ln_f                 (next-token prediction)
    -> LM head, slice s over [a, b) (weights tied to wte, as GPT-2's):
         logits_s = x · wte[a:b]^T; m_s = max logits_s; i_s = a + argmax logits_s
         best = max(best, m_s); token = i_s where m_s > best else token  node /lm.s/Max
    outputs: token [1, 1] (int64), best [1, 1] (its logit)

A row of wte is looked up by a one-hot product that Freivalds' check proves over the slice's
table, so a slice costs about its size (a slice of 6,283 rows x 768 takes 804k rows, k = 20).
The number of slices is odd by default (9): the embedding's running sum is checked into the
activation range every other sum (see the quantizer), so an odd count ends it checked, and
every block's check then falls on its last sum, where the chain is cut. The running argmax is strict (an earlier slice wins a tie), as ArgMax's first-index rule is over
the whole vocabulary. `zkinfer split --at` the names above cuts it into node-sized shards:
benches/gpt2_full.sh.

Writes OUT_DIR/gpt2-L/ (model.onnx, input.json, expected_output.json by onnxruntime CPU with
1 thread, meta.json); the model's logits over the whole vocabulary are checked against the
slices' argmax.

usage: .venv/bin/python scripts/gen_gpt2_full.py OUT_DIR [--layers 12] [--slices 9] [--seq 16]
       [--seed 0] [--d 768] [--heads 12] [--vocab 50257]
"""
import argparse
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_gpt2_block import block_model, flat  # noqa: E402


def bounds(vocab, slices):
    per = -(-vocab // slices)
    return [(a, min(vocab, a + per)) for a in range(0, vocab, per)]


def full_model(rng, layers, slices, vocab, d, heads, t):
    nodes, inits = [], []
    wte = rng.normal(0.0, 0.02, (vocab, d)).astype(np.float32)
    wpe = rng.normal(0.0, 0.02, (t, d)).astype(np.float32)

    def init(name, array):
        inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(op, name, inputs, **attrs):
        out = f"{name}_output_0"
        nodes.append(helper.make_node(op, inputs, [out], name=name, **attrs))
        return out

    # The embedding, slice by slice; the running sum starts at the position embedding.
    acc = init("wpe", wpe[None])
    for s, (a, b) in enumerate(bounds(vocab, slices)):
        p = f"/wte.{s}"
        local = node("Sub", f"{p}/Sub", ["input_ids", init(f"wte.{s}.first", np.int64(a))])
        n = init(f"wte.{s}.rows", np.int64(b - a))
        inside = node("And", f"{p}/And", [
            node("GreaterOrEqual", f"{p}/GreaterOrEqual", [local, init(f"wte.{s}.zero", np.int64(0))]),
            node("Less", f"{p}/Less", [local, n]),
        ])
        row = node("Where", f"{p}/Where", [inside, local, n])
        table = np.concatenate([wte[a:b], np.zeros((1, d), np.float32)])
        emb = node("Gather", f"{p}/Gather", [init(f"wte.{s}.weight", table), row], axis=0)
        acc = node("Add", f"{p}/Add", [acc, emb])

    # The blocks.
    hidden = acc
    for i in range(layers):
        block = block_model(i, rng, d, heads, t)
        rename = {"hidden_in": hidden}
        if i + 1 < layers:
            rename["hidden_out"] = f"/h.{i}/output_0"
        for n_ in block.graph.node:
            n_ = onnx.NodeProto.FromString(n_.SerializeToString())
            n_.input[:] = [rename.get(x, x) for x in n_.input]
            n_.output[:] = [rename.get(x, x) for x in n_.output]
            nodes.append(n_)
        inits.extend(block.graph.initializer)
        hidden = rename.get("hidden_out", "hidden_out")

    # The last position, ln_f, and the LM head by slices with a running argmax.
    last = node("Gather", "/ln_f/Gather", [hidden, init("last_position", np.int64(t - 1))], axis=1)
    x = node("LayerNormalization", "/ln_f/LayerNormalization", [
        last,
        init("ln_f.weight", (1.0 + rng.normal(0.0, 0.1, d)).astype(np.float32)),
        init("ln_f.bias", rng.normal(0.0, 0.02, d).astype(np.float32)),
    ], axis=-1, epsilon=1e-5)
    token = best = None
    for s, (a, b) in enumerate(bounds(vocab, slices)):
        p = f"/lm.{s}"
        logits = node("MatMul", f"{p}/MatMul", [x, init(f"lm.{s}.weight", wte[a:b].T.copy())])
        m = node("ReduceMax", f"{p}/ReduceMax", [logits], axes=[1], keepdims=1)
        i = node("ArgMax", f"{p}/ArgMax", [logits], axis=1, keepdims=1)
        i = node("Add", f"{p}/Add", [i, init(f"lm.{s}.first", np.int64(a))])
        if s == 0:
            token = node("Identity", f"{p}/Identity", [i])
            best = node("Max", f"{p}/Max", [m])
            continue
        better = node("Greater", f"{p}/Greater", [m, best])
        token = node("Where", f"{p}/Where", [better, i, token])
        best = node("Max", f"{p}/Max", [best, m])
    nodes.append(helper.make_node("Identity", [token], ["next_token"], name="/next_token"))
    nodes.append(helper.make_node("Identity", [best], ["next_logit"], name="/next_logit"))

    graph = helper.make_graph(
        nodes, f"gpt2_{layers}",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, t])],
        [helper.make_tensor_value_info("next_token", TensorProto.INT64, [1, 1]),
         helper.make_tensor_value_info("next_logit", TensorProto.FLOAT, [1, 1])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="zkinfer scripts/gen_gpt2_full.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model, wte, x


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--slices", type=int, default=9)
    ap.add_argument("--seq", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--d", type=int, default=768)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--vocab", type=int, default=50257)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    model, wte, x_name = full_model(rng, args.layers, args.slices, args.vocab, args.d,
                                    args.heads, args.seq)
    ids = rng.integers(0, args.vocab, (1, args.seq)).astype(np.int64)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    token, logit = sess.run(None, {"input_ids": ids})
    # The slices' running argmax is the argmax of the whole vocabulary's logits.
    probe = onnx.ModelProto.FromString(model.SerializeToString())
    probe.graph.output.append(helper.make_tensor_value_info(x_name, TensorProto.FLOAT, None))
    sess = ort.InferenceSession(probe.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    x = sess.run([x_name], {"input_ids": ids})[0]
    logits = x @ wte.T
    assert int(token[0, 0]) == int(np.argmax(logits)), (token, np.argmax(logits))
    top2 = np.sort(logits.reshape(-1))[-2:]
    folder = os.path.join(args.out_dir, f"gpt2-{args.layers}")
    os.makedirs(folder, exist_ok=True)
    onnx.save(model, os.path.join(folder, "model.onnx"))
    with open(os.path.join(folder, "input.json"), "w") as f:
        json.dump({"input_data": [[int(v) for v in ids.reshape(-1)]]}, f)
    with open(os.path.join(folder, "expected_output.json"), "w") as f:
        json.dump({"output_data": [[int(token[0, 0])], flat(logit)]}, f)
    meta = {
        "source": "zkinfer scripts/gen_gpt2_full.py (numpy + onnx)",
        "layers": args.layers, "slices": args.slices, "n_embd": args.d, "n_head": args.heads,
        "vocab": args.vocab, "seq": args.seq, "seed": args.seed,
        "params": sum(int(np.prod(i.dims)) for i in model.graph.initializer),
        "expected_output_by": f"onnxruntime {ort.__version__} CPUExecutionProvider, 1 thread",
        "next_token": int(token[0, 0]),
        "top2_gap": float(top2[1] - top2[0]),
    }
    with open(os.path.join(folder, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(f"{folder}: {len(model.graph.node)} nodes, {meta['params']} parameters, next token "
          f"{meta['next_token']} (logit {float(logit[0, 0]):.4f}, ahead of the second by "
          f"{meta['top2_gap']:.4f})", flush=True)


if __name__ == "__main__":
    main()
