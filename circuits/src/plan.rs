//! The cost model: k and the lane count from a dry run of the same layout code that
//! synthesizes the circuit, and estimates of proving time and memory.

use serde::{Deserialize, Serialize};
use zkinfer_ir::{Graph, TableBounds};

use crate::config::{
    blinding_factors, column_counts, needs_freivalds, CircuitParams, MAX_LIMBS, MIN_LANES,
};
use crate::grid::DryRun;
use crate::layout::{instance_len_with, lay_out_with};
use crate::table::TableSet;
use crate::CircuitError;

/// Largest circuit zkinfer will build.
pub const MAX_K: u32 = 24;

/// How products with constant matrices are proven.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WeightProducts {
    /// Freivalds' check where it saves rows, the direct map elsewhere, whichever layout costs
    /// the least proving work.
    #[default]
    Auto,
    /// Always the direct map, term by term (for measuring the check against it).
    Direct,
}

/// What the circuit for a graph costs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub lanes: usize,
    /// Bits per range-check limb: the range table has `2^limb_bits` rows.
    pub limb_bits: u32,
    /// Second-phase columns for Freivalds' check (the graph has a witnessed matrix product).
    pub freivalds: bool,
    /// Fixed columns per row of constant matrices' `W·r` (0: none).
    #[serde(default)]
    pub weight_lanes: usize,
    pub k: u32,
    /// Rows the layout uses.
    pub rows: usize,
    pub table_rows: usize,
    pub advice_columns: usize,
    pub lookups: usize,
    pub advice_cells: usize,
    /// Relative proving work: (advice + 3·lookups + permutation columns) · 2^k.
    pub work: u64,
}

impl Plan {
    /// Estimated proving time in seconds with `cores` cores, SRS and key loading included:
    /// `0.16 s + 2^k · (7.5 µs · advice columns + 35 µs)`. The per-column term was fitted to
    /// wide layouts (the deep MLP's shards, 12 to 32 lanes); the rest refitted after the limb
    /// range checks (BENCHMARKS.md, precision issue) to medians of `zkinfer prove` on the
    /// project's 2-core machine: mlp2 at k = 10 with 8 lanes (0.20 s measured, 0.29 s
    /// estimated), LeNet at k = 13 (0.87 s, 0.88 s), its three shards at k = 12 (0.55 to
    /// 0.59 s, 0.52 to 0.55 s) and the transformer block at k = 14 with Freivalds' columns
    /// (1.82 s, 1.84 s). The constant per row covers what every circuit has alike: the two
    /// lookup arguments, the fixed and permutation columns and the quotient. More cores speed
    /// up the per-row part by √(cores / 2). Each fixed column of constant matrices' `W·r`
    /// adds half an advice column's time (its extended-domain evaluations in the quotient, no
    /// commitment): fitted to the GPT-2 small block at k = 20 with 3 lanes and 12 such
    /// columns (163 s measured for the whole `zkinfer prove`, 163 s estimated; 115 s without
    /// the term).
    pub fn estimated_prove_seconds(&self, cores: usize) -> f64 {
        let n = (1u64 << self.k) as f64;
        let per_row =
            7.5e-6 * self.advice_columns as f64 + 3.75e-6 * self.weight_lanes as f64 + 3.5e-5;
        0.16 + n * per_row * (2.0 / cores.max(1) as f64).sqrt()
    }

    /// Estimated runtime code of the model's verifying-key contract for zkinfer's Solidity
    /// verifier (the verifier itself is one contract of about 3.7 KB for every model), in
    /// bytes. The instance count does not matter (the verifier loops over instances). Fitted
    /// to the measured keys (`tests/tests/evm.rs`): 10.4 KB for LeNet and the 28×28 CNN at 3
    /// lanes, 10.7 KB for the residual CNN, 11.0 KB for the MLPs, 12.8 to 13.2 KB for the
    /// transformer blocks (Freivalds' second phase), 13.7 KB for mlp2 unpacked at 8 lanes
    /// (about 540 bytes per lane).
    pub fn estimated_key_contract_bytes(&self) -> usize {
        10_700 + 540 * self.lanes.saturating_sub(MIN_LANES) + if self.freivalds { 2_300 } else { 0 }
    }

