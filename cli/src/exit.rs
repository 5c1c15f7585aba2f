//! Exit codes, distinct so that scripts can tell a rejected proof from a bad file from a bug:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success (a proof verified, an audit found nothing) |
//! | 1 | the check failed: an invalid proof, a broken shard chain, a contract that rejects, an audit escape |
//! | 2 | bad input: a missing, malformed or unsupported file (ONNX, `.zkc`, keys, proof, input), wrong shapes or values, an artifact of another version, a bad argument |
//! | 3 | internal error: the prover or circuit failed on input it accepted |
//!
//! A panic exits with Rust's 101. Output to a closed pipe ends the command quietly (SIGPIPE's
//! default action, as Unix tools do).

use zkinfer_ir::IrError;
use zkinfer_prover::{CompileError, ProveError};
use zkinfer_verifier::VerifyError;

pub const INVALID: u8 = 1;
pub const BAD_INPUT: u8 = 2;
pub const INTERNAL: u8 = 3;

/// A check that ran and said no (the audit's escapes): exit code 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Rejected(pub String);

fn verify_code(e: &VerifyError) -> u8 {
    match e {
        VerifyError::ProofFormat { .. }
        | VerifyError::ProofVersion { .. }
        | VerifyError::Bundle { .. }
        | VerifyError::Claim { .. }
        | VerifyError::OptimisticFile { .. }
        | VerifyError::Artifact(_) => BAD_INPUT,
        VerifyError::ChainLink { source, .. } => verify_code(source),
        _ => INVALID,
    }
}

fn prove_code(e: &ProveError) -> u8 {
    match e {
        ProveError::Halo2(_) | ProveError::Circuit(_) | ProveError::OnnxRuntime(_) => INTERNAL,
        ProveError::Verify(v) => verify_code(v),
        _ => BAD_INPUT,
    }
}

/// The exit code of an error: the first typed cause decides; an untyped one (the CLI's own
/// argument checks) is bad input.
pub fn code(e: &anyhow::Error) -> u8 {
    for cause in e.chain() {
        if cause.is::<Rejected>() {
            return INVALID;
        }
        if let Some(v) = cause.downcast_ref::<VerifyError>() {
            return verify_code(v);
        }
        if let Some(p) = cause.downcast_ref::<ProveError>() {
            return prove_code(p);
        }
        if let Some(c) = cause.downcast_ref::<CompileError>() {
            return match c {
                CompileError::Import(_) => BAD_INPUT,
                CompileError::Circuit(zkinfer_circuits::CircuitError::TooLarge { .. }) => BAD_INPUT,
                CompileError::Circuit(_) => INTERNAL,
                CompileError::Prove(p) => prove_code(p),
            };
        }
        if cause.is::<zkinfer_onnx::ImportError>()
            || cause.is::<IrError>()
            || cause.is::<std::io::Error>()
            || cause.is::<serde_json::Error>()
        {
            return BAD_INPUT;
        }
        if let Some(c) = cause.downcast_ref::<zkinfer_circuits::CircuitError>() {
            return match c {
                zkinfer_circuits::CircuitError::Ir(_)
                | zkinfer_circuits::CircuitError::TooLarge { .. } => BAD_INPUT,
                _ => INTERNAL,
            };
        }
        #[cfg(feature = "evm")]
        if let Some(v) = cause.downcast_ref::<zkinfer_verifier::evm::EvmError>() {
            use zkinfer_verifier::evm::EvmError;
            return match v {
                EvmError::Rejected(_) => INVALID,
                EvmError::SolcMissing | EvmError::TooLarge { .. } | EvmError::Optimistic(_) => {
                    BAD_INPUT
                }
                _ => INTERNAL,
            };
        }
    }
    BAD_INPUT
}

/// Restores SIGPIPE's default action, which Rust's runtime sets to "ignore": a write to a
/// closed pipe (`zkinfer inspect M | head`) then ends the process silently instead of
/// panicking in `println!`.
#[cfg(unix)]
#[allow(unsafe_code)]
pub fn default_sigpipe() {
    // SAFETY: called first thing in `main`, before any thread exists; `signal` with SIG_DFL
    // installs no handler code.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
pub fn default_sigpipe() {}
