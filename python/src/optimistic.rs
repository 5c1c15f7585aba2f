//! Optimistic inference for Python: a [`Claimer`] holds a model's segments (a compiled model or
//! the shards of a split) to claim, check and dispute many inferences; `compare_claims` and
//! `verify_dispute` need no model. Claims and fraud proofs cross as their JSON files' text.
//! Refusals are `VerifyError`s whose `reason` is `"Claim"` (claims that cannot be compared:
//! other model, split or input) or `"Dispute"` (nothing to dispute, or a fraud proof that
//! does not refute the claim).

use std::path::{Path, PathBuf};
use std::time::Instant;

use pyo3::prelude::*;
use serde_json::{json, Value};
use zkinfer_ir::CompiledModel;
use zkinfer_prover::{
    evaluate, load_srs, name_keys, read_segments, Alteration, Keys, ProveError, Segments,
};
use zkinfer_verifier::{compare_claims, Agreement, Bundle, Claim, FraudProof, VerifyError};

use crate::{
    err, info_json, model_inputs, prove_err, read_bundle, tensors, verified_value, verify_err,
};

fn parse_claim(py: Python<'_>, text: &str, name: &str) -> PyResult<Claim> {
    Claim::from_slice(text.as_bytes(), name).map_err(|e| verify_err(py, &e))
}

fn parse_fraud(py: Python<'_>, text: &str, name: &str) -> PyResult<FraudProof> {
    FraudProof::from_slice(text.as_bytes(), name).map_err(|e| verify_err(py, &e))
}

/// `None` when the claims agree, else the first segment whose output differs.
fn differing(agreement: Agreement) -> Option<usize> {
    match agreement {
        Agreement::Agree => None,
        Agreement::Differ { segment } => Some(segment),
    }
}

fn dispute_refused(py: Python<'_>, reason: String) -> PyErr {
    verify_err(py, &VerifyError::Dispute { reason })
}

/// A model's segments, loaded once: one compiled model, or every shard of one split in order.
/// With the segments' key directories, claims name their statement digests.
#[pyclass(frozen, module = "zkinfer._native")]
pub struct Claimer {
    path: PathBuf,
    segments: Segments,
    bundles: Vec<Bundle>,
}

#[pymethods]
impl Claimer {
    /// `models`: one `.zkc`, one directory of shards (`shard-0.zkc`, …), or the shard files
    /// in chain order. `keys`: none, or one key directory (or `bundle.bin`) per segment.
    #[new]
    #[pyo3(signature = (models, keys=Vec::new()))]
    fn new(py: Python<'_>, models: Vec<PathBuf>, keys: Vec<PathBuf>) -> PyResult<Self> {
        py.detach(|| {
            let (path, models) = match models.as_slice() {
                [] => return Err(err("claimer: no model given")),
                [one] => (one.clone(), read_segments(one).map_err(err)?),
                many => {
                    let loaded = many
                        .iter()
                        .map(|p| CompiledModel::read(p).map_err(err))
                        .collect::<PyResult<Vec<_>>>()?;
                    (many[0].clone(), loaded)
                }
            };
            let segments = Segments::new(models).map_err(err)?;
            if !keys.is_empty() && keys.len() != segments.len() {
                return Err(err(format!(
                    "{} key directories for {} segments: give one per segment, or none",
                    keys.len(),
                    segments.len()
                )));
            }
            let bundles = keys
                .iter()
                .map(|k| read_bundle(k).map_err(err))
                .collect::<PyResult<Vec<_>>>()?;
            Ok(Claimer {
                path,
                segments,
                bundles,
            })
        })
    }

    /// The segments' count, the parent model's digest, the first segment's inputs and the last
    /// one's outputs, and each segment's info, as JSON.
    fn info(&self) -> PyResult<String> {
        let models = self.segments.models();
        let segments: Vec<Value> = models
            .iter()
            .map(|m| serde_json::from_str(&info_json(&self.path, m)).unwrap_or(Value::Null))
            .collect();
        let (Some(first), Some(last)) = (models.first(), models.last()) else {
            return Err(err("claimer: no segments"));
        };
        Ok(json!({
            "path": self.path, "model_digest": self.segments.parent(), "segments": segments,
            "inputs": tensors(&first.settings.inputs), "outputs": tensors(&last.settings.outputs),
        })
        .to_string())
    }

    /// Evaluates the segments on `inputs` as their circuits compute and returns the claim's
    /// JSON and the seconds the evaluation took. `alteration` (`(segment, index, delta)`) is
    /// for tests only: it makes a dishonest claim.
    #[pyo3(signature = (inputs, node=None, alteration=None))]
    fn claim(
        &self,
        py: Python<'_>,
        inputs: Vec<Vec<f32>>,
        node: Option<String>,
        alteration: Option<(usize, usize, i64)>,
    ) -> PyResult<(String, f64)> {
        let alteration = alteration.map(|(segment, index, delta)| Alteration {
            segment,
            index,
            delta,
        });
        let inputs = model_inputs(&self.segments.models()[0].settings, inputs);
        let result = py.detach(|| -> Result<_, Box<ProveError>> {
            let t = Instant::now();
            let mut claim = evaluate(&self.segments, &inputs, alteration)?.claim;
            let seconds = t.elapsed().as_secs_f64();
            if !self.bundles.is_empty() {
                name_keys(&mut claim, &self.bundles.iter().collect::<Vec<_>>())?;
            }
            claim.node = node;
            Ok((claim.to_json(), seconds))
        });
        result.map_err(|e| prove_err(py, *e))
    }

