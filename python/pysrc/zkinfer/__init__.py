"""zkinfer: verifiable neural-network inference.

Compile a quantized ONNX model into a halo2 circuit (KZG on BN254), prove each inference, and
verify the proof in milliseconds. The functions mirror the ``zkinfer`` command line and its
files are the CLI's: a proof saved here verifies with ``zkinfer verify``, and the reverse.

    import zkinfer
    zkinfer.compile("model.onnx", "model.zkc", input="input.json")
    zkinfer.setup("model.zkc", "keys/")
    proof = zkinfer.prove("model.zkc", "keys/", inputs)
    proof.save("proof.json")
    out = zkinfer.verify("keys/", proof)      # out.outputs: numpy arrays

Optimistic mode (:mod:`zkinfer.optimistic`): ``claim`` a model's output at the cost of its
integer evaluation, ``check_claim`` / ``compare_claims`` it, and ``dispute`` a wrong one with
the ZK proof of the one segment it gets wrong (``verify_dispute`` checks that proof).

Errors raise :class:`ZkinferError`; a rejected proof raises :class:`VerifyError`, whose
``reason`` names the typed reason (``"InvalidProof"``, ``"WrongModel"``, ...). Proving
releases the GIL. Verifying needs neither onnxruntime nor the proving key.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _native
from ._native import CUDA_BUILT, VerifyError, ZkinferError

__version__: str = _native.__version__

__all__ = [
    "Activations",
    "Agreement",
    "CUDA_BUILT",
    "Claim",
    "Claimer",
    "FraudProof",
    "Inspection",
    "Proof",
    "Prover",
    "Refutation",
    "Verified",
    "VerifyError",
    "ZkinferError",
    "check_claim",
    "claim",
    "compare_claims",
    "compile",
    "dishonest_claim",
    "dispute",
    "inspect",
    "model_info",
    "prove",
    "setup",
    "split",
    "verify",
    "verify_chain",
    "verify_dispute",
]

PathLike = Union[str, "os.PathLike[str]"]
Inputs = Union[np.ndarray, Sequence[Any], Dict[str, Any], PathLike]

# ElemType names (lowercase) → numpy dtypes; the proven values are exact in these types.
_DTYPES = {
    "bool": np.bool_,
    "int8": np.int8,
    "int16": np.int16,
    "int32": np.int32,
    "int64": np.int64,
    "uint8": np.uint8,
    "uint16": np.uint16,
    "uint32": np.uint32,
    "uint64": np.uint64,
    "float16": np.float16,
    "double": np.float64,
}


def _shaped(values: Sequence[float], info: Optional[Dict[str, Any]]) -> np.ndarray:
    """A flat list as a numpy array of the tensor's shape and element type."""
    arr = np.asarray(values, dtype=np.float32)
    if info is None:
        return arr
    shape = tuple(info["shape"])
    if int(np.prod(shape, dtype=np.int64)) == arr.size:
        arr = arr.reshape(shape)
    dtype = _DTYPES.get(info.get("dtype", ""))
    if dtype is np.bool_:
        return arr != 0
    if dtype is not None:
        return np.rint(arr).astype(dtype) if dtype is not np.float16 else arr.astype(dtype)
    return arr


def _is_path(x: Any) -> bool:
    return isinstance(x, (str, os.PathLike))


def _flat(x: Any) -> List[float]:
    return np.asarray(x, dtype=np.float64).ravel().tolist()


def _normalize_inputs(inputs: Inputs, infos: Sequence[Dict[str, Any]]) -> List[List[float]]:
    """One flat float list per graph input, from a path, an EZKL-style dict, a numpy array
    (a model with one input) or a sequence with one array or list per input."""
    if _is_path(inputs):
        path = os.fspath(inputs)
        try:
            text = Path(path).read_text()
        except OSError as e:
            raise ZkinferError(f"input file {path}: {e}") from None
        return _native.parse_inputs(text, path)
    if isinstance(inputs, dict):
        return _native.parse_inputs(json.dumps(inputs), "input dict")
    if isinstance(inputs, np.ndarray):
        return [_flat(inputs)]
    if isinstance(inputs, (list, tuple)):
        if len(infos) == 1:
            size = int(np.prod(infos[0]["shape"], dtype=np.int64))
            try:
                whole = np.asarray(inputs, dtype=np.float64)
            except ValueError:
                whole = None
            if whole is not None and whole.size == size:
                return [whole.ravel().tolist()]
        return [_flat(x) for x in inputs]
    raise ZkinferError(
        f"inputs: expected a numpy array, a list, an EZKL-style dict or a path, not {type(inputs).__name__}"
    )


