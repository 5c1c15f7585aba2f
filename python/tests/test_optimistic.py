"""Optimistic mode from Python: LeNet's three shards claimed without proving, an honest claim
agreeing with a re-execution and with the CLI's claim, a dishonest claim caught, disputed by
the proof of its one wrong segment and the dispute verified (here and by the CLI), and each
refusal typed: a dispute of an honest claim, a fraud proof against the wrong claim or with
the wrong keys, claims of different inputs."""

import json

import numpy as np
import pytest

import zkinfer
from conftest import LENET, cli, input_data

INPUT = LENET / "input.json"


@pytest.fixture(scope="module")
def claimer(lenet_shards):
    paths, keys = lenet_shards
    return zkinfer.Claimer(paths, keys)


@pytest.fixture(scope="module")
def cheat(claimer):
    """A claim with one activation of the middle shard's output altered."""
    return claimer.dishonest_claim(INPUT, segment=1, index=3, delta=7, node="cheater")


def test_an_honest_claim_agrees_with_a_re_execution_and_with_the_cli(claimer, lenet, lenet_shards, work):
    paths, keys = lenet_shards
    claim = claimer.claim(INPUT, node="honest")
    assert len(claim) == 3 and claim.node == "honest"
    assert all(s["statement_digest"].startswith("sha256:") for s in claim.segments)
    assert len(claim.boundaries) == 4 and claim.seconds is not None
    assert claim.outputs[0].shape == (1, 10)
    assert zkinfer.check_claim(claim, paths, INPUT).agree
    # The whole model claims the same output as its split.
    whole = zkinfer.claim(lenet[0], input_data(LENET)[0])
    np.testing.assert_array_equal(whole.outputs[0], claim.outputs[0])
    # Another process (the CLI) claims the same boundaries, bit for bit.
    path = work / "cli-claim.json"
    cli("claim", str(work / "lenet-shards"), "--input", str(INPUT), "-o", str(path),
        *[a for k in keys for a in ("--keys", k)])
    other = zkinfer.Claim.load(path)
    assert zkinfer.compare_claims(claim, other) == zkinfer.Agreement(None)
    assert other.boundaries == claim.boundaries
    # A claim saved here is the CLI's file.
    mine = work / "py-claim.json"
    claim.save(mine)
    assert zkinfer.Claim.load(mine).digest == claim.digest
    r = cli("check-claim", str(mine), "--model", str(work / "lenet-shards"), "--input", str(INPUT))
    assert "AGREE" in r.stdout


def test_a_dishonest_claim_is_caught_disputed_and_the_dispute_verifies(claimer, cheat, lenet_shards, work):
    paths, keys = lenet_shards
    honest = claimer.claim(INPUT)
    assert claimer.check(cheat, INPUT).segment == 1
    assert zkinfer.compare_claims(honest, cheat).segment == 1
    assert not zkinfer.compare_claims(cheat, honest)
    # Only the disputed segment's keys are needed.
    fraud = zkinfer.dispute(cheat, paths, INPUT, keys=keys[1])
    assert fraud.segment == 1 and fraud.claim_digest == cheat.digest
    refutation = zkinfer.verify_dispute(cheat, fraud, keys[1])
    assert refutation.segment == 1
    assert refutation.proven == honest.boundaries[2]
    assert refutation.claimed == cheat.boundaries[2]
    # The files are the CLI's: it verifies the dispute too.
    cheat.save(work / "cheat.json")
    fraud.save(work / "fraud.json")
    assert zkinfer.FraudProof.load(work / "fraud.json").segment == 1
    r = cli("verify-dispute", str(work / "cheat.json"), str(work / "fraud.json"), "--keys", keys[1])
    assert "FRAUD PROVEN" in r.stdout


def test_an_honest_claim_cannot_be_disputed(claimer, cheat, lenet_shards):
    paths, keys = lenet_shards
    honest = claimer.claim(INPUT)
    with pytest.raises(zkinfer.VerifyError) as e:
        claimer.dispute(honest, INPUT, keys)
    assert e.value.reason == "Dispute" and "nothing to dispute" in str(e.value)
    fraud = claimer.dispute(cheat, INPUT, keys)
    # The cheater's fraud proof, presented against the honest claim: another claim's.
    with pytest.raises(zkinfer.VerifyError) as e:
        zkinfer.verify_dispute(honest, fraud, keys[1])
    assert e.value.reason == "Dispute" and "not this one" in str(e.value)
    # Relabelled for the honest claim: the proof confirms that claim's segment.
    data = json.loads(fraud.to_json())
    data["claim_digest"] = honest.digest
    relabelled = zkinfer.FraudProof(json.dumps(data))
    with pytest.raises(zkinfer.VerifyError) as e:
        zkinfer.verify_dispute(honest, relabelled, keys[1])
    assert e.value.reason == "Dispute" and "confirms" in str(e.value)
    # The right proof with another segment's keys.
    with pytest.raises(zkinfer.VerifyError) as e:
        zkinfer.verify_dispute(cheat, fraud, keys[2])
    assert e.value.reason == "Dispute" and "segment 1" in str(e.value)


def test_claims_of_different_inputs_are_not_compared(claimer, lenet_shards):
    paths, keys = lenet_shards
    x = np.asarray(input_data(LENET)[0], dtype=np.float32)
    a, b = claimer.claim(x), claimer.claim(x * 0.5)
    with pytest.raises(zkinfer.VerifyError) as e:
        zkinfer.compare_claims(a, b)
    assert e.value.reason == "Claim" and "different inputs" in str(e.value)
    with pytest.raises(zkinfer.VerifyError) as e:
        zkinfer.check_claim(b, paths, x)
    assert e.value.reason == "Claim"
    with pytest.raises(zkinfer.VerifyError) as e:
        claimer.dispute(b, x, keys)
    assert e.value.reason == "Claim"


def test_a_claim_file_is_checked_when_read(claimer, work):
    claim = claimer.claim(INPUT)
    data = json.loads(claim.to_json())
    data["boundaries"].pop()
    with pytest.raises(zkinfer.VerifyError) as e:
        zkinfer.Claim(json.dumps(data))
    assert e.value.reason == "OptimisticFile"
    with pytest.raises(zkinfer.ZkinferError):
        zkinfer.Claim.load(work / "no-such-claim.json")
