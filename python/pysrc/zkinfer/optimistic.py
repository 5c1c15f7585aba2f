"""Optimistic inference: a claim at the cost of inference, a ZK proof only when someone
disputes it (the CLI's ``claim``, ``check-claim``, ``compare-claims``, ``dispute`` and
``verify-dispute``; the files are the CLI's).

    claim = zkinfer.claim("shards/", "input.json")           # integer evaluation, no keys
    claim.save("claim.json")
    zkinfer.check_claim(claim, "shards/", "input.json")      # Agreement: agree, or a segment
    zkinfer.compare_claims(claim, other_node_claim)          # without re-executing
    fraud = zkinfer.dispute(bad_claim, "shards/", "input.json", keys=["keys-0", ...])
    zkinfer.verify_dispute(bad_claim, fraud, keys="keys-1")  # Refutation, or VerifyError

A claim's segments are the shards of a split (or the whole model); it records the Poseidon
commitment of every boundary between them, so a dispute proves the one segment the claim gets
wrong. Claims that cannot be compared (other model, split or input) raise
:class:`VerifyError` with ``reason == "Claim"``; a dispute of a claim that is right, or a
fraud proof that does not refute its claim, ``reason == "Dispute"``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

from . import _native
from ._native import ZkinferError

PathLike = Union[str, "os.PathLike[str]"]


def _read_text(path: PathLike, what: str) -> str:
    try:
        return Path(path).read_text()
    except OSError as e:
        raise ZkinferError(f"{what} {os.fspath(path)}: {e}") from None


class Claim:
    """What a node claims a model computes on one input, segment by segment (a
    ``zkinfer-claim`` file). ``digest`` is what a fraud proof names; ``outputs`` the claimed
    outputs (dequantized); ``boundaries`` the input, each hand-off and the output (each a
    dict with ``commitment`` and, where proofs expose values, ``values``)."""

    def __init__(self, text: str, output_info: Optional[Sequence[Dict[str, Any]]] = None, *, name: str = "claim"):
        canonical, digest = _native.read_claim(text, name)
        self._json: str = canonical
        self.digest: str = digest
        self._data: Dict[str, Any] = json.loads(canonical)
        self._info = list(output_info) if output_info is not None else None
        #: Seconds the evaluation took, when this process made the claim.
        self.seconds: Optional[float] = None

    def to_json(self) -> str:
        return self._json

    @property
    def model_digest(self) -> str:
        return self._data["model_digest"]

    @property
    def segments(self) -> List[Dict[str, Any]]:
        """Per segment: ``model_digest`` and, when the node named its keys,
        ``statement_digest``."""
        return self._data["segments"]

    @property
    def boundaries(self) -> List[Dict[str, Any]]:
        return self._data["boundaries"]

    @property
    def node(self) -> Optional[str]:
        return self._data.get("node")

    @property
    def outputs(self) -> List[np.ndarray]:
        from . import _shaped

        infos = self._info or [None] * len(self._data["outputs"])
        return [_shaped(o, i) for o, i in zip(self._data["outputs"], infos)]

    def save(self, path: PathLike) -> None:
        Path(path).write_text(self._json)

    @classmethod
    def load(cls, path: PathLike) -> "Claim":
        return cls(_read_text(path, "claim"), name=os.fspath(path))

    def __len__(self) -> int:
        return len(self.segments)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Claim) and other.digest == self.digest

    def __hash__(self) -> int:
        return hash(self.digest)

    def __repr__(self) -> str:
        return f"Claim({len(self)} segment(s), {self.digest[:19]}…)"


@dataclass(frozen=True)
class Agreement:
    """How a claim compares with a re-execution or another claim: ``agree``, or ``segment``,
    the first segment whose output differs (a fraud proof of that segment settles it).
    ``bool(agreement)`` is ``agree``."""

    segment: Optional[int] = None

    @property
    def agree(self) -> bool:
        return self.segment is None

    def __bool__(self) -> bool:
        return self.agree

    def __repr__(self) -> str:
        return "Agreement(agree)" if self.agree else f"Agreement(differ at segment {self.segment})"


class FraudProof:
    """A refutation of one claim: the ZK proof of segment ``segment``, starting from the
    claim's boundary ``segment`` and ending elsewhere than its boundary ``segment + 1`` (a
    ``zkinfer-fraud-proof`` file)."""

    def __init__(self, text: str, *, name: str = "fraud proof"):
        from . import Proof

        claim_digest, segment, proof = _native.read_fraud_proof(text, name)
        self.json: str = text
        self.claim_digest: str = claim_digest
        self.segment: int = segment
        self.proof: Proof = Proof(proof)
        #: Seconds the dispute took (re-execution and proof), when this process made it.
        self.seconds: Optional[float] = None

    def to_json(self) -> str:
        return self.json

    def save(self, path: PathLike) -> None:
        Path(path).write_text(self.json)

    @classmethod
    def load(cls, path: PathLike) -> "FraudProof":
        return cls(_read_text(path, "fraud proof"), name=os.fspath(path))

    def __repr__(self) -> str:
        return f"FraudProof(segment={self.segment}, claim={self.claim_digest[:19]}…)"


class Refutation:
    """What a valid fraud proof established: the refuted ``segment``, the claim's boundary
    after it (``claimed``) and what the proof shows there instead (``proven``), and the
    segment proof's :class:`Verified`."""

    def __init__(self, text: str):
        from . import Verified

        d = json.loads(text)
        self.segment: int = d["segment"]
        self.claimed: Dict[str, Any] = d["claimed"]
        self.proven: Dict[str, Any] = d["proven"]
        self.message: str = (
            f"segment {self.segment} of the claim is wrong: it claims {d['claimed_text']}, "
            f"the proof shows {d['proven_text']}"
        )
        self.verified = Verified(json.dumps(d["verified"]))

    def __repr__(self) -> str:
        return f"Refutation({self.message})"