def _onnxruntime_for_reference() -> None:
    """Points ORT_DYLIB_PATH at this interpreter's onnxruntime wheel, when there is one."""
    if "ORT_DYLIB_PATH" in os.environ:
        return
    spec = importlib.util.find_spec("onnxruntime")
    if spec is None or not spec.submodule_search_locations:
        return
    for root in spec.submodule_search_locations:
        capi = Path(root) / "capi"
        libs = sorted(capi.glob("libonnxruntime.so.*")) or sorted(capi.glob("libonnxruntime*.dylib"))
        if libs:
            os.environ["ORT_DYLIB_PATH"] = str(libs[-1])
            return


class Activations:
    """What a shard hands to the next: its quantized outputs and their Poseidon commitment
    (the CLI's ``--output-activations`` file)."""

    def __init__(self, text: str):
        self.json: str = text
        self._data: Dict[str, Any] = json.loads(text)

    @property
    def commitment(self) -> str:
        return self._data["commitment"]

    @property
    def shard(self) -> Optional[int]:
        return self._data.get("shard")

    @property
    def tensors(self) -> List[np.ndarray]:
        """The dequantized tensors (``q / 2^scale``)."""
        return [
            (np.asarray(t["values"], dtype=np.float64) / float(1 << t["scale"]))
            .astype(np.float32)
            .reshape(t["shape"])
            for t in self._data["tensors"]
        ]

    def save(self, path: PathLike) -> None:
        Path(path).write_text(self.json)

    @classmethod
    def load(cls, path: PathLike) -> "Activations":
        return cls(Path(path).read_text())

    def __repr__(self) -> str:
        return f"Activations(shard={self.shard}, commitment={self.commitment[:18]}…)"


class Proof:
    """A proof file (the CLI's format): ``save`` writes it, ``outputs`` are the proven
    outputs, ``reference`` the onnxruntime outputs recorded beside it (not proven)."""

    def __init__(
        self,
        text: str,
        activations: Optional[Activations] = None,
        output_info: Optional[Sequence[Dict[str, Any]]] = None,
    ):
        self.json: str = text
        self.activations: Optional[Activations] = activations
        self._data: Dict[str, Any] = json.loads(text)
        self._info = list(output_info) if output_info is not None else None

    @property
    def outputs(self) -> List[np.ndarray]:
        infos = self._info or [None] * len(self._data["outputs"])
        return [_shaped(o, i) for o, i in zip(self._data["outputs"], infos)]

    @property
    def reference(self) -> Optional[Dict[str, Any]]:
        return self._data.get("reference")

    @property
    def model_digest(self) -> str:
        return self._data["model_digest"]

    @property
    def instances(self) -> List[str]:
        return self._data["instances"][0]

    @property
    def size(self) -> int:
        """Bytes of the proof itself."""
        return len(self._data["proof"]) // 2 - 1

    def save(self, path: PathLike) -> None:
        Path(path).write_text(self.json)

    @classmethod
    def load(cls, path: PathLike) -> "Proof":
        try:
            return cls(Path(path).read_text())
        except (OSError, ValueError) as e:
            raise ZkinferError(f"{os.fspath(path)}: not a readable proof file ({e})") from None

    def __repr__(self) -> str:
        return f"Proof(model={self.model_digest[:12]}, {self.size} bytes)"


class Verified:
    """What a valid proof (or chain) establishes: the proven outputs as numpy arrays of the
    model's shapes and types, the quantized outputs, the proven inputs and their digest
    (``inputs_digest``: ``sha256:…`` of the quantized inputs, or the Poseidon commitment of
    a committed input), and for shards the commitments."""

    def __init__(self, text: str):
        d = json.loads(text)
        self.outputs: List[np.ndarray] = [
            _shaped(o, i) for o, i in zip(d["outputs"], d["output_info"])
        ]
        self.quantized_outputs: List[np.ndarray] = [
            np.asarray(q, dtype=np.int64) for q in d["quantized_outputs"]
        ]
        self.inputs: List[np.ndarray] = [
            _shaped(x, i) for x, i in zip(d["inputs"], d["input_info"])
        ]
        self.quantized_inputs: List[np.ndarray] = [
            np.asarray(q, dtype=np.int64) for q in d["quantized_inputs"]
        ]
        self.inputs_digest: str = d["inputs_digest"]
        self.input_commitment: Optional[str] = d["input_commitment"]
        self.output_commitment: Optional[str] = d["output_commitment"]
        self.model_digest: str = d["model_digest"]
        self.vk_digest: str = d["vk_digest"]
        #: The statement digest of the keys (verifying key, settings, SRS points): what to pin.
        self.statement_digest: str = d["statement_digest"]
        self.insecure_srs: bool = d["insecure_srs"]

    def __repr__(self) -> str:
        return f"Verified(outputs={[o.shape for o in self.outputs]})"


