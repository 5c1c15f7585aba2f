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
