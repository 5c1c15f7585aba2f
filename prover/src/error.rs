//! The one error type of `zkinfer-prover`.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ProveError {
    #[error("{path}: {reason}")]
    Srs { path: String, reason: String },
    #[error("{path}: {reason}")]
    Key { path: String, reason: String },
    #[error("input file {path}: {reason}")]
    InputFile { path: String, reason: String },
    #[error("onnxruntime is not available: {reason}\n  install it with: python3 -m venv .venv && .venv/bin/pip install onnxruntime==1.31.1\n  or point ORT_DYLIB_PATH at libonnxruntime.so.*, or pass --no-reference")]
    OnnxRuntimeMissing { reason: String },
    #[error("onnxruntime: {0}")]
    OnnxRuntime(String),
    #[error("split: {reason}")]
    Split { reason: String },
    #[error("activations file {path}: {reason}")]
    Activations { path: String, reason: String },
    #[error("claim: {reason}")]
    Claim { reason: String },
    #[error("halo2: {0}")]
    Halo2(String),
    #[error("{0}")]
    Backend(String),
    #[error(transparent)]
    Circuit(#[from] zkinfer_circuits::CircuitError),
    #[error(transparent)]
    Ir(#[from] zkinfer_ir::IrError),
    #[error(transparent)]
    Verify(#[from] zkinfer_verifier::VerifyError),
}
