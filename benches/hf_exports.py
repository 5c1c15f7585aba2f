#!/usr/bin/env python3
"""The Hugging Face conformance set (tests/hf-exports, made by scripts/gen_hf_exports.py)
through the CLI: compile at --scale 12 calibrated on samples.json (the padded and the
unpadded sample; the sequence axis fixed by them), setup, prove the padded input.json with the
onnxruntime reference on, verify. Prints one Markdown table: k, layout rows, prove and verify
time, max |proven - onnxruntime| over every output, and whether the proven argmax is
onnxruntime's at every unmasked position (positions where onnxruntime's best two are within
two tolerances are ties, as in tests/tests/hf_exports.rs, and counted apart).

usage: benches/hf_exports.sh [--only SUBSTRING] [--json OUT.json]
"""
import argparse
import json
import os
import shutil
import tempfile

from exports import number, run  # the same CLI helpers as benches/exports.py

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SET = os.path.join(ROOT, "tests", "hf-exports")
ZKINFER = os.path.join(ROOT, "target", "release", "zkinfer")
SCALE = 12


def tolerance(want):
    return 8.0 / (1 << SCALE) + abs(want) / 64.0


def argmax_check(entry, proof):
    """(positions compared, positions whose argmax differs, ties) over the padded sample's
    unmasked positions."""
    s = json.load(open(os.path.join(entry, "samples.json")))
    want = s["expected"][0][0]
    got = json.load(open(proof))["outputs"][0]
    width = int(json.load(open(os.path.join(entry, "meta.json")))["outputs"][0]["shape"][-1])
    rows = len(want) // width
    keep = s["unmasked"][0] if s["unmasked"][0] is not None else list(range(rows))
    compared, differ, ties = 0, 0, 0
    for r in keep:
        w, g = want[r * width:(r + 1) * width], got[r * width:(r + 1) * width]
        best = max(range(width), key=w.__getitem__)
        second = max((w[j] for j in range(width) if j != best), default=float("-inf"))
        if w[best] - second < 2 * tolerance(w[best]):
            ties += 1
            continue
        compared += 1
        differ += max(range(width), key=g.__getitem__) != best
    return compared, differ, ties


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="")
    ap.add_argument("--json")
    args = ap.parse_args()
    names = sorted(n for n in os.listdir(SET) if args.only in n)
    rows = []
    print("| model | k | rows | prove (s) | verify (ms) | max \\|proven − onnxruntime\\| | argmax as onnxruntime's (unmasked positions) |")
    print("|---|---|---|---|---|---|---|")
    for name in names:
        entry = os.path.join(SET, name)
        work = tempfile.mkdtemp(prefix="zkinfer-hf-")
        zkc, keys, proof = (os.path.join(work, n) for n in ("model.zkc", "keys", "proof.json"))
        r = {"model": name}
        try:
            out = run([ZKINFER, "compile", os.path.join(entry, "model.onnx"), "-o", zkc,
                       "--calibrate", os.path.join(entry, "samples.json"), "--scale", str(SCALE)])
            r["k"] = number(r", k = (\d+)", out, int)
            r["rows"] = number(r", rows = (\d+)", out, int)
            run([ZKINFER, "setup", zkc, "-o", keys])
            out = run([ZKINFER, "prove", zkc, "--keys", keys, "--input",
                       os.path.join(entry, "input.json"), "-o", proof])
            r["prove_s"] = number(r"proved in ([\d.]+) ms", out) / 1e3
            r["err"] = number(r"max \|proven - onnxruntime\| = ([\d.e-]+)", out)
            out = run([ZKINFER, "verify", "--keys", keys, "--proof", proof])
            r["verify_ms"] = number(r"verified in ([\d.]+) ms", out)
            compared, differ, ties = argmax_check(entry, proof)
            r.update(compared=compared, differ=differ, ties=ties)
            verdict = "yes" if differ == 0 else f"**{differ} differ**"
            print(f"| {name} | {r['k']} | {r['rows']} | {r['prove_s']:.2f} | {r['verify_ms']:.1f} | "
                  f"{r['err']:.3g} | {verdict} ({compared} compared, {ties} ties) |", flush=True)
        except (RuntimeError, TypeError) as e:
            r["error"] = str(e)
            print(f"| {name} | failed: {e} | | | | | |", flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        rows.append(r)
    if args.json:
        json.dump(rows, open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()