ClaimLike = Union[Claim, PathLike]
FraudLike = Union[FraudProof, PathLike]


def _claim(claim: ClaimLike) -> Claim:
    return claim if isinstance(claim, Claim) else Claim.load(claim)


def _fraud(fraud: FraudLike) -> FraudProof:
    return fraud if isinstance(fraud, FraudProof) else FraudProof.load(fraud)


def _paths(models: Union[PathLike, Sequence[PathLike]]) -> List[str]:
    if isinstance(models, (str, os.PathLike)):
        return [os.fspath(models)]
    return [os.fspath(m) for m in models]


class Claimer:
    """A model's segments loaded once, to claim, check and dispute many inferences (a node's
    or a watcher's long-lived evaluator, a Ray actor). ``model`` is a compiled model, a
    directory of shards from :func:`zkinfer.split`, or the shard paths in order. With
    ``keys`` (one key directory per segment), claims name each segment's statement digest, and
    a fraud proof must then be verified with exactly those keys. No proving key is read until
    a dispute."""

    def __init__(self, model: Union[PathLike, Sequence[PathLike]], keys: Optional[Sequence[PathLike]] = None):
        self._native = _native.Claimer(_paths(model), [os.fspath(k) for k in keys or []])
        self.info: Dict[str, Any] = json.loads(self._native.info())

    def __len__(self) -> int:
        return len(self.info["segments"])

    def _inputs(self, inputs: Any) -> List[List[float]]:
        from . import _normalize_inputs

        return _normalize_inputs(inputs, self.info["inputs"])

    def claim(self, inputs: Any, *, node: Optional[str] = None) -> Claim:
        """The claim of the segments on ``inputs`` (a path, an EZKL-style dict or arrays, as
        for :func:`zkinfer.prove`): the exact integer evaluation the circuits prove, no
        proving. ``node`` names who claims (recorded, not checked)."""
        return self._claim(inputs, node, None)

    def dishonest_claim(
        self, inputs: Any, segment: int, index: int, delta: int, *, node: Optional[str] = None
    ) -> Claim:
        """FOR TESTS AND DEMONSTRATIONS ONLY: a wrong claim, with ``delta`` added to value
        ``index`` of segment ``segment``'s output and the later segments evaluated from the
        altered values (the CLI's ``claim --alter-activation SEGMENT:INDEX:DELTA``)."""
        return self._claim(inputs, node, (segment, index, delta))

    def _claim(self, inputs: Any, node: Optional[str], alteration: Any) -> Claim:
        text, seconds = self._native.claim(self._inputs(inputs), node, alteration)
        c = Claim(text, self.info["outputs"])
        c.seconds = seconds
        return c

    def check(self, claim: ClaimLike, inputs: Any) -> Agreement:
        """Re-executes on ``inputs`` and compares with ``claim``. A claim of another model,
        split or input raises :class:`VerifyError` (``reason == "Claim"``)."""
        c = _claim(claim)
        return Agreement(self._native.check(c.to_json(), self._inputs(inputs)))

    def dispute(
        self,
        claim: ClaimLike,
        inputs: Any,
        keys: Union[PathLike, Sequence[PathLike]],
        *,
        srs: Optional[PathLike] = None,
        backend: str = "cpu",
    ) -> FraudProof:
        """Proves the first segment ``claim`` gets wrong, from the boundary where it is still
        right, and returns the fraud proof (checked before it is returned). ``keys``: one key
        directory per segment, or only the disputed segment's; only that segment's proving
        key is read. A claim that is right raises :class:`VerifyError`
        (``reason == "Dispute"``)."""
        import time

        c = _claim(claim)
        started = time.perf_counter()
        text = self._native.dispute(
            c.to_json(),
            self._inputs(inputs),
            _paths(keys),
            os.fspath(srs) if srs else None,
            backend,
        )
        fraud = FraudProof(text)
        fraud.seconds = time.perf_counter() - started
        return fraud


