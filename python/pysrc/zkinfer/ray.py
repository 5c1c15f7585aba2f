"""Sharded proving on a Ray cluster: one actor per shard, activations through Ray's object
store, requests pipelined across the shards, every chain verified by the caller.

    from zkinfer.ray import ShardPipeline
    pipe = ShardPipeline(shard_paths, key_dirs, num_cpus=1)
    results = pipe.prove_many([inputs0, inputs1, ...])
    results[0].outputs, results[0].proofs

Each actor loads its shard's proving key once. Request i+1 is proven in shard 0 while request
i is in shard 1. An actor that dies (its process or its node) is restarted by Ray and the
tasks it held are retried, so no request is lost; the results hold exactly one proof per
request and shard, whatever was retried. The shard files and key directories must be
readable at the same paths on every node (a shared or replicated folder).

Ray is an optional dependency: ``pip install "./python[ray]"``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

try:
    import ray
except ImportError as e:  # pragma: no cover - the message is the point
    raise ImportError(
        'zkinfer.ray needs Ray: pip install "zkinfer[ray]" (or pip install ray)'
    ) from e

import zkinfer
from zkinfer import Proof, Verified, ZkinferError

PathLike = Union[str, "os.PathLike[str]"]
PerShard = Union[float, Sequence[float], None]


class ShardWorker:
    """One shard's prover, held by a Ray actor: the proving key and SRS load once."""

    def __init__(self, index: int, model: str, keys: str, srs: Optional[str], backend: str):
        self.index = index
        started = time.perf_counter()
        self.prover = zkinfer.Prover(model, keys, srs, backend)
        self.load_seconds = time.perf_counter() - started
        self.proven = 0

    def ready(self) -> Dict[str, Any]:
        ctx = ray.get_runtime_context()
        return {
            "shard": self.index,
            "node": ctx.get_node_id(),
            "pid": os.getpid(),
            "load_seconds": self.load_seconds,
        }

    def prove(self, request: int, payload: Any):
        """Proves ``request`` from its inputs (shard 0) or the previous shard's activations.
        Returns (proof JSON and timing, the activations for the next shard)."""
        started = time.perf_counter()
        if self.index == 0:
            proof = self.prover.prove(payload, reference=False)
        else:
            proof = self.prover.prove(activations=payload)
        self.proven += 1
        timing = {
            "request": request,
            "shard": self.index,
            "seconds": time.perf_counter() - started,
            "pid": os.getpid(),
            "node": ray.get_runtime_context().get_node_id(),
        }
        handed_on = proof.activations.json if proof.activations is not None else None
        return (proof.json, timing), handed_on


@dataclass
class ChainResult:
    """One request through the pipeline: its verified outputs and one proof per shard."""

    request: int
    outputs: List[np.ndarray]
    proofs: List[Proof]
    verified: Verified
    # Per shard: seconds proving, the process and node that proved it.
    timings: List[Dict[str, Any]] = field(default_factory=list)
    verify_seconds: float = 0.0
    latency_seconds: float = 0.0


def _per_shard(value: PerShard, n: int, name: str) -> List[Optional[float]]:
    if value is None or isinstance(value, (int, float)):
        return [value] * n
    values = list(value)
    if len(values) != n:
        raise ZkinferError(f"{name}: {len(values)} values for {n} shards")
    return values