class Inspection(dict):
    """``zkinfer inspect``'s figures as a dict; ``str()`` is the CLI's text."""

    def __init__(self, text: str, data: Dict[str, Any]):
        super().__init__(data)
        self.text = text

    def __str__(self) -> str:
        return self.text


def compile(
    model: PathLike,
    output: PathLike,
    input: Optional[Inputs] = None,
    *,
    calibrate: Iterable[PathLike] = (),
    scale: Optional[int] = None,
    margin_bits: Optional[int] = None,
    target: Optional[str] = None,
    evm: bool = False,
) -> Dict[str, Any]:
    """Compiles an ONNX model into ``output`` (``.zkc``), calibrated on ``input`` (a path, an
    EZKL-style dict or arrays) and the sample files in ``calibrate``. ``target`` is
    ``"accuracy"`` or ``"resources"``; with neither it nor ``scale``, the finest scale at no
    cost in k. Returns the summary (k, rows, scale, the candidates of a target, ...)."""
    samples: List[List[List[float]]] = []
    sample_files: List[str] = []
    if input is not None:
        if _is_path(input):
            sample_files.append(os.fspath(input))
        elif isinstance(input, dict):
            samples.append(_native.parse_inputs(json.dumps(input), "input dict"))
        else:
            seq = [input] if isinstance(input, np.ndarray) else list(input)
            samples.append([_flat(x) for x in seq])
    out = _native.compile(
        os.fspath(model),
        os.fspath(output),
        samples,
        sample_files,
        [os.fspath(c) for c in calibrate],
        scale=scale,
        margin_bits=margin_bits,
        target=target,
        evm=evm,
    )
    return json.loads(out)


def setup(model: PathLike, output: PathLike, srs: Optional[PathLike] = None) -> Dict[str, Any]:
    """Generates the proving and verifying keys of ``model`` into the directory ``output``
    (``bundle.bin`` there is all a verifier needs)."""
    return json.loads(
        _native.setup(os.fspath(model), os.fspath(output), os.fspath(srs) if srs else None)
    )


def model_info(model: PathLike) -> Dict[str, Any]:
    """A compiled model's inputs, outputs (name, shape, scale, dtype) and shard position."""
    return json.loads(_native.model_info(os.fspath(model)))


class Prover:
    """A compiled model with its proving key and SRS, loaded once: for proving many
    inferences (a node's long-lived prover, a Ray actor)."""

    def __init__(
        self,
        model: PathLike,
        keys: PathLike,
        srs: Optional[PathLike] = None,
        backend: str = "cpu",
    ):
        self._native = _native.Prover(
            os.fspath(model), os.fspath(keys), os.fspath(srs) if srs else None, backend
        )
        self.info: Dict[str, Any] = json.loads(self._native.info())

    @property
    def shard(self) -> Optional[Dict[str, Any]]:
        return self.info["shard"]

    def prove(
        self,
        inputs: Optional[Inputs] = None,
        *,
        activations: Union[Activations, str, PathLike, None] = None,
        reference: bool = True,
        onnx: Optional[PathLike] = None,
    ) -> Proof:
        """Proves one inference. A shard after the first takes the previous shard's
        ``activations`` (an :class:`Activations`, its JSON text or a path) instead of
        inputs. With ``reference``, onnxruntime's outputs are recorded beside the proof
        (unverified; skipped with a warning in the file when onnxruntime is missing)."""
        flat = None
        if inputs is not None:
            flat = _normalize_inputs(inputs, self.info["inputs"])
        acts = None
        if isinstance(activations, Activations):
            acts = activations.json
        elif isinstance(activations, str) and activations.lstrip().startswith("{"):
            acts = activations
        elif activations is not None:
            acts = Path(activations).read_text()
        if reference and acts is None:
            _onnxruntime_for_reference()
        text, handed_on = self._native.prove(
            inputs=flat,
            activations=acts,
            reference=reference,
            onnx=os.fspath(onnx) if onnx else None,
        )
        return Proof(
            text,
            Activations(handed_on) if handed_on else None,
            self.info["outputs"],
        )


