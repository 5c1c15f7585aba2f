//! `zkinfer compile`: ONNX → quantized graph → circuit plan → `model.zkc`.

use std::path::Path;

use zkinfer_circuits::{plan_for, plan_products, CircuitParams, Plan, WeightProducts};
use zkinfer_ir::{CompiledModel, Settings, SourceInfo, TableBounds};
use zkinfer_onnx::{load_onnx_with, quantize, FixedDim, FloatGraph, InputShapes, QuantConfig};

use crate::ProveError;

/// Why compilation failed: import (with every unsupported op listed) or circuit planning.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error(transparent)]
    Import(#[from] zkinfer_onnx::ImportError),
    #[error(transparent)]
    Circuit(#[from] zkinfer_circuits::CircuitError),
    #[error(transparent)]
    Prove(Box<ProveError>),
}

impl From<ProveError> for CompileError {
    fn from(e: ProveError) -> Self {
        CompileError::Prove(Box::new(e))
    }
}

/// Calibration samples when none are given: uniform values in [-1, 1] from a fixed seed.
pub fn default_calibration(fg: &FloatGraph, samples: usize) -> Vec<Vec<Vec<f32>>> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        ((state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) as f32
    };
    (0..samples)
        .map(|_| {
            fg.inputs
                .iter()
                .map(|&i| (0..fg.nodes[i].len()).map(|_| next()).collect())
                .collect()
        })
        .collect()
}

/// Compiles an ONNX model with calibration samples (each one float list per graph input).
pub fn compile(
    onnx: &Path,
    calibration: &[Vec<Vec<f32>>],
    cfg: &QuantConfig,
) -> Result<(CompiledModel, Plan), CompileError> {
    compile_as(Source::plain(onnx), calibration, cfg, WeightProducts::Auto)
        .map(|(model, plan, _)| (model, plan))
}

/// An ONNX file and the input shapes that fix its symbolic dimensions (`--shape`).
#[derive(Clone, Copy)]
struct Source<'a> {
    path: &'a Path,
    shapes: &'a [(String, Vec<usize>)],
}

impl<'a> Source<'a> {
    fn plain(path: &'a Path) -> Self {
        Source { path, shapes: &[] }
    }

    /// The float graph, symbolic input dimensions fixed by `--shape`, then by the first
    /// sample's element counts, then to 1.
    fn load(&self, samples: &[Vec<Vec<f32>>]) -> Result<FloatGraph, CompileError> {
        let fix = InputShapes {
            named: self.shapes.to_vec(),
            lengths: samples
                .first()
                .map(|sample| sample.iter().map(Vec::len).collect()),
        };
        Ok(load_onnx_with(self.path, &fix)?)
    }
}

/// [`compile`], with constant matrices' products proven as `products` says.
fn compile_as(
    src: Source<'_>,
    calibration: &[Vec<Vec<f32>>],
    cfg: &QuantConfig,
    products: WeightProducts,
) -> Result<(CompiledModel, Plan, Vec<FixedDim>), CompileError> {
    let onnx = src.path;
    let fg = src.load(calibration)?;
    let samples = if calibration.is_empty() {
        default_calibration(&fg, 8)
    } else {
        calibration.to_vec()
    };
    let q = quantize(&fg, &samples, cfg)?;
    let public = CircuitParams {
        packed: cfg.pack_public,
        ..CircuitParams::default()
    };
    let p = plan_products(&q.graph, &q.table, public, products)?;
    let (inputs, outputs) = Settings::io_from_graph(&q.graph);
    let settings = Settings {
        gelu_line: Settings::needs_gelu_line(&q.graph),
        booleans: Settings::needs_booleans(&q.graph),
        table: TableBounds {
            limb_bits: p.limb_bits,
            ..q.table
        },
        lanes: p.lanes,
        freivalds: p.freivalds,
        weight_lanes: p.weight_lanes,
        packed: cfg.pack_public,
        k: p.k,
        rows: p.rows,
        table_rows: p.table_rows,
        inputs,
        outputs,
        shard: None,
    };
    let mut model = CompiledModel::new(q.graph, settings);
    let bytes = zkinfer_ir::read_file(onnx).map_err(ProveError::from)?;
    model.source = Some(SourceInfo {
        path: std::fs::canonicalize(onnx)
            .unwrap_or_else(|_| onnx.to_path_buf())
            .display()
            .to_string(),
        digest: zkinfer_ir::digest(&bytes),
    });
    Ok((model, p, fg.fixed))
}

/// The activation scales (fractional bits) the default compile chooses among.
pub const DEFAULT_SCALES: std::ops::RangeInclusive<u32> = 7..=13;

