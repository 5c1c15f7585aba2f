"""Type stubs of zkinfer's Rust extension (python/src/lib.rs). Use the wrappers in
``zkinfer`` instead: they take numpy arrays and return objects."""

from typing import List, Optional, Sequence, Tuple

__version__: str
CUDA_BUILT: bool

class ZkinferError(Exception): ...

class VerifyError(ZkinferError):
    reason: str

class Prover:
    def __init__(
        self, model: str, keys: str, srs: Optional[str] = None, backend: str = "cpu"
    ) -> None: ...
    def info(self) -> str: ...
    def prove(
        self,
        inputs: Optional[List[List[float]]] = None,
        activations: Optional[str] = None,
        reference: bool = True,
        onnx: Optional[str] = None,
    ) -> Tuple[str, Optional[str]]: ...

def compile(
    model: str,
    output: str,
    samples: List[List[List[float]]],
    sample_files: List[str],
    calibrate: List[str],
    scale: Optional[int] = None,
    margin_bits: Optional[int] = None,
    target: Optional[str] = None,
    evm: bool = False,
) -> str: ...
def setup(model: str, output: str, srs: Optional[str] = None) -> str: ...
def verify(
    keys: str,
    proof: str,
    name: str = "proof",
    input: Optional[List[List[float]]] = None,
    digest: Optional[str] = None,
) -> str: ...
def verify_chain(
    links: Sequence[Tuple[str, str]], input: Optional[List[List[float]]] = None
) -> str: ...
def split(
    model: str,
    output: str,
    shards: Optional[int] = None,
    at: List[str] = ...,
    hash_input: bool = False,
) -> List[str]: ...
def inspect(path: str) -> Tuple[str, str]: ...
def parse_inputs(text: str, name: str) -> List[List[float]]: ...
def onnxruntime_library() -> str: ...
def model_info(path: str) -> str: ...

class Claimer:
    def __init__(self, models: List[str], keys: List[str] = ...) -> None: ...
    def info(self) -> str: ...
    def claim(
        self,
        inputs: List[List[float]],
        node: Optional[str] = None,
        alteration: Optional[Tuple[int, int, int]] = None,
    ) -> Tuple[str, float]: ...
    def check(
        self, claim: str, inputs: List[List[float]], name: str = "claim"
    ) -> Optional[int]: ...
    def dispute(
        self,
        claim: str,
        inputs: List[List[float]],
        keys: List[str],
        srs: Optional[str] = None,
        backend: str = "cpu",
        name: str = "claim",
    ) -> str: ...

def compare_claims(a: str, b: str) -> Optional[int]: ...
def read_claim(text: str, name: str = "claim") -> Tuple[str, str]: ...
def read_fraud_proof(text: str, name: str = "fraud proof") -> Tuple[str, int, str]: ...
def verify_dispute(claim: str, fraud_proof: str, keys: str) -> str: ...
