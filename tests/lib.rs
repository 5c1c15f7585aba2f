//! Shared helpers for the end-to-end tests: the corpus location and a compile → setup →
//! prove → verify round trip through the library API.

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

/// Compiles (calibrated on the entry's own input), sets up, proves and verifies a corpus entry.
pub fn round_trip(entry: &str) -> anyhow::Result<RoundTrip> {
    let dir = corpus().join(entry);
    let input = read_inputs(&dir.join("input.json"))?;
    let (model, _) = compile(
        &dir.join("model.onnx"),
        std::slice::from_ref(&input),
        &QuantConfig::default(),
    )?;
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