/// Compiles at the finest activation scale of [`DEFAULT_SCALES`] whose circuit is no larger
/// (no larger k) than at the coarsest: precision that costs nothing; and finer at a cost
/// while the outputs are too coarse at the scale reached ([`MIN_OUTPUT_UNITS`]). Range checks go by limbs
/// and function tables have their own resolution, so a finer scale mostly adds limbs to
/// range checks in rows the layout has free, until the layout or a table outgrows `2^k`.
/// Returns the model, its plan and the chosen scale.
pub fn compile_finest(
    onnx: &Path,
    calibration: &[Vec<Vec<f32>>],
    cfg: &QuantConfig,
) -> Result<(CompiledModel, Plan, u32), CompileError> {
    finest_as(Source::plain(onnx), calibration, cfg, WeightProducts::Auto)
        .map(|(model, plan, scale, _)| (model, plan, scale))
}

/// [`compile_finest`], with constant matrices' products proven as `products` says.
fn finest_as(
    src: Source<'_>,
    calibration: &[Vec<Vec<f32>>],
    cfg: &QuantConfig,
    products: WeightProducts,
) -> Result<(CompiledModel, Plan, u32, Vec<FixedDim>), CompileError> {
    let at = |scale: u32| {
        let cfg = QuantConfig {
            scale,
            ..cfg.clone()
        };
        compile_as(src, calibration, &cfg, products)
    };
    let coarsest = *DEFAULT_SCALES.start();
    let (model, plan, fixed) = at(coarsest)?;
    let k0 = plan.k;
    let mut best = (model, plan, coarsest, fixed);
    for scale in DEFAULT_SCALES.skip(1) {
        match at(scale) {
            Ok((model, plan, fixed))
                if plan.k <= k0 || output_units(&best.0, calibration) < MIN_OUTPUT_UNITS =>
            {
                best = (model, plan, scale, fixed)
            }
            _ => break,
        }
    }
    Ok(best)
}

/// The default scale goes finer than its k allows while the largest float output of the
/// first calibration sample is under this many units of its scale (coarser than 1/64 of
/// itself): a model of outputs about 0.06 is 8 units at 2^-7, an error of 6%.
pub const MIN_OUTPUT_UNITS: f64 = 64.0;

/// The largest magnitude among `model`'s float outputs on the first calibration sample, in
/// units of each output's scale (infinite where there are none, or the sample does not
/// evaluate: nothing to refine).
fn output_units(model: &CompiledModel, calibration: &[Vec<Vec<f32>>]) -> f64 {
    let g = &model.graph;
    let Some(Ok(trace)) = calibration.first().map(|s| crate::witness(model, s)) else {
        return f64::INFINITY;
    };
    g.outputs
        .iter()
        .filter(|&&o| g.nodes[o].scale > 0 && g.nodes[o].dtype == zkinfer_ir::ElemType::Float32)
        .filter_map(|&o| {
            trace.values[o]
                .data()
                .iter()
                .map(|q| q.unsigned_abs())
                .max()
        })
        .map(|q| q as f64)
        .reduce(f64::max)
        .unwrap_or(f64::INFINITY)
}

/// What `--target` optimizes when choosing scales and table headroom.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The smallest error against the float model.
    Accuracy,
    /// The smallest circuit that keeps the float model's predictions.
    Resources,
}

/// One candidate quantization, measured on held-out calibration samples.
#[derive(Clone, Debug)]
pub struct Choice {
    pub cfg: QuantConfig,
    pub k: u32,
    pub rows: usize,
    pub estimated_prove_seconds: f64,
    /// Held-out samples whose values left the calibrated tables (proving them would fail).
    pub outside: usize,
    /// Largest |quantized − float| over the held-out outputs.
    pub max_abs_error: f64,
    /// Held-out samples whose quantized argmax equals the float argmax, in percent.
    pub agreement: f64,
    /// Largest |float output| over the held-out samples (the error's yardstick).
    pub output_magnitude: f64,
    /// Why the candidate cannot be used, if it cannot.
    pub failed: Option<String>,
}

