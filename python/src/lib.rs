//! `zkinfer._native`: the Rust half of the Python package. It takes and returns plain values
//! (paths, float lists, JSON text); `zkinfer/__init__.py` turns them into numpy arrays and
//! objects. Every error is a `ZkinferError`, and a rejected proof a `VerifyError` whose
//! `reason` names the typed reason. Proving releases the GIL.

mod optimistic;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use halo2_axiom::halo2curves::bn256::Bn256;
use halo2_axiom::poly::kzg::commitment::ParamsKZG;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use serde_json::{json, Value};
use zkinfer_ir::{CompiledModel, TensorInfo};
use zkinfer_prover::{
    load_srs, read_inputs, read_samples, reference_run, split_model, Activations, Backend,
    CompileOptions, Cuts, Keys, Target, BUNDLE_FILE,
};
use zkinfer_verifier::{check_inputs, Bundle, ProofFile, VerifiedOutput};

pyo3::create_exception!(
    _native,
    ZkinferError,
    PyException,
    "Any zkinfer failure: bad input, unsupported model, missing files, proving errors."
);
pyo3::create_exception!(
    _native,
    VerifyError,
    ZkinferError,
    "A proof or chain was rejected; `reason` names why (\"InvalidProof\", \"WrongModel\", …)."
);

pub(crate) fn err(e: impl std::fmt::Display) -> PyErr {
    ZkinferError::new_err(e.to_string())
}

/// A `VerifyError` carrying `reason`; prover errors that wrap a verifier error keep its reason.
pub(crate) fn verify_err(py: Python<'_>, e: &zkinfer_verifier::VerifyError) -> PyErr {
    let e_py = VerifyError::new_err(e.to_string());
    if let Err(set) = e_py.value(py).setattr("reason", e.kind()) {
        return set;
    }
    e_py
}

pub(crate) fn prove_err(py: Python<'_>, e: zkinfer_prover::ProveError) -> PyErr {
    match &e {
        zkinfer_prover::ProveError::Verify(v) => verify_err(py, v),
        _ => err(e),
    }
}

fn to_json(v: &Value) -> String {
    v.to_string()
}

pub(crate) fn tensors(infos: &[TensorInfo]) -> Value {
    infos
        .iter()
        .map(|t| {
            json!({
                "name": t.name, "shape": t.shape, "scale": t.scale,
                "dtype": t.dtype.name(),
            })
        })
        .collect()
}

/// Compiles an ONNX model; returns the summary as JSON.
#[pyfunction]
#[pyo3(signature = (model, output, samples, sample_files, calibrate, scale=None, margin_bits=None, target=None, evm=false))]
#[allow(clippy::too_many_arguments)]
fn compile(
    py: Python<'_>,
    model: PathBuf,
    output: PathBuf,
    samples: Vec<Vec<Vec<f32>>>,
    sample_files: Vec<PathBuf>,
    calibrate: Vec<PathBuf>,
    scale: Option<u32>,
    margin_bits: Option<u32>,
    target: Option<String>,
    evm: bool,
) -> PyResult<String> {
    let target = match target.as_deref() {
        None => None,
        Some("accuracy") => Some(Target::Accuracy),
        Some("resources") => Some(Target::Resources),
        Some(t) => return Err(err(format!("target: `{t}` is not accuracy or resources"))),
    };
    py.detach(|| {
        let mut all = samples;
        for f in &sample_files {
            all.push(read_inputs(f).map_err(err)?);
        }
        for f in &calibrate {
            all.extend(read_samples(f).map_err(err)?);
        }
        let opts = CompileOptions {
            scale,
            margin_bits,
            target,
            evm,
            ..CompileOptions::default()
        };
        let c = zkinfer_prover::compile_with(&model, &all, &opts).map_err(err)?;
        c.model.write(&output).map_err(err)?;
        let choices: Vec<Value> = c
            .choices
            .iter()
            .map(|ch| {
                json!({
                    "scale": ch.cfg.scale, "margin_bits": ch.cfg.margin_bits, "k": ch.k,
                    "rows": ch.rows, "estimated_prove_seconds": ch.estimated_prove_seconds,
                    "outside": ch.outside, "max_abs_error": ch.max_abs_error,
                    "agreement": ch.agreement, "failed": ch.failed,
                })
            })
            .collect();
        Ok(to_json(&json!({
            "path": output, "samples": all.len(), "scale": c.cfg.scale,
            "input_scale": c.cfg.input_scale.unwrap_or(c.cfg.scale),
            "margin_bits": c.cfg.margin_bits, "finest": c.finest, "k": c.plan.k,
            "rows": c.plan.rows, "table_rows": c.plan.table_rows, "lanes": c.plan.lanes,
            "limb_bits": c.plan.limb_bits, "instances": c.model.settings.instance_len(),
            "choices": choices, "picked": c.picked,
            "inputs": tensors(&c.model.settings.inputs),
            "outputs": tensors(&c.model.settings.outputs),
        })))
    })
}

