//! `proof.json`: what a prover sends and a verifier checks.

use serde::{Deserialize, Serialize};

use crate::VerifyError;

pub const PROOF_FORMAT: &str = "zkinfer-proof";
/// Version 2: the Keccak-256 transcript the EVM verifier reads (version 1 used Blake2b).
pub const PROOF_VERSION: u32 = 2;

/// The float reference computed next to the proof. It is *not* verified: it only tells how
/// far the quantized, proven output is from the float model on the prover's machine.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    pub engine: String,
    pub verified: bool,
    pub note: String,
    pub outputs: Vec<Vec<f32>>,
    pub max_abs_error: f32,
    /// Why the reference could not be computed (the proof was made anyway).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A proof of one inference.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProofFile {
    pub format: String,
    pub version: u32,
    pub model_digest: String,
    pub vk_digest: String,
    /// The statement digest of the bundle the prover used ([`crate::Bundle::statement_digest`]:
    /// key, settings and SRS points); when present, the verifier's bundle must have the same.
    /// Files of earlier releases have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statement_digest: Option<String>,
    /// One column of public values: quantized inputs then outputs, as `0x…` big-endian hex.
    pub instances: Vec<Vec<String>>,
    /// `0x…` hex of the halo2 (KZG, SHPLONK, Blake2b transcript) proof.
    pub proof: String,
    /// Dequantized outputs, as proven.
    pub outputs: Vec<Vec<f32>>,
    pub reference: Option<Reference>,
}

impl ProofFile {
    /// Parses a proof file, checking its format name and version first.
    pub fn from_slice(bytes: &[u8], path: &str) -> Result<Self, VerifyError> {
        #[derive(Deserialize)]
        struct Head {
            format: Option<String>,
            version: Option<u32>,
        }
        let bad = |reason: String| VerifyError::ProofFormat {
            path: path.into(),
            reason,
        };
        let head: Head = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        if head.format.as_deref() != Some(PROOF_FORMAT) {
            return Err(bad(format!("format is {:?}", head.format)));
        }
        let version = head.version.unwrap_or(0);
        if version != PROOF_VERSION {
            return Err(VerifyError::ProofVersion {
                path: path.into(),
                got: version,
                supported: PROOF_VERSION,
            });
        }
        serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))
    }

    pub fn read(path: &std::path::Path) -> Result<Self, VerifyError> {
        let bytes = zkinfer_ir::read_file(path)?;
        Self::from_slice(&bytes, &path.display().to_string())
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}
