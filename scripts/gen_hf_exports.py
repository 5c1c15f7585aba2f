"""Hugging Face models exported the ordinary way: the conformance set of issue 39.

Tiny random-init configs (fixed seed) of the architectures people export, each through both
torch exporters (TorchScript at opset 17, dynamo at its default opset), with the dynamic axes a
user would declare (batch and sequence) and the masks a tokenizer returns. Every folder holds

    model.onnx            the export, scrubbed of doc strings and metadata (no machine paths)
    input.json            {"input_data": [...]} one flat list per graph input (ids as integers);
                          text models: a padded sample (the last PAD positions masked)
    expected_output.json  {"output_data": [...]} onnxruntime's outputs for input.json
    samples.json          {"samples": [{"input_data": ...}, ...], "expected": [output_data, ...],
                           "unmasked": [[positions], ...]}: the padded and the unpadded sample
                          (`zkinfer compile --calibrate samples.json` reads it)
    meta.json             architecture, config, exporter, opset, inputs, outputs, dynamic axes

Usage: python scripts/gen_hf_exports.py OUT_DIR [NAME ...]
NAME is an architecture (both exporters) or an entry such as gpt2_op17. `gpt2_real` (GPT-2 at
its real width: d = 768, 12 heads, vocab 50257, 2 layers, transformers' own initialization;
about 230 MB) is written only when named, e.g. `... target/gpt2-real gpt2_real_op17`.
Needs torch (CPU), transformers, onnx, onnxscript and onnxruntime from PyPI.
"""
from __future__ import annotations

import json
import os
import sys
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore")

SEED = 0
T = 8          # sequence length of the samples
PAD = 3        # masked positions at the end of the padded sample
VOCAB = 128
INIT = 0.1     # initializer_range of every config
OPTIONAL = {"gpt2_real"}  # written only when named


def text_configs(tf):
    """name -> (config, model class, output name, extra inputs)."""
    # Weights drawn wider than the 0.02 of a fresh model, so that logits are decisive (at 0.02
    # the top two of 128 often differ by 0.001: a tie, not a test of argmax).
    small = dict(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                 intermediate_size=64, initializer_range=INIT)
    decoder = dict(small, num_key_value_heads=2, max_position_embeddings=64,
                   attn_implementation="eager")
    return {
        "bert": (tf.BertConfig(**small, max_position_embeddings=64, type_vocab_size=2,
                               attn_implementation="eager"),
                 tf.BertForMaskedLM, ["token_type_ids"]),
        "distilbert": (tf.DistilBertConfig(vocab_size=VOCAB, dim=32, n_layers=2, n_heads=4,
                                           hidden_dim=64, max_position_embeddings=64,
                                           initializer_range=INIT, attn_implementation="eager"),
                       tf.DistilBertForMaskedLM, []),
        "gpt2": (tf.GPT2Config(vocab_size=VOCAB, n_embd=32, n_layer=2, n_head=4, n_positions=64,
                               bos_token_id=2, eos_token_id=3, initializer_range=INIT,
                               attn_implementation="eager"),
                 tf.GPT2LMHeadModel, []),
        "llama": (tf.LlamaConfig(**decoder), tf.LlamaForCausalLM, []),
        "qwen2": (tf.Qwen2Config(**decoder), tf.Qwen2ForCausalLM, []),
        "mistral": (tf.MistralConfig(**decoder, sliding_window=None), tf.MistralForCausalLM, []),
        "t5_encoder": (tf.T5Config(vocab_size=VOCAB, d_model=32, d_kv=8, d_ff=64, num_layers=2,
                                   num_heads=4, relative_attention_num_buckets=8,
                                   attn_implementation="eager"),  # T5's own init: std d^-0.5
                       tf.T5EncoderModel, []),
        # Not in the committed set (too large): written only when named.
        "gpt2_real": (tf.GPT2Config(n_layer=2, attn_implementation="eager"),
                      tf.GPT2LMHeadModel, []),
        "roberta": (tf.RobertaConfig(**small, max_position_embeddings=64, pad_token_id=1,
                                     attn_implementation="eager"),
                    tf.RobertaForMaskedLM, []),
    }


def vision_configs(tf):
    return {
        "vit": (tf.ViTConfig(image_size=16, patch_size=4, num_channels=3, hidden_size=32,
                             num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                             num_labels=10, initializer_range=INIT, attn_implementation="eager"),
                tf.ViTForImageClassification, "pixel_values", [1, 3, 16, 16]),
        "whisper_encoder": (tf.WhisperConfig(num_mel_bins=16, d_model=32, encoder_layers=2,
                                             encoder_attention_heads=4, encoder_ffn_dim=64,
                                             decoder_layers=1, decoder_attention_heads=4,
                                             decoder_ffn_dim=64, max_source_positions=8,
                                             vocab_size=VOCAB, pad_token_id=1, bos_token_id=2,
                                             eos_token_id=3, decoder_start_token_id=2,
                                             init_std=INIT, attn_implementation="eager"),
                            None, "input_features", [1, 16, 16]),
    }


