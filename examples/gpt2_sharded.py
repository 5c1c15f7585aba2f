#!/usr/bin/env python3
"""A decoder proven as a network would prove it: one shard per node, one process per node,
files between them, the client verifying the chain.

The model is split with `zkinfer split --at` into the embedding, one shard per transformer
block, and the final LayerNorm with the LM head. Node i runs `zkinfer prove` on its shard
from the activations file node i-1 wrote, and writes its own; the client runs
`zkinfer verify-chain` over every proof and compares the chain's logits with the unsharded
model's integer reference (`zkinfer prove` of the whole model). Prints, per node, the shard's
k and rows, prove time, peak memory and proof size, then the chain's verify time.

With --full DIR, the model is GPT-2 small as scripts/gen_gpt2_full.py writes it (DIR/gpt2-L:
token ids in, next token out): one node per embedding slice, per block and per LM-head slice.
Each node then sets up its own shard just before proving (a network's node holds its own keys
only; all of GPT-2 small's proving keys at once would take 70 GB of disk) and keeps only the
verifying key for the client. No unsharded proof (k = 23), and the chain's next token is
compared with onnxruntime's.

With --concurrent, the nodes run at once, as in a network: node i starts as soon as node i-1
has written its activations file (`prove` writes it before proving), and the wall time of the
whole chain is printed next to the nodes' times summed.

usage: python3 examples/gpt2_sharded.py [--model exports/gpt2_tiny_op17] [--blocks 2]
       [--scale 13] [--work DIR] [--no-whole] [--concurrent]
       python3 examples/gpt2_sharded.py --full target/gpt2-full/gpt2-12 [--scale 12]
       [--max-shift 19] [--work DIR]
(the corpus's tiny GPT-2 by default; any GPT-2 export whose nodes are named
/lm/transformer/h.N/... as transformers' exporter writes them)
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "..", "shared", "corpus")
ZKINFER = os.path.join(ROOT, "target", "release", "zkinfer")


# Wraps a timed command to report its peak memory (see `peak_mib`).
TIMED = ["/usr/bin/time", "-f", "peak-rss-kb %M"] if os.path.exists("/usr/bin/time") else []


def peak_mib(out):
    """The peak RSS, in MiB, that TIMED printed into a command's output."""
    m = re.search(r"peak-rss-kb (\d+)", out)
    return int(m.group(1)) / 1024 if m else None


def run(args, timed=False):
    """Runs a zkinfer command in its own process: (output, seconds, peak RSS MiB)."""
    t = time.perf_counter()
    p = subprocess.run((TIMED if timed else []) + [ZKINFER] + args, capture_output=True, text=True)
    secs = time.perf_counter() - t
    out = p.stdout + p.stderr
    if p.returncode != 0:
        sys.exit(f"zkinfer {args[0]} failed:\n{out}")
    return out, secs, peak_mib(out)


