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

Optimistic mode (``mode="optimistic"``) claims instead of proving: each request is evaluated
through every shard in one actor (the exact integer evaluation the circuits prove, no proving
key loaded) and returns a :class:`zkinfer.Claim`, at inference speed. ``watch`` checks claims
by re-execution and, for a wrong one, proves only the first segment it gets wrong: the fraud
proof, verified before it is returned.

    pipe = ShardPipeline(shard_paths, key_dirs, mode="optimistic")
    claims = pipe.claim_many([inputs0, inputs1, ...])       # ClaimResult: .claim, .seconds
    for w in pipe.watch(claims, [inputs0, inputs1, ...]):   # Watched: .agreement, .fraud_proof
        ...

The pipeline's actors hold their resources together: the cluster must have room for all of
them (one per shard, or ``claimers`` in optimistic mode). When it cannot, the constructor
raises :class:`ZkinferError` naming the shortfall instead of waiting for resources that will
not come.

Ray is an optional dependency: ``pip install "./python[ray]"``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

try:
    import ray
except ImportError as e:  # pragma: no cover - the message is the point
    raise ImportError(
        'zkinfer.ray needs Ray: pip install "zkinfer[ray]" (or pip install ray)'
    ) from e

import zkinfer
from zkinfer import Agreement, Claim, FraudProof, Proof, Refutation, Verified, ZkinferError

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


class ClaimWorker:
    """Every segment of the model, held by a Ray actor: claims and re-executes requests, and
    proves the disputed segment of a wrong claim (reading only that segment's proving key)."""

    def __init__(self, index: int, models: List[str], keys: Optional[List[str]]):
        self.index = index
        started = time.perf_counter()
        self.claimer = zkinfer.Claimer(models, keys)
        self.load_seconds = time.perf_counter() - started

    def ready(self) -> Dict[str, Any]:
        return {
            "claimer": self.index,
            "node": ray.get_runtime_context().get_node_id(),
            "pid": os.getpid(),
            "load_seconds": self.load_seconds,
        }

    def claim(self, request: int, inputs: Any, node: Optional[str]):
        """The claim's JSON and where and how fast it was made."""
        c = self.claimer.claim(inputs, node=node)
        return c.to_json(), {"request": request, "seconds": c.seconds, "pid": os.getpid()}

    def check(self, claim: str, inputs: Any) -> Tuple[Optional[int], float]:
        """The first differing segment (None: agree) and the seconds the check took."""
        started = time.perf_counter()
        agreement = self.claimer.check(Claim(claim), inputs)
        return agreement.segment, time.perf_counter() - started

    def dispute(self, claim: str, inputs: Any, keys: List[str], srs: Optional[str], backend: str):
        fraud = self.claimer.dispute(Claim(claim), inputs, keys, srs=srs, backend=backend)
        return fraud.to_json(), fraud.seconds


@dataclass
class ClaimResult:
    """One request's claim: made in ``seconds`` of evaluation (``latency_seconds`` from
    submission, with Ray's overhead)."""

    request: int
    claim: Claim
    seconds: float = 0.0
    latency_seconds: float = 0.0

    @property
    def outputs(self) -> List[np.ndarray]:
        return self.claim.outputs


@dataclass
class Watched:
    """A watcher's verdict on one claim: ``agreement`` with its re-execution and, for a wrong
    claim, the ``fraud_proof`` of the first wrong segment and what it establishes
    (``refutation``, verified with that segment's keys)."""

    request: int
    agreement: Agreement
    fraud_proof: Optional[FraudProof] = None
    refutation: Optional[Refutation] = None
    check_seconds: float = 0.0
    dispute_seconds: float = 0.0


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


def _need(demands: List[Dict[str, float]]) -> Dict[str, float]:
    total: Dict[str, float] = {}
    for d in demands:
        for r, v in d.items():
            if v:
                total[r] = total.get(r, 0.0) + v
    return total


def _amounts(res: Dict[str, float], names: Sequence[str]) -> str:
    return ", ".join(f"{res.get(r, 0.0):g} {r}" for r in names)


def _short(need: Dict[str, float], have: Dict[str, float]) -> List[str]:
    return [r for r, v in need.items() if v > have.get(r, 0.0) + 1e-9]


