#!/usr/bin/env python3
"""On-chain verifiers side by side, in one run, on one machine: zkinfer's own verifier,
snark-verifier's contract and EZKL 23.0.5's, each deployed and called with the same proof
statement (public input, public output, weights fixed in the circuit, KZG on BN254 with a
locally generated, insecure, test-only SRS) in the same in-process EVM (revm). Prints a
Markdown table: runtime code sizes, gas of the verifying call (intrinsic cost included) and
calldata sizes.

usage: evm.py [--model a,b,c] [--mnist] [--no-ezkl] [--no-snark] [--json OUT.json]

  --model   corpus entries under ../shared/corpus (folder with model.onnx and input.json),
            comma-separated; "mnist" names the generated MNIST-sized CNN. Default: the five
            of DEFAULT_MODELS, then the MNIST CNN.
  --mnist   the MNIST-sized CNN (28x28 input), built here with the `onnx` package: alone, only
            it; with --model, after those.

zkinfer: `zkinfer compile --evm`, `setup`, `prove --no-reference`, then `verify-evm` (solc's
optimizer on, and again with --no-optimize for the code size without it) and
`verify-evm --snark-verifier`. EZKL: gen_settings (input/output public, params fixed),
calibrate_settings on input.json ("resources"), compile_circuit, gen_srs, setup, gen_witness,
prove, create_evm_verifier (reusable=False: the verifying key is in the contract),
encode_evm_calldata; its Solidity compiled with solcjs 0.8.19 (.tools/node_modules/solc),
optimizer on with runs=1 (EZKL's own default), falling back to the optimizer off, then via-IR,
on "stack too deep"; then deployed and called with target/release/examples/evm_run.

Needs target/release/zkinfer, target/release/examples/evm_run, .venv with ezkl 23.0.5, onnx
and numpy, and solcjs (scripts/ensure-solc.sh); benches/evm.sh sets all of that up.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.normpath(os.path.join(ROOT, "..", "shared", "corpus"))
ZKINFER = os.path.join(ROOT, "target", "release", "zkinfer")
EVM_RUN = os.path.join(ROOT, "target", "release", "examples", "evm_run")
SOLC = os.path.join(ROOT, ".tools", "node_modules", "solc")
VENV_PY = os.path.join(ROOT, ".venv", "bin", "python")
PY = VENV_PY if os.path.exists(VENV_PY) else sys.executable
# Errors without anyhow's backtraces, so that a stderr tail shows the message.
ENV = {**os.environ, "RUST_BACKTRACE": "0", "RUST_LIB_BACKTRACE": "0"}
EVM_CODE_LIMIT = 24576  # EIP-170

DEFAULT_MODELS = [
    "sklearn/mlp1_relu_digits_stdops",
    "sklearn/mlp2_relu_digits_stdops",
    "cnn/lenet_digits",
    "cnn/cnn_bn_residual_digits",
    "transformer/tiny_block_op17",
]
MNIST = "mnist"
MNIST_LABEL = "mnist_cnn (28x28)"

# Each EZKL stage runs in its own process (a crash or an out-of-memory kill only fails that
# model). EZKL's functions return awaitables that need a running event loop (create_evm_verifier
# raises "no running event loop" when called outside one), so every call runs inside a coroutine.
EZKL_CHILD = r"""
import asyncio, inspect, json, os, sys, time
import ezkl
stage, a = sys.argv[1], json.loads(sys.argv[2])
async def acall(f, *args, **kw):
    r = f(*args, **kw)
    return (await r) if inspect.isawaitable(r) else r
def call(f, *args, **kw):
    return asyncio.run(acall(f, *args, **kw))
t = time.perf_counter()
out = {}
if stage == "settings":
    ra = ezkl.PyRunArgs()
    ra.input_visibility = "public"; ra.output_visibility = "public"; ra.param_visibility = "fixed"
    call(ezkl.gen_settings, a["model"], a["settings"], py_run_args=ra)
    call(ezkl.calibrate_settings, a["data"], a["model"], a["settings"], "resources")
    call(ezkl.compile_circuit, a["model"], a["compiled"], a["settings"])
    out["logrows"] = json.load(open(a["settings"]))["run_args"]["logrows"]
