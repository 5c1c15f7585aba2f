//! Proving one inference: quantize the input, run the integer reference (the witness), lay it
//! out, and create a KZG/SHPLONK proof.

use std::sync::Arc;

use halo2_axiom::halo2curves::bn256::Bn256;
use halo2_axiom::poly::kzg::commitment::ParamsKZG;
use halo2_axiom::transcript::TranscriptWriterBuffer;
use zkinfer_circuits::{lay_out_with, CircuitParams, DryRun, ModelCircuit};
use zkinfer_ir::{eval, CompiledModel, Tensor, Trace};
use zkinfer_verifier::{fr_to_hex, KeccakWrite, ProofFile, Reference, PROOF_FORMAT, PROOF_VERSION};

use crate::backend::{create, Backend};
use crate::keys::{circuit_for, Keys};
use crate::ProveError;

/// Quantizes float inputs at the model's input scales, checking their count, sizes and values
/// ([`zkinfer_ir::quantize_inputs`], which a verifier uses to compare an input with the proven
/// one).
pub fn quantize_inputs(
    model: &CompiledModel,
    inputs: &[Vec<f32>],
) -> Result<Vec<Tensor<i64>>, ProveError> {
    let values = zkinfer_ir::quantize_inputs(&model.settings.inputs, inputs)?;
    model
        .settings
        .inputs
        .iter()
        .zip(values)
        .map(|(info, v)| Ok(Tensor::new(info.shape.clone(), v)?))
        .collect()
}

/// The integer reference on float inputs: what the proof will show.
pub fn witness(model: &CompiledModel, inputs: &[Vec<f32>]) -> Result<Trace, ProveError> {
    let q = quantize_inputs(model, inputs)?;
    Ok(eval(&model.graph, &model.settings.table, &q)?)
}

/// The integer reference on already quantized inputs (a shard's activations).
pub fn witness_quantized(
    model: &CompiledModel,
    inputs: &[Tensor<i64>],
) -> Result<Trace, ProveError> {
    Ok(eval(&model.graph, &model.settings.table, inputs)?)
}

/// Dequantized outputs of a trace; none when the outputs are a shard's commitment (they go to
/// the next node in an activations file instead).
pub fn outputs(model: &CompiledModel, trace: &Trace) -> Vec<Vec<f32>> {
    if model.settings.commits_outputs() {
        return Vec::new();
    }
    model
        .graph
        .outputs
        .iter()
        .zip(&model.settings.outputs)
        .map(|(&o, info)| zkinfer_ir::dequantize(trace.values[o].data(), info.scale))
        .collect()
}

/// The reference run next to a proof: the engine, and its outputs or why it failed (a failed
/// reference is recorded, and never stops a proof).
pub type ReferenceRun = (String, Result<Vec<Vec<f32>>, String>);

/// Proves one inference. `reference` is the float output to record next to the proof.
/// Lays the circuit out dry with the trace's values: any disagreement between a chip and the
/// integer reference is a typed error naming the node, before any proving work.
pub fn check_witness(model: &CompiledModel, trace: &Trace) -> Result<(), ProveError> {
    let tables = zkinfer_circuits::TableSet::for_graph(&model.graph, &model.settings.table);
    lay_out_with(
        &mut DryRun::default(),
        &model.graph,
        CircuitParams::from(&model.settings),
        &tables,
        Some(trace),
    )?;
    Ok(())
}

pub fn prove(
    model: &CompiledModel,
    keys: &Keys,
    params: &ParamsKZG<Bn256>,
    inputs: &[Vec<f32>],
    reference: Option<ReferenceRun>,
) -> Result<ProofFile, ProveError> {
    prove_on(Backend::Cpu, model, keys, params, inputs, reference)
}

/// [`prove`] on `backend`.
pub fn prove_on(
    backend: Backend,
    model: &CompiledModel,
    keys: &Keys,
    params: &ParamsKZG<Bn256>,
    inputs: &[Vec<f32>],
    reference: Option<ReferenceRun>,
) -> Result<ProofFile, ProveError> {
    let trace = Arc::new(witness(model, inputs)?);
    prove_trace(backend, model, keys, params, trace, reference)
}

/// Proves the inference whose integer reference is `trace` (from [`witness`] or
/// [`witness_quantized`]) on `backend`.
pub fn prove_trace(
    backend: Backend,
    model: &CompiledModel,
    keys: &Keys,
    params: &ParamsKZG<Bn256>,
    trace: Arc<Trace>,
    reference: Option<ReferenceRun>,
) -> Result<ProofFile, ProveError> {
    crate::check_backend(backend, &model.settings)?;
    check_witness(model, &trace)?;
    let circuit = circuit_for(model).with_trace(trace.clone());
    let instances = public_instances(model, &trace)?;
    let mut transcript = KeccakWrite::init(Vec::new());
    create(
        backend,
        params,
        &keys.pk,
        circuit,
        &instances,
        &mut transcript,
    )?;
    let proof = transcript.finalize();
    let outs = outputs(model, &trace);
    let reference = reference.map(|(engine, ran)| {
        let (ref_out, error) = match ran {
            Ok(out) => (out, None),
            Err(reason) => (Vec::new(), Some(reason)),
        };
        let max_abs_error = outs
            .iter()
            .flatten()
            .zip(ref_out.iter().flatten())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        Reference {
            engine,
            verified: false,
            note: "computed by the prover next to the proof; NOT covered by the proof".into(),
            outputs: ref_out,
            max_abs_error,
            error,
        }
    });
    Ok(ProofFile {
        format: PROOF_FORMAT.into(),
        version: PROOF_VERSION,
        model_digest: keys.header.model_digest.clone(),
        vk_digest: keys.header.vk_digest.clone(),
        statement_digest: Some(keys.bundle.statement_digest()),
        instances: vec![instances.iter().map(fr_to_hex).collect()],
        proof: format!("0x{}", hex::encode(proof)),
        outputs: outs,
        reference,
    })
}

/// The public instances of `model`'s circuit for `trace` (packed as its settings say).
pub(crate) fn public_instances(
    model: &CompiledModel,
    trace: &Trace,
) -> Result<Vec<zkinfer_circuits::Fr>, ProveError> {
    ModelCircuit::instances_for(
        &model.graph,
        trace,
        &model.settings.table,
        CircuitParams::from(&model.settings),
        model.settings.packing(),
    )
    .ok_or_else(|| {
        ProveError::Halo2("a public value lies outside the packing's table domain".into())
    })
}