def check_capacity(
    demands: List[Dict[str, float]], what: str, wait_seconds: float = 10.0
) -> None:
    """Refuses, with :class:`ZkinferError` naming the shortfall, actors that the cluster
    cannot hold at once (``demands``: each actor's resources). Ray would start those that
    fit and leave the rest pending, forever where nothing frees their resources. Resources
    of actors just killed come back within moments: this waits up to ``wait_seconds`` for
    them."""
    need = _need(demands)
    total = ray.cluster_resources()
    short = _short(need, total)
    if short:
        raise ZkinferError(
            f"{what} need {_amounts(need, short)} in all; the cluster has "
            f"{_amounts(total, short)}: lower the per-actor resources (num_cpus, num_gpus), "
            f"split into fewer shards, or add nodes"
        )
    nodes = [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")]
    for i, d in enumerate(demands):
        wanted = {r: v for r, v in d.items() if v}
        if nodes and not any(not _short(wanted, node) for node in nodes):
            raise ZkinferError(
                f"{what}: actor {i} needs {_amounts(wanted, list(wanted))} on one node; no "
                f"node of the cluster has that much"
            )
    deadline = time.monotonic() + wait_seconds
    while True:
        available = ray.available_resources()
        short = _short(need, available)
        if not short:
            return
        if time.monotonic() >= deadline:
            raise ZkinferError(
                f"{what} need {_amounts(need, short)} in all; the cluster has "
                f"{_amounts(available, short)} available now ({_amounts(total, short)} in "
                f"all): other actors or tasks hold the rest"
            )
        time.sleep(0.2)


class ShardPipeline:
    """A sharded model on Ray: one actor per shard (``shard_paths[i]`` proven with the keys
    in ``key_dirs[i]``), or in optimistic mode (``mode="optimistic"``) ``claimers`` actors
    that each hold every shard (no proving key is loaded until a dispute; ``key_dirs`` may
    then be None, but a dispute needs them, and with them claims name each segment's keys).

    ``num_cpus``, ``num_gpus`` and ``resources`` are each one value for every shard or one
    per shard, so GPU nodes can take the heavy shards (``backend="cuda"`` there).
    ``max_restarts`` and ``max_task_retries`` bound how often a dead actor is restarted and
    its task retried (-1: without bound). ``scheduling_strategy`` is Ray's (``"SPREAD"``
    puts the shards on different nodes). An actor declaring ``num_cpus >= 1`` proves with
    that many threads. In optimistic mode each claim actor declares the largest per-shard
    value (it evaluates every shard and proves the one disputed).

    The actors must fit in the cluster at once: when they cannot, the constructor raises
    :class:`ZkinferError` naming the shortfall, and actors that do not start within
    ``start_timeout`` seconds (None: no bound) are killed and reported the same way."""

    def __init__(
        self,
        shard_paths: Sequence[PathLike],
        key_dirs: Optional[Sequence[PathLike]] = None,
        *,
        mode: str = "prove",
        claimers: int = 1,
        start_timeout: Optional[float] = 600.0,
        num_cpus: PerShard = 1,
        num_gpus: PerShard = None,
        resources: Union[Dict[str, float], Sequence[Dict[str, float]], None] = None,
        srs: Optional[PathLike] = None,
        backend: Union[str, Sequence[str]] = "cpu",
        max_restarts: int = 3,
        max_task_retries: int = 3,
        scheduling_strategy: Any = None,
    ):
        if mode not in ("prove", "optimistic"):
            raise ZkinferError(f"mode: `{mode}` is not prove or optimistic")
        if key_dirs is None and mode == "prove":
            raise ZkinferError("proving needs key_dirs: one key directory per shard")
        keys = list(key_dirs) if key_dirs is not None else None
        if not shard_paths or (keys is not None and len(shard_paths) != len(keys)):
            raise ZkinferError(
                f"{len(shard_paths)} shards and {len(keys or [])} key directories: give one of each per shard"
            )
        n = len(shard_paths)
        self.mode = mode
        self.shard_paths = [os.path.abspath(os.fspath(p)) for p in shard_paths]
        self.key_dirs: Optional[List[str]] = (
            [os.path.abspath(os.fspath(k)) for k in keys] if keys is not None else None
        )
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
        self.srs = os.fspath(srs) if srs else None
        self.backends = backends
        self.actors: List[Any] = []
        self.claimers: List[Any] = []
        self._next = 0
        if mode == "optimistic":
            if claimers < 1:
                raise ZkinferError(f"claimers: {claimers}; at least one claim actor")
            widest = [max((v for v in vals if v is not None), default=None) for vals in (cpus, gpus)]
            merged: Dict[str, float] = {}
            for r in res:
                for k, v in (r or {}).items():
                    merged[k] = max(merged.get(k, 0.0), v)
            cpus, gpus = [widest[0]] * claimers, [widest[1]] * claimers
            res = [merged or None] * claimers
        count = len(cpus)
        demands = [
            {"CPU": cpus[i] or 0.0, "GPU": gpus[i] or 0.0, **(res[i] or {})} for i in range(count)
        ]
        what = (
            f"{count} claim actor(s)" if mode == "optimistic" else f"{count} shard actors (one per shard)"
        )
        check_capacity(demands, what)
        remote = ray.remote(ShardWorker if mode == "prove" else ClaimWorker)
        started = []
        for i in range(count):
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
            if mode == "prove":
                assert self.key_dirs is not None
                args: Tuple[Any, ...] = (
                    i, self.shard_paths[i], self.key_dirs[i], self.srs, backends[i]
                )
            else:
                args = (i, self.shard_paths, self.key_dirs)
            started.append(remote.options(**opts).remote(*args))
        if mode == "prove":
            self.actors = started
        else:
            self.claimers = started
        self.placement = self._wait_started(started, what, start_timeout)

    def _wait_started(self, actors: List[Any], what: str, timeout: Optional[float]) -> List[Any]:
        """Each actor's placement; raises (with the actor's reason) when one fails to load,
        and kills them all when one has not started within ``timeout``."""
        refs = [a.ready.remote() for a in actors]
        done, pending = ray.wait(refs, num_returns=len(refs), timeout=timeout)
        if pending:
            late = [i for i, r in enumerate(refs) if r in pending]
            for a in actors:
                ray.kill(a, no_restart=True)
            raise ZkinferError(
                f"{what}: actor(s) {late} did not start within {timeout:g} s (the cluster has "
                f"{_amounts(ray.available_resources(), ['CPU', 'GPU'])} available now); "
                f"the rest were stopped"
            )
        return ray.get(refs)

    def _need_mode(self, mode: str, call: str) -> None:
        if self.mode != mode:
            raise ZkinferError(f"{call}: this pipeline was made with mode={self.mode!r}, not {mode!r}")

    def _claimer(self) -> Any:
        actor = self.claimers[self._next % len(self.claimers)]
        self._next += 1
        return actor

    def submit(self, request: int, inputs: Any) -> List["ray.ObjectRef"]:
        """Queues one request through every shard; returns the refs of its proofs."""
        self._need_mode("prove", "submit")
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
        self._need_mode("prove", "prove_many")
        pending = [self.submit(i, r) for i, r in enumerate(requests)]
        return [self.collect(i, refs, started) for i, refs in enumerate(pending)]

    def collect(self, request: int, refs: List["ray.ObjectRef"], started: float) -> ChainResult:
        """Waits for one request's proofs and verifies its chain."""
        parts = ray.get(refs)
        latency = time.perf_counter() - started
        proofs = [Proof(text, None, info["outputs"]) for (text, _), info in zip(parts, self.info)]
        timings = [t for _, t in parts]
        t = time.perf_counter()
        verified = zkinfer.verify_chain(list(zip(self.key_dirs or [], proofs)))
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

    def claim_many(self, requests: Sequence[Any], node: Optional[str] = None) -> List[ClaimResult]:
        """Optimistic mode: claims every request (no proving), spread over the claim actors.
        ``node`` names the claimer in each claim. Returns the results in request order."""
        self._need_mode("optimistic", "claim_many")
        started = time.perf_counter()
        refs = [
            self._claimer().claim.remote(i, zkinfer._normalize_inputs(r, self.info[0]["inputs"]), node)
            for i, r in enumerate(requests)
        ]
        results = []
        for i, ref in enumerate(refs):
            text, timing = ray.get(ref)
            results.append(
                ClaimResult(
                    request=i,
                    claim=Claim(text, self.info[-1]["outputs"]),
                    seconds=timing["seconds"],
                    latency_seconds=time.perf_counter() - started,
                )
            )
        return results

    def watch(
        self,
        claims: Sequence[Union[ClaimResult, Claim]],
        requests: Sequence[Any],
        *,
        dispute: bool = True,
    ) -> List[Watched]:
        """Optimistic mode, the watcher: re-executes each request and compares with its claim
        (``claims[i]`` of ``requests[i]``, from any node). A wrong claim, with ``dispute``, is
        disputed: the first segment it gets wrong is proven (that segment only, in a claim
        actor) and the fraud proof verified with that segment's keys. A claim of another
        model, split or input raises :class:`VerifyError` (``reason == "Claim"``)."""
        self._need_mode("optimistic", "watch")
        if len(claims) != len(requests):
            raise ZkinferError(f"{len(claims)} claims for {len(requests)} requests")
        if dispute and self.key_dirs is None:
            raise ZkinferError("watch(dispute=True) needs the pipeline's key_dirs to prove a segment")
        given = [c.claim if isinstance(c, ClaimResult) else c for c in claims]
        inputs = [zkinfer._normalize_inputs(r, self.info[0]["inputs"]) for r in requests]
        checks = ray.get(
            [self._claimer().check.remote(c.to_json(), x) for c, x in zip(given, inputs)]
        )
        verdicts = [
            Watched(request=i, agreement=Agreement(seg), check_seconds=secs)
            for i, (seg, secs) in enumerate(checks)
        ]
        if not dispute:
            return verdicts
        assert self.key_dirs is not None
        wrong = [w for w in verdicts if not w.agreement]
        refs = [
            self._claimer().dispute.remote(
                given[w.request].to_json(),
                inputs[w.request],
                self.key_dirs,
                self.srs,
                self.backends[w.agreement.segment or 0],
            )
            for w in wrong
        ]
        for w, (text, secs) in zip(wrong, ray.get(refs)):
            fraud = FraudProof(text)
            fraud.seconds = secs
            w.fraud_proof = fraud
            w.dispute_seconds = secs
            w.refutation = zkinfer.verify_dispute(
                given[w.request], fraud, self.key_dirs[fraud.segment]
            )
        return verdicts

    def shutdown(self) -> None:
        for a in self.actors + self.claimers:
            ray.kill(a, no_restart=True)
        self.actors = []
        self.claimers = []


__all__ = [
    "ChainResult",
    "ClaimResult",
    "ClaimWorker",
    "ShardPipeline",
    "ShardWorker",
    "Watched",
    "check_capacity",
]
