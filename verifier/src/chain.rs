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
    let Some((first, _)) = links.first() else {
        return Err(VerifyError::EmptyChain);
    };
    let parent = first
        .header
        .settings
        .shard
        .as_ref()
        .map(|s| (&s.parent, s.count));
    let expected = parent.map_or(1, |(_, count)| count);
    if links.len() != expected {
        return Err(VerifyError::ChainLength {
            expected,
            got: links.len(),
        });
    }
    for (position, (bundle, _)) in links.iter().enumerate() {
        let order = |reason: String| VerifyError::ChainOrder { position, reason };
        match (&bundle.header.settings.shard, parent) {
            (None, None) => {}
            (Some(s), Some((p, count))) => {
                if &s.parent != p || s.count != count {
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
    }
    let mut verified = Vec::with_capacity(links.len());
    for (shard, (bundle, proof)) in links.iter().enumerate() {
        let out = verify(bundle, proof).map_err(|e| VerifyError::ChainLink {
            shard,
            source: Box::new(e),
        })?;
        verified.push(out);
    }
    for (shard, pair) in verified.windows(2).enumerate() {
        let (out, into) = (&pair[0].output_commitment, &pair[1].input_commitment);
        match (out, into) {
            (Some(out), Some(into)) if out == into => {}
            _ => {
                return Err(VerifyError::ChainBroken {
                    shard,
                    next: shard + 1,
                    out: out.clone().unwrap_or_else(|| "none".into()),
                    into: into.clone().unwrap_or_else(|| "none".into()),
                })
            }
        }
    }
    let mut last = verified.pop().ok_or(VerifyError::EmptyChain)?;
    let first = verified.into_iter().next().unwrap_or_else(|| last.clone());
    last.inputs = first.inputs;
    last.input_commitment = first.input_commitment;
    Ok(last)
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
