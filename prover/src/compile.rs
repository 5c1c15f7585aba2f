//! `zkinfer compile`: ONNX → quantized graph → circuit plan → `model.zkc`.

use std::path::Path;

use zkinfer_circuits::{plan, Plan};
use zkinfer_ir::{CompiledModel, Settings, SourceInfo};
use zkinfer_onnx::{load_onnx, quantize, FloatGraph, QuantConfig};

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
    let fg = load_onnx(onnx)?;
    let samples = if calibration.is_empty() {
        default_calibration(&fg, 8)
    } else {
        calibration.to_vec()
    };
    let q = quantize(&fg, &samples, cfg)?;
    let p = plan(&q.graph, &q.table)?;
    let (inputs, outputs) = Settings::io_from_graph(&q.graph);
    let settings = Settings {
        table: q.table,
        lanes: p.lanes,
        k: p.k,
        rows: p.rows,
        table_rows: p.table_rows,
        inputs,
        outputs,
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
    Ok((model, p))
}
