//! Optimistic inference, the node's side: a claim made by the integer evaluation alone (no
//! keys, no proving), its check by re-execution, and the fraud proof of the first segment a
//! wrong claim gets wrong ([`zkinfer_verifier::Claim`] says what a claim holds).

use std::path::Path;
use std::sync::Arc;

use halo2_axiom::halo2curves::bn256::Bn256;
use halo2_axiom::poly::kzg::commitment::ParamsKZG;
use rayon::prelude::*;
use zkinfer_circuits::poseidon;
use zkinfer_ir::{CompiledModel, Tensor};
use zkinfer_verifier::{
    compare_claims, fr_to_hex, verify_dispute, Agreement, Boundary, Bundle, Claim, FraudProof,
    Segment, CLAIM_FORMAT, CLAIM_VERSION,
};

use crate::{prove_trace, quantize_inputs, witness_quantized, Backend, Keys, ProveError};

fn claim_error(reason: impl Into<String>) -> ProveError {
    ProveError::Claim {
        reason: reason.into(),
    }
}

/// The segments of a claim, checked to be one unsharded model or every shard of one split in
/// order, with their digests computed once (a node evaluates them for every request).
#[derive(Clone, Debug)]
pub struct Segments {
    models: Vec<CompiledModel>,
    digests: Vec<String>,
    parent: String,
}

impl Segments {
    pub fn new(models: Vec<CompiledModel>) -> Result<Self, ProveError> {
        let parent = check_segments(&models)?;
        let digests = models.iter().map(CompiledModel::digest).collect();
        Ok(Self {
            models,
            digests,
            parent,
        })
    }

    /// A compiled model (`.zkc`), or a directory of shards (`shard-0.zkc`, `shard-1.zkc`, …
    /// as `zkinfer split` writes them).
    pub fn read(path: &Path) -> Result<Self, ProveError> {
        Self::new(read_segments(path)?)
    }

    pub fn models(&self) -> &[CompiledModel] {
        &self.models
    }

    /// Each segment's model digest.
    pub fn digests(&self) -> &[String] {
        &self.digests
    }

    /// Digest of the model the segments come from.
    pub fn parent(&self) -> &str {
        &self.parent
    }

    pub fn len(&self) -> usize {
        self.models.len()
    }

    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }
}

/// The models at `path`: a compiled model (`.zkc`), or a directory of shards
/// (`shard-0.zkc`, `shard-1.zkc`, … as `zkinfer split` writes them), in chain order and
/// checked to be one whole split.
pub fn read_segments(path: &Path) -> Result<Vec<CompiledModel>, ProveError> {
    if !path.is_dir() {
        let model = CompiledModel::read(path)?;
        if let Some(s) = &model.settings.shard {
            return Err(claim_error(format!(
                "{} is shard {} of a split into {}: give the directory of all its shards",
                path.display(),
                s.index,
                s.count
            )));
        }
        return Ok(vec![model]);
    }
    let mut models = Vec::new();
    loop {
        let file = path.join(format!("shard-{}.zkc", models.len()));
        if !file.exists() {
            break;
        }
        models.push(CompiledModel::read(&file)?);
    }
    if models.is_empty() {
        return Err(claim_error(format!(
            "{}: no shard-0.zkc in the directory (the output of `zkinfer split`)",
            path.display()
        )));
    }
    check_segments(&models)?;
    Ok(models)
}

/// Checks that `models` is one unsharded model, or every shard of one split in order; the
/// digest of the model they come from.
pub fn check_segments(models: &[CompiledModel]) -> Result<String, ProveError> {
    let Some(first) = models.first() else {
        return Err(claim_error("no segments"));
    };
    let Some(split) = &first.settings.shard else {
        if models.len() > 1 {
            return Err(claim_error(
                "an unsharded model is a claim's only segment; several segments are the shards \
                 of one split",
            ));
        }
        return Ok(first.digest());
    };
    if models.len() != split.count {
        return Err(claim_error(format!(
            "the split has {} shards, {} were given",
            split.count,
            models.len()
        )));
    }
    for (i, m) in models.iter().enumerate() {
        match &m.settings.shard {
            Some(s) if s.index == i && s.count == split.count && s.parent == split.parent => {}
            Some(s) => {
                return Err(claim_error(format!(
                    "segment {i} is shard {} of {} of model {}; expected shard {i} of {} of {}",
                    s.index, s.count, s.parent, split.count, split.parent
                )))
            }
            None => {
                return Err(claim_error(format!(
                    "segment {i} is an unsharded model, not a shard of the split"
                )))
            }
        }
    }
    Ok(split.parent.clone())
}

