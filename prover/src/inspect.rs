//! What a model costs before anything is proven: its operators, tensors, circuit plan and
//! the estimates of proving time, memory and verifier size. `zkinfer inspect` prints it; the
//! Python package returns it as a dict.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::Serialize;
use zkinfer_circuits::{CircuitParams, CircuitShape, RowPart, TableSet};
use zkinfer_ir::{CompiledModel, ShardInfo, TableBounds, TensorInfo};
use zkinfer_onnx::QuantConfig;

use crate::{compile, cuda_status, CompileError, ProveError};

/// The EIP-170 limit on a contract's runtime code, in bytes.
pub const EVM_CODE_LIMIT: usize = 24_576;

/// One lookup table of the circuit.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TableInfo {
    pub name: String,
    /// Its input domain `[lo, hi)`.
    pub lo: i64,
    pub hi: i64,
    pub rows: usize,
}

/// The figures `zkinfer inspect` prints.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Inspection {
    pub model: String,
    /// Operator name → node count.
    pub ops: BTreeMap<String, usize>,
    pub parameters: usize,
    pub inputs: Vec<TensorInfo>,
    pub outputs: Vec<TensorInfo>,
    pub shard: Option<ShardInfo>,
    pub k: u32,
    pub rows: usize,
    pub table_rows: usize,
    /// Activations lie in `[-2^mag_bits, 2^mag_bits)`, range-checked by limbs of `limb_bits`.
    pub mag_bits: u32,
    pub limb_bits: u32,
    pub tables: Vec<TableInfo>,
    pub lanes: usize,
    pub advice_columns: usize,
    pub lookups: usize,
    pub advice_cells: usize,
    /// The constraint system's shape: degree, quotient parts, every kind of column.
    pub shape: CircuitShape,
    /// The cores the estimates assume (this machine's).
    pub cores: usize,
    pub estimated_prove_seconds: f64,
    /// The same with the proving key's cosets precomputed (`setup --precompute-cosets`).
    pub estimated_prove_seconds_with_cosets: f64,
    pub estimated_prove_bytes: u64,
    pub cuda: String,
    pub instances: usize,
    pub packed: bool,
    pub estimated_key_contract_bytes: usize,
}

/// Inspects an ONNX model (quantized with the default configuration, uniform calibration) or
/// a compiled `.zkc`.
pub fn inspect(path: &Path) -> Result<Inspection, CompileError> {
    let compiled = if path.extension().is_some_and(|e| e == "onnx") {
        compile(path, &[], &QuantConfig::default())?.0
    } else {
        CompiledModel::read(path).map_err(ProveError::from)?
    };
    inspect_model(&compiled, &path.display().to_string())
}

/// Inspects a compiled model; `name` is how the report names it.
pub fn inspect_model(compiled: &CompiledModel, name: &str) -> Result<Inspection, CompileError> {
    let g = &compiled.graph;
    let public = CircuitParams::from(&compiled.settings);
    let plan = zkinfer_circuits::plan_with(g, &compiled.settings.table, public)?;
    let mut ops: BTreeMap<String, usize> = BTreeMap::new();
    for n in &g.nodes {
        *ops.entry(n.op.name().to_string()).or_default() += 1;
    }
    let table = TableBounds {
        limb_bits: plan.limb_bits,
        ..compiled.settings.table
    };
    let tables = TableSet::for_graph(g, &table)
        .functions()
        .iter()
        .map(|f| {
            let (lo, hi) = f.domain(&table);
            TableInfo {
                name: f.name().to_string(),
                lo,
                hi,
                rows: f.rows(&table),
            }
        })
        .collect();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let instances = compiled.settings.instance_len();
    let shape = zkinfer_circuits::circuit_shape(CircuitParams::from(&compiled.settings));
    let estimated_prove_seconds = plan.estimated_prove_seconds(cores);
    // The saving never takes the estimate below the part of it that is not the quotient.
    let estimated_prove_seconds_with_cosets = (estimated_prove_seconds
        - shape.key_cosets_seconds_saved(plan.k, cores))
    .max(estimated_prove_seconds / 2.0);
    Ok(Inspection {
        model: name.to_string(),
        ops,
        parameters: g.param_count(),
        inputs: compiled.settings.inputs.clone(),
        outputs: compiled.settings.outputs.clone(),
        shard: compiled.settings.shard.clone(),
        k: plan.k,
        rows: plan.rows,
        table_rows: plan.table_rows,
        mag_bits: table.mag_bits(),
        limb_bits: plan.limb_bits,
        tables,
        lanes: plan.lanes,
        advice_columns: plan.advice_columns,
        lookups: plan.lookups,
        advice_cells: plan.advice_cells,
        shape,
        cores,
        estimated_prove_seconds,
        estimated_prove_seconds_with_cosets,
        estimated_prove_bytes: plan.estimated_prove_bytes(),
        cuda: cuda_status(),
        instances,
        packed: compiled.settings.packed,
        estimated_key_contract_bytes: plan.estimated_key_contract_bytes(),
    })
}