def prove(
    model: PathLike,
    keys: PathLike,
    inputs: Optional[Inputs] = None,
    *,
    activations: Union[Activations, str, PathLike, None] = None,
    reference: bool = True,
    onnx: Optional[PathLike] = None,
    srs: Optional[PathLike] = None,
    backend: str = "cpu",
) -> Proof:
    """Proves one inference of ``model`` with the keys in ``keys`` (see :class:`Prover`)."""
    return Prover(model, keys, srs, backend).prove(
        inputs, activations=activations, reference=reference, onnx=onnx
    )


def _proof_text(proof: Union[Proof, PathLike]) -> Tuple[str, str]:
    if isinstance(proof, Proof):
        return proof.json, "proof"
    path = os.fspath(proof)
    try:
        return Path(path).read_text(), path
    except OSError as e:
        raise ZkinferError(f"{path}: {e}") from None


def _check_inputs(input: Optional[Inputs]) -> Optional[List[List[float]]]:
    """An input to compare with the proven one as flat lists (see :func:`verify`)."""
    if input is None:
        return None
    return _normalize_inputs(input, [])


def verify(
    keys: PathLike,
    proof: Union[Proof, PathLike],
    input: Optional[Inputs] = None,
    digest: Optional[str] = None,
) -> Verified:
    """Verifies ``proof`` (a :class:`Proof` or a path) with ``keys`` (the keys directory or
    its ``bundle.bin``). With ``input`` (a path, an EZKL-style dict or arrays, as for
    :func:`prove`), also checks that the proof is of exactly that input: quantized as the
    prover quantizes it, it must equal the proven input (reason ``"InputMismatch"``, naming
    the first differing element) or give its commitment (``"InputCommitment"``). With
    ``digest`` (``sha256:…``, the model publisher's statement digest, or an entry contract's
    ``STATEMENT_DIGEST``), refuses keys whose verifying key, settings or SRS points differ
    (``"WrongStatement"``). Raises :class:`VerifyError` when anything does not hold."""
    text, name = _proof_text(proof)
    return Verified(_native.verify(os.fspath(keys), text, name, _check_inputs(input), digest))


def verify_chain(
    links: Sequence[Tuple[PathLike, Union[Proof, PathLike]]],
    input: Optional[Inputs] = None,
) -> Verified:
    """Verifies a chain of shard proofs, ``[(keys, proof), ...]`` in order: every proof,
    every link's cut (the shards of one split, each taking the tensors the one before hands
    on) and every hand-off. With ``input``, checks that the chain proved exactly that input
    (as :func:`verify` does; its commitment, when split with ``hash_input``)."""
    pairs = [(os.fspath(k), _proof_text(p)[0]) for k, p in links]
    return Verified(_native.verify_chain(pairs, _check_inputs(input)))


def split(
    model: PathLike,
    output: PathLike,
    shards: Optional[int] = None,
    *,
    at: Optional[Sequence[str]] = None,
    hash_input: bool = False,
) -> List[str]:
    """Splits a compiled model into ``shards`` shards of about equal proving cost (or after
    the nodes named in ``at``); returns the shard ``.zkc`` paths, in order."""
    paths = _native.split(os.fspath(model), os.fspath(output), shards, list(at or []), hash_input)
    return [os.fspath(p) for p in paths]


def inspect(model: PathLike) -> Inspection:
    """What a model (``.onnx`` or ``.zkc``) costs before proving: the figures of
    ``zkinfer inspect`` as a dict, whose ``str()`` is the CLI's text."""
    text, data = _native.inspect(os.fspath(model))
    return Inspection(text, json.loads(data))


# Optimistic mode; imported last, it uses the helpers above.
from .optimistic import (  # noqa: E402
    Agreement,
    Claim,
    Claimer,
    FraudProof,
    Refutation,
    check_claim,
    claim,
    compare_claims,
    dishonest_claim,
    dispute,
    verify_dispute,
)
