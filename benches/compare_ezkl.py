#!/usr/bin/env python3
"""zkinfer and EZKL side by side on one corpus model, in one run, on one machine.

Both prove the same statement: public input, public output, weights fixed in the circuit,
KZG on BN254 with a locally generated (insecure, test-only) SRS. Each measured stage runs in
its own process; peak memory is that process's max RSS (os.wait4). Times are medians of
--reps runs, measured inside the process around the prove/verify call (SRS and key loading
included for both). Prints a Markdown table.

usage: compare_ezkl.py [--model sklearn/mlp2_relu_digits_stdops[,cnn/lenet_digits,...]] [--reps 3]
                        [--target accuracy | --scale S] [--json OUT.json] [--finite-mask V]

With several models (comma-separated, or --model issue13 for the three of the precision
issue: mlp2_relu_digits_stdops, lenet_digits, tiny_block_op17) each gets its table, then one
summary table of all of them.

zkinfer compiles calibrated on the model's input.json (what EZKL calibrates on), or with
--target, on inputs_batch.json with `zkinfer compile --target T` (EZKL keeps calibrating on
input.json with its "resources" target).

--finite-mask V runs both tools on a copy of each model whose float constants at or below
-1e30 (the exporters' causal masks: torch.finfo(float32).min) are V, with onnxruntime's
output of the copy as the reference: EZKL refuses -3.4e38 ("significant bit truncation"), and
its tables grow with the mask's magnitude (the tiny decoders: k = 26 at -1e4, k = 21 at -64).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "..", "shared", "corpus")
ZKINFER = os.path.join(ROOT, "target", "release", "zkinfer")

EZKL_CHILD = r"""
import asyncio, json, sys, time, inspect
import ezkl
stage, a = sys.argv[1], json.loads(sys.argv[2])
def call(f, *args, **kw):
    r = f(*args, **kw)
    return asyncio.run(r) if inspect.isawaitable(r) else r
t = time.perf_counter()
if stage == "settings":
    ra = ezkl.PyRunArgs()
    ra.input_visibility = "public"; ra.output_visibility = "public"; ra.param_visibility = "fixed"
    if a.get("variables"):
        ra.variables = [(n, int(v)) for n, v in a["variables"]]
    call(ezkl.gen_settings, a["model"], a["settings"], py_run_args=ra)
    call(ezkl.calibrate_settings, a["data"], a["model"], a["settings"], "resources")
    call(ezkl.compile_circuit, a["model"], a["compiled"], a["settings"])
elif stage == "srs":
    call(ezkl.gen_srs, a["srs"], a["logrows"])
elif stage == "setup":
    call(ezkl.setup, a["compiled"], a["vk"], a["pk"], a["srs"])
elif stage == "witness":
    call(ezkl.gen_witness, a["data"], a["compiled"], a["witness"])
elif stage == "prove":
    call(ezkl.prove, a["witness"], a["compiled"], a["pk"], a["proof"], a["srs"])
elif stage == "verify":
    ok = call(ezkl.verify, a["proof"], a["settings"], a["vk"], a["srs"])
    assert ok, "EZKL proof did not verify"
print(json.dumps({"ms": (time.perf_counter() - t) * 1e3}))
"""


class StageFailed(Exception):
    """An EZKL stage that did not finish: the table says where and why."""


def run(cmd, may_fail=False):
    """Runs cmd; returns (stdout, wall seconds, peak RSS in MiB). A failure exits, or with
    may_fail raises StageFailed with the reason (a kill, as by the OOM killer, with the peak
    memory it had reached)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err)
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t
        out.seek(0)
        err.seek(0)
        so, se = out.read().decode(), err.read().decode()
    rss = usage.ru_maxrss / 1024
    if p.returncode != 0:
        if not may_fail:
            sys.exit(f"failed: {' '.join(cmd)}\n{so}\n{se}")
        if p.returncode == -9:
            raise StageFailed(f"killed (SIGKILL: out of memory on this {total_mib() / 1024:.0f} GiB machine) "
                              f"after {wall:.0f} s at {rss:,.0f} MiB")
        last = (se.strip() or so.strip() or f"exit status {p.returncode}").splitlines()[-1]
        raise StageFailed(f"failed after {wall:.0f} s: {last[:200]}")
    return so, wall, rss


def total_mib():
    with open("/proc/meminfo") as f:
        return int(f.readline().split()[1]) / 1024


def ezkl(stage, **args):
    try:
        so, wall, rss = run([sys.executable, "-c", EZKL_CHILD, stage, json.dumps(args)], may_fail=True)
    except StageFailed as e:
        raise StageFailed(f"{stage} {e}") from None
    return json.loads(so.strip().splitlines()[-1])["ms"], rss


def ezkl_srs(k):
    """EZKL's SRS for 2^k rows, generated once (`gen_srs`: minutes at k = 21) and kept in
    target/ezkl-srs."""
    path = os.path.join(ROOT, "target", "ezkl-srs", f"k{k}.srs")
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        ezkl("srs", srs=path + ".tmp", logrows=k)
        os.replace(path + ".tmp", path)
    return path


