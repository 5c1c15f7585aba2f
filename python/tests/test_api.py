"""The Python API: prove and verify the corpus models, the CLI's files both ways, every input
form, typed errors, the GIL released while proving, and verifying without onnxruntime."""

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import zkinfer
from conftest import LENET, MLP, cli, expected_output, input_data


def test_mlp_proves_verifies_and_the_cli_accepts_it(mlp, work):
    model, keys = mlp
    x = np.asarray(input_data(MLP)[0], dtype=np.float32).reshape(1, 64)
    proof = zkinfer.prove(model, keys, x)
    assert proof.outputs[0].shape == (1, 10)
    # onnxruntime (in this venv) ran beside the proof, and agrees to the tolerance.
    ref = proof.reference
    assert ref is not None and ref.get("error") is None, ref
    want = np.asarray(expected_output(MLP)["output_data"][0], dtype=np.float32)
    assert np.abs(proof.outputs[0].ravel() - want).max() < 0.02
    assert ref["max_abs_error"] < 0.02
    out = zkinfer.verify(keys, proof)
    np.testing.assert_array_equal(out.outputs[0], proof.outputs[0])
    path = work / "mlp-proof.json"
    proof.save(path)
    r = cli("verify", "--keys", str(keys), "--proof", str(path))
    assert "proof is VALID" in r.stdout


def test_lenet_proves_and_verifies_with_the_right_label(lenet, work):
    model, keys = lenet
    proof = zkinfer.prove(model, keys, LENET / "input.json")
    out = zkinfer.verify(Path(keys) / "bundle.bin", proof)
    want = np.asarray(expected_output(LENET)["output_data"][0])
    assert int(np.argmax(out.outputs[0])) == int(np.argmax(want))
    assert np.abs(out.outputs[0].ravel() - want).max() < 0.1
    path = work / "lenet-proof.json"
    proof.save(path)
    assert cli("verify", "--keys", str(keys), "--proof", str(path)).returncode == 0


def test_a_cli_proof_verifies_in_python(mlp, work):
    model, keys = mlp
    path = work / "cli-proof.json"
    cli("prove", str(model), "--keys", str(keys), "--input", str(MLP / "input.json"),
        "--output", str(path), "--no-reference")
    out = zkinfer.verify(keys, path)
    loaded = zkinfer.Proof.load(path)
    np.testing.assert_array_equal(out.outputs[0].ravel(), loaded.outputs[0].ravel())


def test_a_proof_of_another_input_is_rejected_for_the_callers_input(mlp):
    # The prover was asked about input B but proved input A: the proof is valid, and only
    # the input check tells the caller it is not about B.
    model, keys = mlp
    a = np.asarray(input_data(MLP)[0], dtype=np.float32).reshape(1, 64)
    b = a.copy()
    b[0, 5] += 1.0
    proof = zkinfer.prove(model, keys, a, reference=False)
    out = zkinfer.verify(keys, proof)
    assert out.inputs_digest.startswith("sha256:")
    np.testing.assert_allclose(out.inputs[0].ravel(), a.ravel(), atol=0.01)
    assert out.quantized_inputs[0].size == 64
    with pytest.raises(zkinfer.VerifyError) as e:
        zkinfer.verify(keys, proof, input=b)
    assert e.value.reason == "InputMismatch"
    assert "element 5" in str(e.value)
    # The honest input, in every form, is accepted.
    for form in (a, [a], a.ravel().tolist(), MLP / "input.json"):
        assert zkinfer.verify(keys, proof, input=form).inputs_digest == out.inputs_digest


def test_every_input_form_proves_the_same_outputs(mlp):
    model, keys = mlp
    prover = zkinfer.Prover(model, keys)
    flat = input_data(MLP)[0]
    forms = [
        np.asarray(flat, dtype=np.float32).reshape(1, 64),  # an array of the input's shape
        [np.asarray(flat)],  # one array per input
        flat,  # a flat list
        [flat],  # EZKL's input_data list
        {"input_data": [flat]},  # EZKL's dict
        MLP / "input.json",  # a path
        str(MLP / "input.json"),
    ]
    outs = [prover.prove(f, reference=False).outputs[0] for f in forms]
    for o in outs[1:]:
        np.testing.assert_array_equal(o, outs[0])


def test_bad_inputs_raise_zkinfer_error_naming_what(mlp, work):
    model, keys = mlp
    with pytest.raises(zkinfer.ZkinferError, match="no-such.onnx"):
        zkinfer.compile(work / "no-such.onnx", work / "x.zkc")
    with pytest.raises(zkinfer.ZkinferError, match="input"):
        zkinfer.prove(model, keys, np.zeros(63), reference=False)
    with pytest.raises(zkinfer.ZkinferError, match="no-keys"):
        zkinfer.Prover(model, work / "no-keys")
    with pytest.raises(zkinfer.ZkinferError, match="target"):
        zkinfer.compile(MLP / "model.onnx", work / "x.zkc", target="speed")
    not_onnx = work / "garbage.onnx"
    not_onnx.write_bytes(b"\x00\x01 not a model")
    with pytest.raises(zkinfer.ZkinferError, match="garbage.onnx"):
        zkinfer.compile(not_onnx, work / "x.zkc")
    assert not issubclass(zkinfer.ZkinferError, zkinfer.VerifyError)
    assert issubclass(zkinfer.VerifyError, zkinfer.ZkinferError)


def _tampered(proof, edit):
    d = json.loads(proof.json)
    edit(d)
    return zkinfer.Proof(json.dumps(d))


