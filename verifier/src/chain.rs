//! Verifying a chain of shard proofs (`zkinfer split`): every proof against its own shard's
//! keys, the shards all cut from one model by one split (the same cut points) and given in
//! order with none missing, each link's hand-off the same tensors on both sides (names,
//! shapes, scales, bounds, element types, packing), and each hand-off intact: the Poseidon
//! commitment to the activations out of shard `i` equals the one shard `i + 1` proved it
//! took in.

use zkinfer_circuits::poseidon::commit_boundary;
use zkinfer_ir::{CompiledModel, Settings, ShardInfo, Tensor, TensorInfo};

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
        let settings = &bundle.header.settings;
        let position = self.place(settings)?;
        let out = verify(bundle, proof).map_err(|e| VerifyError::ChainLink {
            shard: position,
            source: Box::new(e),
        })?;
        self.link(position, settings, out)
    }

    /// The next link computed here instead of proven: `model` (the shard's compiled model,
    /// which the verifier holds: the publisher's file, weights included) evaluated from
    /// `from`, exactly as the circuit would have proven it. The chain's statement is unchanged
    /// (its outputs are the quantized model's on the proven or given values) at the cost of
    /// evaluating the shard: for a language model's embedding and head, milliseconds here
    /// against minutes of proving.
    pub fn push_computed(
        &mut self,
        model: &CompiledModel,
        from: ComputedFrom<'_>,
    ) -> Result<(), VerifyError> {
        let settings = &model.settings;
        let position = self.place(settings)?;
        let out = compute(model, position, from).map_err(|e| VerifyError::ChainLink {
            shard: position,
            source: Box::new(e),
        })?;
        self.link(position, settings, out)
    }

    /// Checks that a link with `settings` may come next (its place in the chain and its
    /// hand-off from the previous link); its position.
    fn place(&mut self, settings: &Settings) -> Result<usize, VerifyError> {
        let position = self.done;
        let shard = settings.shard.as_ref();
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
            check_handoff(position, outputs, *packed, &settings.inputs, s)?;
        }
        Ok(position)
    }

    /// Joins the verified (or computed) link at `position` to the chain: what it took in must
    /// be what the previous link handed on.
    fn link(
        &mut self,
        position: usize,
        settings: &Settings,
        out: VerifiedOutput,
    ) -> Result<(), VerifyError> {
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
            settings.outputs.clone(),
            settings.shard.as_ref().is_some_and(|s| s.packed_outputs),
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

/// What a link the verifier computes itself starts from.
#[derive(Clone, Copy, Debug)]
pub enum ComputedFrom<'a> {
    /// The chain's input, one flat list per model input (the first shard): quantized as the
    /// prover quantizes it.
    Input(&'a [Vec<f32>]),
    /// The quantized values the previous shard handed on, one list per tensor (the prover's
    /// activations file): each within its declared bound, and their Poseidon commitment must
    /// be the one the previous proof made, so they are exactly the proven values.
    Handoff(&'a [Vec<i64>]),
}

fn computed_error(reason: impl Into<String>) -> VerifyError {
    VerifyError::Computed {
        reason: reason.into(),
    }
}

/// Evaluates the shard `model` at chain `position` from `from`: what its proof would have
/// made public (values, or commitments where the shard commits them).
fn compute(
    model: &CompiledModel,
    position: usize,
    from: ComputedFrom<'_>,
) -> Result<VerifiedOutput, VerifyError> {
    let s = &model.settings;
    let values: Vec<Vec<i64>> = match from {
        ComputedFrom::Input(x) => {
            if position > 0 {
                return Err(computed_error(
                    "only the chain's first shard starts from the input; a later one needs the \
                     activations the previous shard handed on",
                ));
            }
            zkinfer_ir::quantize_inputs(&s.inputs, x)?
        }
        ComputedFrom::Handoff(v) => {
            if position == 0 {
                return Err(computed_error(
                    "the chain's first shard starts from the input (give it), not from activations",
                ));
            }
            check_handoff_values(&s.inputs, v)?;
            v.to_vec()
        }
    };
    let inputs: Vec<Tensor<i64>> = s
        .inputs
        .iter()
        .zip(&values)
        .map(|(t, v)| Tensor::new(t.shape.clone(), v.clone()))
        .collect::<Result<_, _>>()?;
    let trace = zkinfer_ir::eval(&model.graph, &s.table, &inputs)?;
    let outputs: Vec<Vec<i64>> = model
        .graph
        .outputs
        .iter()
        .map(|&o| trace.values[o].data().to_vec())
        .collect();
    let commit = |vals: &[Vec<i64>], inputs: bool| -> Result<String, VerifyError> {
        let all: Vec<i64> = vals.iter().flatten().copied().collect();
        commit_boundary(&all, s.commitment_packing(inputs))
            .map(|c| fr_to_hex(&c))
            .ok_or_else(|| computed_error("a value lies outside its packing's domain"))
    };
    let input_commitment = s
        .commits_inputs()
        .then(|| commit(&values, true))
        .transpose()?;
    let output_commitment = s
        .commits_outputs()
        .then(|| commit(&outputs, false))
        .transpose()?;
    // A committed side shows its commitment, not its values, as a proof would.
    let shown = |vals: Vec<Vec<i64>>, commitment: &Option<String>| match commitment {
        Some(_) => Vec::new(),
        None => vals,
    };
    Ok(VerifiedOutput::from_public(
        s,
        shown(values, &input_commitment),
        shown(outputs, &output_commitment),
        input_commitment,
        output_commitment,
    ))
}

/// Handed-on values as the shard takes them: one list per input tensor, of its size, every
/// value within its declared bound (outside it, a packing could alias other values).
fn check_handoff_values(infos: &[TensorInfo], values: &[Vec<i64>]) -> Result<(), VerifyError> {
    if values.len() != infos.len() {
        return Err(computed_error(format!(
            "{} tensors handed on, the shard takes {}",
            values.len(),
            infos.len()
        )));
    }
    for (t, v) in infos.iter().zip(values) {
        if v.len() != t.len() {
            return Err(computed_error(format!(
                "tensor `{}`: {} values handed on, the shard takes {:?}",
                t.name,
                v.len(),
                t.shape
            )));
        }
        if let Some(i) = v
            .iter()
            .position(|x| x.unsigned_abs() >= 1u64 << t.bound.min(63))
        {
            return Err(computed_error(format!(
                "tensor `{}`, element {i}: {} is outside the declared bound of {} bits",
                t.name, v[i], t.bound
            )));
        }
    }
    Ok(())
}