def number_after(text, marker):
    tail = text.split(marker, 1)[1].strip()
    return float(tail.split()[0])


def finite_mask(entry, value):
    """A copy of the model directory `entry` whose float constants <= -1e30 are `value`, with
    onnxruntime's output for its input.json."""
    import numpy as np
    import onnx
    import onnxruntime
    from onnx import numpy_helper

    def patch(t):
        a = numpy_helper.to_array(t)
        if a.dtype.kind == "f" and a.size and a.min() <= -1e30:
            t.CopyFrom(numpy_helper.from_array(np.where(a <= -1e30, value, a).astype(a.dtype), t.name))
            return 1
        return 0

    m = onnx.load(os.path.join(entry, "model.onnx"))
    n = sum(patch(t) for t in m.graph.initializer)
    n += sum(patch(at.t) for node in m.graph.node for at in node.attribute if at.type == onnx.AttributeProto.TENSOR)
    out = tempfile.mkdtemp(prefix="finite-mask-")
    onnx.save(m, os.path.join(out, "model.onnx"))
    data = json.load(open(os.path.join(entry, "input.json")))
    json.dump(data, open(os.path.join(out, "input.json"), "w"))
    s = onnxruntime.InferenceSession(os.path.join(out, "model.onnx"))
    types = {"tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(float)": np.float32}
    feeds = {i.name: np.array(x, dtype=types[i.type]).reshape([d if isinstance(d, int) else 1 for d in i.shape])
             for i, x in zip(s.get_inputs(), data["input_data"])}
    outs = s.run(None, feeds)
    json.dump({"output_data": [o.flatten().tolist() for o in outs]}, open(os.path.join(out, "expected_output.json"), "w"))
    print(f"{entry}: {n} constant(s) <= -1e30 set to {value}", flush=True)
    return out


def max_abs(a, b):
    return max(abs(x - y) for x, y in zip(a, b))