/// A change a dishonest node makes to its own evaluation (for tests and demonstrations of the
/// dispute game): `delta` added to value `index` of the output of `segment`, and the later
/// segments evaluated honestly from the altered values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Alteration {
    pub segment: usize,
    pub index: usize,
    pub delta: i64,
}

/// An evaluation of every segment: the claim, and each segment's quantized inputs (what a
/// dispute of that segment proves from).
#[derive(Clone, Debug)]
pub struct Evaluation {
    pub claim: Claim,
    pub segment_inputs: Vec<Vec<Tensor<i64>>>,
}

fn flat(tensors: &[Tensor<i64>]) -> Vec<i64> {
    tensors
        .iter()
        .flat_map(|t| t.data().iter().copied())
        .collect()
}

fn commitment(values: &[i64], packing: Option<zkinfer_ir::Packing>) -> Result<String, ProveError> {
    poseidon::commit_boundary(values, packing)
        .map(|c| fr_to_hex(&c))
        .ok_or_else(|| {
            claim_error("a value at a packed boundary lies outside the activation table's domain")
        })
}

/// Evaluates `segments` on `inputs` exactly as their circuits compute, segment after segment,
/// and records every boundary.
pub fn evaluate(
    segments: &Segments,
    inputs: &[Vec<f32>],
    alteration: Option<Alteration>,
) -> Result<Evaluation, ProveError> {
    let models = segments.models();
    let parent = segments.parent().to_string();
    if let Some(a) = alteration.filter(|a| a.segment >= models.len()) {
        return Err(claim_error(format!(
            "the alteration names segment {}; there are {}",
            a.segment,
            models.len()
        )));
    }
    let first = &models[0];
    let mut acts = quantize_inputs(first, inputs)?;
    let input_packing = match first.settings.commits_inputs() {
        true => first.settings.commitment_packing(true),
        false => {
            poseidon::boundary_packing(&first.graph, &first.graph.inputs, &first.settings.table)
        }
    };
    // Each boundary's packing, where it has a commitment; the commitments are made once every
    // segment is evaluated, in parallel (the boundaries are independent).
    let mut packings = vec![Some(input_packing)];
    let mut boundaries = vec![Boundary {
        commitment: None,
        values: (!first.settings.commits_inputs()).then(|| flat(&acts)),
    }];
    let mut claimed = Vec::with_capacity(models.len());
    let mut segment_inputs = Vec::with_capacity(models.len());
    let mut outputs = Vec::new();
    for (i, m) in models.iter().enumerate() {
        check_handoff(i, m, &acts)?;
        let trace = witness_quantized(m, &acts)?;
        let mut outs: Vec<Tensor<i64>> = m
            .graph
            .outputs
            .iter()
            .map(|&o| trace.values[o].clone())
            .collect();
        if let Some(a) = alteration.filter(|a| a.segment == i) {
            alter(&mut outs, a)?;
        }
        let last = i + 1 == models.len();
        if last {
            outputs = outs
                .iter()
                .zip(&m.settings.outputs)
                .map(|(t, info)| zkinfer_ir::dequantize(t.data(), info.scale))
                .collect();
        }
        // The model's output is public as values: no commitment is needed there.
        let committed = m.settings.commits_outputs();
        packings.push(committed.then(|| m.settings.commitment_packing(false)));
        boundaries.push(Boundary {
            commitment: None,
            values: (!committed).then(|| flat(&outs)),
        });
        claimed.push(Segment {
            model_digest: segments.digests()[i].clone(),
            statement_digest: None,
        });
        segment_inputs.push(std::mem::replace(&mut acts, outs));
    }
    let commitments = packings
        .par_iter()
        .enumerate()
        .map(|(i, packing)| match (packing, segment_inputs.get(i)) {
            (Some(p), Some(values)) => commitment(&flat(values), *p).map(Some),
            _ => Ok(None),
        })
        .collect::<Result<Vec<_>, ProveError>>()?;
    for (b, c) in boundaries.iter_mut().zip(commitments) {
        b.commitment = c;
    }
    Ok(Evaluation {
        claim: Claim {
            format: CLAIM_FORMAT.into(),
            version: CLAIM_VERSION,
            model_digest: parent,
            segments: claimed,
            boundaries,
            outputs,
            node: None,
        },
        segment_inputs,
    })
}