    /// Estimated peak proving memory in bytes: `8.3 MiB + 2^k · (380 B · advice columns +
    /// 3830 B)`, the column polynomials and their extended-domain evaluations (each lane adds
    /// an advice, a fixed and a permutation column). The per-column term was fitted to the
    /// small models' peak RSS (18 to 145 MiB); the per-row constant refitted once proving keys
    /// were streamed from their files instead of held as bytes beside the parsed key: the tiny
    /// GPT-2's second shard at k = 17 (962 MiB measured, 954 estimated) and the GPT-2 small
    /// block at k = 20 with 8 fixed columns of `W·r` (8,278 MiB, 8,018 estimated).
    pub fn estimated_prove_bytes(&self) -> u64 {
        let n = 1u64 << self.k;
        (83 << 20) / 10 + n * (380 * self.advice_columns as u64 + 3830)
    }
}

/// The most fixed columns the planner gives constant matrices' `W·r`.
pub const MAX_WEIGHT_LANES: usize = 32;

/// The lane counts the planner tries (a packed layout keeps the narrowest).
pub fn lane_choices(packed: bool) -> &'static [usize] {
    if packed {
        &[MIN_LANES]
    } else {
        &[MIN_LANES, 4, 6, 8, 12, 16, 24, 32]
    }
}

/// `k` and the proving work of the circuit with `params` whose layout takes `rows` rows (the
/// largest of its layout, table and instance column) and `blinding` blinding rows (from
/// `blinding_factors(params)`).
pub fn work_at(params: CircuitParams, rows: usize, blinding: usize) -> (u32, u64) {
    let needed = rows + blinding + 1;
    let k = ceil_log2(needed).max(4);
    let (advice, lookups, perm) = column_counts(params);
    (k, (advice + 3 * lookups + perm) as u64 * (1u64 << k))
}

fn ceil_log2(v: usize) -> u32 {
    usize::BITS - v.saturating_sub(1).leading_zeros()
}

