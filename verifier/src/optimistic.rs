//! Optimistic inference: a node's claim of what a model (or a chain of shards) computes on an
//! input, made at the cost of the integer evaluation and proven only when someone disputes it.
//!
//! A [`Claim`] names each segment (a shard of a split, or the whole model) by its model digest
//! and, when the node had the keys, its statement digest, and records every boundary between
//! segments: the Poseidon commitment a shard proof exposes for its hand-off, and the values
//! where a proof exposes values (the model's input unless the chain hashes it, the model's
//! output). The semantics are integers, so two honest claims of one input agree bit for bit
//! ([`compare_claims`]).
//!
//! A [`FraudProof`] refutes a claim: the ZK proof of one segment `i` whose input is the claim's
//! boundary `i` and whose output differs from the claim's boundary `i + 1`. Since a segment's
//! circuit fixes its output given its input, a valid proof that starts where the claim starts
//! and ends elsewhere shows the claim wrong ([`verify_dispute`]).

use serde::{Deserialize, Serialize};

use crate::{verify, Bundle, ProofFile, VerifiedOutput, VerifyError};

/// Format name of a claim file.
pub const CLAIM_FORMAT: &str = "zkinfer-claim";
/// Current version of the claim format.
pub const CLAIM_VERSION: u32 = 1;
/// Format name of a fraud-proof file.
pub const FRAUD_PROOF_FORMAT: &str = "zkinfer-fraud-proof";
/// Current version of the fraud-proof format.
pub const FRAUD_PROOF_VERSION: u32 = 1;

/// One segment of a claim: a shard of the split (in chain order), or the whole model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    /// Digest of the segment's compiled model (`sha256:…`), as its keys and proofs name it.
    pub model_digest: String,
    /// The segment's statement digest ([`Bundle::statement_digest`]) when the node that made
    /// the claim named its keys: a fraud proof must then be verified with exactly these keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statement_digest: Option<String>,
}

/// The values at one boundary between segments (or at the model's input or output).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Boundary {
    /// `0x…` Poseidon commitment to every value at the boundary, in order, packed where the
    /// chain packs the boundary: what a shard proof exposes for an inner boundary. At the
    /// model's output, which proofs expose as values, there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commitment: Option<String>,
    /// The quantized values, where the segments' proofs expose values rather than their
    /// commitment: the model's input (unless the chain hashes it) and the model's output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<i64>>,
}

impl Boundary {
    /// Whether two claims' boundaries are the same: by values where both expose them, else by
    /// commitment.
    pub fn same_as(&self, other: &Boundary) -> bool {
        match (&self.values, &other.values) {
            (Some(a), Some(b)) => a == b,
            _ => self.commitment.is_some() && self.commitment == other.commitment,
        }
    }

    /// A short description for messages: the commitment, or the first values.
    pub fn describe(&self) -> String {
        match &self.values {
            Some(v) => {
                let head: Vec<String> = v.iter().take(6).map(i64::to_string).collect();
                let more = if v.len() > 6 { ", …" } else { "" };
                format!("values [{}{more}] ({} in all)", head.join(", "), v.len())
            }
            None => format!(
                "commitment {}",
                self.commitment.as_deref().unwrap_or("(none)")
            ),
        }
    }
}

/// What a node claims a model computes on one input, segment by segment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    pub format: String,
    pub version: u32,
    /// Digest of the model the segments come from: the split's parent, or the model itself.
    pub model_digest: String,
    /// The segments in chain order.
    pub segments: Vec<Segment>,
    /// `segments.len() + 1` boundaries: the input, each hand-off, the output.
    pub boundaries: Vec<Boundary>,
    /// The claimed output, dequantized (the last boundary's values at the output scales).
    pub outputs: Vec<Vec<f32>>,
    /// Who made the claim (free text, not checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

/// How two claims of one model compare.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Agreement {
    /// Every boundary is the same.
    Agree,
    /// Both start from the same input; segment `segment` is the first whose output boundary
    /// (`segment + 1`) differs. A fraud proof of that segment settles which is right.
    Differ { segment: usize },
}