class ShardPipeline:
    """A sharded model on Ray: one actor per shard (``shard_paths[i]`` proven with the keys
    in ``key_dirs[i]``).

    ``num_cpus``, ``num_gpus`` and ``resources`` are each one value for every shard or one
    per shard, so GPU nodes can take the heavy shards (``backend="cuda"`` there).
    ``max_restarts`` and ``max_task_retries`` bound how often a dead actor is restarted and
    its task retried (-1: without bound). ``scheduling_strategy`` is Ray's (``"SPREAD"``
    puts the shards on different nodes). An actor declaring ``num_cpus >= 1`` proves with
    that many threads."""

    def __init__(
        self,
        shard_paths: Sequence[PathLike],
        key_dirs: Sequence[PathLike],
        *,
        num_cpus: PerShard = 1,
        num_gpus: PerShard = None,
        resources: Union[Dict[str, float], Sequence[Dict[str, float]], None] = None,
        srs: Optional[PathLike] = None,
        backend: Union[str, Sequence[str]] = "cpu",
        max_restarts: int = 3,
        max_task_retries: int = 3,
        scheduling_strategy: Any = None,
    ):
        if len(shard_paths) != len(key_dirs) or not shard_paths:
            raise ZkinferError(
                f"{len(shard_paths)} shards and {len(key_dirs)} key directories: give one of each per shard"
            )
        n = len(shard_paths)
        self.shard_paths = [os.path.abspath(os.fspath(p)) for p in shard_paths]
        self.key_dirs = [os.path.abspath(os.fspath(k)) for k in key_dirs]
        infos = [zkinfer.model_info(p) for p in self.shard_paths]
        for i, info in enumerate(infos):
            shard = info["shard"]
            if shard is None or shard["index"] != i or shard["count"] != n:
                raise ZkinferError(
                    f"{self.shard_paths[i]}: not shard {i} of {n} (split the model with zkinfer.split)"
                )
        self.info = infos
        cpus = _per_shard(num_cpus, n, "num_cpus")
        gpus = _per_shard(num_gpus, n, "num_gpus")
        if resources is None or isinstance(resources, dict):
            res: List[Optional[Dict[str, float]]] = [resources] * n
        else:
            res = list(resources)
        backends = [backend] * n if isinstance(backend, str) else list(backend)
        srs_path = os.fspath(srs) if srs else None
        remote = ray.remote(ShardWorker)
        self.actors = []
        for i in range(n):
            opts: Dict[str, Any] = {
                "max_restarts": max_restarts,
                "max_task_retries": max_task_retries,
            }
            if cpus[i] is not None:
                opts["num_cpus"] = cpus[i]
            if gpus[i] is not None:
                opts["num_gpus"] = gpus[i]
            if res[i]:
                opts["resources"] = res[i]
            if scheduling_strategy is not None:
                opts["scheduling_strategy"] = scheduling_strategy
            # The prover's thread pool (rayon) as wide as the CPUs the actor declared, so
            # actors sharing a node do not oversubscribe it.
            if cpus[i] is not None and cpus[i] >= 1:
                threads = str(int(cpus[i]))
                opts["runtime_env"] = {"env_vars": {"RAYON_NUM_THREADS": threads}}
            self.actors.append(
                remote.options(**opts).remote(
                    i, self.shard_paths[i], self.key_dirs[i], srs_path, backends[i]
                )
            )
        # Fails here, with the shard's reason, when a key does not load.
        self.placement = ray.get([a.ready.remote() for a in self.actors])

    def submit(self, request: int, inputs: Any) -> List["ray.ObjectRef"]:
        """Queues one request through every shard; returns the refs of its proofs."""
        flat = zkinfer._normalize_inputs(inputs, self.info[0]["inputs"])
        payload: Any = ray.put(flat)
        refs = []
        for actor in self.actors:
            proof_ref, payload = actor.prove.options(num_returns=2).remote(request, payload)
            refs.append(proof_ref)
        return refs

    def prove_many(self, requests: Sequence[Any]) -> List[ChainResult]:
        """Proves every request through the shards, pipelined, and verifies each chain.
        Returns the results in request order; raises :class:`VerifyError` if a chain does
        not verify."""
        started = time.perf_counter()
        pending = [self.submit(i, r) for i, r in enumerate(requests)]
        return [self.collect(i, refs, started) for i, refs in enumerate(pending)]

    def collect(self, request: int, refs: List["ray.ObjectRef"], started: float) -> ChainResult:
        """Waits for one request's proofs and verifies its chain."""
        parts = ray.get(refs)
        latency = time.perf_counter() - started
        proofs = [Proof(text, None, info["outputs"]) for (text, _), info in zip(parts, self.info)]
        timings = [t for _, t in parts]
        t = time.perf_counter()
        verified = zkinfer.verify_chain(list(zip(self.key_dirs, proofs)))
        verify_seconds = time.perf_counter() - t
        return ChainResult(
            request=request,
            outputs=verified.outputs,
            proofs=proofs,
            verified=verified,
            timings=timings,
            verify_seconds=verify_seconds,
            latency_seconds=latency,
        )

    def shutdown(self) -> None:
        for a in self.actors:
            ray.kill(a, no_restart=True)
        self.actors = []


__all__ = ["ChainResult", "ShardPipeline", "ShardWorker"]
