//! Verifying a chain of shard proofs (`zkinfer split`): every proof against its own shard's
//! keys, the shards all cut from one model by one split (the same cut points) and given in
//! order with none missing, each link's hand-off the same tensors on both sides (names,
//! shapes, scales, bounds, element types, packing), and each hand-off intact: the Poseidon
//! commitment to the activations out of shard `i` equals the one shard `i + 1` proved it
//! took in.

use zkinfer_ir::{ShardInfo, TensorInfo};

use crate::{verify, Bundle, ProofFile, VerifiedOutput, VerifyError};

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
    /// The split the chain comes from: the first link's shard settings (`None` for an
    /// unsharded model). Every link must name the same parent, count, cuts and input hashing.
    split: Option<ShardInfo>,
    /// What the previous link hands on: its output tensors and whether they are packed before
    /// hashing.
    handoff: Option<(Vec<TensorInfo>, bool)>,
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
            split: None,
            handoff: None,
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
            self.split = shard.cloned();
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
        match (shard, &self.split) {
            (None, None) => {}
            (Some(s), Some(first)) => {
                let (p, count) = (&first.parent, first.count);
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
                check_same_split(position, s, first)?;
            }
            (None, Some(_)) => {
                return Err(order("these keys are for an unsharded model".into()));
            }
            (Some(_), None) => {
                return Err(order("these keys are for a shard of a split model".into()));
            }
        }
        if let (Some((outputs, packed)), Some(s)) = (&self.handoff, shard) {
            check_handoff(
                position,
                outputs,
                *packed,
                &bundle.header.settings.inputs,
                s,
            )?;
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
        self.handoff = Some((
            bundle.header.settings.outputs.clone(),
            shard.is_some_and(|s| s.packed_outputs),
        ));
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
        last.quantized_inputs = first.quantized_inputs;
        last.inputs_digest = first.inputs_digest;
        last.input_commitment = first.input_commitment;
        Ok(last)
    }
}

/// The link into shard `position` comes from the same split as the chain's first shard: the
/// same cut points and the same input hashing. Two splits of one model into as many shards
/// differ here even where their hand-offs happen to hold the same values.
fn check_same_split(position: usize, s: &ShardInfo, first: &ShardInfo) -> Result<(), VerifyError> {
    let cut = |reason: String| VerifyError::ChainCut {
        shard: position,
        reason,
    };
    if s.cuts != first.cuts {
        return Err(cut(format!(
            "these keys are for a split cut after [{}], the chain's first shard for one cut \
             after [{}]: shards of different splits cannot be mixed",
            s.cuts.join(", "),
            first.cuts.join(", ")
        )));
    }
    if s.hashed_input != first.hashed_input {
        return Err(cut(format!(
            "these keys are for a split {} --hash-input, the chain's first shard for one {}",
            if s.hashed_input { "with" } else { "without" },
            if first.hashed_input {
                "with"
            } else {
                "without"
            },
        )));
    }
    Ok(())
}

/// The link into shard `position` takes exactly the tensors the previous shard hands on
/// (`outputs`, packed before hashing or not): the same count, and each with the same name,
/// shape, scale, bound and element type.
fn check_handoff(
    position: usize,
    outputs: &[TensorInfo],
    packed: bool,
    inputs: &[TensorInfo],
    s: &ShardInfo,
) -> Result<(), VerifyError> {
    let cut = |reason: String| VerifyError::ChainCut {
        shard: position,
        reason,
    };
    let describe = |t: &TensorInfo| {
        format!(
            "`{}` {:?} at scale 2^-{}, bound 2^{}, {}",
            t.name,
            t.shape,
            t.scale,
            t.bound,
            t.dtype.name()
        )
    };
    if outputs.len() != inputs.len() {
        return Err(cut(format!(
            "shard {} hands on {} tensors, this shard takes {}",
            position - 1,
            outputs.len(),
            inputs.len()
        )));
    }
    for (i, (o, t)) in outputs.iter().zip(inputs).enumerate() {
        if o != t {
            return Err(cut(format!(
                "tensor {i} handed on is {} but this shard takes {}",
                describe(o),
                describe(t)
            )));
        }
    }
    if packed != s.packed_inputs {
        return Err(cut(format!(
            "shard {} hashes the tensors it hands on {}, this shard {}",
            position - 1,
            if packed {
                "packed"
            } else {
                "one value per element"
            },
            if s.packed_inputs {
                "packed"
            } else {
                "one value per element"
            },
        )));
    }
    Ok(())
}