/// Generates the proving and verifying keys of a compiled model into `output`.
#[pyfunction]
#[pyo3(signature = (model, output, srs=None))]
fn setup(
    py: Python<'_>,
    model: PathBuf,
    output: PathBuf,
    srs: Option<PathBuf>,
) -> PyResult<String> {
    py.detach(|| {
        let compiled = CompiledModel::read(&model).map_err(err)?;
        let (params, info) = load_srs(compiled.settings.k, srs.as_deref()).map_err(err)?;
        let insecure = info.insecure;
        let keys = zkinfer_prover::setup(&compiled, &params, info).map_err(err)?;
        keys.write(&output).map_err(err)?;
        Ok(to_json(&json!({
            "keys": output, "bundle": output.join(BUNDLE_FILE), "k": compiled.settings.k,
            "insecure_srs": insecure, "vk_digest": keys.header.vk_digest,
        })))
    })
}

/// `cpu` or `cuda`; `cuda` only in a build with it.
pub(crate) fn parse_backend(backend: &str) -> PyResult<Backend> {
    let backend = match backend {
        "cpu" => Backend::Cpu,
        "cuda" => Backend::Cuda,
        b => return Err(err(format!("backend: `{b}` is not cpu or cuda"))),
    };
    if backend == Backend::Cuda && !zkinfer_prover::CUDA_BUILT {
        return Err(err(zkinfer_prover::built_without_cuda()));
    }
    Ok(backend)
}

/// A compiled model with its proving key and SRS, loaded once to prove many inferences.
#[pyclass(frozen, module = "zkinfer._native")]
struct Prover {
    path: PathBuf,
    model: CompiledModel,
    keys: Keys,
    params: ParamsKZG<Bn256>,
    backend: Backend,
}

#[pymethods]
impl Prover {
    #[new]
    #[pyo3(signature = (model, keys, srs=None, backend="cpu"))]
    fn new(
        py: Python<'_>,
        model: PathBuf,
        keys: PathBuf,
        srs: Option<PathBuf>,
        backend: &str,
    ) -> PyResult<Self> {
        let backend = parse_backend(backend)?;
        py.detach(|| {
            let compiled = CompiledModel::read(&model).map_err(err)?;
            zkinfer_prover::check_backend(backend, &compiled.settings).map_err(err)?;
            let keys_read = Keys::read(&keys, &compiled).map_err(err)?;
            let srs_path = keys_read.srs_path(srs.as_deref());
            let (params, _) = load_srs(compiled.settings.k, srs_path).map_err(err)?;
            Ok(Prover {
                path: model,
                model: compiled,
                keys: keys_read,
                params,
                backend,
            })
        })
    }

    /// The model's inputs and outputs (name, shape, scale, dtype) and shard position, as JSON.
    fn info(&self) -> String {
        info_json(&self.path, &self.model)
    }

    /// Proves one inference from float inputs (one flat list per graph input) or, for a shard
    /// after the first, from the previous shard's activations (JSON). Returns the proof file's
    /// JSON and, for a shard, the activations it hands on.
    #[pyo3(signature = (inputs=None, activations=None, reference=true, onnx=None))]
    fn prove(
        &self,
        py: Python<'_>,
        inputs: Option<Vec<Vec<f32>>>,
        activations: Option<String>,
        reference: bool,
        onnx: Option<PathBuf>,
    ) -> PyResult<(String, Option<String>)> {
        let shard = self.model.settings.shard.as_ref();
        if shard.is_some_and(|s| s.index > 0) != activations.is_some() {
            return Err(err(match activations.is_some() {
                true => format!(
                    "{}: activations are for a shard after the first; pass inputs",
                    self.path.display()
                ),
                false => format!(
                    "{}: a shard after the first takes the previous shard's activations",
                    self.path.display()
                ),
            }));
        }
        if activations.is_none() && inputs.is_none() {
            return Err(err(format!("{}: no inputs given", self.path.display())));
        }
        let result = py.detach(|| -> Result<_, Box<zkinfer_prover::ProveError>> {
            let (trace, run) = match (&activations, &inputs) {
                (Some(json), _) => {
                    let acts = Activations::from_slice(json.as_bytes(), "activations")?;
                    let q = acts.inputs_for(&self.model, "activations")?;
                    (zkinfer_prover::witness_quantized(&self.model, &q)?, None)
                }
                (None, values) => {
                    let values = values.as_deref().unwrap_or_default();
                    let run = (reference && shard.is_none())
                        .then(|| reference_run(&self.model, &self.path, onnx.as_deref(), values));
                    (zkinfer_prover::witness(&self.model, values)?, run)
                }
            };
            let trace = Arc::new(trace);
            let proof = zkinfer_prover::prove_trace(
                self.backend,
                &self.model,
                &self.keys,
                &self.params,
                trace.clone(),
                run,
            )?;
            let handed_on = shard
                .filter(|s| s.commits_outputs())
                .map(|_| Activations::from_trace(&self.model, &trace));
            Ok((proof, handed_on))
        });
        let (proof, handed_on) = result.map_err(|e| prove_err(py, *e))?;
        let acts = match handed_on {
            Some(a) => Some(serde_json::to_string(&a).map_err(err)?),
            None => None,
        };
        Ok((proof.to_json(), acts))
    }
}

