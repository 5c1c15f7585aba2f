#!/usr/bin/env python3
"""The Python API against the CLI on the same models: a long-lived `zkinfer.Prover` (key and
SRS loaded once) proving request after request, against `zkinfer prove` per request (a new
process loading both each time), and `zkinfer.verify` against `zkinfer verify`. Medians.

usage: .venv/bin/python benches/python.py [--reps N]   (after `pip install ./python`)
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

import zkinfer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "..", "shared", "corpus")
ZKINFER = os.path.join(ROOT, "target", "release", "zkinfer")
MODELS = ["sklearn/mlp2_relu_digits_stdops", "cnn/lenet_digits"]


def cli(*args):
    t = time.perf_counter()
    subprocess.run([ZKINFER, *args], check=True, capture_output=True)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()
    print("| model | k | Prover.prove (s) | `zkinfer prove` (s) | zkinfer.verify (ms) | `zkinfer verify` (ms) | Prover load (s) |")
    print("|---|---|---|---|---|---|---|")
    for m in MODELS:
        case = os.path.join(CORPUS, m)
        inp = os.path.join(case, "input.json")
        work = tempfile.mkdtemp(prefix="zkinfer-pybench-")
        zkc, keys, proof = (os.path.join(work, n) for n in ("m.zkc", "keys", "proof.json"))
        info = zkinfer.compile(os.path.join(case, "model.onnx"), zkc, input=inp)
        zkinfer.setup(zkc, keys)
        t = time.perf_counter()
        prover = zkinfer.Prover(zkc, keys)
        load = time.perf_counter() - t
        x = json.load(open(inp))["input_data"]
        py_prove, py_verify = [], []
        for _ in range(a.reps):
            t = time.perf_counter()
            p = prover.prove(x, reference=False)
            py_prove.append(time.perf_counter() - t)
            t = time.perf_counter()
            zkinfer.verify(keys, p)
            py_verify.append((time.perf_counter() - t) * 1e3)
        p.save(proof)
        cli_prove = [cli("prove", zkc, "--keys", keys, "--input", inp, "-o", proof, "--no-reference")
                     for _ in range(a.reps)]
        cli_verify = [cli("verify", "--keys", keys, "--proof", proof) * 1e3 for _ in range(a.reps)]
        med = statistics.median
        print(f"| {m.split('/')[-1]} | {info['k']} | {med(py_prove):.3f} | {med(cli_prove):.3f} | "
              f"{med(py_verify):.1f} | {med(cli_verify):.1f} | {load:.3f} |", flush=True)


if __name__ == "__main__":
    main()
