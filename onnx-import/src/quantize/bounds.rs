//! Calibrated extents: what each trace needs of the lookup tables, the table bounds that
//! hold it with headroom, and every node's bit bound.

use zkinfer_ir::{
    softmax_range_bits, ArgMax, BinaryKind, Graph, Op, Saturation, TableBounds, TableFn, Tensor,
    Windows,
};

use super::bits;

/// Largest pre-table values seen in a trace.
#[derive(Clone, Debug, Default)]
pub(super) struct Needs {
    /// Smallest and largest input seen by each function tabulated over its calibrated extent
    /// (the functions that do not saturate), by node.
    extents: std::collections::BTreeMap<usize, (i64, i64)>,
    /// Largest positive and largest negative (as a magnitude) `q` at rescales.
    pos: u64,
    neg: u64,
    /// Largest `max - x` at softmaxes.
    spread: u64,
    /// Largest `max - x` in a max or argmax window.
    window_spread: u64,
    /// Largest divisor.
    divisor: u64,
}

pub(super) fn table_needs(graph: &Graph, values: &[Tensor<i64>], needs: &mut Needs) {
    for (id, node) in graph.nodes.iter().enumerate() {
        match &node.op {
            Op::Rescale(rs) => {
                let tabulated = matches!(rs.table, TableFn::Map { .. })
                    && rs.table.saturation() != Saturation::Both;
                for (i, &x) in values[node.inputs[0]].data().iter().enumerate() {
                    let qv = (x + rs.half(i)) >> rs.shift(i);
                    if qv >= 0 {
                        needs.pos = needs.pos.max(qv as u64);
                    } else {
                        needs.neg = needs.neg.max(qv.unsigned_abs());
                    }
                    if tabulated {
                        let e = needs.extents.entry(id).or_insert((qv, qv));
                        *e = (e.0.min(qv), e.1.max(qv));
                    }
                }
            }
            Op::Softmax(sm) => {
                let z = values[node.inputs[0]].data();
                let n = node.shape.last().copied().unwrap_or(1).max(1);
                for start in (0..z.len()).step_by(n) {
                    let row: Vec<i64> = sm.kept(start, n).iter().map(|&j| z[start + j]).collect();
                    let m = row.iter().copied().max().unwrap_or(0);
                    let min = row.iter().copied().min().unwrap_or(0);
                    needs.spread = needs.spread.max((m - min) as u64);
                }
            }
            Op::Max(Windows { windows }) | Op::ArgMax(ArgMax { windows, .. }) => {
                let z = values[node.inputs[0]].data();
                for w in windows {
                    let m = w.iter().map(|&i| z[i]).max().unwrap_or(0);
                    let min = w.iter().map(|&i| z[i]).min().unwrap_or(0);
                    needs.window_spread = needs.window_spread.max((m - min) as u64);
                }
            }
            Op::Div(_) | Op::Mean(_) => {
                let top = match &node.op {
                    Op::Mean(m) => m.counts.iter().map(|v| v.unsigned_abs()).max().unwrap_or(0),
                    _ => values[node.inputs[1]]
                        .data()
                        .iter()
                        .map(|v| v.unsigned_abs())
                        .max()
                        .unwrap_or(0),
                };
                needs.divisor = needs.divisor.max(top);
                // The quotient is bounded by the signed table.
                for &p in values[id].data() {
                    if p >= 0 {
                        needs.pos = needs.pos.max(p as u64);
                    } else {
                        needs.neg = needs.neg.max(p.unsigned_abs());
                    }
                }
            }
            _ => {}
        }
    }
}

/// The graph's input and output values, which packing range-checks against the signed table.
pub(super) fn public_needs(graph: &Graph, values: &[Tensor<i64>], needs: &mut Needs) {
    for &id in graph.inputs.iter().chain(&graph.outputs) {
        for &v in values[id].data() {
            if v >= 0 {
                needs.pos = needs.pos.max(v as u64);
            } else {
                needs.neg = needs.neg.max(v.unsigned_abs());
            }
        }
    }
}

/// The activation range that holds `needs` with `2^margin_bits` headroom, and that the
/// circuit's range checks require: `[-2^m, 2^m)` holds every rescaled value, quotient, window
/// spread, twice every divisor, and every softmax remainder, probability and clamped-exp
/// overflow. A power of two, since range checks prove powers of two. The softmax exponential
/// covers `[0, exp)`, up to where it rounds to 0.
pub(super) fn table_bounds(graph: &Graph, needs: &Needs, margin_bits: u32) -> TableBounds {
    let m = 1u64 << margin_bits;
    let mut top = (needs.pos * m)
        .max(needs.neg * m)
        .max(needs.window_spread * m + 1)
        .max(2 * needs.divisor * m);
    let mut exp = 1u64;
    for node in &graph.nodes {
        if let Op::Softmax(sm) = &node.op {
            let n = node.shape.last().copied().unwrap_or(1);
            let zero = sm.split().cmax() as u64;
            exp = exp.max(zero + 1);
            top = top
                .max(1 << softmax_range_bits(sm, n))
                .max(2 << sm.out_scale)
                .max((needs.spread * m).saturating_sub(zero) + 1);
        }
    }
    let range = top.max(1).next_power_of_two() as i64;
    TableBounds {
        neg: range,
        pos: range,
        exp: exp as i64,
        limb_bits: 0,
    }
}