pub(crate) fn read_bundle(keys: &Path) -> Result<Bundle, zkinfer_verifier::VerifyError> {
    let path = match keys.is_dir() {
        true => keys.join(BUNDLE_FILE),
        false => keys.to_path_buf(),
    };
    Bundle::read(&path)
}

fn verified(out: &VerifiedOutput, bundle: &Bundle) -> String {
    to_json(&verified_value(out, bundle))
}

/// What a valid proof established, as the JSON `zkinfer.Verified` reads.
pub(crate) fn verified_value(out: &VerifiedOutput, bundle: &Bundle) -> Value {
    let s = &bundle.header.settings;
    json!({
        "outputs": out.outputs, "quantized_outputs": out.quantized_outputs,
        "inputs": out.inputs, "quantized_inputs": out.quantized_inputs,
        "inputs_digest": out.inputs_digest,
        "output_info": tensors(&s.outputs), "input_info": tensors(&s.inputs),
        "input_commitment": out.input_commitment, "output_commitment": out.output_commitment,
        "model_digest": bundle.header.model_digest, "vk_digest": bundle.header.vk_digest,
        "statement_digest": bundle.statement_digest(),
        "insecure_srs": bundle.header.srs.insecure,
    })
}

/// The lists the Python side gives as the model's inputs: one per input, except that for a
/// model with one input, several lists (the rows of an array, or single values) are that
/// input's values in order.
pub(crate) fn model_inputs(
    settings: &zkinfer_ir::Settings,
    values: Vec<Vec<f32>>,
) -> Vec<Vec<f32>> {
    match settings.inputs.len() {
        1 if values.len() > 1 => vec![values.concat()],
        _ => values,
    }
}

/// Verifies a proof (its JSON text) with the keys in `keys` (a directory or `bundle.bin`);
/// with `input`, checks that the proof is of exactly that input; with `digest`, that the keys
/// are the pinned statement's.
#[pyfunction]
#[pyo3(signature = (keys, proof, name="proof", input=None, digest=None))]
fn verify(
    py: Python<'_>,
    keys: PathBuf,
    proof: String,
    name: &str,
    input: Option<Vec<Vec<f32>>>,
    digest: Option<String>,
) -> PyResult<String> {
    let result = py.detach(|| {
        let bundle = read_bundle(&keys)?;
        let p = ProofFile::from_slice(proof.as_bytes(), name)?;
        let out = match &digest {
            Some(d) => zkinfer_verifier::verify_pinned(&bundle, &p, d)?,
            None => zkinfer_verifier::verify(&bundle, &p)?,
        };
        if let Some(values) = input {
            let s = &bundle.header.settings;
            check_inputs(s, &out, &model_inputs(s, values))?;
        }
        Ok(verified(&out, &bundle))
    });
    result.map_err(|e| verify_err(py, &e))
}