def test_tampered_proofs_raise_verify_error_with_the_reason(mlp, lenet):
    model, keys = mlp
    proof = zkinfer.prove(model, keys, MLP / "input.json", reference=False)

    def flip_byte(d):
        b = bytearray.fromhex(d["proof"][2:])
        b[100] ^= 1
        d["proof"] = "0x" + b.hex()

    def swap_instance(d):
        inst = d["instances"][0]
        inst[3], inst[4] = inst[4], inst[3]

    cases = {
        "InvalidProof": flip_byte,
        "InstanceEncoding": lambda d: d["instances"][0].__setitem__(0, "0x12"),
        "ProofVersion": lambda d: d.__setitem__("version", 99),
    }
    for reason, edit in cases.items():
        with pytest.raises(zkinfer.VerifyError) as e:
            zkinfer.verify(keys, _tampered(proof, edit))
        assert e.value.reason == reason, (reason, str(e.value))
    with pytest.raises(zkinfer.VerifyError) as e:
        zkinfer.verify(keys, _tampered(proof, swap_instance))
    assert e.value.reason in ("InvalidProof", "OutputsMismatch")
    # Another model's keys.
    with pytest.raises(zkinfer.VerifyError) as e:
        zkinfer.verify(lenet[1], proof)
    assert e.value.reason == "WrongModel"
    # Not a proof at all.
    with pytest.raises(zkinfer.VerifyError) as e:
        zkinfer.verify(keys, zkinfer.Proof('{"format": "something else"}'))
    assert e.value.reason == "ProofFormat"


def test_proving_releases_the_gil(lenet):
    model, keys = lenet
    prover = zkinfer.Prover(model, keys)
    ticks = 0
    done = threading.Event()

    def prove():
        prover.prove(LENET / "input.json", reference=False)
        done.set()

    t = threading.Thread(target=prove)
    started = time.perf_counter()
    t.start()
    while not done.is_set():
        ticks += 1
        time.sleep(0.001)
    t.join()
    elapsed = time.perf_counter() - started
    # Held GIL: the loop would not run while the proof (about a second) is made.
    assert elapsed > 0.2 and ticks > elapsed * 100, (ticks, elapsed)


def test_verify_needs_no_onnxruntime(mlp, work):
    model, keys = mlp
    proof = zkinfer.prove(model, keys, MLP / "input.json", reference=False)
    path = work / "no-ort-proof.json"
    proof.save(path)
    code = (
        "import sys, zkinfer; out = zkinfer.verify(sys.argv[1], sys.argv[2]); "
        "assert 'onnxruntime' not in sys.modules; print(out.outputs[0].shape)"
    )
    env = {"ORT_DYLIB_PATH": "/nonexistent/libonnxruntime.so", "PATH": "/usr/bin:/bin"}
    r = subprocess.run([sys.executable, "-c", code, str(keys), str(path)], env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "(1, 10)"


def test_inspect_gives_the_clis_figures(mlp):
    model, _ = mlp
    info = zkinfer.inspect(model)
    assert str(info) == cli("inspect", str(model)).stdout
    assert info["k"] == zkinfer.model_info(model)["k"]
    assert info["inputs"][0]["shape"] == [1, 64]


def test_shards_prove_in_python_and_verify_as_a_chain(lenet, lenet_shards, work):
    paths, keys = lenet_shards
    assert len(paths) == 3
    proofs, acts = [], None
    for i, (p, k) in enumerate(zip(paths, keys)):
        prover = zkinfer.Prover(p, k)
        proof = prover.prove(LENET / "input.json" if i == 0 else None, activations=acts)
        proofs.append(proof)
        acts = proof.activations
        assert (acts is None) == (i == 2)
    out = zkinfer.verify_chain(list(zip(keys, proofs)))
    whole = zkinfer.prove(lenet[0], lenet[1], LENET / "input.json", reference=False)
    np.testing.assert_allclose(out.outputs[0], whole.outputs[0], atol=1e-6)
    # The CLI accepts the same chain.
    args = []
    for i, (k, proof) in enumerate(zip(keys, proofs)):
        path = work / f"chain-{i}.json"
        proof.save(path)
        args += ["--keys", k, "--proof", str(path)]
    assert "is VALID" in cli("verify-chain", *args).stdout
    # Out of order, or with a link replaced by another request's, it fails.
    with pytest.raises(zkinfer.VerifyError):
        zkinfer.verify_chain([(keys[1], proofs[1]), (keys[0], proofs[0]), (keys[2], proofs[2])])
    other = np.asarray(input_data(LENET)[0]) * 0.5
    p0 = zkinfer.Prover(paths[0], keys[0]).prove([other])
    with pytest.raises(zkinfer.VerifyError) as e:
        zkinfer.verify_chain([(keys[0], p0), (keys[1], proofs[1]), (keys[2], proofs[2])])
    assert e.value.reason == "ChainBroken"
    # The chain's input is checked against the caller's, like a single proof's.
    zkinfer.verify_chain(list(zip(keys, proofs)), input=LENET / "input.json")
    with pytest.raises(zkinfer.VerifyError) as e:
        zkinfer.verify_chain(list(zip(keys, proofs)), input=[other])
    assert e.value.reason == "InputMismatch"
    # Activations go only to the shard after the one that made them.
    with pytest.raises(zkinfer.ZkinferError, match="shard"):
        zkinfer.Prover(paths[2], keys[2]).prove(activations=proofs[0].activations)