fn claim_error(reason: impl Into<String>) -> VerifyError {
    VerifyError::Claim {
        reason: reason.into(),
    }
}

fn format_error(path: &str, reason: String) -> VerifyError {
    VerifyError::OptimisticFile {
        path: path.into(),
        reason,
    }
}

fn read_bytes(path: &std::path::Path) -> Result<Vec<u8>, VerifyError> {
    std::fs::read(path).map_err(|e| format_error(&path.display().to_string(), e.to_string()))
}

/// A JSON file of `format` at `version` (`path` names it in errors): another format, another
/// version or a malformed body is a typed error.
fn parse_file<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    path: &str,
    format: &str,
    version: u32,
) -> Result<T, VerifyError> {
    let bad = |reason: String| format_error(path, reason);
    let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    if v.get("format").and_then(|f| f.as_str()) != Some(format) {
        return Err(bad(format!("not a {format} file")));
    }
    let got = v.get("version").and_then(|f| f.as_u64()).unwrap_or(0);
    if got != u64::from(version) {
        return Err(bad(format!(
            "{format} version {got} is not supported (this build reads {version})"
        )));
    }
    serde_json::from_value(v).map_err(|e| bad(e.to_string()))
}

impl Claim {
    /// The claim's identity: `sha256:` of its JSON. A fraud proof names the claim it refutes.
    pub fn digest(&self) -> String {
        zkinfer_ir::digest(self.to_json().as_bytes())
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses a claim file and checks its shape; `path` names it in errors.
    pub fn from_slice(bytes: &[u8], path: &str) -> Result<Self, VerifyError> {
        let claim: Claim = parse_file(bytes, path, CLAIM_FORMAT, CLAIM_VERSION)?;
        claim
            .check_shape()
            .map_err(|e| format_error(path, e.to_string()))?;
        Ok(claim)
    }

    pub fn read(path: &std::path::Path) -> Result<Self, VerifyError> {
        Self::from_slice(&read_bytes(path)?, &path.display().to_string())
    }

    /// One boundary more than segments, at least one segment, commitments that are field
    /// elements.
    pub fn check_shape(&self) -> Result<(), VerifyError> {
        if self.segments.is_empty() {
            return Err(claim_error("the claim has no segments"));
        }
        if self.boundaries.len() != self.segments.len() + 1 {
            return Err(claim_error(format!(
                "{} boundaries for {} segments (there must be one more: the input, each \
                 hand-off, the output)",
                self.boundaries.len(),
                self.segments.len()
            )));
        }
        for (i, b) in self.boundaries.iter().enumerate() {
            match (&b.commitment, &b.values) {
                (None, None) => {
                    return Err(claim_error(format!(
                        "boundary {i} has neither values nor a commitment"
                    )))
                }
                (Some(c), _) if crate::fr_from_hex(c).is_none() => {
                    return Err(claim_error(format!(
                        "boundary {i}: `{c}` is not a field element"
                    )))
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The segment count.
    pub fn len(&self) -> usize {
        self.segments.len()
    }

    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }
}

/// Compares two claims without re-executing: they must be claims of the same segments on the
/// same input; then the first segment whose output boundary differs, if any.
pub fn compare_claims(a: &Claim, b: &Claim) -> Result<Agreement, VerifyError> {
    a.check_shape()?;
    b.check_shape()?;
    if a.model_digest != b.model_digest {
        return Err(claim_error(format!(
            "the claims are of different models ({} and {})",
            a.model_digest, b.model_digest
        )));
    }
    if a.segments.len() != b.segments.len() {
        return Err(claim_error(format!(
            "the claims cut the model differently ({} and {} segments)",
            a.segments.len(),
            b.segments.len()
        )));
    }
    for (i, (x, y)) in a.segments.iter().zip(&b.segments).enumerate() {
        if x.model_digest != y.model_digest {
            return Err(claim_error(format!(
                "segment {i} is a different shard in each claim ({} and {})",
                x.model_digest, y.model_digest
            )));
        }
        if let (Some(p), Some(q)) = (&x.statement_digest, &y.statement_digest) {
            if p != q {
                return Err(claim_error(format!(
                    "segment {i} names different keys in each claim (statements {p} and {q})"
                )));
            }
        }
    }
    if !a.boundaries[0].same_as(&b.boundaries[0]) {
        return Err(claim_error(format!(
            "the claims are of different inputs ({} and {})",
            a.boundaries[0].describe(),
            b.boundaries[0].describe()
        )));
    }
    Ok(first_difference(&a.boundaries, &b.boundaries))
}

fn first_difference(a: &[Boundary], b: &[Boundary]) -> Agreement {
    match (1..a.len()).find(|&i| !a[i].same_as(&b[i])) {
        Some(i) => Agreement::Differ { segment: i - 1 },
        None => Agreement::Agree,
    }
}

/// A refutation of one claim: the proof of its segment `segment`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FraudProof {
    pub format: String,
    pub version: u32,
    /// [`Claim::digest`] of the claim it refutes.
    pub claim_digest: String,
    /// The refuted segment.
    pub segment: usize,
    /// The segment's proof: its input is the claim's boundary `segment`, its output differs
    /// from the claim's boundary `segment + 1`.
    pub proof: ProofFile,
}

impl FraudProof {
    pub fn new(claim: &Claim, segment: usize, proof: ProofFile) -> Self {
        Self {
            format: FRAUD_PROOF_FORMAT.into(),
            version: FRAUD_PROOF_VERSION,
            claim_digest: claim.digest(),
            segment,
            proof,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses a fraud-proof file; `path` names it in errors.
    pub fn from_slice(bytes: &[u8], path: &str) -> Result<Self, VerifyError> {
        parse_file(bytes, path, FRAUD_PROOF_FORMAT, FRAUD_PROOF_VERSION)
    }

    pub fn read(path: &std::path::Path) -> Result<Self, VerifyError> {
        Self::from_slice(&read_bytes(path)?, &path.display().to_string())
    }
}

/// What a valid fraud proof established.
#[derive(Clone, Debug, PartialEq)]
pub struct Refutation {
    /// The refuted segment.
    pub segment: usize,
    /// The claim's boundary `segment + 1`, and what the proof shows instead.
    pub claimed: Boundary,
    pub proven: Boundary,
    /// Everything the segment's proof established.
    pub verified: VerifiedOutput,
}

/// One side of a verified segment proof as a boundary: its commitment when the side is
/// committed, else its values (values decide, as in [`Boundary::same_as`]).
fn proven_side(commitment: &Option<String>, values: &[Vec<i64>]) -> Boundary {
    match commitment {
        Some(c) => Boundary {
            commitment: Some(c.clone()),
            values: None,
        },
        None => Boundary {
            commitment: None,
            values: Some(values.iter().flatten().copied().collect()),
        },
    }
}

/// Whether the proven side `proven` is the claim's boundary `claimed`: by values where the
/// proof exposes values (the claim must then carry them), else by commitment.
fn side_matches(proven: &Boundary, claimed: &Boundary) -> Result<bool, VerifyError> {
    match (&proven.values, &claimed.values) {
        (Some(p), Some(c)) => Ok(p == c),
        (Some(_), None) => Err(claim_error(
            "the segment's proof exposes values at this boundary, but the claim gives only a \
             commitment there",
        )),
        (None, _) => Ok(proven.commitment.is_some() && proven.commitment == claimed.commitment),
    }
}

/// Checks a fraud proof against `claim` with the keys `bundle` of the disputed segment: the
/// proof is valid for those keys (the claim's statement digest when it names one, else the
/// segment's model digest), it starts from the claim's boundary `segment`, and it ends
/// elsewhere than the claim's boundary `segment + 1`. `Ok` means the claim is wrong.
pub fn verify_dispute(
    claim: &Claim,
    fraud: &FraudProof,
    bundle: &Bundle,
) -> Result<Refutation, VerifyError> {
    claim.check_shape()?;
    if fraud.claim_digest != claim.digest() {
        return Err(VerifyError::Dispute {
            reason: format!(
                "the fraud proof refutes claim {}, not this one ({})",
                fraud.claim_digest,
                claim.digest()
            ),
        });
    }
    let i = fraud.segment;
    let Some(segment) = claim.segments.get(i) else {
        return Err(VerifyError::Dispute {
            reason: format!(
                "the fraud proof names segment {i}; the claim has {}",
                claim.segments.len()
            ),
        });
    };
    let h = &bundle.header;
    if h.model_digest != segment.model_digest {
        return Err(VerifyError::Dispute {
            reason: format!(
                "these keys are for model {}, the claim's segment {i} is {}",
                h.model_digest, segment.model_digest
            ),
        });
    }
    if let Some(pinned) = &segment.statement_digest {
        crate::check_statement(bundle, pinned)?;
    }
    let parent = h
        .settings
        .shard
        .as_ref()
        .map_or(&h.model_digest, |s| &s.parent);
    if parent != &claim.model_digest {
        return Err(VerifyError::Dispute {
            reason: format!(
                "these keys come from model {parent}, the claim is of {}",
                claim.model_digest
            ),
        });
    }
    let verified = verify(bundle, &fraud.proof)?;
    let input = proven_side(&verified.input_commitment, &verified.quantized_inputs);
    if !side_matches(&input, &claim.boundaries[i])? {
        return Err(VerifyError::Dispute {
            reason: format!(
                "the proof of segment {i} starts from {}, not from the claim's boundary {i} ({}): \
                 it proves another computation",
                input.describe(),
                claim.boundaries[i].describe()
            ),
        });
    }
    let output = proven_side(&verified.output_commitment, &verified.quantized_outputs);
    let claimed = &claim.boundaries[i + 1];
    if side_matches(&output, claimed)? {
        return Err(VerifyError::Dispute {
            reason: format!(
                "the proof of segment {i} ends where the claim does ({}): it confirms the \
                 claim's segment",
                claimed.describe()
            ),
        });
    }
    Ok(Refutation {
        segment: i,
        claimed: claimed.clone(),
        proven: output,
        verified,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boundary(c: u64, values: Option<Vec<i64>>) -> Boundary {
        Boundary {
            commitment: Some(format!("0x{c:064x}")),
            values,
        }
    }

    fn claim(boundaries: Vec<Boundary>) -> Claim {
        Claim {
            format: CLAIM_FORMAT.into(),
            version: CLAIM_VERSION,
            model_digest: "sha256:parent".into(),
            segments: (1..boundaries.len())
                .map(|i| Segment {
                    model_digest: format!("sha256:{i}"),
                    statement_digest: None,
                })
                .collect(),
            boundaries,
            outputs: vec![],
            node: None,
        }
    }

    #[test]
    fn the_first_differing_boundary_names_the_segment() {
        let honest = claim(vec![
            boundary(1, Some(vec![1, 2])),
            boundary(2, None),
            boundary(3, None),
            boundary(4, Some(vec![5])),
        ]);
        assert_eq!(compare_claims(&honest, &honest).unwrap(), Agreement::Agree);
        let mut cheat = honest.clone();
        cheat.boundaries[2] = boundary(9, None);
        cheat.boundaries[3] = boundary(8, Some(vec![6]));
        assert_eq!(
            compare_claims(&honest, &cheat).unwrap(),
            Agreement::Differ { segment: 1 }
        );
        let mut other_input = honest.clone();
        other_input.boundaries[0].values = Some(vec![1, 3]);
        assert!(compare_claims(&honest, &other_input).is_err());
        let mut short = honest.clone();
        short.boundaries.pop();
        assert!(short.check_shape().is_err());
        let bytes = honest.to_json();
        assert_eq!(Claim::from_slice(bytes.as_bytes(), "c").unwrap(), honest);
        assert!(Claim::from_slice(short.to_json().as_bytes(), "c").is_err());
    }
}