fn argmax(v: &[f64]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

/// A held-out sample and the float model's outputs on it (`None` if it cannot be evaluated),
/// computed once for every candidate.
type HeldOut = (Vec<Vec<f32>>, Option<Vec<Vec<f64>>>);

fn measure(
    fg: &FloatGraph,
    calib: &[Vec<Vec<f32>>],
    held_out: &[HeldOut],
    cfg: &QuantConfig,
) -> Choice {
    let mut choice = Choice {
        cfg: cfg.clone(),
        k: 0,
        rows: 0,
        estimated_prove_seconds: 0.0,
        outside: 0,
        max_abs_error: 0.0,
        agreement: 0.0,
        output_magnitude: 0.0,
        failed: None,
    };
    let q = match quantize(fg, calib, cfg) {
        Ok(q) => q,
        Err(e) => {
            choice.failed = Some(e.to_string());
            return choice;
        }
    };
    match plan_for(&q.graph, &q.table, cfg.pack_public) {
        Ok(p) => {
            choice.k = p.k;
            choice.rows = p.rows;
            choice.estimated_prove_seconds = p.estimated_prove_seconds(2);
        }
        Err(e) => {
            choice.failed = Some(e.to_string());
            return choice;
        }
    }
    let mut agree = 0;
    for (sample, float) in held_out {
        let Some(float) = float else {
            choice.outside += 1;
            continue;
        };
        let inputs: Result<Vec<zkinfer_ir::Tensor<i64>>, _> = sample
            .iter()
            .zip(&q.graph.inputs)
            .map(|(v, &i)| {
                let n = &q.graph.nodes[i];
                zkinfer_ir::Tensor::new(n.shape.clone(), zkinfer_ir::quantize(v, n.scale))
            })
            .collect();
        let Ok(trace) = inputs.and_then(|ins| zkinfer_ir::eval(&q.graph, &q.table, &ins)) else {
            choice.outside += 1;
            continue;
        };
        let mut all_agree = true;
        for (want, &qo) in float.iter().zip(&q.graph.outputs) {
            let node = &q.graph.nodes[qo];
            let got = zkinfer_ir::dequantize(trace.values[qo].data(), node.scale);
            for (g, w) in got.iter().zip(want) {
                choice.max_abs_error = choice.max_abs_error.max((*g as f64 - w).abs());
                choice.output_magnitude = choice.output_magnitude.max(w.abs());
            }
            let got: Vec<f64> = got.iter().map(|&v| v as f64).collect();
            all_agree &= argmax(&got) == argmax(want);
        }
        agree += usize::from(all_agree);
    }
    choice.agreement = 100.0 * agree as f64 / held_out.len().max(1) as f64;
    choice
}

/// Tries activation scales 5..=13 bits with 1 or 2 bits of table headroom, inputs at 0, 4 or
/// 8 more fractional bits than the activations, and rescale shifts up to 12 or 24 bits (the
/// larger keeps more weight bits; a remainder wider than a limb takes a second one). Each candidate is
/// calibrated on the first three quarters of `samples` and measured on the rest (on all of
/// them when there are fewer than 4). Returns every candidate and the index of the one
/// `target` picks: the smallest k (then, for accuracy, the smallest error; for resources, the
/// fewest rows) among candidates with the best argmax agreement
/// and an error within twice the smallest or under 0.1% of the largest output (accuracy), or
/// with an argmax agreement within one point of the best (resources). Candidates with held-out samples
/// outside their tables are not picked.
pub fn choose_quantization(
    onnx: &Path,
    samples: &[Vec<Vec<f32>>],
    target: Target,
) -> Result<(Vec<Choice>, usize), CompileError> {
    choose_as(Source::plain(onnx), samples, target)
}

fn choose_as(
    src: Source<'_>,
    samples: &[Vec<Vec<f32>>],
    target: Target,
) -> Result<(Vec<Choice>, usize), CompileError> {
    let fg = src.load(samples)?;
    let samples = if samples.is_empty() {
        default_calibration(&fg, 16)
    } else {
        samples.to_vec()
    };
    let (calib, held_out) = if samples.len() >= 4 {
        samples.split_at(samples.len() * 3 / 4)
    } else {
        (&samples[..], &samples[..])
    };
    let held_out: Vec<HeldOut> = held_out
        .iter()
        .map(|x| {
            let float = fg
                .eval(x)
                .ok()
                .map(|values| fg.outputs.iter().map(|&o| values[o].clone()).collect());
            (x.clone(), float)
        })
        .collect();
    let mut choices = Vec::new();
    for scale in 5..=13 {
        for margin_bits in [1, 2] {
            for input_extra in [0, 4, 8] {
                for max_shift in [12, 24] {
                    let cfg = QuantConfig {
                        scale,
                        margin_bits,
                        input_scale: Some(scale + input_extra),
                        max_shift,
                        ..QuantConfig::default()
                    };
                    choices.push(measure(&fg, calib, &held_out, &cfg));
                }
            }
        }
    }
    let usable: Vec<usize> = (0..choices.len())
        .filter(|&i| choices[i].failed.is_none() && choices[i].outside == 0)
        .collect();
    let best_agreement = usable
        .iter()
        .map(|&i| choices[i].agreement)
        .fold(0.0, f64::max);
    let best_error = usable
        .iter()
        .map(|&i| choices[i].max_abs_error)
        .fold(f64::INFINITY, f64::min);
    // At equal k a smaller error costs nothing more than rows: the accuracy target takes
    // it; the resources target takes the fewer rows.
    let key = |i: &usize| {
        let c = &choices[*i];
        match target {
            Target::Accuracy => (c.k, c.max_abs_error, c.rows as f64),
            Target::Resources => (c.k, c.rows as f64, c.max_abs_error),
        }
    };
    let good_enough = |c: &Choice| match target {
        // The best agreement with the float model's predictions, and an error within twice
        // the smallest or below 0.1% of the outputs' magnitude: halving an already small
        // error is not worth a 2x bigger circuit.
        Target::Accuracy => {
            c.agreement >= best_agreement
                && c.max_abs_error <= (best_error * 2.0).max(1e-3 * c.output_magnitude)
        }
        Target::Resources => c.agreement >= best_agreement - 1.0,
    };
    let picked = usable
        .iter()
        .filter(|&&i| good_enough(&choices[i]))
        .min_by(|a, b| key(a).partial_cmp(&key(b)).unwrap_or(std::cmp::Ordering::Equal))
        .copied()
        .ok_or_else(|| {
            CompileError::Import(zkinfer_onnx::ImportError::Calibration {
                reason: "no candidate scale keeps every held-out calibration sample inside its tables; give more calibration samples".into(),
            })
        })?;
    Ok((choices, picked))
}

/// How `zkinfer compile` quantizes: for a target, at a given scale, or (neither given) at the
/// finest scale that costs nothing in k.
#[derive(Clone, Debug, Default)]
pub struct CompileOptions {
    pub scale: Option<u32>,
    pub margin_bits: Option<u32>,
    /// The largest rescale shift (default: `QuantConfig`'s); weights are quantized no finer.
    pub max_shift: Option<u32>,
    pub target: Option<Target>,
    /// Pack the public values for a Solidity verifier.
    pub evm: bool,
    /// How products with constant matrices are proven (default: the planner's choice).
    pub products: WeightProducts,
    /// Shapes of inputs with symbolic dimensions, by name (`--shape input_ids=1x16`); the
    /// first sample fixes the dimensions these leave open, and 1 the rest.
    pub shapes: Vec<(String, Vec<usize>)>,
}

/// A compiled model with the quantization that made it.
#[derive(Clone, Debug)]
pub struct Compiled {
    pub model: CompiledModel,
    pub plan: Plan,
    pub cfg: QuantConfig,
    /// The scale was the finest of [`DEFAULT_SCALES`] at the coarsest one's k.
    pub finest: bool,
    /// With a target: every candidate measured, and the index of the one picked.
    pub choices: Vec<Choice>,
    pub picked: Option<usize>,
    /// The symbolic input dimensions that were fixed, and how.
    pub fixed: Vec<FixedDim>,
}

/// Compiles `onnx` as `zkinfer compile` does, calibrated on `samples`.
pub fn compile_with(
    onnx: &Path,
    samples: &[Vec<Vec<f32>>],
    opts: &CompileOptions,
) -> Result<Compiled, CompileError> {
    let finest = opts.target.is_none() && opts.scale.is_none();
    let src = Source {
        path: onnx,
        shapes: &opts.shapes,
    };
    let (mut cfg, choices, picked) = match opts.target {
        Some(target) => {
            let (choices, picked) = choose_as(src, samples, target)?;
            (choices[picked].cfg.clone(), choices, Some(picked))
        }
        None => {
            let cfg = QuantConfig {
                scale: opts.scale.unwrap_or(QuantConfig::default().scale),
                margin_bits: opts
                    .margin_bits
                    .unwrap_or(QuantConfig::margin_for_samples(samples.len())),
                ..QuantConfig::default()
            };
            (cfg, Vec::new(), None)
        }
    };
    cfg.pack_public = opts.evm;
    if let Some(s) = opts.max_shift {
        cfg.max_shift = s;
    }
    let (model, plan, fixed) = match finest {
        true => {
            let (model, plan, scale, fixed) = finest_as(src, samples, &cfg, opts.products)?;
            cfg.scale = scale;
            (model, plan, fixed)
        }
        false => compile_as(src, samples, &cfg, opts.products)?,
    };
    Ok(Compiled {
        model,
        plan,
        cfg,
        finest,
        choices,
        picked,
        fixed,
    })
}