/// Verifies a chain of shard proofs, `(keys, proof JSON)` in order; with `input`, checks that
/// the chain proved exactly that input (its commitment, when split with `hash_input`).
#[pyfunction]
#[pyo3(signature = (links, input=None))]
fn verify_chain(
    py: Python<'_>,
    links: Vec<(PathBuf, String)>,
    input: Option<Vec<Vec<f32>>>,
) -> PyResult<String> {
    let result = py.detach(|| {
        let mut loaded = Vec::with_capacity(links.len());
        for (i, (keys, proof)) in links.iter().enumerate() {
            let bundle = read_bundle(keys)?;
            let p = ProofFile::from_slice(proof.as_bytes(), &format!("proof of shard {i}"))?;
            loaded.push((bundle, p));
        }
        let refs: Vec<(&Bundle, &ProofFile)> = loaded.iter().map(|(b, p)| (b, p)).collect();
        let out = zkinfer_verifier::verify_chain(&refs)?;
        if let (Some(values), Some((first, _))) = (input, loaded.first()) {
            let s = &first.header.settings;
            check_inputs(s, &out, &model_inputs(s, values))?;
        }
        let last = loaded.last().map(|(b, _)| b);
        Ok(last.map(|b| verified(&out, b)).unwrap_or_default())
    });
    result.map_err(|e| verify_err(py, &e))
}

/// Splits a compiled model into shards `output/shard-0.zkc`, …; returns their paths.
#[pyfunction]
#[pyo3(signature = (model, output, shards=None, at=Vec::new(), hash_input=false))]
fn split(
    py: Python<'_>,
    model: PathBuf,
    output: PathBuf,
    shards: Option<usize>,
    at: Vec<String>,
    hash_input: bool,
) -> PyResult<Vec<PathBuf>> {
    let cuts = match (shards, at.is_empty()) {
        (Some(n), true) => Cuts::Balanced(n),
        (None, false) => Cuts::At(at),
        _ => return Err(err("split: give either shards=N or at=[node names]")),
    };
    py.detach(|| {
        let compiled = CompiledModel::read(&model).map_err(err)?;
        let parts = split_model(&compiled, &cuts, hash_input).map_err(err)?;
        std::fs::create_dir_all(&output).map_err(|e| err(format!("{}: {e}", output.display())))?;
        parts
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let path = output.join(format!("shard-{i}.zkc"));
                s.model.write(&path).map_err(err)?;
                Ok(path)
            })
            .collect()
    })
}

/// The figures `zkinfer inspect` prints, as `(text, JSON)`.
#[pyfunction]
fn inspect(py: Python<'_>, path: PathBuf) -> PyResult<(String, String)> {
    py.detach(|| {
        let i = zkinfer_prover::inspect(&path).map_err(err)?;
        let json = serde_json::to_string(&i).map_err(err)?;
        Ok((i.to_string(), json))
    })
}

/// Reads EZKL-style input JSON (`{"input_data": [...]}`) from text; `name` names it in errors.
#[pyfunction]
fn parse_inputs(text: &str, name: &str) -> PyResult<Vec<Vec<f32>>> {
    zkinfer_prover::parse_inputs(text.as_bytes(), name).map_err(err)
}

/// A compiled model's inputs, outputs and shard position, as JSON (no keys are read).
#[pyfunction]
fn model_info(py: Python<'_>, path: PathBuf) -> PyResult<String> {
    py.detach(|| {
        let model = CompiledModel::read(&path).map_err(err)?;
        Ok(info_json(&path, &model))
    })
}

pub(crate) fn info_json(path: &Path, model: &CompiledModel) -> String {
    let s = &model.settings;
    to_json(&json!({
        "path": path, "k": s.k, "rows": s.rows, "digest": model.digest(),
        "inputs": tensors(&s.inputs), "outputs": tensors(&s.outputs),
        "shard": s.shard.as_ref().map(|sh| json!({
            "index": sh.index, "count": sh.count,
            "commits_inputs": sh.commits_inputs(), "commits_outputs": sh.commits_outputs(),
        })),
    }))
}

/// Where this build finds libonnxruntime, or why it does not.
#[pyfunction]
fn onnxruntime_library() -> PyResult<PathBuf> {
    zkinfer_prover::find_onnxruntime().map_err(err)
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("ZkinferError", m.py().get_type::<ZkinferError>())?;
    m.add("VerifyError", m.py().get_type::<VerifyError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("CUDA_BUILT", zkinfer_prover::CUDA_BUILT)?;
    m.add_class::<Prover>()?;
    m.add_function(wrap_pyfunction!(compile, m)?)?;
    m.add_function(wrap_pyfunction!(setup, m)?)?;
    m.add_function(wrap_pyfunction!(verify, m)?)?;
    m.add_function(wrap_pyfunction!(verify_chain, m)?)?;
    m.add_function(wrap_pyfunction!(split, m)?)?;
    m.add_function(wrap_pyfunction!(inspect, m)?)?;
    m.add_function(wrap_pyfunction!(parse_inputs, m)?)?;
    m.add_function(wrap_pyfunction!(onnxruntime_library, m)?)?;
    m.add_function(wrap_pyfunction!(model_info, m)?)?;
    optimistic::register(m)?;
    Ok(())
}
