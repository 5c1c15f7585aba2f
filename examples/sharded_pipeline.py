#!/usr/bin/env python3
"""A three-node proving pipeline, as a decentralized network would run it.

The model publisher compiles a corpus model, splits it into three shards and runs `setup` per
shard. Each node is a separate `zkinfer prove` process in its own directory that receives only
files: its shard, its keys, and the activations file the node before it wrote (the first node
takes the ordinary input). The client receives only the verifier bundles and the proofs and runs
`zkinfer verify-chain`. The unsharded model is proved too, for comparison.

Prints, per node, the prove time (median of --repeat runs), the peak memory of the prove
process (max RSS, os.wait4) and the proof size, next to the unsharded proof's; and checks that
the chain's output equals the unsharded output exactly.

    python3 examples/sharded_pipeline.py [--model sklearn/mlp2_relu_digits_stdops] [--shards 3]
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / ".." / "shared" / "corpus"


def run_measured(cmd, cwd=None):
    """Runs cmd in its own process, reaping it so that its max RSS is its own; returns
    (output, wall seconds, peak RSS in MiB)."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = p.stdout.read().decode()
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    if status != 0:
        sys.exit(f"failed: {' '.join(map(str, cmd))}\n{out}")
    return out, wall, usage.ru_maxrss / 1024


def proof_bytes(path):
    return (len(json.loads(Path(path).read_text())["proof"]) - 2) // 2


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="sklearn/mlp2_relu_digits_stdops",
                    help="a corpus entry, or a directory holding model.onnx and input.json")
    ap.add_argument("--shards", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--zkinfer", default=None, help="the zkinfer binary (default: build release)")
    ap.add_argument("--work", default=str(ROOT / "target" / "pipeline"))
    a = ap.parse_args()

    z = a.zkinfer
    if z is None:
        subprocess.run(["cargo", "build", "--release", "--bin", "zkinfer"], cwd=ROOT, check=True)
        z = str(ROOT / "target" / "release" / "zkinfer")
    z = str(Path(z).resolve())
    # A corpus entry, or a directory of one's own with model.onnx and input.json.
    src = Path(a.model) if Path(a.model).is_dir() else CORPUS / a.model
    work = Path(a.work) / str(a.model).strip("/").replace("/", "_")
    shutil.rmtree(work, ignore_errors=True)
    pub, client = work / "publisher", work / "client"
    pub.mkdir(parents=True)
    client.mkdir()
    inp = src / "input.json"

    # The model publisher: compile, keys for the whole model, split, keys per shard.
    run_measured([z, "compile", src / "model.onnx", "-o", pub / "model.zkc", "--input", inp])
    run_measured([z, "setup", pub / "model.zkc", "-o", pub / "keys"])
    out, _, _ = run_measured([z, "split", pub / "model.zkc", "--shards", str(a.shards), "-o", pub])
    print(out)
    for i in range(a.shards):
        run_measured([z, "setup", pub / f"shard-{i}.zkc", "-o", pub / f"keys-{i}"])

    # The unsharded proof, for comparison.
    whole = []
    for _ in range(a.repeat):
        whole.append(run_measured([z, "prove", pub / "model.zkc", "--keys", pub / "keys",
                                   "--input", inp, "-o", pub / "proof.json", "--no-reference"]))

    # The nodes: separate processes, separate directories, files only.
    rows = []
    for i in range(a.shards):
        node = work / f"node-{i}"
        node.mkdir()
        shutil.copy(pub / f"shard-{i}.zkc", node / "shard.zkc")
        shutil.copytree(pub / f"keys-{i}", node / "keys")
        cmd = [z, "prove", "shard.zkc", "--keys", "keys", "-o", "proof.json"]
        if i == 0:
            shutil.copy(inp, node / "input.json")
            cmd += ["--input", "input.json"]
        else:
            shutil.copy(work / f"node-{i - 1}" / "activations.json", node / "prev.json")
            cmd += ["--input-activations", "prev.json"]
        if i + 1 < a.shards:
            cmd += ["--output-activations", "activations.json"]
        runs = [run_measured(cmd, cwd=node) for _ in range(a.repeat)]
        k = json.loads((node / "shard.zkc").read_text())["settings"]["k"]
        rows.append((f"node {i}", k, runs, proof_bytes(node / "proof.json")))
        shutil.copy(node / "proof.json", client / f"proof-{i}.json")
        shutil.copytree(node / "keys", client / f"keys-{i}", ignore=shutil.ignore_patterns("pk.bin"))

    # The client: bundles and proofs only.
    args = [z, "verify-chain"]
    for i in range(a.shards):
        args += ["--keys", f"keys-{i}", "--proof", f"proof-{i}.json"]
    out, _, _ = run_measured(args, cwd=client)
    print(out.strip())

    last = json.loads((client / f"proof-{a.shards - 1}.json").read_text())["outputs"]
    ref = json.loads((pub / "proof.json").read_text())["outputs"]
    same = last == ref
    print(f"chain output equals the unsharded output exactly: {same}")

    wk = json.loads((pub / "model.zkc").read_text())["settings"]["k"]
    med = lambda runs, j: statistics.median(r[j] for r in runs)
    print()
    print(f"| {a.model}, {a.shards} shards | k | prove (median of {a.repeat}) | peak memory | proof |")
    print("|---|---|---|---|---|")
    print(f"| unsharded | {wk} | {med(whole, 1):.2f} s | {med(whole, 2):.0f} MiB | "
          f"{proof_bytes(pub / 'proof.json')} B |")
    for name, k, runs, size in rows:
        print(f"| {name} | {k} | {med(runs, 1):.2f} s | {med(runs, 2):.0f} MiB | {size} B |")
    slowest = max(med(r, 1) for _, _, r, _ in rows)
    print(f"\nslowest node / unsharded prove time: {slowest / med(whole, 1):.2f}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