ISSUE13 = "sklearn/mlp2_relu_digits_stdops,cnn/lenet_digits,transformer/tiny_block_op17"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="sklearn/mlp2_relu_digits_stdops")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--target", choices=["accuracy", "resources"])
    ap.add_argument("--scale", type=int, help="zkinfer's scale (2^-SCALE), calibrated on inputs_batch.json")
    ap.add_argument("--json", help="write every measurement to this file")
    ap.add_argument("--finite-mask", type=float, help="float constants <= -1e30 become this value (both tools)")
    ap.add_argument("--variables", default="",
                    help="EZKL's values of symbolic dimensions, as batch=1,sequence=8 (zkinfer fixes them from --input)")
    args = ap.parse_args()
    models = ISSUE13 if args.model == "issue13" else args.model
    results = []
    for model in models.split(","):
        results.append(compare(model, args))
    if len(results) > 1:
        print(f"\nsummary ({os.cpu_count()} cores, median of {args.reps})\n")
        print("| model | zkinfer k (table rows) | EZKL k | prove zkinfer / EZKL (s) | speedup | memory zkinfer / EZKL (MiB) | ratio | max err zkinfer | max err EZKL |")
        print("|---|---|---|---|---|---|---|---|---|")
        for model, z, e in results:
            if "failed" in e:
                print(f"| {model} | {z['k']} ({z['table_rows']}) | {e.get('k', '—')} | {z['prove'] / 1e3:.3g} / — | "
                      f"EZKL: {e['failed']} | {z['rss']:.0f} / — | | {z['err']:.4g} | — |")
                continue
            print(f"| {model} | {z['k']} ({z['table_rows']}) | {e['k']} | {z['prove'] / 1e3:.3g} / {e['prove'] / 1e3:.3g} | "
                  f"{e['prove'] / z['prove']:.1f}x | {z['rss']:.0f} / {e['rss']:.0f} | {z['rss'] / e['rss']:.2f} | "
                  f"{z['err']:.4g} | {e['err']:.4g} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump([{"model": m, "zkinfer": z, "ezkl": e} for m, z, e in results], f, indent=1)


def compare(model, args):
    entry = os.path.join(CORPUS, model)
    if args.finite_mask is not None:
        entry = finite_mask(entry, args.finite_mask)
    onnx, data = os.path.join(entry, "model.onnx"), os.path.join(entry, "input.json")
    expected = json.load(open(os.path.join(entry, "expected_output.json")))["output_data"]
    expected = [x for row in expected for x in row]
    work = tempfile.mkdtemp(prefix="zkinfer-vs-ezkl-")
    z, e = {}, {}

    # zkinfer
    zkc, keys, proof = (os.path.join(work, n) for n in ("model.zkc", "keys", "proof.json"))
    compile_args = [ZKINFER, "compile", onnx, "-o", zkc, "--input", data]
    if args.target:
        compile_args += ["--calibrate", os.path.join(entry, "inputs_batch.json"), "--target", args.target]
    elif args.scale:
        compile_args += ["--calibrate", os.path.join(entry, "inputs_batch.json"), "--scale", str(args.scale)]
    so, _, _ = run(compile_args)
    z["k"] = int(so.split(", k = ")[1].split(",")[0])
    z["table_rows"] = int(so.split("table rows = ")[1].split(",")[0])
    z["rows"] = int(so.split(", rows = ")[1].split(",")[0])
    z["scale"] = int(so.split("scale 2^-")[1].split(" ")[0])
    _, z["setup"], _ = run([ZKINFER, "setup", zkc, "-o", keys])  # generates the cached SRS once
    _, z["setup"], _ = run([ZKINFER, "setup", zkc, "-o", keys])
    prove_ms, prove_rss, verify_ms = [], [], []
    for _ in range(args.reps):
        so, _, rss = run([ZKINFER, "prove", zkc, "--keys", keys, "--input", data, "-o", proof, "--no-reference"])
        prove_ms.append(number_after(so, "proved in"))
        prove_rss.append(rss)
    for _ in range(args.reps):
        so, _, _ = run([ZKINFER, "verify", "--keys", keys, "--proof", proof])
        verify_ms.append(number_after(so, "verified in"))
    pj = json.load(open(proof))
    z.update(prove=statistics.median(prove_ms), rss=max(prove_rss), verify=statistics.median(verify_ms),
             size=len(pj["proof"]) // 2 - 1, err=max_abs([x for row in pj["outputs"] for x in row], expected))

    # EZKL
    try:
        run_ezkl(e, onnx, data, expected, work, args)
    except StageFailed as failure:
        e["failed"] = str(failure)
    return report(model, args, z, e)


def run_ezkl(e, onnx, data, expected, work, args):
    """EZKL's stages, each measurement into `e` as it is made."""
    s, c, vk, pk, wit, eproof = (os.path.join(work, n) for n in (
        "settings.json", "network.ezkl", "vk.key", "pk.key", "witness.json", "ezkl_proof.json"))
    variables = [v.split("=") for v in args.variables.split(",") if v]
    ezkl("settings", model=onnx, settings=s, data=data, compiled=c, variables=variables)
    e["k"] = json.load(open(s))["run_args"]["logrows"]
    srs = ezkl_srs(e["k"])
    e["setup"] = ezkl("setup", compiled=c, vk=vk, pk=pk, srs=srs)[0] / 1e3
    ezkl("witness", data=data, compiled=c, witness=wit)
    prove_ms, prove_rss, verify_ms = [], [], []
    for _ in range(args.reps):
        ms, rss = ezkl("prove", witness=wit, compiled=c, pk=pk, proof=eproof, srs=srs)
        prove_ms.append(ms)
        prove_rss.append(rss)
    for _ in range(args.reps):
        verify_ms.append(ezkl("verify", proof=eproof, settings=s, vk=vk, srs=srs)[0])
    ep = json.load(open(eproof))
    size = len(ep["hex_proof"]) // 2 - 1 if ep.get("hex_proof") else len(ep.get("proof", []))
    try:
        outs = json.load(open(wit))["pretty_elements"]["rescaled_outputs"]
        err = max_abs([float(x) for row in outs for x in row], expected)
    except (KeyError, TypeError, ValueError):
        err = float("nan")
    e.update(prove=statistics.median(prove_ms), rss=max(prove_rss), verify=statistics.median(verify_ms), size=size, err=err)


def report(model, args, z, e):
    how = f"zkinfer --target {args.target}" if args.target else "zkinfer calibrated on input.json"
    print(f"\nzkinfer vs EZKL 23.0.5 on {model} ({os.cpu_count()} cores, median of {args.reps}; {how}; "
          f"zkinfer scale 2^-{z['scale']}, {z['rows']} layout rows, {z['table_rows']} table rows)\n")
    if "failed" in e:
        print(f"EZKL did not finish: {e['failed']}" + (f" (its settings: k = {e['k']})" if "k" in e else "") + "\n")
    print("| metric | zkinfer | EZKL | EZKL / zkinfer |")
    print("|---|---|---|---|")
    ms = lambda d, key: d[key] / 1e3 if key in d else None  # noqa: E731
    rows = [
        ("k (log2 rows)", z["k"], e.get("k"), False),
        ("prove time (s, SRS+key load included)", ms(z, "prove"), ms(e, "prove"), True),
        ("peak memory while proving (MiB)", z["rss"], e.get("rss"), True),
        ("proof size (bytes)", z["size"], e.get("size"), True),
        ("verify time (ms)", z["verify"], e.get("verify"), True),
        ("setup / keygen (s)", z["setup"], e.get("setup"), True),
        ("max |output - onnxruntime|", z["err"], e.get("err"), False),
    ]
    for name, a, b, ratio in rows:
        fa = f"{a:.4g}" if isinstance(a, float) else str(a)
        fb = "—" if b is None else f"{b:.4g}" if isinstance(b, float) else str(b)
        r = f"{b / a:.2f}x" if ratio and b is not None and a else ""
        print(f"| {name} | {fa} | {fb} | {r} |", flush=True)
    return model, z, e


if __name__ == "__main__":
    main()