def scrub(model):
    model.doc_string = ""
    del model.metadata_props[:]
    for n in model.graph.node:
        n.doc_string = ""
        del n.metadata_props[:]
    for vi in list(model.graph.input) + list(model.graph.output) + list(model.graph.value_info):
        vi.doc_string = ""
        del vi.metadata_props[:]
    return model


def export(torch, onnx, module, args, names, out_names, dynamic, opset, dynamo, folder):
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, "_export.onnx")
    kwargs = dict(input_names=names, output_names=out_names, dynamo=dynamo)
    if opset is not None:
        kwargs["opset_version"] = opset
    if dynamo:
        # torch.export's form of the same axes: the sequence a named dimension; batch left
        # static (a sample of one specializes it, and torch.export refuses a batch Dim then).
        def spec(axes):
            return {a: torch.export.Dim(n, min=2, max=64) for a, n in axes.items()
                    if n != "batch"} or None
        kwargs["dynamic_shapes"] = tuple(spec(dynamic[n]) for n in names)
    else:
        kwargs["dynamic_axes"] = dynamic
    torch.onnx.export(module, args, tmp, **kwargs)
    m = onnx.load(tmp, load_external_data=True)
    for f in os.listdir(folder):
        os.remove(os.path.join(folder, f))
    m = scrub(m)
    assert b"site-packages" not in m.SerializeToString(), "a machine path in the model"
    return m


