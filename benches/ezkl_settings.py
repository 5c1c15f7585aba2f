#!/usr/bin/env python3
"""Whether EZKL (the .venv's, 23.0.5) can set up a corpus model at all: gen_settings with
public input and output and fixed parameters, then calibrate_settings("resources"), at each
scale given; prints the k (logrows) it asks for or its error. For models too large or too
unusual for a full side-by-side run (benches/compare_ezkl.sh).

usage: .venv/bin/python benches/ezkl_settings.py exports/gpt2_tiny_op17[,...] [--scales 7,4,1]
       [--finite-mask V]  (on a copy whose float constants <= -1e30 are V: compare_ezkl.py)
"""
import argparse
import asyncio
import inspect
import json
import os
import tempfile
import time

import ezkl

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "..", "shared", "corpus")


def call(f, *a, **k):
    r = f(*a, **k)
    return asyncio.run(r) if inspect.isawaitable(r) else r


def attempt(model, scale, mask=None):
    d = os.path.join(CORPUS, model)
    if mask is not None:
        from compare_ezkl import finite_mask
        d = finite_mask(d, mask)
    settings = os.path.join(tempfile.mkdtemp(prefix="ezkl-settings-"), "settings.json")
    args = ezkl.PyRunArgs()
    args.input_visibility, args.output_visibility, args.param_visibility = "public", "public", "fixed"
    args.input_scale = args.param_scale = scale
    t = time.time()
    try:
        call(ezkl.gen_settings, os.path.join(d, "model.onnx"), settings, py_run_args=args)
        call(ezkl.calibrate_settings, os.path.join(d, "input.json"), os.path.join(d, "model.onnx"),
             settings, "resources")
    except Exception as e:  # EZKL raises RuntimeError with its reason
        return f"refused: {str(e).splitlines()[0]}"
    s = json.load(open(settings))
    return f"k = {s['run_args']['logrows']} ({time.time() - t:.0f} s)"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("models")
    ap.add_argument("--scales", default="7,4,1")
    ap.add_argument("--finite-mask", type=float)
    a = ap.parse_args()
    print(f"| model | scale | EZKL {ezkl.__version__} |")
    print("|---|---|---|")
    for m in a.models.split(","):
        for s in (int(x) for x in a.scales.split(",")):
            print(f"| {m} | 2^-{s} | {attempt(m, s, a.finite_mask)} |", flush=True)


if __name__ == "__main__":
    main()