/// The tensors handed to segment `i` are the ones it takes (count and shapes).
fn check_handoff(i: usize, m: &CompiledModel, acts: &[Tensor<i64>]) -> Result<(), ProveError> {
    let infos = &m.settings.inputs;
    let same = infos.len() == acts.len()
        && infos
            .iter()
            .zip(acts)
            .all(|(info, t)| info.shape == t.shape());
    match same {
        true => Ok(()),
        false => Err(claim_error(format!(
            "segment {i} takes {} tensor(s) of shapes {:?}; the segment before hands on {} of \
             shapes {:?}",
            infos.len(),
            infos.iter().map(|t| &t.shape).collect::<Vec<_>>(),
            acts.len(),
            acts.iter().map(|t| t.shape()).collect::<Vec<_>>()
        ))),
    }
}

fn alter(outs: &mut [Tensor<i64>], a: Alteration) -> Result<(), ProveError> {
    let mut index = a.index;
    for t in outs.iter_mut() {
        let n = t.data().len();
        if index < n {
            let mut data = t.data().to_vec();
            data[index] += a.delta;
            *t = Tensor::new(t.shape().to_vec(), data)?;
            return Ok(());
        }
        index -= n;
    }
    Err(claim_error(format!(
        "segment {} hands on {} values; there is no value {}",
        a.segment,
        outs.iter().map(|t| t.data().len()).sum::<usize>(),
        a.index
    )))
}

/// The claim of `models` on `inputs`: what an honest node publishes.
pub fn claim(segments: &Segments, inputs: &[Vec<f32>]) -> Result<Claim, ProveError> {
    Ok(evaluate(segments, inputs, None)?.claim)
}

/// Names each segment's keys in `claim` (their statement digests), checking that they are the
/// segments' keys: a fraud proof must then be verified with exactly these keys.
pub fn name_keys(claim: &mut Claim, bundles: &[&Bundle]) -> Result<(), ProveError> {
    if bundles.len() != claim.segments.len() {
        return Err(claim_error(format!(
            "{} key directories for {} segments",
            bundles.len(),
            claim.segments.len()
        )));
    }
    for (i, (s, b)) in claim.segments.iter_mut().zip(bundles).enumerate() {
        if b.header.model_digest != s.model_digest {
            return Err(claim_error(format!(
                "key directory {i} is for model {}, segment {i} is {}",
                b.header.model_digest, s.model_digest
            )));
        }
        s.statement_digest = Some(b.statement_digest());
    }
    Ok(())
}

/// Re-executes and compares with `claim`: [`Agreement::Agree`], or the first segment whose
/// output differs. A claim of another model, split or input is an error, not a disagreement.
pub fn check_claim(
    segments: &Segments,
    inputs: &[Vec<f32>],
    claim: &Claim,
) -> Result<Agreement, ProveError> {
    let honest = evaluate(segments, inputs, None)?;
    Ok(compare_claims(&honest.claim, claim)?)
}

/// Proves the first segment `claim` gets wrong, from the boundary where it is still right,
/// with that segment's `keys`: the fraud proof, checked with [`verify_dispute`] before it is
/// returned. `honest` is this node's [`evaluate`] of the same segments and input.
pub fn dispute(
    segments: &Segments,
    honest: &Evaluation,
    claim: &Claim,
    keys: &Keys,
    params: &ParamsKZG<Bn256>,
    backend: Backend,
) -> Result<FraudProof, ProveError> {
    let segment = match compare_claims(&honest.claim, claim)? {
        Agreement::Agree => {
            return Err(zkinfer_verifier::VerifyError::Dispute {
                reason: "the claim agrees with this evaluation at every boundary: there is \
                         nothing to dispute"
                    .into(),
            }
            .into())
        }
        Agreement::Differ { segment } => segment,
    };
    let model = &segments.models()[segment];
    let digest = &segments.digests()[segment];
    if &keys.header.model_digest != digest {
        return Err(claim_error(format!(
            "the claim is first wrong in segment {segment}; these keys are for model {}, \
             segment {segment} is {digest} (give its keys)",
            keys.header.model_digest,
        )));
    }
    let trace = witness_quantized(model, &honest.segment_inputs[segment])?;
    let proof = prove_trace(backend, model, keys, params, Arc::new(trace), None)?;
    let fraud = FraudProof::new(claim, segment, proof);
    verify_dispute(claim, &fraud, &keys.bundle)?;
    Ok(fraud)
}

/// The segment a dispute of `claim` must prove (from a re-execution), so that a caller can
/// load that segment's keys only.
pub fn disputed_segment(honest: &Evaluation, claim: &Claim) -> Result<Option<usize>, ProveError> {
    Ok(match compare_claims(&honest.claim, claim)? {
        Agreement::Agree => None,
        Agreement::Differ { segment } => Some(segment),
    })
}