def claim(
    model: Union[PathLike, Sequence[PathLike]],
    input: Any,
    keys: Optional[Sequence[PathLike]] = None,
    node: Optional[str] = None,
) -> Claim:
    """Claims what ``model`` (a ``.zkc``, a directory of shards, or the shard paths in order)
    computes on ``input``, at the cost of its integer evaluation (see :class:`Claimer`)."""
    return Claimer(model, keys).claim(input, node=node)


def dishonest_claim(
    model: Union[PathLike, Sequence[PathLike]],
    input: Any,
    segment: int,
    index: int,
    delta: int,
    keys: Optional[Sequence[PathLike]] = None,
    node: Optional[str] = None,
) -> Claim:
    """FOR TESTS AND DEMONSTRATIONS ONLY: a claim with one activation altered (see
    :meth:`Claimer.dishonest_claim`)."""
    return Claimer(model, keys).dishonest_claim(input, segment, index, delta, node=node)


def check_claim(claim: ClaimLike, model: Union[PathLike, Sequence[PathLike]], input: Any) -> Agreement:
    """Re-executes ``model`` on ``input`` and compares with ``claim`` (see
    :meth:`Claimer.check`)."""
    return Claimer(model).check(claim, input)


def compare_claims(a: ClaimLike, b: ClaimLike) -> Agreement:
    """Compares two nodes' claims of the same model and input without re-executing: they
    agree at every boundary, or the first segment whose output differs. Claims of different
    models, splits, keys or inputs raise :class:`VerifyError` (``reason == "Claim"``)."""
    return Agreement(_native.compare_claims(_claim(a).to_json(), _claim(b).to_json()))


def dispute(
    claim: ClaimLike,
    model: Union[PathLike, Sequence[PathLike]],
    input: Any,
    keys: Union[PathLike, Sequence[PathLike]],
    srs: Optional[PathLike] = None,
    *,
    backend: str = "cpu",
) -> FraudProof:
    """The fraud proof of the first segment ``claim`` gets wrong (see
    :meth:`Claimer.dispute`). Anyone holding the input can make it: the activations are
    recomputed."""
    return Claimer(model).dispute(claim, input, keys, srs=srs, backend=backend)


def verify_dispute(claim: ClaimLike, fraud_proof: FraudLike, keys: PathLike) -> Refutation:
    """Checks ``fraud_proof`` against ``claim`` with the disputed segment's keys (a directory
    or its ``bundle.bin``): the proof is valid for those keys (the claim's statement digest
    when it names one), starts from the claim's boundary and ends elsewhere. Returns the
    :class:`Refutation`: the claim is wrong. Raises :class:`VerifyError` otherwise
    (``reason == "Dispute"`` for a proof of another claim, segment or computation, or one that
    confirms the claim; the proof's own reasons, such as ``"InvalidProof"``, else)."""
    c, f = _claim(claim), _fraud(fraud_proof)
    return Refutation(_native.verify_dispute(c.to_json(), f.to_json(), os.fspath(keys)))


__all__ = [
    "Agreement",
    "Claim",
    "Claimer",
    "FraudProof",
    "Refutation",
    "check_claim",
    "claim",
    "compare_claims",
    "dishonest_claim",
    "dispute",
    "verify_dispute",
]
