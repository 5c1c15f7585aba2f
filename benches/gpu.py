#!/usr/bin/env python3
"""CPU against GPU proving, one table: run by benches/gpu.sh (which builds or finds the
binary). For each model: compile, setup, prove with --backend cpu and --backend cuda, verify
every proof with the CPU verifier (`zkinfer verify`), one GPU proof also in the EVM
(`verify-evm`); then one profiled GPU proof of the largest circuit (CUDA_LAUNCH_BLOCKING=1)
splits its time into witness generation, MSM, NTT and the quotient.

Models: mlp2_relu_digits_stdops (compiled --evm), lenet_digits, tiny_block_op17 (two-phase:
Freivalds; the CUDA prover refuses it), and synthetic dense MLPs (benches/gpu_mlp.py) sized to
k = 18, 20 and 22 (--quick: up to 20; --max-k caps them, and below 18 one synthetic model at
--max-k is kept, so that CI runs every path on 2 cores).

Prints a Markdown table and writes it as JSON (--json). Exits 1 when a proof that was made does
not verify, or a step fails other than by the CUDA prover's documented refusal.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS_MODELS = [
    ("mlp2_relu_digits_stdops", "sklearn/mlp2_relu_digits_stdops", ["--evm"]),
    ("lenet_digits", "cnn/lenet_digits", []),
    ("tiny_block_op17", "transformer/tiny_block_op17", []),
]
# Rows of the synthetic MLP per batch row (4 layers of 256×256 at 24 lanes; measured).
ROWS_PER_BATCH_ROW = 12_300


def run(args, env=None, timeout=900):
    t = time.time()
    p = subprocess.run(args, capture_output=True, text=True, env=env, timeout=timeout)
    out = p.stdout + p.stderr
    return p.returncode, out, time.time() - t


def last_line(text):
    lines = [l for l in text.strip().splitlines() if l.strip()]
    return lines[-1] if lines else ""


def number(pattern, text, cast=float):
    m = re.search(pattern, text)
    return cast(m.group(1)) if m else None


class GpuMemory:
    """Samples the device's used memory with nvidia-smi while a command runs: the peak above
    the level before it (the whole device: the CUDA context included)."""

    def __init__(self):
        self.samples, self.stop = [], threading.Event()
        self.thread = threading.Thread(target=self.poll, daemon=True)

    def used(self):
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
                                 capture_output=True, text=True, timeout=10).stdout
            return int(out.split()[0])
        except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
            return None

    def poll(self):
        while not self.stop.is_set():
            v = self.used()
            if v is not None:
                self.samples.append(v)
            time.sleep(0.05)

    def __enter__(self):
        self.base = self.used()
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()

    def peak_mib(self):
        if self.base is None or not self.samples:
            return None
        return max(self.samples) - self.base


def synthetic(work, zk, k, py):
    """A synthetic MLP whose circuit has exactly k (the largest batch that stays at k)."""
    batch = max(1, int(0.92 * (1 << k) / ROWS_PER_BATCH_ROW))
    while batch >= 1:
        d = os.path.join(work, f"mlp_k{k}_b{batch}")
        rc, out, _ = run([py, os.path.join(ROOT, "benches", "gpu_mlp.py"), d, str(batch)])
        if rc != 0:
            raise RuntimeError(f"gpu_mlp.py: {last_line(out)}")
        rc, out, _ = run([zk, "compile", os.path.join(d, "model.onnx"), "-o", os.path.join(d, "m.zkc"),
                          "--input", os.path.join(d, "input.json"), "--scale", "9"])
        got = number(r", k = (\d+)", out, int)
        if rc != 0 or got is None:
            raise RuntimeError(f"compile synthetic k={k}: {last_line(out)}")
        if got <= k:
            return d, batch
        batch = int(batch * 0.9)
    raise RuntimeError(f"no synthetic MLP fits k = {k}")


def measure(name, d, zkc_args, zk, args, result):
    zkc, keys = os.path.join(d, "m.zkc"), os.path.join(d, "keys")
    inp = os.path.join(d, "input.json")
    if not os.path.exists(zkc):
        rc, out, _ = run([zk, "compile", os.path.join(d, "model.onnx"), "-o", zkc, "--input", inp] + zkc_args)
        if rc != 0:
            raise RuntimeError(f"compile: {last_line(out)}")
    rc, out, _ = run([zk, "inspect", zkc])
    result["k"] = number(r"k = (\d+)", out, int)
    result["rows"] = number(r"rows used: (\d+)", out, int)
    rc, out, result["setup_s"] = run([zk, "setup", zkc, "-o", keys])
    if rc != 0:
        raise RuntimeError(f"setup: {last_line(out)}")
    prove = [zk, "prove", zkc, "--keys", keys, "--input", inp, "--no-reference"]
    cpu_proof, gpu_proof = os.path.join(d, "cpu.json"), os.path.join(d, "gpu.json")
    rc, out, _ = run(prove + ["-o", cpu_proof, "--backend", "cpu"])
    if rc != 0:
        raise RuntimeError(f"prove cpu: {last_line(out)}")
    result["cpu_prove_s"] = number(r"proved in ([\d.]+) ms", out) / 1e3
    rc, out, _ = run([zk, "verify", "--keys", keys, "--proof", cpu_proof])
    result["cpu_proof_verified"] = rc == 0
    if args.cpu_only:
        return cpu_proof, keys
    with GpuMemory() as mem:
        rc, out, _ = run(prove + ["-o", gpu_proof, "--backend", "cuda", "--profile"])
    if rc != 0:
        if "single-phase" in out:
            result["note"] = "CUDA prover refuses it: two-phase circuit (Freivalds); see README"
            return cpu_proof, keys
        raise RuntimeError(f"prove cuda: {last_line(out)}")
    result["gpu_prove_s"] = number(r"proved in ([\d.]+) ms", out) / 1e3
    result["speedup"] = result["cpu_prove_s"] / result["gpu_prove_s"]
    result["gpu_peak_mib_nvidia_smi"] = mem.peak_mib()
    m = re.search(r"GPU memory at the end of create_proof: (.*)", out)
    result["gpu_allocator"] = m.group(1).strip() if m else None
    rc, out, _ = run([zk, "verify", "--keys", keys, "--proof", gpu_proof])
    result["gpu_proof_verified"] = rc == 0
    return gpu_proof, keys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "zkinfer"))
    ap.add_argument("--corpus", default=None, help="default: ../shared/corpus, else .gpu-bench/corpus")
    ap.add_argument("--python", default=sys.executable, help="a Python with numpy and onnx")
    ap.add_argument("--quick", action="store_true", help="synthetic circuits up to k = 20")
    ap.add_argument("--cpu-only", action="store_true")
    ap.add_argument("--max-k", type=int, default=22)
    ap.add_argument("--budget", type=float, default=480.0,
                    help="seconds after which no new model is started (the device allows 10 minutes a command)")
    ap.add_argument("--json", default=os.path.join(ROOT, "target", "gpu-bench.json"))
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    start = time.time()
    zk = args.binary
    corpus = args.corpus or next((c for c in (os.path.join(ROOT, "..", "shared", "corpus"),
                                               os.path.join(ROOT, ".gpu-bench", "corpus")) if os.path.isdir(c)), None)
    if corpus is None:
        sys.exit("no corpus: pass --corpus, or run `benches/gpu.sh --pack` where ../shared/corpus exists")
    work = tempfile.mkdtemp(prefix="zkinfer-gpu-")
    ks = [k for k in ((18, 20) if args.quick else (18, 20, 22)) if k <= args.max_k] or [args.max_k]

    results, failed = [], False
    largest = None
    plan = [(n, os.path.join(corpus, p), extra) for n, p, extra in CORPUS_MODELS]
    plan += [(f"synthetic MLP k={k}", k, []) for k in ks]
    for name, src, extra in plan:
        r = {"model": name}
        results.append(r)
        if time.time() - start > args.budget:
            r["note"] = f"skipped: past the {args.budget:.0f} s budget"
            continue
        try:
            if isinstance(src, int):
                d, batch = synthetic(work, zk, src, args.python)
                r["model"] = f"synthetic MLP k={src} (batch {batch}, 4×256²)"
            else:
                d = os.path.join(work, name)
                shutil.copytree(src, d)
            proof, keys = measure(name, d, extra, zk, args, r)
            if extra == ["--evm"]:
                rc, out, _ = run([zk, "verify-evm", "--keys", keys, "--proof", proof])
                r["evm_verified"] = rc == 0
                r["evm_gas"] = number(r"(\d+) gas used", out, int)
                if rc != 0:
                    r["evm_note"] = last_line(out)
            if not args.cpu_only and r.get("gpu_prove_s"):
                largest = (d, keys, r["model"])
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            r["error"] = str(e)
            failed = True
        for key in ("cpu_proof_verified", "gpu_proof_verified"):
            if r.get(key) is False:
                failed = True
        print(json.dumps(r), flush=True)

    profile = None
    if largest and time.time() - start < args.budget + 60:
        d, keys, model = largest
        env = dict(os.environ, CUDA_LAUNCH_BLOCKING="1")
        rc, out, _ = run([zk, "prove", os.path.join(d, "m.zkc"), "--keys", keys, "--input",
                          os.path.join(d, "input.json"), "--no-reference", "-o", os.path.join(d, "prof.json"),
                          "--backend", "cuda", "--profile"], env=env)
        profile = {"model": model, "output": out[out.find("prover sections"):] if rc == 0 else last_line(out)}

    header = ("| model | k | rows | setup (s) | CPU prove (s) | GPU prove (s) | speedup | GPU peak (MiB, nvidia-smi) "
              "| GPU allocator at end | verified (CPU verifier) | note |")
    lines = [header, "|" + "---|" * 11]
    for r in results:
        verified = []
        if "cpu_proof_verified" in r:
            verified.append("CPU proof " + ("yes" if r["cpu_proof_verified"] else "NO"))
        if "gpu_proof_verified" in r:
            verified.append("GPU proof " + ("yes" if r["gpu_proof_verified"] else "NO"))
        if "evm_verified" in r:
            verified.append("EVM " + ("yes" if r["evm_verified"] else "NO") + (f" ({r['evm_gas']} gas)" if r.get("evm_gas") else ""))
        fmt = lambda v, f: (f.format(v) if isinstance(v, (int, float)) else "—")
        lines.append(f"| {r['model']} | {fmt(r.get('k'), '{}')} | {fmt(r.get('rows'), '{}')} | "
                     f"{fmt(r.get('setup_s'), '{:.1f}')} | {fmt(r.get('cpu_prove_s'), '{:.2f}')} | "
                     f"{fmt(r.get('gpu_prove_s'), '{:.2f}')} | {fmt(r.get('speedup'), '{:.1f}×')} | "
                     f"{fmt(r.get('gpu_peak_mib_nvidia_smi'), '{}')} | {r.get('gpu_allocator') or '—'} | "
                     f"{', '.join(verified) or '—'} | {r.get('error') or r.get('note') or r.get('evm_note') or ''} |")
    cores = os.cpu_count()
    print(f"\n{cores} CPU cores; {'CPU only' if args.cpu_only else 'GPU: ' + (GpuMemory().used() is not None and gpu_name() or 'unknown')}; "
          f"total {time.time() - start:.0f} s\n")
    print("\n".join(lines))
    if profile:
        print(f"\nwhere the GPU time goes ({profile['model']}, CUDA_LAUNCH_BLOCKING=1):\n{profile['output']}")
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump({"cores": cores, "cpu_only": args.cpu_only, "results": results, "profile": profile,
                   "total_s": time.time() - start}, f, indent=1)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if failed else 0)


def gpu_name():
    try:
        return subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


if __name__ == "__main__":
    main()