elif stage == "srs":
    call(ezkl.gen_srs, a["srs"], a["logrows"])
elif stage == "setup":
    call(ezkl.setup, a["compiled"], a["vk"], a["pk"], a["srs"])
elif stage == "witness":
    call(ezkl.gen_witness, a["data"], a["compiled"], a["witness"])
elif stage == "prove":
    call(ezkl.prove, a["witness"], a["compiled"], a["pk"], a["proof"], a["srs"])
elif stage == "evm":
    # EZKL writes the Solidity, then compiles it with a solc it fetches through svm to write
    # the ABI: offline, that second step fails after the .sol file is complete.
    try:
        call(ezkl.create_evm_verifier, a["vk"], a["settings"], a["sol"], a["abi"],
             srs_path=a["srs"], reusable=False)
    except Exception as e:
        if not (os.path.exists(a["sol"]) and os.path.getsize(a["sol"]) > 0):
            raise
        out["note"] = str(e).splitlines()[0][:300]
elif stage == "calldata":
    r = call(ezkl.encode_evm_calldata, a["proof"], a["calldata"])
    if isinstance(r, (bytes, bytearray)):
        data = bytes(r)
    elif isinstance(r, (list, tuple)):
        data = bytes(int(x) & 0xFF for x in r)
    elif isinstance(r, str):
        data = bytes.fromhex(r[2:] if r.startswith("0x") else r)
    else:
        data = open(a["calldata"], "rb").read()
    open(a["calldata_hex"], "w").write(data.hex())
    out["calldata_bytes"] = len(data)
out["ms"] = (time.perf_counter() - t) * 1e3
print(json.dumps(out), flush=True)
# Skip the interpreter's teardown: after create_evm_verifier's failed download, EZKL's runtime
# sometimes segfaults on the way out (exit -11) though the stage is complete.
os._exit(0)
"""

# The MNIST-sized CNN: Conv(1->4,3x3)+Relu+MaxPool(2) + Conv(4->8,3x3)+Relu+MaxPool(2) +
# Flatten + Gemm(200->10); float32 weights from numpy seed 0 scaled by 0.3; opset 17.
MNIST_CHILD = r"""
import json, sys
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
out_dir = sys.argv[1]
rng = np.random.default_rng(0)
w = lambda *s: (rng.standard_normal(s) * 0.3).astype(np.float32)
inits = [numpy_helper.from_array(a, n) for n, a in [
    ("c1_w", w(4, 1, 3, 3)), ("c1_b", w(4)), ("c2_w", w(8, 4, 3, 3)), ("c2_b", w(8)),
    ("fc_w", w(10, 200)), ("fc_b", w(10))]]
# Strides, pads and dilations spelled out (their defaults): EZKL refuses a Conv without
# strides ("a node is missing required params: stride").
conv = dict(kernel_shape=[3, 3], strides=[1, 1], pads=[0, 0, 0, 0], dilations=[1, 1])
pool = dict(kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0])
nodes = [
    helper.make_node("Conv", ["image", "c1_w", "c1_b"], ["c1"], **conv),
    helper.make_node("Relu", ["c1"], ["r1"]),
    helper.make_node("MaxPool", ["r1"], ["p1"], **pool),
    helper.make_node("Conv", ["p1", "c2_w", "c2_b"], ["c2"], **conv),
    helper.make_node("Relu", ["c2"], ["r2"]),
    helper.make_node("MaxPool", ["r2"], ["p2"], **pool),
    helper.make_node("Flatten", ["p2"], ["f"], axis=1),
    helper.make_node("Gemm", ["f", "fc_w", "fc_b"], ["logits"], transB=1),
]
graph = helper.make_graph(
    nodes, "mnist_cnn",
    [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 1, 28, 28])],
    [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])], inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                          producer_name="zkinfer-benches-evm")
