//! Shared helpers for the end-to-end tests: the corpus location and a compile → setup →
//! prove → verify round trip through the library API.

pub mod evm;
pub mod fuzz;

use std::path::{Path, PathBuf};

use zkinfer_ir::CompiledModel;
use zkinfer_onnx::QuantConfig;
use zkinfer_prover::{compile, load_srs, prove, read_inputs, setup, Keys};
use zkinfer_verifier::{verify, ProofFile, VerifiedOutput};

/// `../shared/corpus`, resolved from the workspace root.
pub fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus")
}

/// `{"output_data": [[...]]}` as written by the corpus.
pub fn read_outputs(path: &Path) -> anyhow::Result<Vec<Vec<f32>>> {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path)?)?;
    let lists = v["output_data"]
        .as_array()
        .ok_or_else(|| anyhow::anyhow!("no output_data"))?;
    Ok(lists
        .iter()
        .map(|l| {
            l.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_f64())
                        .map(|x| x as f32)
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect())
}

/// A proven and verified corpus entry.
pub struct RoundTrip {
    pub model: CompiledModel,
    pub keys: Keys,
    pub proof: ProofFile,
    pub verified: VerifiedOutput,
    pub expected: Vec<Vec<f32>>,
}

impl RoundTrip {
    /// Largest |verified - onnxruntime expected| over all outputs.
    pub fn max_abs_error(&self) -> f32 {
        self.verified
            .outputs
            .iter()
            .flatten()
            .zip(self.expected.iter().flatten())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max)
    }
}

/// Sets up, proves and verifies `model` on one input file; returns the verified output.
pub fn prove_and_verify(model: &CompiledModel, input: &Path) -> anyhow::Result<VerifiedOutput> {
    let input = read_inputs(input)?;
    let (params, srs) = load_srs(model.settings.k, None)?;
    let keys = setup(model, &params, srs)?;
    let proof = prove(model, &keys, &params, &input, None)?;
    Ok(verify(&keys.bundle, &proof)?)
}

/// Compiles the corpus entry in `dir` calibrated on its own `input.json` (default settings);
/// returns the model and that input.
pub fn compile_example(dir: &Path) -> anyhow::Result<(CompiledModel, Vec<Vec<f32>>)> {
    let input = read_inputs(&dir.join("input.json"))?;
    let (model, _) = compile(
        &dir.join("model.onnx"),
        std::slice::from_ref(&input),
        &QuantConfig::default(),
    )?;
    Ok((model, input))
}

/// Compiles (calibrated on the entry's own input), sets up, proves and verifies a corpus entry.
pub fn round_trip(entry: &str) -> anyhow::Result<RoundTrip> {
    let dir = corpus().join(entry);
    let (model, input) = compile_example(&dir)?;
    let (params, srs) = load_srs(model.settings.k, None)?;
    let keys = setup(&model, &params, srs)?;
    let proof = prove(&model, &keys, &params, &input, None)?;
    let verified = verify(&keys.bundle, &proof)?;
    let expected = read_outputs(&dir.join("expected_output.json"))?;
    Ok(RoundTrip {
        model,
        keys,
        proof,
        verified,
        expected,
    })
}

/// What the conformance check of one ONNX node test found.
pub struct Conformance {
    pub k: u32,
    pub max_abs_error: f32,
}

/// The tolerance for an output at `scale` fractional bits against onnxruntime's `want`:
/// eight units in the last place (input rounding and each rescale contribute up to half a
/// unit; tables round once more) plus 1/64 of `|want|` for products of rounded operands.
/// Integer outputs (scale 0: ArgMax, comparisons) must match exactly.
pub fn tolerance(scale: u32, want: f32) -> f32 {
    if scale == 0 {
        return 0.0;
    }
    8.0 / (1u64 << scale) as f32 + want.abs() / 64.0
}

/// import → quantize (calibrated on the entry's own input) → `ir::eval` → compare with
/// `expected_output.json` within [`tolerance`] → MockProver of the whole circuit.
pub fn conformance(entry: &str) -> anyhow::Result<Conformance> {
    conformance_at(&corpus().join("onnx-node").join(entry))
}

/// [`conformance`] of the corpus entry in `dir`.
pub fn conformance_at(dir: &Path) -> anyhow::Result<Conformance> {
    use halo2_axiom::dev::MockProver;
    let (model, input) = compile_example(dir)?;
    let trace = zkinfer_prover::witness(&model, &input)?;
    let got = zkinfer_prover::outputs(&model, &trace);
    let expected = read_outputs(&dir.join("expected_output.json"))?;
    anyhow::ensure!(got.len() == expected.len(), "output count differs");
    let mut max_abs_error = 0.0f32;
    for (o, (g, w)) in got.iter().zip(&expected).enumerate() {
        anyhow::ensure!(
            g.len() == w.len(),
            "output {o}: {} values, expected {}",
            g.len(),
            w.len()
        );
        let scale = model.graph.nodes[model.graph.outputs[o]].scale;
        for (i, (a, b)) in g.iter().zip(w).enumerate() {
            let err = (a - b).abs();
            anyhow::ensure!(
                err <= tolerance(scale, *b),
                "output {o}[{i}] = {a}, onnxruntime {b} (tolerance {} at scale 2^-{scale})",
                tolerance(scale, *b)
            );
            max_abs_error = max_abs_error.max(err);
        }
    }
    zkinfer_prover::check_witness(&model, &trace)?;
    // Prover and verifier agree: every value the circuit computes lies within the bound the
    // compiler declared for its node (the verifier checks the public ones against it).
    for (node, values) in model.graph.nodes.iter().zip(&trace.values) {
        if let Some(v) = values
            .data()
            .iter()
            .find(|v| v.unsigned_abs() >= 1u64 << node.bound.min(63))
        {
            anyhow::bail!(
                "node `{}` ({:?}): value {v} outside its declared bound of {} bits",
                node.name,
                std::mem::discriminant(&node.op),
                node.bound
            );
        }
    }
    let circuit =
        zkinfer_prover::circuit_for(&model).with_trace(std::sync::Arc::new(trace.clone()));
    let instances = zkinfer_circuits::ModelCircuit::instances(&model.graph, &trace);
    let k = model.settings.k;
    let prover = MockProver::run(k, &circuit, vec![instances])?;
    prover
        .verify()
        .map_err(|e| anyhow::anyhow!("MockProver: {} failures, first: {:?}", e.len(), e.first()))?;
    Ok(Conformance { k, max_abs_error })
}