def run_concurrently(nodes):
    """Runs the nodes' `prove` commands as a network would, each in its own process: node i
    starts as soon as node i-1 has written its activations file, which `prove` does before
    proving. Returns, per node, (output, seconds, peak RSS MiB), and the wall time of all."""
    started, procs, heads = time.perf_counter(), [], []
    for i, args in enumerate(nodes):
        p = subprocess.Popen(TIMED + [ZKINFER] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
        procs.append((p, time.perf_counter()))
        head = []
        if i + 1 < len(nodes):
            for line in p.stdout:
                head.append(line)
                if line.startswith("activations for the next node written"):
                    break
            else:
                sys.exit(f"node {i} ended without handing on its activations:\n{''.join(head)}")
        heads.append(head)
    results = []
    for (p, t), head in zip(procs, heads):
        out = "".join(head) + p.communicate()[0]
        secs = time.perf_counter() - t
        if p.returncode != 0:
            sys.exit(f"zkinfer {nodes[len(results)][0]} failed:\n{out}")
        results.append((out, secs, peak_mib(out)))
    return results, time.perf_counter() - started


def block_ends(zkc, blocks):
    """Cut points: after the embedding, then after each block's last node."""
    out, _, _ = run(["split", zkc, "--list"])
    names = [line.split()[1] for line in out.splitlines() if line.startswith("#")]
    cuts = [max((n for n in names if re.fullmatch(r".*/transformer/Add", n)), key=names.index)]
    for b in range(blocks):
        mine = [n for n in names if f"/h.{b}/" in n]
        cuts.append(max(mine, key=names.index))
    return cuts


def verify_chain(w, n):
    """The client: every proof with its shard's keys, and every hand-off."""
    links = []
    for i in range(n):
        links += ["--keys", w(f"keys-{i}"), "--proof", w(f"proof-{i}.json")]
    out, secs, _ = run(["verify-chain"] + links)
    inner = re.search(r"verified in ([\d.]+) ms", out).group(1)
    print(f"client: chain of {n} proofs VALID, verified in {inner} ms ({secs:.2f} s with process start)")


def full_cuts(layers, slices):
    """gen_gpt2_full.py's shards: the node each ends with (slice 0's sum with the position
    embedding is its product's bias, so it ends with its Gather), and its role."""
    cuts, roles = [], []
    for s in range(slices):
        cuts.append("/wte.0/Gather" if s == 0 else f"/wte.{s}/Add")
        roles.append(f"embedding slice {s}")
    for b in range(layers):
        cuts.append(f"/h.{b}/Add_1")
        roles.append(f"block {b}")
    for s in range(slices):
        cuts.append(f"/lm.{s}/Max")
        roles.append(("ln_f + " if s == 0 else "") + f"LM head slice {s}")
    return cuts[:-1], roles


def full(a):
    """GPT-2 small from token ids to the next token, one node per shard (see --full)."""
    meta = json.load(open(os.path.join(a.full, "meta.json")))
    os.makedirs(a.work, exist_ok=True)
    w = lambda *p: os.path.join(a.work, *p)  # noqa: E731
    inputs = os.path.join(a.full, "input.json")
    if not os.path.exists(w("model.zkc")):
        run(["compile", os.path.join(a.full, "model.onnx"), "-o", w("model.zkc"), "--input", inputs,
             "--scale", str(a.scale), "--max-shift", str(a.max_shift)])
    cuts, roles = full_cuts(meta["layers"], meta["slices"])
    out, _, _ = run(["split", w("model.zkc"), "--at", ",".join(cuts), "-o", w("shards")])
    plan = {int(m.group(1)): (int(m.group(2)), int(m.group(3))) for m in
            re.finditer(r"^\s*(\d+)\s+#\S+ \(.*?\)\s+(\d+)\s+(\d+)", out, re.M)}
    n = len(roles)
    print(f"GPT-2 ({meta['layers']} blocks, {meta['slices']} vocabulary slices): {n} nodes")
    print("| node | shard | k | rows | setup (s) | prove (s) | peak memory (MiB) | proof (B) |")
    print("|---|---|---|---|---|---|---|---|")
    for i in range(n):
        shard = w("shards", f"shard-{i}.zkc")
        setup = ["setup", shard, "-o", w(f"keys-{i}")]
        _, setup_secs, _ = run(setup + (["--precompute-cosets"] if a.precompute_cosets else []))
        args = ["prove", shard, "--keys", w(f"keys-{i}"), "-o", w(f"proof-{i}.json"), "--no-reference"]
        args += ["--input", inputs] if i == 0 else ["--input-activations", w(f"acts-{i - 1}.json")]
        if i + 1 < n:
            args += ["--output-activations", w(f"acts-{i}.json")]
        out, secs, peak = run(args, timed=True)
        # The node keeps its proving key to itself; the client gets the rest.
        os.remove(w(f"keys-{i}", "pk.bin"))
        if a.precompute_cosets:
            os.remove(w(f"keys-{i}", "pk.cosets"))
        size = int(re.search(r"\((\d+) bytes\)", out).group(1))
        k, rows = plan.get(i, ("?", "?"))
        print(f"| {i} | {roles[i]} | {k} | {rows} | {setup_secs:.0f} | {secs:.1f} | {peak:.0f} | {size} |",
              flush=True)
    verify_chain(w, n)
    token = json.load(open(w(f"proof-{n - 1}.json")))["outputs"][0][0]
    want = json.load(open(os.path.join(a.full, "expected_output.json")))["output_data"][0][0]
    print(f"next token: proven {int(token)}, onnxruntime {int(want)}")
    return 0 if int(token) == int(want) else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="exports/gpt2_tiny_op17")
    ap.add_argument("--blocks", type=int, default=2)
    ap.add_argument("--scale", type=int, default=13)
    ap.add_argument("--full", help="a model folder written by scripts/gen_gpt2_full.py")
    ap.add_argument("--max-shift", type=int, default=19, help="with --full: compile's --max-shift")
    ap.add_argument("--precompute-cosets", action="store_true",
                    help="with --full: each node sets up with `setup --precompute-cosets`, as a node that "
                         "proves its shard many times would (a block's pk.cosets is 7.5 GB)")
    ap.add_argument("--work", default=os.path.join(ROOT, "target", "gpt2-sharded"))
    ap.add_argument("--no-whole", action="store_true", help="skip the unsharded proof")
    ap.add_argument("--concurrent", action="store_true",
                    help="run the nodes at once: each starts when the previous one has handed on its activations")
    a = ap.parse_args()
    if a.full:
        return full(a)
    entry = os.path.join(CORPUS, a.model)
    os.makedirs(a.work, exist_ok=True)
    w = lambda *p: os.path.join(a.work, *p)  # noqa: E731

    # The model publisher: compile, split, one key set per shard.
    batch = os.path.join(entry, "inputs_batch.json")
    run(["compile", os.path.join(entry, "model.onnx"), "-o", w("model.zkc"),
         "--calibrate", batch, "--scale", str(a.scale)])
    cuts = block_ends(w("model.zkc"), a.blocks)
    out, _, _ = run(["split", w("model.zkc"), "--at", ",".join(cuts), "-o", w("shards")])
    plan = {}
    for line in out.splitlines():
        m = re.match(r"\s*(\d+)\s+#\S+ \(.*?\)\s+(\d+)\s+(\d+)", line)
        if m:
            plan[int(m.group(1))] = (int(m.group(2)), int(m.group(3)))
    n = len(cuts) + 1
    for i in range(n):
        run(["setup", w("shards", f"shard-{i}.zkc"), "-o", w(f"keys-{i}")])

    # The nodes: each proves its shard in its own process and hands on a file.
    print(f"{a.model}: {n} shards (embedding, {a.blocks} blocks, final LayerNorm + LM head)")
    print("| node | shard | k | rows | prove (s) | peak memory (MiB) | proof (B) |")
    print("|---|---|---|---|---|---|---|")
    roles = ["embedding"] + [f"block {b}" for b in range(a.blocks)] + ["ln_f + lm_head"]
    nodes = []
    for i in range(n):
        args = ["prove", w("shards", f"shard-{i}.zkc"), "--keys", w(f"keys-{i}"), "-o", w(f"proof-{i}.json")]
        args += ["--input", os.path.join(entry, "input.json")] if i == 0 else ["--input-activations", w(f"acts-{i - 1}.json")]
        if i + 1 < n:
            args += ["--output-activations", w(f"acts-{i}.json")]
        nodes.append(args)
    if a.concurrent:
        results, wall = run_concurrently(nodes)
    else:
        started = time.perf_counter()
        results = []
        for args in nodes:
            results.append(run(args, timed=True))
        wall = time.perf_counter() - started
    for i, (out, secs, peak) in enumerate(results):
        size = int(re.search(r"\((\d+) bytes\)", out).group(1))
        k, rows = plan.get(i, ("?", "?"))
        print(f"| {i} | {roles[i]} | {k} | {rows} | {secs:.1f} | {peak:.0f} | {size} |", flush=True)
    how = "at once, each node starting on the previous one's activations" if a.concurrent else "one after another"
    print(f"the {n} nodes proved {how}: {wall:.1f} s wall time (their times summed: "
          f"{sum(r[1] for r in results):.1f} s)")

    # The client: every proof and every hand-off, then the logits.
    verify_chain(w, n)
    chain = json.load(open(w(f"proof-{n - 1}.json")))["outputs"][0]
    if not a.no_whole:
        run(["setup", w("model.zkc"), "-o", w("keys-whole")])
        out, secs, peak = run(["prove", w("model.zkc"), "--keys", w("keys-whole"), "--input",
                               os.path.join(entry, "input.json"), "-o", w("proof-whole.json"),
                               "--no-reference"], timed=True)
        whole = json.load(open(w("proof-whole.json")))["outputs"][0]
        same = whole == chain
        print(f"unsharded: proved in {secs:.1f} s, peak {peak:.0f} MiB; the chain's logits "
              f"{'equal' if same else 'DIFFER from'} the unsharded proof's")
        if not same:
            return 1
    vocab = json.load(open(os.path.join(entry, "meta.json")))["architecture"]["vocab_size"]
    last = chain[-vocab:]
    print(f"next token: {max(range(vocab), key=last.__getitem__)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