model.ir_version = 8
onnx.checker.check_model(model, full_check=True)
onnx.save(model, out_dir + "/model.onnx")
# A deterministic image in [0, 1]: a soft ring, like a hand-drawn zero.
yy, xx = np.mgrid[0:28, 0:28]
r = np.hypot(yy - 13.5, (xx - 13.5) * 1.3)
img = np.clip(1.0 - np.abs(r - 8.0) / 2.5, 0.0, 1.0)
json.dump({"input_data": [[round(float(v), 4) for v in img.reshape(-1)]]},
          open(out_dir + "/input.json", "w"))
"""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class StageError(Exception):
    pass


def tail(text, n=12):
    lines = [l for l in (text or "").strip().splitlines() if l.strip()]
    return "\n".join(lines[-n:])


def run(cmd, timeout, **kw):
    """Runs cmd; returns the CompletedProcess (even on failure) and the wall seconds."""
    t = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=ENV, **kw)
    except subprocess.TimeoutExpired as e:
        out = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        p = subprocess.CompletedProcess(cmd, 124, "", out + f"\ntimed out after {timeout}s")
    return p, time.perf_counter() - t


def check(cmd, timeout, what, **kw):
    p, wall = run(cmd, timeout, **kw)
    if p.returncode != 0:
        log(f"  FAILED ({what}, exit {p.returncode}): {' '.join(cmd)[:300]}\n"
            f"  --- stderr tail ---\n{tail(p.stderr)}\n  --- stdout tail ---\n{tail(p.stdout, 4)}")
        raise StageError(short_reason(p))
    return p.stdout, wall


def short_reason(p):
    """One line for a table cell: the last line that reads like an error."""
    if p.returncode in (-9, 137):
        return "killed (out of memory?)"
    text = (p.stderr or "") + "\n" + (p.stdout or "")
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    for l in reversed(lines):
        if re.match(r"^(\w*Error|error)\b:?", l):
            return l[:160]
    for l in reversed(lines):
        if re.search(r"error|Error|failed|panicked|timed out|refused|over the EVM", l):
            return l[:160]
    return (lines[-1][:160] if lines else f"exit {p.returncode}")


def cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


# ---------------------------------------------------------------------------------- zkinfer


GAS_OURS = re.compile(r"ACCEPTED by the entry contract: (\d+) gas used \((\d+) of them.*?runtime code (\d+) bytes "
                      r"\(verifier\) \+ (\d+) bytes \(key contract\) \+ (\d+) bytes \(entry\).*?calldata (\d+) bytes")
GAS_SNARK = re.compile(r"ACCEPTED by snark-verifier's contract: (\d+) gas used; runtime code (\d+) bytes.*?calldata (\d+) bytes")


def zkinfer_side(onnx, data, work, args):
    z = {}
    zkc, keys, proof = (os.path.join(work, n) for n in ("model.zkc", "keys", "proof.json"))
    so, _ = check([ZKINFER, "compile", onnx, "-o", zkc, "--input", data, "--evm"], args.timeout, "zkinfer compile")
    m = re.search(r"k = (\d+)", so)
    z["k"] = int(m.group(1)) if m else None
    _, z["setup_s"] = check([ZKINFER, "setup", zkc, "-o", keys], args.timeout, "zkinfer setup")
    _, z["prove_s"] = check([ZKINFER, "prove", zkc, "--keys", keys, "--input", data, "-o", proof, "--no-reference"],
                            args.timeout, "zkinfer prove")
    for opt, flags in (("on", []), ("off", ["--no-optimize"])):
        so, _ = check([ZKINFER, "verify-evm", "--keys", keys, "--proof", proof] + flags, args.timeout,
                      f"zkinfer verify-evm, optimizer {opt}")
        m = GAS_OURS.search(so)
        if not m:
            raise StageError(f"unexpected verify-evm output: {so.strip()[:160]}")
        gas, entry_gas, code, key, entry_code, calldata = map(int, m.groups())
        z[f"optimizer_{opt}"] = {"gas": gas, "entry_gas": entry_gas, "verifier_code": code, "key_code": key,
                                 "entry_code": entry_code, "calldata": calldata}
    z.update(z["optimizer_on"])
    return z, keys, proof


def snark_side(keys, proof, args):
    p, wall = run([ZKINFER, "verify-evm", "--keys", keys, "--proof", proof, "--snark-verifier"], args.timeout)
    text = p.stdout + "\n" + p.stderr
    if p.returncode == 0:
        m = GAS_SNARK.search(p.stdout)
        if not m:
            return {"status": "error", "reason": f"unexpected output: {p.stdout.strip()[:160]}"}
        gas, code, calldata = map(int, m.groups())
        return {"status": "accepted", "gas": gas, "code": code, "calldata": calldata, "wall_s": wall}
    if "over the EVM limit" in text:
        m = re.search(r"the verifier has (\d+) bytes of runtime code", text)
        return {"status": "refused", "code": int(m.group(1)) if m else None, "reason": tail(p.stderr, 1)[:300]}
    log(f"  snark-verifier FAILED (exit {p.returncode})\n  --- stderr tail ---\n{tail(p.stderr)}")
    return {"status": "error", "reason": short_reason(p)}


# ---------------------------------------------------------------------------------- EZKL


def ezkl(stage, timeout, **a):
    so, wall = check([PY, "-c", EZKL_CHILD, stage, json.dumps(a)], timeout, f"EZKL {stage}")
    r = json.loads(so.strip().splitlines()[-1])
    r["wall_s"] = wall
    return r


JS_COMPILE = ("const fs = require('fs'); const solc = require(process.argv[1]); "
              "fs.writeFileSync(process.argv[2], solc.compile(fs.readFileSync(0, 'utf8')));")


def solc(source, optimize, via_ir, out_file):
    """solcjs through standard JSON; the output goes to a file (a pipe truncates it)."""
    settings = {"optimizer": {"enabled": optimize, "runs": 1}, "viaIR": via_ir,
                "outputSelection": {"*": {"*": ["evm.bytecode.object", "evm.deployedBytecode.object"]}}}
    inp = {"language": "Solidity", "sources": {"Verifier.sol": {"content": source}}, "settings": settings}
    if os.path.exists(out_file):
        os.remove(out_file)
    p, _ = run(["node", "-e", JS_COMPILE, SOLC, out_file], 1800, input=json.dumps(inp))
    if not os.path.exists(out_file):
        return None, [f"solcjs produced no output: {tail(p.stderr, 3)}"]
    with open(out_file) as f:
        v = json.load(f)
    os.remove(out_file)
    errors = [e.get("formattedMessage", e.get("message", "")) for e in v.get("errors", []) if e.get("severity") == "error"]
    if errors:
        return None, errors
    contracts = v.get("contracts", {}).get("Verifier.sol", {})
    c = contracts.get("Halo2Verifier") or next(iter(contracts.values()), None)
    if not c or not c["evm"]["bytecode"]["object"]:
        return None, ["no bytecode in solc's output"]
    return (c["evm"]["bytecode"]["object"], c["evm"]["deployedBytecode"]["object"]), []


SOLC_ATTEMPTS = [  # (label, optimizer, viaIR)
    ("optimizer on, runs=1", True, False),
    ("optimizer off", False, False),
    ("optimizer on, runs=1, via-IR", True, True),
]


def compile_ezkl_verifier(sol_path, work, e):
    with open(sol_path) as f:
        source = f.read()
    m = re.search(r"^\s*pragma solidity ([^;]+);", source, re.M)
    e["pragma"] = m.group(1).strip() if m else None
    out_file = os.path.join(work, "solc-out.json")
    notes = []
    for label, optimize, via_ir in SOLC_ATTEMPTS:
        t = time.perf_counter()
        r, errors = solc(source, optimize, via_ir, out_file)
        if r is None and any("requires different compiler version" in x for x in errors):
            notes.append(f"solc 0.8.19 refused `pragma solidity {e['pragma']}`; rewritten to ^0.8.0")
            log(f"  {notes[-1]}")
            source = re.sub(r"^\s*pragma solidity [^;]+;", "pragma solidity ^0.8.0;", source, count=1, flags=re.M)
            r, errors = solc(source, optimize, via_ir, out_file)
        wall = time.perf_counter() - t
        if r is not None:
            log(f"  EZKL verifier compiled with solcjs 0.8.19, {label} ({wall:.1f}s)")
            e["solc"] = label
            e["solc_notes"] = notes
            return r
        first = errors[0].splitlines()[0][:200]
        notes.append(f"{label}: {first}")
        log(f"  solc, {label}: failed ({wall:.1f}s): {first}")
        if not any("too deep" in x.lower() for x in errors):
            break  # not a stack problem: other settings will not help
    e["solc_notes"] = notes
    raise StageError("solc: " + notes[-1])


def ezkl_side(onnx, data, work, srs_cache, args):
    e = {}
    p = lambda n: os.path.join(work, n)
    stage = "settings"
    try:
        t0 = time.perf_counter()
        r = ezkl("settings", args.timeout, model=onnx, settings=p("settings.json"), data=data, compiled=p("network.ezkl"))
        e["k"] = k = r["logrows"]
        log(f"  EZKL settings: k = {k} ({r['wall_s']:.1f}s)")
        stage = "gen_srs"
        srs = os.path.join(srs_cache, f"kzg{k}.srs")
        if not os.path.exists(srs):
            ezkl("srs", args.timeout, srs=srs, logrows=k)
        stage = "setup"
        r = ezkl("setup", args.timeout, compiled=p("network.ezkl"), vk=p("vk.key"), pk=p("pk.key"), srs=srs)
        e["setup_s"] = r["wall_s"]
        log(f"  EZKL setup ({r['wall_s']:.1f}s)")
        stage = "gen_witness"
        ezkl("witness", args.timeout, data=data, compiled=p("network.ezkl"), witness=p("witness.json"))
        stage = "prove"
        r = ezkl("prove", args.timeout, witness=p("witness.json"), compiled=p("network.ezkl"), pk=p("pk.key"),
                 proof=p("proof.json"), srs=srs)
        e["prove_s"] = r["wall_s"]
        log(f"  EZKL prove ({r['wall_s']:.1f}s)")
        os.remove(p("pk.key"))  # the largest file by far (GiB at k = 17)
        stage = "create_evm_verifier"
        r = ezkl("evm", args.timeout, vk=p("vk.key"), settings=p("settings.json"), sol=p("Verifier.sol"),
                 abi=p("abi.json"), srs=srs)
        if r.get("note"):
            e["create_evm_verifier_note"] = r["note"]
            log(f"  EZKL create_evm_verifier wrote the Solidity, then: {r['note'][:160]} (ignored: only the ABI is missing)")
        e["solidity_bytes"] = os.path.getsize(p("Verifier.sol"))
        stage = "encode_evm_calldata"
        r = ezkl("calldata", args.timeout, proof=p("proof.json"), calldata=p("calldata.bin"), calldata_hex=p("calldata.hex"))
        e["calldata"] = r["calldata_bytes"]
        stage = "solc"
        creation, runtime = compile_ezkl_verifier(p("Verifier.sol"), work, e)
        e["code"] = len(runtime) // 2
        e["creation_code"] = len(creation) // 2
        with open(p("creation.hex"), "w") as f:
            f.write(creation)
        if e["code"] > EVM_CODE_LIMIT:
            # Over EIP-170's limit: no chain deploys it (evm_run's EVM refuses it too).
            e["status"] = "refused"
            e["accepted"] = False
            e["reason"] = f"{e['code']} bytes of runtime code, over the EVM limit of {EVM_CODE_LIMIT}"
            log(f"  EZKL's verifier: {e['reason']}: not deployable")
            return e
        stage = "evm_run"
        pr, _ = run([EVM_RUN, "--deploy", p("creation.hex"), "--call", "0", "--calldata", p("calldata.hex")], args.timeout)
        try:
            res = json.loads(pr.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            log(f"  evm_run FAILED (exit {pr.returncode})\n{tail(pr.stderr)}")
            raise StageError(short_reason(pr))
        if res.get("ok"):
            out = res.get("output", "")
            e["accepted"] = len(out) == 64 and int(out, 16) == 1
            e["gas"] = res["gas"]
            e["status"] = "accepted" if e["accepted"] else f"returned 0x{out or '(nothing)'}"
            if e["accepted"]:
                # Negative control: one flipped byte in the proof's first point must be refused.
                # Calldata: selector, two offsets, the proof's length, then the proof.
                with open(p("calldata.hex")) as f:
                    h = f.read().strip()
                i = 2 * (4 + 3 * 32 + 16)
                with open(p("tampered.hex"), "w") as f:
                    f.write(h[:i] + format(int(h[i:i + 2], 16) ^ 0x01, "02x") + h[i + 2:])
                pt, _ = run([EVM_RUN, "--deploy", p("creation.hex"), "--call", "0", "--calldata", p("tampered.hex")],
                            args.timeout)
                e["rejects_tampered"] = pt.returncode != 0
                if not e["rejects_tampered"]:
                    e["status"] = "accepted, but a tampered proof too"
        else:
            e["accepted"] = False
            e["status"] = "rejected"
            e["reason"] = res.get("error", "")
        e["wall_s"] = time.perf_counter() - t0
    except StageError as x:
        e["status"] = "failed"
        e["stage"] = stage
        e["reason"] = f"{stage}: {x}"
    return e


# ---------------------------------------------------------------------------------- main


def make_mnist(work):
    d = os.path.join(work, "mnist_cnn")
    os.makedirs(d, exist_ok=True)
    check([PY, "-c", MNIST_CHILD, d], 300, "building the MNIST CNN")
    return d


def bench(name, entry, top, srs_cache, args):
    onnx, data = os.path.join(entry, "model.onnx"), os.path.join(entry, "input.json")
    work = tempfile.mkdtemp(dir=top, prefix="model-")
    r = {"model": name}
    try:
        t = time.perf_counter()
        try:
            z, keys, proof = zkinfer_side(onnx, data, work, args)
            r["zkinfer"] = z
            log(f"  zkinfer: k = {z['k']}, {z['gas']} gas, verifier {z['verifier_code']} B "
                f"(optimizer off {z['optimizer_off']['verifier_code']} B), key contract {z['key_code']} B "
                f"({time.perf_counter() - t:.1f}s)")
        except StageError as x:
            r["zkinfer"] = {"status": "failed", "reason": str(x)}
            keys = None
        if keys and not args.no_snark:
            t = time.perf_counter()
            r["snark_verifier"] = s = snark_side(keys, proof, args)
            log(f"  snark-verifier: {s['status']}" + (f", {s['gas']} gas" if "gas" in s else "")
                + (f", {s['code']} B code" if s.get("code") else "") + f" ({time.perf_counter() - t:.1f}s)")
        if not args.no_ezkl:
            ezkl_dir = os.path.join(work, "ezkl")
            os.makedirs(ezkl_dir)
            r["ezkl"] = e = ezkl_side(onnx, data, ezkl_dir, srs_cache, args)
            log(f"  EZKL: {e['status']}" + (f", {e['gas']} gas" if "gas" in e else "")
                + (f", {e['code']} B code" if "code" in e else "")
                + (", a tampered proof refused" if e.get("rejects_tampered") else "")
                + (f" ({e['reason']})" if e.get("reason") else ""))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return r


def fmt_table(results):
    lines = [
        "| model | zkinfer verifier code (B, optimizer on / off) | zkinfer key contract (B) | zkinfer entry (B) | "
        "zkinfer gas (through the entry) | of which the entry | "
        "zkinfer calldata (B) | snark-verifier code (B) | snark-verifier gas | EZKL code (B) | EZKL gas | "
        "EZKL calldata (B) | gas EZKL / zkinfer |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        z, s, e = r.get("zkinfer", {}), r.get("snark_verifier"), r.get("ezkl")
        if "gas" in z:
            zc = [f"{z['optimizer_on']['verifier_code']} / {z['optimizer_off']['verifier_code']}",
                  str(z["key_code"]), str(z["entry_code"]), str(z["gas"]), str(z["entry_gas"]), str(z["calldata"])]
        else:
            zc = [f"failed: {z.get('reason', '?')}", "—", "—", "—", "—", "—"]
        if s is None:
            sc = ["not run", "—"]
        elif s["status"] == "accepted":
            sc = [str(s["code"]), str(s["gas"])]
        elif s["status"] == "refused":
            sc = [f"refused ({s['code']} B)" if s.get("code") else "refused (over 24576 B)", "—"]
        else:
            sc = [f"failed: {s.get('reason', '?')}", "—"]
        ratio = "—"
        if e is None:
            ec = ["not run", "—", "—"]
        elif e["status"] == "failed":
            ec = [f"failed at {e['reason']}", "—", "—"]
        elif e["status"] == "refused":
            ec = [f"refused ({e['code']} B)", "—", str(e["calldata"])]
        else:
            gas = str(e.get("gas", "—"))
            if e["status"] != "accepted":
                gas = f"{e['status']}" + (f" ({e.get('reason', '')[:100]})" if e.get("reason") else "")
            ec = [str(e["code"]), gas, str(e["calldata"])]
            if e.get("accepted") and "gas" in z:
                ratio = f"{e['gas'] / z['gas']:.2f}x"
        lines.append("| " + " | ".join(cell(c) for c in [r["model"]] + zc + sc + ec + [ratio]) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="comma-separated corpus entries; 'mnist' for the generated MNIST CNN")
    ap.add_argument("--mnist", action="store_true", help="the MNIST-sized CNN (alone, or after --model's)")
    ap.add_argument("--no-ezkl", action="store_true", help="skip EZKL")
    ap.add_argument("--no-snark", action="store_true", help="skip snark-verifier's contract")
    ap.add_argument("--timeout", type=int, default=3600, help="seconds allowed to each stage (default 3600)")
    ap.add_argument("--json", help="write every raw number to this file")
    args = ap.parse_args()

    if args.model:
        models = [m.strip() for m in args.model.split(",") if m.strip()]
        if args.mnist and MNIST not in models:
            models.append(MNIST)
    elif args.mnist:
        models = [MNIST]
    else:
        models = DEFAULT_MODELS + [MNIST]
    for exe, how in ((ZKINFER, "cargo build --release --bin zkinfer"),
                     (EVM_RUN, "cargo build --release -p zkinfer-examples --example evm_run")):
        if not os.path.exists(exe):
            sys.exit(f"{exe} is missing: run `{how}` (or benches/evm.sh)")
    if not args.no_ezkl and not os.path.isdir(SOLC):
        sys.exit(f"{SOLC} is missing: run scripts/ensure-solc.sh (or benches/evm.sh)")
    for m in models:
        if m != MNIST and not os.path.exists(os.path.join(CORPUS, m, "model.onnx")):
            sys.exit(f"no corpus entry {m} (no {os.path.join(CORPUS, m, 'model.onnx')})")

    results = []
    with tempfile.TemporaryDirectory(prefix="zkinfer-bench-evm-") as top:
        srs_cache = os.path.join(top, "srs")
        os.makedirs(srs_cache)
        for i, m in enumerate(models):
            label = MNIST_LABEL if m == MNIST else m
            log(f"[{i + 1}/{len(models)}] {label}")
            entry = make_mnist(top) if m == MNIST else os.path.join(CORPUS, m)
            results.append(bench(label, entry, top, srs_cache, args))

    print(f"\nOn-chain verifiers, one proof statement per model (public input and output, fixed "
          f"weights, KZG/BN254), gas of the verifying call in revm (intrinsic cost included), "
          f"{os.cpu_count()} cores\n")
    print(fmt_table(results))
    notes = []
    for r in results:
        z, e = r.get("zkinfer", {}), r.get("ezkl") or {}
        parts = []
        if z.get("k"):
            parts.append(f"zkinfer k = {z['k']}")
        if e.get("k"):
            parts.append(f"EZKL k = {e['k']}")
        if e.get("solc"):
            parts.append(f"EZKL's Solidity (pragma {e.get('pragma')}) compiled with solcjs 0.8.19, {e['solc']}")
        if parts:
            notes.append(f"- {r['model']}: " + "; ".join(parts))
    if notes:
        print("\n" + "\n".join(notes))
    print("\nzkinfer's verifier is one contract for every model, plus a key contract per model; snark-verifier's "
          "and EZKL's (reusable=False) contracts are per model, the verifying key inlined.")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
        log(f"raw numbers written to {args.json}")


if __name__ == "__main__":
    main()
