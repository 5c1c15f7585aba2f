"""Attack proofs that `cargo test -p zkinfer-tests --test onchain_entry` writes to
target/attack-fixtures (scripts/test-python.sh runs it when they are missing): each is refused
for the same reason as by the Rust verifier and the EVM entry contract."""

import json
from pathlib import Path

import pytest

import zkinfer

ATTACKS = Path(__file__).resolve().parents[2] / "target" / "attack-fixtures"


def test_a_valid_proof_of_inputs_outside_their_bounds_is_refused():
    d = ATTACKS / "input-out-of-bound"
    assert (d / "proof.json").is_file(), (
        f"{d}: run `cargo test -p zkinfer-tests --test onchain_entry` first")
    with pytest.raises(zkinfer.VerifyError) as e:
        zkinfer.verify(d / "bundle.bin", d / "proof.json")
    assert e.value.reason == "InstanceOutOfRange"


def test_keys_other_than_the_pinned_statement_are_refused():
    d = ATTACKS / "input-out-of-bound"
    wrong = "sha256:" + "0" * 64
    with pytest.raises(zkinfer.VerifyError) as e:
        zkinfer.verify(d / "bundle.bin", d / "proof.json", digest=wrong)
    assert e.value.reason == "WrongStatement"
    # Pinned to its own statement, the attack proof still fails on its bounds.
    proof = json.loads((d / "proof.json").read_text())
    with pytest.raises(zkinfer.VerifyError) as e:
        zkinfer.verify(d / "bundle.bin", d / "proof.json", digest=proof["statement_digest"])
    assert e.value.reason == "InstanceOutOfRange"