/// Where the rows of a compiled model's circuit go ([`zkinfer_circuits::row_breakdown`] at
/// the layout its settings fix).
pub fn row_parts(compiled: &CompiledModel) -> Result<Vec<RowPart>, CompileError> {
    let params = CircuitParams::from(&compiled.settings);
    Ok(zkinfer_circuits::row_breakdown(
        &compiled.graph,
        &compiled.settings.table,
        params,
    )?)
}

/// [`row_parts`] as a table: the parts with the most rows, the rest summed in one line.
pub fn format_row_parts(parts: &[RowPart], shown: usize) -> String {
    let total: usize = parts.iter().map(|p| p.rows).sum();
    let mut out = format!("rows by part ({total} rows with cells):\n");
    for p in parts.iter().take(shown) {
        let name = [p.op.as_str(), p.part.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        out += &format!(
            "  {name:<40} {:>9} rows {:>5.1} %  {:>10} cells\n",
            p.rows,
            100.0 * p.rows as f64 / total.max(1) as f64,
            p.cells
        );
    }
    if parts.len() > shown {
        let rest = &parts[shown..];
        let (rows, cells) = rest
            .iter()
            .fold((0, 0), |(r, c), p| (r + p.rows, c + p.cells));
        out += &format!(
            "  {:<40} {rows:>9} rows {:>5.1} %  {cells:>10} cells\n",
            format!("({} more)", rest.len()),
            100.0 * rows as f64 / total.max(1) as f64
        );
    }
    out
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

impl fmt::Display for Inspection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "model: {}", self.model)?;
        let ops: Vec<String> = self.ops.iter().map(|(k, v)| format!("{k} x{v}")).collect();
        writeln!(f, "  ops: {}", ops.join(", "))?;
        writeln!(f, "  parameters: {}", self.parameters)?;
        for t in &self.inputs {
            writeln!(
                f,
                "  input  `{}` {:?}: scale 2^-{}, |q| < 2^{}",
                t.name, t.shape, t.scale, t.bound
            )?;
        }
        for t in &self.outputs {
            writeln!(
                f,
                "  output `{}` {:?}: scale 2^-{}",
                t.name, t.shape, t.scale
            )?;
        }
        if let Some(s) = &self.shard {
            let side = |committed: bool| match committed {
                true => "committed (Poseidon)",
                false => "public",
            };
            writeln!(
                f,
                "  shard {} of {} of model {} (inputs {}, outputs {})",
                s.index + 1,
                s.count,
                s.parent,
                side(s.commits_inputs()),
                side(s.commits_outputs()),
            )?;
        }
        writeln!(f, "circuit:")?;
        writeln!(
            f,
            "  rows used: {}, lookup table rows: {} (activations in [-2^{m}, 2^{m}), range-checked by limbs of {} bits)",
            self.rows,
            self.table_rows,
            self.limb_bits,
            m = self.mag_bits,
        )?;
        let tables: Vec<String> = self
            .tables
            .iter()
            .map(|t| format!("{} [{}, {}) {} rows", t.name, t.lo, t.hi, t.rows))
            .collect();
        writeln!(f, "  tables: {}", tables.join(", "))?;
        writeln!(
            f,
            "  k = {} (2^{} rows), dot-product lanes = {}",
            self.k, self.k, self.lanes
        )?;
        writeln!(
            f,
            "  columns: {} advice, {} lookups, {} advice cells assigned",
            self.advice_columns, self.lookups, self.advice_cells
        )?;
        let sh = &self.shape;
        writeln!(
            f,
            "  quotient: degree {}, {} cosets of 2^{}, {} polynomials on each ({} fixed of which {} selectors, {} advice, {} copy-argument permutations and {} products, {} lookups x 3)",
            sh.degree,
            sh.quotient_parts,
            self.k,
            sh.polys_per_part(),
            sh.fixed,
            sh.selectors,
            sh.advice,
            sh.permutation,
            sh.permutation_products,
            sh.lookups,
        )?;
        writeln!(
            f,
            "  `setup --precompute-cosets`: pk.cosets of {:.1} MB, the {} proving-key polynomials on each coset read by every proof instead of computed",
            sh.key_cosets_bytes(self.k) as f64 / 1e6,
            sh.key_polys_per_part(),
        )?;
        writeln!(f, "estimates (before proving, {} cores):", self.cores)?;
        writeln!(
            f,
            "  proving time ~ {:.1}s (~ {:.1}s with `setup --precompute-cosets`), peak memory ~ {:.0} MiB",
            self.estimated_prove_seconds,
            self.estimated_prove_seconds_with_cosets,
            mib(self.estimated_prove_bytes)
        )?;
        writeln!(
            f,
            "  CUDA: {}; the proof needs about {:.0} MiB of device memory",
            self.cuda,
            mib(self.estimated_prove_bytes)
        )?;
        let size = self.estimated_key_contract_bytes;
        writeln!(
            f,
            "  Solidity: zkinfer's verifier (one contract for every model) and a verifying-key contract of ~ {size} bytes (the EVM limit is {EVM_CODE_LIMIT}){}; {} public instances{}",
            if size > EVM_CODE_LIMIT { ": too large" } else { "" },
            self.instances,
            if self.packed {
                ", packed"
            } else {
                " (--evm packs them: less calldata and gas)"
            },
        )
    }
}
