"""The driver of examples/ray_cluster.sh: LeNet in three shards on a running Ray cluster.

It proves N requests through a ShardPipeline (one actor per shard, spread over the worker
nodes), prints each shard's latency and the pipeline's throughput against proving the
unsharded model in this one process, then runs N more requests and kills a worker node
(a process group) while they are in flight: every request must still complete, once, with
its chain verified.
"""

import argparse
import json
import os
import signal
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import ray

import zkinfer
from zkinfer.ray import ShardPipeline

ROOT = Path(__file__).resolve().parents[1]
LENET = ROOT / ".." / "shared" / "corpus" / "cnn" / "lenet_digits"


def prepare(work: Path):
    """LeNet compiled, split in three and set up (reused when already there)."""
    work.mkdir(parents=True, exist_ok=True)
    model, keys = work / "lenet.zkc", work / "lenet-keys"
    if not (keys / "bundle.bin").exists():
        zkinfer.compile(LENET / "model.onnx", model, input=LENET / "input.json")
        zkinfer.setup(model, keys)
    paths = [work / "shards" / f"shard-{i}.zkc" for i in range(3)]
    key_dirs = [work / f"shard-keys-{i}" for i in range(3)]
    if not all((k / "bundle.bin").exists() for k in key_dirs):
        paths = [Path(p) for p in zkinfer.split(model, work / "shards", shards=3)]
        for p, k in zip(paths, key_dirs):
            zkinfer.setup(p, k)
    return (model, keys), [str(p) for p in paths], [str(k) for k in key_dirs]


def requests(n: int):
    batch = json.loads((LENET / "inputs_batch.json").read_text())["samples"]
    return [np.asarray(batch[i % len(batch)], dtype=np.float32) for i in range(n)]


def run(pipe: ShardPipeline, reqs, kill_pgid=None, kill_after=1):
    """Submits every request at once and collects them in order; with `kill_pgid`, kills
    that process group once `kill_after` requests are back."""
    started = time.perf_counter()
    pending = [pipe.submit(i, r) for i, r in enumerate(reqs)]
    results = []
    for i, refs in enumerate(pending):
        results.append(pipe.collect(i, refs, started))
        if kill_pgid is not None and len(results) == kill_after:
            print(f"  killing worker node (process group {kill_pgid}) with "
                  f"{len(reqs) - kill_after} requests in flight", flush=True)
            os.killpg(kill_pgid, signal.SIGKILL)
    return results, time.perf_counter() - started


def report(results, wall, label):
    print(f"{label}: {len(results)} requests in {wall:.2f} s, "
          f"throughput {len(results) / wall:.2f} proofs/s (chains)")
    shards = len(results[0].timings)
    print("  shard  median prove  max prove  nodes")
    for s in range(shards):
        secs = [r.timings[s]["seconds"] for r in results]
        nodes = sorted({r.timings[s]["node"][:8] for r in results})
        print(f"  {s:>5}  {statistics.median(secs):>10.3f} s  {max(secs):>7.3f} s  {', '.join(nodes)}")
    lat = [r.latency_seconds for r in results]
    ver = [r.verify_seconds * 1e3 for r in results]
    print(f"  request latency: median {statistics.median(lat):.2f} s, max {max(lat):.2f} s "
          f"(all submitted at once); chain verify median {statistics.median(ver):.1f} ms")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--address", required=True)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--requests", type=int, default=8)
    ap.add_argument("--kill-pgid", type=int, help="process group of the worker node to kill")
    a = ap.parse_args()

    whole, paths, key_dirs = prepare(a.work)
    reqs = requests(a.requests)

    # The baseline: the unsharded model, proven request after request in this process.
    prover = zkinfer.Prover(*whole)
    t = time.perf_counter()
    baseline = [prover.prove([r], reference=False).outputs[0] for r in reqs]
    one = time.perf_counter() - t
    print(f"one process, unsharded: {len(reqs)} requests in {one:.2f} s, "
          f"throughput {len(reqs) / one:.2f} proofs/s, {one / len(reqs):.2f} s each")

    ray.init(address=a.address, log_to_driver=False)
    nodes = [n for n in ray.nodes() if n["Alive"]]
    print(f"cluster: {len(nodes)} nodes, {ray.cluster_resources().get('CPU', 0):.0f} CPUs")
    pipe = ShardPipeline(paths, key_dirs, num_cpus=1, scheduling_strategy="SPREAD",
                         max_restarts=-1, max_task_retries=-1)
    for p in pipe.placement:
        print(f"  shard {p['shard']}: node {p['node'][:8]}, pid {p['pid']}, "
              f"keys loaded in {p['load_seconds']:.2f} s")

    results, wall = run(pipe, reqs)
    report(results, wall, "pipeline, 3 shards")
    print(f"  pipeline / one process throughput: {one / wall:.2f}x")
    for r, b in zip(results, baseline):
        if not np.allclose(r.outputs[0], b, atol=1e-6):
            print(f"request {r.request}: sharded output differs from the unsharded one")
            return 1

    if a.kill_pgid is not None:
        results, wall = run(pipe, reqs, kill_pgid=a.kill_pgid)
        report(results, wall, "pipeline with a worker node killed")
        ok = [r.request for r in results] == list(range(len(reqs))) and all(
            [t["request"] for t in r.timings] == [r.request] * 3 for r in results)
        same = all(np.allclose(r.outputs[0], b, atol=1e-6) for r, b in zip(results, baseline))
        dead = {n["NodeID"] for n in ray.nodes() if not n["Alive"]}
        moved = [p["shard"] for p in pipe.placement if p["node"] in dead]
        print(f"  node killed: {', '.join(d[:8] for d in dead) or 'none noticed'}, which held "
              f"shard(s) {moved}; every request completed once and its chain verified: {ok}; "
              f"outputs equal the unsharded ones: {same}")
        ok = ok and bool(moved)
        if not (ok and same):
            return 1
    pipe.shutdown()
    print("all chains verified")
    return 0


if __name__ == "__main__":
    sys.exit(main())
