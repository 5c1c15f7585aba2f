"""Attack proofs that `cargo test -p zkinfer-tests --test onchain_entry` writes to
target/attack-fixtures (scripts/test-python.sh runs it when they are missing): each is refused
for the same reason as by the Rust verifier and the EVM entry contract."""

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
