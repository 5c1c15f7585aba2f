"""zkinfer.ray: LeNet's three shards on a local Ray (ray.init(num_cpus=2)), pipelined, every
chain verified, and an actor killed mid-stream without losing or doubling a request."""

import numpy as np
import pytest

import zkinfer
from conftest import LENET, input_data

ray = pytest.importorskip("ray", reason="the Ray extra: pip install './python[ray]'")
from zkinfer.ray import ShardPipeline  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _requests(n):
    base = np.asarray(input_data(LENET)[0], dtype=np.float32)
    return [base * (1.0 - 0.1 * i) for i in range(n)]


def test_pipeline_proves_in_order_and_matches_one_process(cluster, lenet, lenet_shards):
    paths, keys = lenet_shards
    pipe = ShardPipeline(paths, keys, num_cpus=0.5)
    try:
        requests = _requests(3)
        results = pipe.prove_many(requests)
        assert [r.request for r in results] == [0, 1, 2]
        whole = zkinfer.Prover(*lenet)
        for req, res in zip(requests, results):
            assert len(res.proofs) == 3 and [t["shard"] for t in res.timings] == [0, 1, 2]
            alone = whole.prove([req], reference=False).outputs[0]
            np.testing.assert_allclose(res.outputs[0], alone, atol=1e-6)
            # The proofs verify again, outside the pipeline.
            zkinfer.verify_chain(list(zip(keys, res.proofs)))
        # Distinct requests: distinct outputs (nothing was served twice).
        assert not np.array_equal(results[0].outputs[0], results[1].outputs[0])
    finally:
        pipe.shutdown()


def test_a_killed_actor_is_restarted_and_no_request_is_lost(cluster, lenet_shards):
    paths, keys = lenet_shards
    pipe = ShardPipeline(paths, keys, num_cpus=0.5, max_restarts=2, max_task_retries=2)
    try:
        requests = _requests(4)
        pending = [pipe.submit(i, r) for i, r in enumerate(requests)]
        first = pipe.collect(0, pending[0], 0.0)
        first_pid = first.timings[1]["pid"]
        ray.kill(pipe.actors[1], no_restart=False)  # shard 1's process dies mid-stream
        rest = [pipe.collect(i, refs, 0.0) for i, refs in enumerate(pending) if i > 0]
        results = [first] + rest
        assert [r.request for r in results] == [0, 1, 2, 3]
        for r in results:
            assert [t["request"] for t in r.timings] == [r.request] * 3
        # Shard 1 ran in a new process after the kill.
        assert any(r.timings[1]["pid"] != first_pid for r in rest)
        outs = [r.outputs[0].tobytes() for r in results]
        assert len(set(outs)) == 4
    finally:
        pipe.shutdown()


def test_pipeline_refuses_shards_out_of_order(cluster, lenet_shards):
    paths, keys = lenet_shards
    with pytest.raises(zkinfer.ZkinferError, match="not shard 0"):
        ShardPipeline(list(reversed(paths)), list(reversed(keys)))


def test_optimistic_claims_and_the_watcher_disputes_only_the_wrong_claim(cluster, lenet_shards):
    paths, keys = lenet_shards
    pipe = ShardPipeline(paths, keys, mode="optimistic", num_cpus=1)
    try:
        requests = _requests(3)
        claims = pipe.claim_many(requests, node="node-a")
        assert [c.request for c in claims] == [0, 1, 2]
        for c, r in zip(claims, requests):
            assert c.claim.node == "node-a" and len(c.claim) == 3
            alone = zkinfer.claim(paths, [r])
            assert zkinfer.compare_claims(c.claim, alone).agree
        print(f"claim: {max(c.seconds for c in claims) * 1e3:.2f} ms evaluation per request")
        # A cheating node: the first shard's output altered for request 1.
        cheat = zkinfer.dishonest_claim(paths, [requests[1]], 0, 5, -3, keys=keys)
        given = [claims[0], cheat, claims[2]]
        verdicts = pipe.watch(given, requests)
        assert [bool(w.agreement) for w in verdicts] == [True, False, True]
        assert [w.fraud_proof is None for w in verdicts] == [True, False, True]
        caught = verdicts[1]
        assert caught.agreement.segment == 0 and caught.fraud_proof.segment == 0
        assert caught.refutation.segment == 0
        assert caught.fraud_proof.claim_digest == cheat.digest
        print(f"dispute of segment 0: {caught.dispute_seconds:.2f} s")
        # Proving mode's calls are refused in optimistic mode.
        with pytest.raises(zkinfer.ZkinferError, match="mode='optimistic'"):
            pipe.prove_many(requests[:1])
        # While this pipeline holds a CPU, more than the rest is refused, not waited for.
        from zkinfer.ray import check_capacity

        with pytest.raises(zkinfer.ZkinferError, match="available now"):
            check_capacity([{"CPU": 1.5}], "a test actor", wait_seconds=0.2)
    finally:
        pipe.shutdown()


def test_a_pipeline_the_cluster_cannot_hold_is_refused_not_left_waiting(cluster, lenet_shards):
    # 3 shards at one CPU each on a 2-CPU cluster: two actors would start and the third wait
    # forever. The constructor runs in a thread so that a hang fails the test.
    import threading

    paths, keys = lenet_shards
    outcome = {}

    def construct():
        try:
            outcome["pipe"] = ShardPipeline(paths, keys, num_cpus=1)
        except Exception as e:  # noqa: BLE001 - the test inspects it
            outcome["error"] = e

    t = threading.Thread(target=construct, daemon=True)
    t.start()
    t.join(timeout=60)
    assert not t.is_alive(), "ShardPipeline waited for resources the cluster does not have"
    if "pipe" in outcome:
        outcome["pipe"].shutdown()
    err = outcome.get("error")
    assert isinstance(err, zkinfer.ZkinferError), outcome
    assert "3 CPU" in str(err) and "2 CPU" in str(err), str(err)
