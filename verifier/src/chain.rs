//! Verifying a chain of shard proofs (`zkinfer split`): every proof against its own shard's
//! keys, the shards all cut from one model and given in order with none missing, and each
//! hand-off intact: the Poseidon commitment to the activations out of shard `i` equals the
//! one shard `i + 1` proved it took in.

use zkinfer_circuits::poseidon;
use zkinfer_ir::{IrError, Settings};

use crate::{fr_to_hex, verify, Bundle, ProofFile, VerifiedOutput, VerifyError};

/// Verifies the chain `links` (bundle and proof of each shard, in order) and returns what the
/// whole chain establishes: the first shard's inputs and the last shard's outputs. A single
/// unsharded model is a chain of one.
pub fn verify_chain(links: &[(&Bundle, &ProofFile)]) -> Result<VerifiedOutput, VerifyError> {
    let mut chain = ChainVerifier::new(links.len());
    for (bundle, proof) in links {
        chain.push(bundle, proof)?;
    }
    chain.finish()
}

/// [`verify_chain`] one link at a time, so that a client holds one shard's keys at a time (a
/// GPT-2 block's verifying key takes about 300 MB once read) and can check each proof as it
/// arrives. Every link is checked for its place in the chain, then verified, then its
/// hand-off compared with the previous shard's; [`ChainVerifier::finish`] checks that none
/// is missing.
#[derive(Debug)]
pub struct ChainVerifier {
    /// Links the caller will give.
    len: usize,
    /// The model the chain was cut from and its shard count (from the first link's keys;
    /// `None` for an unsharded model).
    parent: Option<(String, usize)>,
    /// The first link's verified output, and the latest one's.
    first: Option<VerifiedOutput>,
    last: Option<VerifiedOutput>,
    /// Links verified so far.
    done: usize,
}

impl ChainVerifier {
    /// A verifier for a chain of `len` links.
    pub fn new(len: usize) -> Self {
        Self {
            len,
            parent: None,
            first: None,
            last: None,
            done: 0,
        }
    }

    /// Checks the next link: its keys' place in the chain, its proof, and its hand-off from
    /// the previous link.
    pub fn push(&mut self, bundle: &Bundle, proof: &ProofFile) -> Result<(), VerifyError> {
        let position = self.done;
        let shard = bundle.header.settings.shard.as_ref();
        if position == 0 {
            self.parent = shard.map(|s| (s.parent.clone(), s.count));
            let expected = shard.map_or(1, |s| s.count);
            if self.len != expected {
                return Err(VerifyError::ChainLength {
                    expected,
                    got: self.len,
                });
            }
        }
        if position >= self.len {
            return Err(VerifyError::ChainLength {
                expected: self.len,
                got: position + 1,
            });
        }
        let order = |reason: String| VerifyError::ChainOrder { position, reason };
        match (shard, &self.parent) {
            (None, None) => {}
            (Some(s), Some((p, count))) => {
                if &s.parent != p || s.count != *count {
                    return Err(order(format!(
                        "these keys are for a shard of model {} split into {}, the chain's first \
                         shard comes from model {p} split into {count}",
                        s.parent, s.count
                    )));
                }
                if s.index != position {
                    return Err(order(format!(
                        "these keys are for shard {} of {count}; shards must be given in order",
                        s.index
                    )));
                }
            }
            (None, Some(_)) => {
                return Err(order("these keys are for an unsharded model".into()));
            }
            (Some(_), None) => {
                return Err(order("these keys are for a shard of a split model".into()));
            }
        }
        let out = verify(bundle, proof).map_err(|e| VerifyError::ChainLink {
            shard: position,
            source: Box::new(e),
        })?;
        if let Some(prev) = &self.last {
            match (&prev.output_commitment, &out.input_commitment) {
                (Some(out), Some(into)) if out == into => {}
                (out, into) => {
                    return Err(VerifyError::ChainBroken {
                        shard: position - 1,
                        next: position,
                        out: out.clone().unwrap_or_else(|| "none".into()),
                        into: into.clone().unwrap_or_else(|| "none".into()),
                    })
                }
            }
        }
        if position == 0 {
            self.first = Some(out.clone());
        }
        self.last = Some(out);
        self.done += 1;
        Ok(())
    }

    /// What the whole chain establishes (the first shard's inputs, the last shard's outputs),
    /// once every link is verified.
    pub fn finish(self) -> Result<VerifiedOutput, VerifyError> {
        let (Some(first), Some(mut last)) = (self.first, self.last) else {
            return Err(VerifyError::EmptyChain);
        };
        if self.done != self.len {
            return Err(VerifyError::ChainLength {
                expected: self.len,
                got: self.done,
            });
        }
        last.inputs = first.inputs;
        last.input_commitment = first.input_commitment;
        Ok(last)
    }
}

/// Checks that `inputs` (floats, one list per model input, as in an input file) are the input
/// a chain split with `--hash-input` proved: quantized at the first shard's scales and hashed
/// as its circuit hashes them, they must give `verified`'s input commitment. `settings` are
/// the first shard's (its bundle's).
pub fn check_input_commitment(
    settings: &Settings,
    verified: &VerifiedOutput,
    inputs: &[Vec<f32>],
) -> Result<(), VerifyError> {
    let hashed = settings.shard.as_ref().is_some_and(|s| s.hashed_input);
    let (true, Some(proven)) = (hashed, &verified.input_commitment) else {
        return Err(VerifyError::InputNotHashed);
    };
    if inputs.len() != settings.inputs.len() {
        return Err(IrError::InputCount {
            expected: settings.inputs.len(),
            got: inputs.len(),
        }
        .into());
    }
    let mut values = Vec::new();
    for (index, (info, v)) in settings.inputs.iter().zip(inputs).enumerate() {
        if v.len() != info.len() {
            return Err(IrError::InputShape {
                index,
                name: info.name.clone(),
                shape: info.shape.clone(),
                expected: info.len(),
                got: v.len(),
            }
            .into());
        }
        values.extend(zkinfer_ir::quantize(v, info.scale));
    }
    let packing = settings.commitment_packing(true);
    // A value outside the packing's domain cannot have been proven: no commitment matches.
    let given = poseidon::commit_boundary(&values, packing).map_or_else(
        || "none (a value is outside the table's domain)".into(),
        |c| fr_to_hex(&c),
    );
    if &given != proven {
        return Err(VerifyError::InputCommitment {
            proven: proven.clone(),
            given,
        });
    }
    Ok(())
}
