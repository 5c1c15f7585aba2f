//! The one error type of `zkinfer-verifier`. Every rejection says what was wrong; none panics.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum VerifyError {
    #[error("{path}: not a zkinfer proof file ({reason})")]
    ProofFormat { path: String, reason: String },
    #[error("{path}: proof format version {got} is not supported (this build reads version {supported}); re-prove with this zkinfer")]
    ProofVersion {
        path: String,
        got: u32,
        supported: u32,
    },
    #[error("the proof is for model {proof}, but the keys are for model {keys}: use the keys made from the same model.zkc")]
    WrongModel { proof: String, keys: String },
    #[error("the proof was made with verifying key {proof}, but the keys hold {keys}: use the keys the prover used")]
    WrongKey { proof: String, keys: String },
    #[error("the bundle's statement digest is {got}, not the {expected} pinned (or the proof's): its key, settings or SRS points differ; get the model publisher's bundle")]
    WrongStatement { expected: String, got: String },
    #[error("instances: expected {expected} public values in 1 column, got {got}")]
    InstanceCount { expected: usize, got: usize },
    #[error("instance {index}: `{value}` is not a canonical BN254 scalar in big-endian hex")]
    InstanceEncoding { index: usize, value: String },
    #[error("instance {index}: not a packing of {count} public values")]
    InstancePacking { index: usize, count: usize },
    #[error("instance {index} ({tensor}): value outside the declared bound of {bits} bits")]
    InstanceOutOfRange {
        index: usize,
        tensor: String,
        bits: u32,
    },
    #[error("the file's `outputs` do not match the proven public outputs (output {output}, element {element})")]
    OutputsMismatch { output: usize, element: usize },
    #[error("proof bytes: {reason}")]
    ProofEncoding { reason: String },
    #[error("the proof is invalid for this verifying key and these public values")]
    InvalidProof,
    #[error("{path}: not a verifier bundle ({reason})")]
    Bundle { path: String, reason: String },
    #[error("a chain needs at least one shard")]
    EmptyChain,
    #[error("chain position {position}: {reason}")]
    ChainOrder { position: usize, reason: String },
    #[error("the chain has {got} shards but the model was split into {expected}: a shard is missing or extra")]
    ChainLength { expected: usize, got: usize },
    #[error("shard {shard}: {source}")]
    ChainLink {
        shard: usize,
        #[source]
        source: Box<VerifyError>,
    },
    #[error("the activations out of shard {shard} (commitment {out}) are not the ones shard {next} took in (commitment {into}): a node handed on altered activations")]
    ChainBroken {
        shard: usize,
        next: usize,
        out: String,
        into: String,
    },
    #[error("chain link into shard {shard}: {reason}")]
    ChainCut { shard: usize, reason: String },
    #[error("computing the shard here: {reason}")]
    Computed { reason: String },
    #[error("the proof proved an input with commitment {proven}; this input's is {given}: it is not the input the proof proved")]
    InputCommitment { proven: String, given: String },
    #[error("input {input} (`{name}`), element {element}: the proof is of {} (quantized {proven}), this input has {} (quantized {given}): it is not the input the proof proved", *proven as f64 * 2f64.powi(-(*scale as i32)), *given as f64 * 2f64.powi(-(*scale as i32)))]
    InputMismatch {
        input: usize,
        name: String,
        element: usize,
        proven: i64,
        given: i64,
        /// The input's fractional bits: the values are `proven / 2^scale`, `given / 2^scale`.
        scale: u32,
    },
    #[error("{path}: not a valid claim or fraud-proof file ({reason})")]
    OptimisticFile { path: String, reason: String },
    #[error("claim: {reason}")]
    Claim { reason: String },
    #[error("not a valid fraud proof: {reason}")]
    Dispute { reason: String },
    #[error(transparent)]
    Artifact(#[from] zkinfer_ir::IrError),
}

impl VerifyError {
    /// The reason's name (`"InvalidProof"`, `"WrongModel"`, …), stable across messages: what
    /// the Python and JavaScript bindings expose. A chain link's is that of its cause.
    pub fn kind(&self) -> &'static str {
        match self {
            VerifyError::ProofFormat { .. } => "ProofFormat",
            VerifyError::ProofVersion { .. } => "ProofVersion",
            VerifyError::WrongModel { .. } => "WrongModel",
            VerifyError::WrongKey { .. } => "WrongKey",
            VerifyError::WrongStatement { .. } => "WrongStatement",
            VerifyError::InstanceCount { .. } => "InstanceCount",
            VerifyError::InstanceEncoding { .. } => "InstanceEncoding",
            VerifyError::InstancePacking { .. } => "InstancePacking",
            VerifyError::InstanceOutOfRange { .. } => "InstanceOutOfRange",
            VerifyError::OutputsMismatch { .. } => "OutputsMismatch",
            VerifyError::ProofEncoding { .. } => "ProofEncoding",
            VerifyError::InvalidProof => "InvalidProof",
            VerifyError::Bundle { .. } => "Bundle",
            VerifyError::EmptyChain => "EmptyChain",
            VerifyError::ChainOrder { .. } => "ChainOrder",
            VerifyError::ChainLength { .. } => "ChainLength",
            VerifyError::ChainLink { source, .. } => source.kind(),
            VerifyError::ChainBroken { .. } => "ChainBroken",
            VerifyError::ChainCut { .. } => "ChainCut",
            VerifyError::Computed { .. } => "Computed",
            VerifyError::InputCommitment { .. } => "InputCommitment",
            VerifyError::InputMismatch { .. } => "InputMismatch",
            VerifyError::OptimisticFile { .. } => "OptimisticFile",
            VerifyError::Claim { .. } => "Claim",
            VerifyError::Dispute { .. } => "Dispute",
            VerifyError::Artifact(_) => "Artifact",
        }
    }
}
