#!/usr/bin/env python3
"""Every model of the corpus `exports` suite (decoders aside unless --decoders) through the
CLI: compile calibrated on inputs_batch.json (as a model publisher would), setup, prove its
input.json with the onnxruntime reference on, verify. Prints one Markdown table: k, layout
rows, prove and verify time, proof size, max |proven - onnxruntime|.

usage: benches/exports.sh [--only SUBSTRING] [--decoders] [--json OUT.json]
(EZKL side by side: benches/compare_ezkl.sh --model exports/NAME[,exports/NAME...])
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPORTS = os.path.join(ROOT, "..", "shared", "corpus", "exports")
ZKINFER = os.path.join(ROOT, "target", "release", "zkinfer")


# Models compiled at a fixed scale because the finest free one is too coarse (the reasons are
# in tests/tests/exports.rs, `fixed_scale`, and tests/tests/decoders.rs, `DECODER_SCALE`).
FIXED_SCALE = {"act_zoo_mlp": 13, "gpt2_tiny": 13, "llama_tiny": 13}


def fixed_scale(name):
    return next((["--scale", str(s)] for prefix, s in FIXED_SCALE.items() if name.startswith(prefix)), [])


def run(args):
    p = subprocess.run(args, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:2])}: {p.stderr.strip().splitlines()[-1:]}")
    return p.stdout + p.stderr


def timed(args):
    """`run` under /usr/bin/time: (output, peak resident MiB or None)."""
    if not os.path.exists("/usr/bin/time"):
        return run(args), None
    out = run(["/usr/bin/time", "-f", "peak-rss-kb %M"] + args)
    kb = number(r"peak-rss-kb (\d+)", out, int)
    return out, kb / 1024 if kb else None


def next_token(entry, proof):
    """For a decoder: whether the proven next token (argmax of the last position's logits)
    is onnxruntime's (expected_output.json), or None for other models."""
    if not os.path.exists(os.path.join(entry, "meta.json")):
        return None
    meta = json.load(open(os.path.join(entry, "meta.json")))
    vocab = meta.get("architecture", {}).get("vocab_size")
    if not vocab:
        return None
    got = json.load(open(proof))["outputs"][0][-vocab:]

    def flat(v):
        return [x for item in v for x in flat(item)] if isinstance(v, list) else [v]

    want = flat(json.load(open(os.path.join(entry, "expected_output.json")))["output_data"])[-vocab:]
    return max(range(vocab), key=got.__getitem__) == max(range(vocab), key=want.__getitem__)


def number(pattern, text, cast=float):
    m = re.search(pattern, text)
    return cast(m.group(1)) if m else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="")
    ap.add_argument("--decoders", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args()
    names = sorted(n for n in os.listdir(EXPORTS) if args.only in n)
    if not args.decoders:
        names = [n for n in names if not n.startswith(("gpt2", "llama"))]
    rows = []
    print("| model | k | rows | prove (s) | peak memory (MiB) | verify (ms) | proof (B) | max \\|proven − onnxruntime\\| | next token as onnxruntime's |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in names:
        entry = os.path.join(EXPORTS, name)
        work = tempfile.mkdtemp(prefix="zkinfer-exports-")
        zkc, keys, proof = (os.path.join(work, n) for n in ("model.zkc", "keys", "proof.json"))
        batch = os.path.join(entry, "inputs_batch.json")
        calib = ["--calibrate", batch] if os.path.exists(batch) else ["--input", os.path.join(entry, "input.json")]
        r = {"model": name}
        try:
            out = run([ZKINFER, "compile", os.path.join(entry, "model.onnx"), "-o", zkc] + calib + fixed_scale(name))
            r["k"] = number(r", k = (\d+)", out, int)
            r["rows"] = number(r", rows = (\d+)", out, int)
            run([ZKINFER, "setup", zkc, "-o", keys])
            out, r["peak_mib"] = timed([ZKINFER, "prove", zkc, "--keys", keys, "--input", os.path.join(entry, "input.json"), "-o", proof])
            r["next_token"] = next_token(entry, proof)
            r["prove_s"] = number(r"proved in ([\d.]+) ms", out) / 1e3
            r["err"] = number(r"max \|proven - onnxruntime\| = ([\d.e-]+)", out)
            r["proof_bytes"] = number(r"\((\d+) bytes\)", out, int)
            out = run([ZKINFER, "verify", "--keys", keys, "--proof", proof])
            r["verify_ms"] = number(r"verified in ([\d.]+) ms", out)
            peak = f"{r['peak_mib']:.0f}" if r["peak_mib"] else "n/a"
            token = {None: "", True: "yes", False: "**no**"}[r["next_token"]]
            print(f"| {name} | {r['k']} | {r['rows']} | {r['prove_s']:.2f} | {peak} | {r['verify_ms']:.1f} | "
                  f"{r['proof_bytes']} | {r['err']:.3g} | {token} |", flush=True)
        except RuntimeError as e:
            r["error"] = str(e)
            print(f"| {name} | failed: {e} | | | | | | | |", flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)  # proving keys of k = 20 take gigabytes
        rows.append(r)
    if args.json:
        json.dump(rows, open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()