/// The limb widths worth trying: the widest rescale shift (every remainder one lookup), and
/// for each limb count the narrowest width that checks the activation range (`m` bits, or
/// `m + 1` for a saturating function's gap) in that many limbs, but at least half the widest
/// shift (a remainder splits into two limbs at most) and half the widest integer range. A
/// wider limb with the same counts only makes the range table larger.
pub fn limb_choices(graph: &Graph, table: &TableBounds) -> Vec<u32> {
    let widest = graph
        .nodes
        .iter()
        .filter_map(|n| match &n.op {
            zkinfer_ir::Op::Rescale(rs) => Some(rs.max_shift()),
            zkinfer_ir::Op::Softmax(sm) => Some(sm.split().shift()),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    // The softmax exponential's low half is one limb.
    let narrowest = graph
        .nodes
        .iter()
        .filter_map(|n| match &n.op {
            zkinfer_ir::Op::Softmax(sm) => Some(sm.split().j),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    // Integer division checks its operands' magnitudes, and an integer type its range, in
    // at most two limbs.
    let integer = graph
        .nodes
        .iter()
        .enumerate()
        .flat_map(|(id, n)| {
            let operands = match &n.op {
                zkinfer_ir::Op::IntDiv(_) => n.inputs.iter().map(|&i| graph.nodes[i].bound).max(),
                zkinfer_ir::Op::TopK(t) => {
                    let w = t.windows.first().map_or(1, Vec::len);
                    Some(graph.nodes[n.inputs[0]].bound + 2 + (usize::BITS - w.leading_zeros()))
                }
                _ => None,
            };
            let typed = zkinfer_ir::type_range(&graph.nodes[id])
                .map(|(lo, hi)| 128 - ((hi - lo) as u128).leading_zeros());
            [operands, typed]
        })
        .flatten()
        .max()
        .unwrap_or(0);
    let m = table.mag_bits();
    let mut out: Vec<u32> = (1..=MAX_LIMBS as u32)
        .flat_map(|n| [m.div_ceil(n), (m + 1).div_ceil(n)])
        .map(|l| {
            l.max(widest.div_ceil(2))
                .max(integer.div_ceil(2))
                .max(narrowest)
                .max(4)
        })
        .filter(|&l| l <= MAX_LIMB_BITS)
        .collect();
    // A limb as wide as the widest rescale's shift keeps every remainder in one limb; a bit
    // or three narrower splits only the widest ones, and its table is half to an eighth the
    // size (what lets a GPT-2 block's 2^20-row range table give way to its 2^19 rows).
    let one_limb = widest.max(narrowest);
    out.extend(
        (one_limb.saturating_sub(3)..=one_limb).map(|l| l.max(narrowest).clamp(4, MAX_LIMB_BITS)),
    );
    out.sort_unstable();
    out.dedup();
    out
}

/// The widest limb the planner considers: a range table of 2^20 rows.
pub const MAX_LIMB_BITS: u32 = 20;

/// Rows the layout of `graph` takes for the circuit with `params`.
pub fn dry_run(
    graph: &Graph,
    table: &TableBounds,
    params: CircuitParams,
) -> Result<DryRun, CircuitError> {
    let tables = TableSet::for_graph(graph, table);
    let mut grid = DryRun::default();
    let report = lay_out_with(&mut grid, graph, params, &tables, None)?;
    grid.rows = grid.rows.max(report.rows);
    Ok(grid)
}

/// Chooses the lane count with the least proving work and the smallest k that holds it.
pub fn plan(graph: &Graph, table: &TableBounds) -> Result<Plan, CircuitError> {
    plan_for(graph, table, false)
}

/// [`plan`], with the public values packed or not. A packed circuit is meant for a Solidity
/// verifier, whose size grows with the columns: it keeps the narrowest layout.
pub fn plan_for(graph: &Graph, table: &TableBounds, packed: bool) -> Result<Plan, CircuitError> {
    plan_with(
        graph,
        table,
        CircuitParams {
            packed,
            ..CircuitParams::default()
        },
    )
}

/// [`plan`] for the circuit whose public side is laid out as `public` says (its `packed`,
/// `commit_inputs` and `commit_outputs`; the lanes and, unless `table.limb_bits` fixes it,
/// the limb width are chosen here: wider limbs make range checks shorter and the range table
/// larger).
pub fn plan_with(
    graph: &Graph,
    table: &TableBounds,
    public: CircuitParams,
) -> Result<Plan, CircuitError> {
    plan_products(graph, table, public, WeightProducts::Auto)
}

/// [`plan_with`], with constant matrices' products proven as `products` says.
pub fn plan_products(
    graph: &Graph,
    table: &TableBounds,
    public: CircuitParams,
    products: WeightProducts,
) -> Result<Plan, CircuitError> {
    let limbs = match table.limb_bits {
        0 => limb_choices(graph, table),
        l => vec![l],
    };
    // A width too narrow for the widest range check, or one that needs too large a circuit,
    // is passed over; the error of the last one is reported when none fits.
    let mut best: Option<Plan> = None;
    let mut last_err = CircuitError::TooLarge { k: 0, max: MAX_K };
    for l in limbs {
        let table = TableBounds {
            limb_bits: l,
            ..*table
        };
        match plan_lanes(graph, &table, public, products) {
            Ok(candidate) => {
                // At equal work, fewer rows: more room for what a shard adds at its cuts.
                if best
                    .as_ref()
                    .is_none_or(|b| (candidate.work, candidate.rows) < (b.work, b.rows))
                {
                    best = Some(candidate);
                }
            }
            Err(e) => last_err = e,
        }
    }
    best.ok_or(last_err)
}

/// [`plan_with`] at the limb width of `table`.
fn plan_lanes(
    graph: &Graph,
    table: &TableBounds,
    public: CircuitParams,
    products: WeightProducts,
) -> Result<Plan, CircuitError> {
    let packed = public.packed;
    let table_rows = TableSet::for_graph(graph, table).rows();
    let mut best: Option<Plan> = None;
    // Products with constant matrices take Freivalds' check where it saves rows; without a
    // product of two witnessed tensors the circuit may also do without its columns, whichever
    // costs less work.
    // Constant matrices' `W·r` takes its own fixed columns: one, two or four per lane (up to
    // 32: a language model's head or embedding of 38.6M weights fits 2^21 rows, and half the
    // memory of 2^22, only with 24 or 32), fewer rows against more columns; one per lane in a
    // packed circuit, whose Solidity verifier grows with every column.
    let per_lane: &[usize] = match (products, packed) {
        (WeightProducts::Direct, _) => &[0],
        (WeightProducts::Auto, true) => &[1],
        (WeightProducts::Auto, false) => &[1, 2, 4],
    };
    let choices = lane_choices(packed).iter().flat_map(|&lanes| {
        let mut out: Vec<CircuitParams> = per_lane
            .iter()
            .map(|&m| lanes * m)
            .filter(|&w| w == lanes || w <= MAX_WEIGHT_LANES)
            .map(|w| CircuitParams::for_graph_with(graph, lanes, w))
            .collect();
        out.dedup();
        let with = out[0];
        if with.freivalds && !needs_freivalds(graph) {
            out.push(CircuitParams {
                freivalds: false,
                weight_lanes: 0,
                ..with
            });
        }
        out
    });
    for base in choices {
        let lanes = base.lanes;
        let params = CircuitParams {
            packed,
            commit_inputs: public.commit_inputs,
            commit_outputs: public.commit_outputs,
            packed_inputs: public.packed_inputs,
            packed_outputs: public.packed_outputs,
            limb_bits: table.limbs(),
            ..base
        };
        let run = dry_run(graph, table, params)?;
        let instances = instance_len_with(graph, params);
        let rows = run.rows.max(table_rows).max(instances);
        let (k, work) = work_at(params, rows, blinding_factors(params));
        // A fixed column of `W·r` costs about half an advice column (its extended-domain
        // evaluations in the quotient, none of the commitments).
        let work = work + (params.weight_lanes as u64 / 2) * (1u64 << k);
        let (advice, lookups, _) = column_counts(params);
        let candidate = Plan {
            lanes,
            limb_bits: table.limbs(),
            freivalds: params.freivalds,
            weight_lanes: params.weight_lanes,
            k,
            rows: run.rows,
            table_rows,
            advice_columns: advice,
            lookups,
            advice_cells: run.advice_cells,
            work,
        };
        if best
            .as_ref()
            .is_none_or(|b| (candidate.work, candidate.rows) < (b.work, b.rows))
        {
            best = Some(candidate);
        }
    }
    let best = best.ok_or(CircuitError::TooLarge { k: 0, max: MAX_K })?;
    if best.k > MAX_K {
        return Err(CircuitError::TooLarge {
            k: best.k,
            max: MAX_K,
        });
    }
    Ok(best)
}

/// One part of a circuit's layout in [`row_breakdown`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowPart {
    /// The operator (`Dense`, `Rescale`, …).
    pub op: String,
    /// The part of its layout (`freivalds.w`, `lookup`, …; empty for the operator's main rows).
    pub part: String,
    /// Rows where this part assigns the most cells.
    pub rows: usize,
    pub cells: usize,
}

/// Where the rows of the circuit with `params` go: each row counts for the operator part
/// that assigns most of its cells, parts with the most rows first. The same dry run as the
/// planner's, with every cell's owner recorded.
pub fn row_breakdown(
    graph: &Graph,
    table: &TableBounds,
    params: CircuitParams,
) -> Result<Vec<RowPart>, CircuitError> {
    use std::collections::HashMap;
    let tables = TableSet::for_graph(graph, table);
    let mut grid = DryRun {
        owners: Some(HashMap::new()),
        ..DryRun::default()
    };
    lay_out_with(&mut grid, graph, params, &tables, None)?;
    let owners = grid.owners.unwrap_or_default();
    let op_of = |node: usize| {
        graph
            .nodes
            .get(node)
            .map_or("(public values)".to_string(), |n| n.op.name().to_string())
    };
    // Per row, cells per owner part.
    let mut per_row: HashMap<usize, HashMap<(String, &'static str), usize>> = HashMap::new();
    let mut cells: HashMap<(String, &'static str), usize> = HashMap::new();
    for (&(_, row), &(node, what)) in &owners {
        // The second phase is filled after every node, under the last one's name.
        let op = match what.contains("second phase") {
            true => String::new(),
            false => op_of(node),
        };
        let key = (op, what);
        *per_row
            .entry(row)
            .or_default()
            .entry(key.clone())
            .or_default() += 1;
        *cells.entry(key).or_default() += 1;
    }
    let mut rows: HashMap<(String, &'static str), usize> = HashMap::new();
    for parts in per_row.values() {
        if let Some((key, _)) = parts.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))) {
            *rows.entry(key.clone()).or_default() += 1;
        }
    }
    let mut out: Vec<RowPart> = cells
        .into_iter()
        .map(|(key, cells)| RowPart {
            rows: rows.get(&key).copied().unwrap_or(0),
            op: key.0,
            part: key.1.to_string(),
            cells,
        })
        .collect();
    out.sort_by(|a, b| b.rows.cmp(&a.rows).then(b.cells.cmp(&a.cells)));
    Ok(out)
}