/// Gives every function tabulated over its calibrated extent that extent: the inputs seen,
/// `2^margin_bits` times further from 0 (0 itself always included), within the activation
/// range of `table`.
/// Nodes with the same function share one extent (the union of theirs), so they share one
/// table: two LayerNorms need one square-root table, not two.
pub(super) fn set_extents(graph: &mut Graph, needs: &Needs, table: &TableBounds, margin_bits: u32) {
    let m = 1i64 << margin_bits;
    let range = table.range_max();
    let unextended = |f: &TableFn| match *f {
        TableFn::Map {
            g,
            in_scale,
            out_scale,
            ..
        } => Some((g, in_scale, out_scale)),
        _ => None,
    };
    let mut union: std::collections::BTreeMap<_, (i64, i64)> = Default::default();
    for (&id, &(lo, hi)) in &needs.extents {
        if let Op::Rescale(rs) = &graph.nodes[id].op {
            if let Some(key) = unextended(&rs.table) {
                let lo = lo.min(0).saturating_mul(m).max(-range);
                let hi = hi.max(0).saturating_mul(m).saturating_add(1).min(range);
                let e = union.entry(key).or_insert((lo, hi));
                *e = (e.0.min(lo), e.1.max(hi));
            }
        }
    }
    for &id in needs.extents.keys() {
        if let Op::Rescale(rs) = &mut graph.nodes[id].op {
            let key = unextended(&rs.table);
            if let TableFn::Map { extent, .. } = &mut rs.table {
                *extent = key.and_then(|k| union.get(&k).copied());
            }
        }
    }
}

/// Fills in every node's bit bound, given the table size.
pub(super) fn set_bounds(graph: &mut Graph, table: &TableBounds, input_bounds: &[u32]) {
    for id in 0..graph.nodes.len() {
        let node = &graph.nodes[id];
        let b = |i: usize| graph.nodes[node.inputs[i]].bound;
        let max_in = |v: u32| (1u128 << v) - 1;
        let bound = match &node.op {
            Op::Input(i) => input_bounds.get(i.index).copied().unwrap_or(62),
            Op::Dense(d) => {
                let xmax = max_in(b(0));
                let bias = |j: usize| {
                    d.bias
                        .as_ref()
                        .map_or(0, |t| t.data()[j].unsigned_abs() as u128)
                };
                let rows = d.rows(&graph.nodes[node.inputs[0]].shape);
                let worst = (0..rows.len())
                    .map(|j| {
                        d.row(&rows, j)
                            .map(|(_, w)| w.unsigned_abs() as u128 * xmax)
                            .sum::<u128>()
                            + bias(j)
                    })
                    .max()
                    .unwrap_or(0);
                bits(worst)
            }
            Op::Affine(a) => {
                let xmax = max_in(b(0));
                let worst = a
                    .mul
                    .data()
                    .iter()
                    .zip(a.add.data())
                    .map(|(&m, &c)| m.unsigned_abs() as u128 * xmax + c.unsigned_abs() as u128)
                    .max()
                    .unwrap_or(0);
                bits(worst)
            }
            Op::Binary(bin) => match bin.kind {
                BinaryKind::Mul => b(0) + b(1),
                BinaryKind::Add | BinaryKind::Sub => {
                    (b(0) + bin.lhs_shift).max(b(1) + bin.rhs_shift) + 1
                }
            },
            // What the circuit can output: the activation range, the sign, or the largest
            // value in the function's table (saturated outputs are table values too).
            Op::Rescale(rs) => match rs.table {
                TableFn::Relu | TableFn::Identity => table.signed_bits(),
                TableFn::Negative => 1,
                other => bits(other.max_abs(table) as u128).max(1),
            },
            Op::Linear(l) => {
                let xmax = if node.inputs.is_empty() {
                    0
                } else {
                    max_in(b(0))
                };
                let worst = l
                    .terms
                    .iter()
                    .zip(&l.bias)
                    .map(|(row, &bias)| {
                        row.iter()
                            .map(|&(_, w)| w.unsigned_abs() as u128 * xmax)
                            .sum::<u128>()
                            + bias.unsigned_abs() as u128
                    })
                    .max()
                    .unwrap_or(0);
                bits(worst)
            }
            Op::MatMul => {
                let shape = |i: usize| graph.nodes[node.inputs[i]].shape.as_slice();
                let n = zkinfer_ir::MatMulDims::new(shape(0), shape(1)).map_or(1, |d| d.n);
                bits(
                    max_in(b(0))
                        .saturating_mul(max_in(b(1)))
                        .saturating_mul(n as u128),
                )
            }
            Op::Max(_) => b(0),
            Op::ArgMax(a) => bits(a.windows.iter().map(Vec::len).max().unwrap_or(1) as u128),
            Op::Div(_) | Op::Mean(_) => table.signed_bits(),
            // |q| ≤ |a| and |r| < |b|, |r| ≤ |a| (the divisor is never 0).
            Op::IntDiv(d) if d.remainder => b(0).min(b(1)),
            Op::IntDiv(_) => b(0),
            Op::TopK(t) => bits(t.windows.first().map_or(1, Vec::len) as u128),
            Op::OneHot(_) => 1,
            Op::Select(sel) => {
                let data = node.inputs.get(1).map_or(0, |_| b(1));
                sel.choices
                    .iter()
                    .flatten()
                    .map(|&(_, s)| match s {
                        zkinfer_ir::Source::Const(c) => bits(c.unsigned_abs() as u128),
                        zkinfer_ir::Source::Data(_) => data,
                    })
                    .max()
                    .unwrap_or(0)
            }
            Op::Softmax(sm) => sm.out_scale + 1,
            Op::Reshape | Op::Transpose(_) | Op::Concat(_) | Op::Gather(_) | Op::Remap(_) => {
                (0..node.inputs.len()).map(b).max().unwrap_or(0)
            }
        };
        graph.nodes[id].bound = bound;
    }
}