    /// Re-executes on `inputs` and compares with the claim (JSON text): `None` when it agrees,
    /// else the first segment whose output differs.
    #[pyo3(signature = (claim, inputs, name="claim"))]
    fn check(
        &self,
        py: Python<'_>,
        claim: &str,
        inputs: Vec<Vec<f32>>,
        name: &str,
    ) -> PyResult<Option<usize>> {
        let claim = parse_claim(py, claim, name)?;
        let inputs = model_inputs(&self.segments.models()[0].settings, inputs);
        let result = py.detach(|| -> Result<_, Box<ProveError>> {
            let honest = evaluate(&self.segments, &inputs, None)?;
            Ok(differing(
                compare_claims(&honest.claim, &claim).map_err(ProveError::from)?,
            ))
        });
        result.map_err(|e| prove_err(py, *e))
    }

    /// Proves the first segment the claim gets wrong, from the boundary where it is still
    /// right: returns the fraud proof's JSON. `keys` is one key directory per segment, or only
    /// the disputed segment's (whose proving key alone is read).
    #[pyo3(signature = (claim, inputs, keys, srs=None, backend="cpu", name="claim"))]
    #[allow(clippy::too_many_arguments)]
    fn dispute(
        &self,
        py: Python<'_>,
        claim: &str,
        inputs: Vec<Vec<f32>>,
        keys: Vec<PathBuf>,
        srs: Option<PathBuf>,
        backend: &str,
        name: &str,
    ) -> PyResult<String> {
        let backend = crate::parse_backend(backend)?;
        let claim = parse_claim(py, claim, name)?;
        let inputs = model_inputs(&self.segments.models()[0].settings, inputs);
        let honest = py
            .detach(|| evaluate(&self.segments, &inputs, None).map_err(Box::new))
            .map_err(|e| prove_err(py, *e))?;
        let segment = match compare_claims(&honest.claim, &claim) {
            Ok(Agreement::Differ { segment }) => segment,
            Ok(Agreement::Agree) => {
                return Err(dispute_refused(
                    py,
                    "the claim agrees with this re-execution at every boundary: there is \
                     nothing to dispute"
                        .into(),
                ))
            }
            Err(e) => return Err(verify_err(py, &e)),
        };
        let n = self.segments.len();
        let dir: &Path = match keys.len() {
            1 => &keys[0],
            k if k == n => &keys[segment],
            k => {
                return Err(err(format!(
                    "{k} key directories for {n} segments: give one per segment, or only the \
                     disputed segment's (segment {segment})"
                )))
            }
        };
        let result = py.detach(|| -> Result<_, Box<ProveError>> {
            let model = &self.segments.models()[segment];
            let keys = Keys::read(dir, model)?;
            let (params, _) = load_srs(model.settings.k, keys.srs_path(srs.as_deref()))?;
            let fraud =
                zkinfer_prover::dispute(&self.segments, &honest, &claim, &keys, &params, backend)?;
            Ok(fraud.to_json())
        });
        result.map_err(|e| prove_err(py, *e))
    }
}

/// Compares two claims (JSON text) without re-executing: `None` when they agree at every
/// boundary, else the first segment whose output differs.
#[pyfunction(name = "compare_claims")]
fn compare_claims_json(py: Python<'_>, a: &str, b: &str) -> PyResult<Option<usize>> {
    let (a, b) = (
        parse_claim(py, a, "claim a")?,
        parse_claim(py, b, "claim b")?,
    );
    compare_claims(&a, &b)
        .map(differing)
        .map_err(|e| verify_err(py, &e))
}

/// Checks a claim file's text; returns its canonical JSON and digest (what a fraud proof
/// names).
#[pyfunction]
#[pyo3(signature = (text, name="claim"))]
fn read_claim(py: Python<'_>, text: &str, name: &str) -> PyResult<(String, String)> {
    let claim = parse_claim(py, text, name)?;
    Ok((claim.to_json(), claim.digest()))
}

/// Checks a fraud-proof file's text; returns `(claim digest, segment, proof JSON)`.
#[pyfunction]
#[pyo3(signature = (text, name="fraud proof"))]
fn read_fraud_proof(py: Python<'_>, text: &str, name: &str) -> PyResult<(String, usize, String)> {
    let fraud = parse_fraud(py, text, name)?;
    Ok((fraud.claim_digest, fraud.segment, fraud.proof.to_json()))
}

/// Checks a fraud proof against a claim with the disputed segment's keys (a directory or
/// `bundle.bin`): returns the refutation as JSON when the proof shows the claim wrong.
#[pyfunction]
fn verify_dispute(
    py: Python<'_>,
    claim: &str,
    fraud_proof: &str,
    keys: PathBuf,
) -> PyResult<String> {
    let claim = parse_claim(py, claim, "claim")?;
    let fraud = parse_fraud(py, fraud_proof, "fraud proof")?;
    let result = py.detach(|| -> Result<_, VerifyError> {
        let bundle = read_bundle(&keys)?;
        let r = zkinfer_verifier::verify_dispute(&claim, &fraud, &bundle)?;
        Ok(json!({
            "segment": r.segment,
            "claimed": r.claimed, "proven": r.proven,
            "claimed_text": r.claimed.describe(), "proven_text": r.proven.describe(),
            "verified": verified_value(&r.verified, &bundle),
        })
        .to_string())
    });
    result.map_err(|e| verify_err(py, &e))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Claimer>()?;
    m.add_function(wrap_pyfunction!(compare_claims_json, m)?)?;
    m.add_function(wrap_pyfunction!(read_claim, m)?)?;
    m.add_function(wrap_pyfunction!(read_fraud_proof, m)?)?;
    m.add_function(wrap_pyfunction!(verify_dispute, m)?)?;
    Ok(())
}