def flat(a):
    a = np.asarray(a)
    if a.dtype.kind in "iub":
        return [int(v) for v in a.reshape(-1)]
    return [float(np.float32(v)) for v in a.reshape(-1)]


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"))
        f.write("\n")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    only = set(sys.argv[2:])
    import onnx
    import onnxruntime as ort
    import torch
    import transformers as tf

    torch.set_num_threads(1)
    texts, visions = text_configs(tf), vision_configs(tf)
    rng = np.random.default_rng(SEED)
    ids = rng.integers(2, VOCAB, size=(1, T), dtype=np.int64)
    full = np.ones((1, T), dtype=np.int64)
    padded = full.copy()
    padded[0, T - PAD:] = 0
    summary = []

    def entries():
        for name in texts:
            yield name, "text"
        for name in visions:
            yield name, "vision"
        yield "torch_encoder", "torch"

    for name, kind in entries():
        for dynamo in (False, True):
            entry = f"{name}_{'dynamo' if dynamo else 'op17'}"
            if only and name not in only and entry not in only:
                continue
            if name in OPTIONAL and name not in only and entry not in only:
                continue
            t0 = time.time()
            torch.manual_seed(SEED)
            folder = os.path.join(out, entry)
            try:
                if kind == "text":
                    cfg, cls, extra = texts[name]
                    model = cls(cfg).eval()
                    names = ["input_ids", "attention_mask"] + extra

                    class Wrap(torch.nn.Module):
                        def __init__(self, m):
                            super().__init__()
                            self.m = m

                        def forward(self, input_ids, attention_mask, token_type_ids=None):
                            kw = dict(input_ids=input_ids, attention_mask=attention_mask)
                            if token_type_ids is not None:
                                kw["token_type_ids"] = token_type_ids
                            return self.m(**kw, return_dict=False)[0]

                    wrap = Wrap(model).eval()
                    def feeds(mask):
                        f = {"input_ids": ids, "attention_mask": mask}
                        if "token_type_ids" in names:
                            f["token_type_ids"] = np.zeros_like(ids)
                        return f
                    args = tuple(torch.from_numpy(feeds(padded)[n]) for n in names)
                    dyn = {n: {0: "batch", 1: "sequence"} for n in names}
                    out_names = ["logits" if cls.__name__.endswith(("LM", "Model")) and
                                 "Encoder" not in cls.__name__ else "last_hidden_state"]
                    dyn[out_names[0]] = {0: "batch", 1: "sequence"}
                    samples = [feeds(padded), feeds(full)]
                    unmasked = [list(range(T - PAD)), list(range(T))]
                elif kind == "torch":
                    # Our pick: PyTorch's own nn.TransformerEncoder (not transformers), with
                    # the boolean src_key_padding_mask it takes; its export slices a shape
                    # vector empty (legal ONNX).
                    layer = torch.nn.TransformerEncoderLayer(d_model=32, nhead=4,
                                                             dim_feedforward=64, dropout=0.0,
                                                             batch_first=True)
                    encoder = torch.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
                    head = torch.nn.Linear(32, 16)
                    cfg = None

                    class Wrap(torch.nn.Module):
                        def __init__(self):
                            super().__init__()
                            self.encoder, self.head = encoder, head

                        def forward(self, x, padding):
                            return self.head(self.encoder(x, src_key_padding_mask=padding))

                    wrap = model = Wrap().eval()
                    names = ["x", "padding"]
                    x = rng.standard_normal((1, T, 32)).astype(np.float32)
                    pad_mask = (padded == 0)
                    args = (torch.from_numpy(x), torch.from_numpy(pad_mask))
                    dyn = {n: {0: "batch", 1: "sequence"} for n in names}
                    out_names = ["logits"]
                    dyn["logits"] = {0: "batch", 1: "sequence"}
                    samples = [{"x": x, "padding": pad_mask},
                               {"x": x, "padding": np.zeros_like(pad_mask)}]
                    unmasked = [list(range(T - PAD)), list(range(T))]
                else:
                    cfg, cls, in_name, shape = visions[name]
                    if name == "whisper_encoder":
                        model = tf.WhisperModel(cfg).get_encoder().eval()
                    else:
                        model = cls(cfg).eval()

                    class Wrap(torch.nn.Module):
                        def __init__(self, m):
                            super().__init__()
                            self.m = m

                        def forward(self, x):
                            return self.m(x, return_dict=False)[0]

                    wrap = Wrap(model).eval()
                    names = [in_name]
                    x = rng.standard_normal(shape).astype(np.float32)
                    args = (torch.from_numpy(x),)
                    dyn = {in_name: {0: "batch"}}
                    out_names = ["logits" if name == "vit" else "last_hidden_state"]
                    dyn[out_names[0]] = {0: "batch"}
                    samples = [{in_name: x}]
                    unmasked = [None]
                m = export(torch, onnx, wrap, args, names, out_names, dyn,
                           None if dynamo else 17, dynamo, folder)
                opset = next(o.version for o in m.opset_import if o.domain in ("", "ai.onnx"))
                os.makedirs(folder, exist_ok=True)
                path = os.path.join(folder, "model.onnx")
                onnx.save(m, path)
                so = ort.SessionOptions()
                so.intra_op_num_threads = 1
                sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
                in_order = [i.name for i in sess.get_inputs()]
                datas, expected = [], []
                for s in samples:
                    outs = sess.run(None, {n: s[n] for n in in_order})
                    datas.append([flat(s[n]) for n in in_order])
                    expected.append([flat(o) for o in outs])
                    with torch.no_grad():
                        ref = wrap(*(torch.from_numpy(s[n]) for n in names)).numpy()
                    diff = float(np.max(np.abs(ref - outs[0])))
                    assert diff < 1e-3, f"{entry}: onnxruntime is {diff} away from torch"
                write_json(os.path.join(folder, "input.json"), {"input_data": datas[0]})
                write_json(os.path.join(folder, "expected_output.json"),
                           {"output_data": expected[0]})
                write_json(os.path.join(folder, "samples.json"),
                           {"samples": [{"input_data": d} for d in datas],
                            "expected": expected, "unmasked": unmasked})
                ops = sorted({n.op_type for n in m.graph.node})
                write_json(os.path.join(folder, "meta.json"), {
                    "architecture": type(model).__name__,
                    "config": {} if cfg is None else
                              {k: v for k, v in cfg.to_diff_dict().items()
                               if isinstance(v, (int, float, str, bool))},
                    "exporter": f"torch {torch.__version__} torch.onnx.export(dynamo={dynamo}"
                                f"{'' if dynamo else ', opset_version=17'}), "
                                f"transformers {tf.__version__}",
                    "opset": opset,
                    "inputs": [{"name": i.name, "dtype": i.type, "shape": i.shape}
                               for i in sess.get_inputs()],
                    "outputs": [{"name": o.name, "dtype": o.type, "shape": o.shape}
                                for o in sess.get_outputs()],
                    "ops": ops,
                    "nodes": len(m.graph.node),
                    "bytes": os.path.getsize(path),
                })
                summary.append((entry, "ok", f"{len(m.graph.node)} nodes, opset {opset}",
                                time.time() - t0))
            except Exception as e:  # noqa: BLE001 - report every failing export and go on
                summary.append((entry, "FAILED", f"{type(e).__name__}: {str(e)[:200]}",
                                time.time() - t0))
                if os.path.isdir(folder) and not os.listdir(folder):
                    os.rmdir(folder)
            print(f"{summary[-1][0]:28} {summary[-1][1]:7} {summary[-1][3]:6.1f} s  "
                  f"{summary[-1][2]}", flush=True)
    failed = [s for s in summary if s[1] != "ok"]
    print(f"{len(summary) - len(failed)} exported, {len(failed)} failed, "
          f"{sum(s[3] for s in summary):.0f} s")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
