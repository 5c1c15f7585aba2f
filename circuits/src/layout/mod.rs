//! Lays a quantized graph out on the grid, each node by its family's chip (index maps: wires).

use std::collections::HashSet;

use halo2_axiom::plonk::Error;
use zkinfer_ir::{broadcast_indices, BinaryKind, Graph, MatMulDims, NodeId, Op, Trace};

use crate::config::CircuitParams;
use crate::grid::{Adv, Fix, Grid, Sel};

mod divide;
mod freivalds;
mod integer;
mod max;
mod packing;
mod poseidon;
mod range;
mod rescale;
mod select;
mod softmax;
pub(crate) mod topk;
use crate::table::TableSet;
use crate::CircuitError;
pub use freivalds::DenseDims;
pub use packing::{instance_len, instance_len_with};
pub use poseidon::{commit_rows, sponge_rows};

/// A value on the grid.
#[derive(Clone, Debug)]
pub struct Wire<C> {
    pub cell: C,
    /// Known when synthesizing a proof, `None` at key generation.
    pub value: Option<i64>,
    /// `Some(row)` when the wire is the `acc` cell of `row`, so a rescale may share that row.
    pub acc_row: Option<usize>,
}

/// A cell holding any field element (packed values, hash states), with its value when
/// proving.
type FieldCell<C> = (C, Option<halo2_axiom::halo2curves::bn256::Fr>);

/// A one-hot selector's identity: the index node, its element, and the candidate keys.
type SelectorKey = (NodeId, usize, Vec<i64>);

/// Where a chip placed something, for reports and negative tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    pub node: NodeId,
    pub what: &'static str,
    pub row: usize,
}

/// The layout state: the next free row and which rows' rescale slots are taken.
pub struct Layout<'a, G: Grid> {
    pub grid: &'a mut G,
    pub lanes: usize,
    /// The circuit has the boolean-lanes gate (`CircuitParams::booleans`).
    pub booleans: bool,
    pub tables: &'a TableSet,
    /// Next row whose main slot (lanes, `acc`) is free, except that its `acc` cell is taken
    /// when `acc_taken` (a dot chain may still start there: its first row ignores `acc`).
    row: usize,
    acc_taken: bool,
    rescale_used: HashSet<usize>,
    /// Where range units look for free rescale slots next, and the end of the last one.
    slot_row: usize,
    slot_end: usize,
    /// Next row of the constant matrices' `W·r` chains (their own columns, from row 0).
    weight_row: usize,
    pub placements: Vec<Placement>,
    node: NodeId,
    /// Witnessed products whose Freivalds check runs in the second phase.
    products: Vec<freivalds::Product>,
    /// One-hot selectors built so far, by index node, element and candidate keys.
    selectors: std::collections::HashMap<SelectorKey, Vec<Wire<G::Cell>>>,
}

pub(crate) fn wrap<T>(r: Result<T, Error>) -> Result<T, CircuitError> {
    r.map_err(CircuitError::from)
}

impl<'a, G: Grid> Layout<'a, G> {
    pub fn new(grid: &'a mut G, lanes: usize, tables: &'a TableSet) -> Self {
        Self {
            grid,
            lanes,
            booleans: false,
            tables,
            row: 0,
            acc_taken: false,
            rescale_used: HashSet::new(),
            slot_row: 0,
            slot_end: 0,
            weight_row: 0,
            placements: Vec::new(),
            node: 0,
            products: Vec::new(),
            selectors: Default::default(),
        }
    }

    /// Rows used so far.
    pub fn rows(&self) -> usize {
        // A `W·r` chain's last accumulator lies one row past it.
        let weights = self.weight_row + usize::from(self.weight_row > 0);
        (self.row + usize::from(self.acc_taken))
            .max(self.slot_end)
            .max(weights)
    }

    fn place(&mut self, what: &'static str, row: usize) {
        self.grid.owner(self.node, what);
        self.placements.push(Placement {
            node: self.node,
            what,
            row,
        });
    }

    /// A row whose whole main slot is free.
    fn fresh_row(&mut self) -> usize {
        if self.acc_taken {
            self.row += 1;
            self.acc_taken = false;
        }
        self.row += 1;
        self.row - 1
    }

    /// A row whose main slot and rescale slot are both free (range units may have taken the
    /// slots of rows the main slot has not reached yet); the rescale slot is taken.
    fn fresh_full_row(&mut self) -> usize {
        loop {
            let row = self.fresh_row();
            if self.rescale_used.insert(row) {
                return row;
            }
        }
    }

    /// The first of `len` consecutive fresh rows whose rescale slots are free too (they are
    /// taken); the next `fresh_row` is the block's second row.
    fn fresh_block(&mut self, len: usize) -> usize {
        loop {
            let row = self.fresh_row();
            if (row..row + len).all(|r| !self.rescale_used.contains(&r)) {
                self.rescale_used.extend(row..row + len);
                return row;
            }
        }
    }

    /// Assigns a copy of `w` at `(col, row)`.
    fn copy_in(&mut self, w: &Wire<G::Cell>, col: Adv, row: usize) -> Result<G::Cell, Error> {
        let cell = self.grid.advice(col, row, w.value)?;
        self.grid.copy(&w.cell, &cell)?;
        Ok(cell)
    }

    /// Loads public values into lanes, constrained to the instance from `offset` on (when
    /// given; packed values are exposed later).
    pub fn load(
        &mut self,
        values: &[Option<i64>],
        offset: Option<usize>,
    ) -> Result<Vec<Wire<G::Cell>>, Error> {
        let mut out = Vec::with_capacity(values.len());
        for (chunk_i, chunk) in values.chunks(self.lanes).enumerate() {
            let row = self.fresh_row();
            self.place("load", row);
            for (lane, &v) in chunk.iter().enumerate() {
                let cell = self.grid.advice(Adv::X(lane), row, v)?;
                if let Some(offset) = offset {
                    self.grid
                        .expose(&cell, offset + chunk_i * self.lanes + lane)?;
                }
                out.push(Wire {
                    cell,
                    value: v,
                    acc_row: None,
                });
            }
        }
        Ok(out)
    }

    /// `bias + Σ w_i · x_i` over chained rows of `lanes` products each (gate `dot`).
    pub fn dot(
        &mut self,
        terms: &[(&Wire<G::Cell>, i64)],
        bias: i64,
    ) -> Result<Wire<G::Cell>, Error> {
        self.chain(terms.len(), bias, None, |l, i, lane, row| {
            let (w, weight) = terms[i];
            l.copy_in(w, Adv::X(lane), row)?;
            Ok((w.value, weight))
        })
    }

    /// A dot chain of `n` terms from `bias`: `put(l, i, lane, row)` places term `i` in
    /// `(X(lane), row)` and gives its value and weight; `extra` is enabled on every row
    /// beside `dot`.
    fn chain(
        &mut self,
        n: usize,
        bias: i64,
        extra: Option<Sel>,
        mut put: impl FnMut(&mut Self, usize, usize, usize) -> Result<(Option<i64>, i64), Error>,
    ) -> Result<Wire<G::Cell>, Error> {
        let start = self.row;
        let rows = n.div_ceil(self.lanes).max(1);
        let mut acc: Option<i128> = Some(bias as i128);
        for t in 0..rows {
            let row = start + t;
            self.grid.enable(Sel::Dot, row)?;
            if let Some(sel) = extra {
                self.grid.enable(sel, row)?;
            }
            self.grid.fixed(Fix::Chain, row, i64::from(t > 0))?;
            self.grid
                .fixed(Fix::C, row, if t == 0 { bias } else { 0 })?;
            for (lane, i) in (t * self.lanes..n.min((t + 1) * self.lanes)).enumerate() {
                let (value, weight) = put(self, i, lane, row)?;
                self.grid.fixed(Fix::W(lane), row, weight)?;
                acc = acc.zip(value).map(|(a, v)| a + v as i128 * weight as i128);
            }
            let value = acc.and_then(|a| i64::try_from(a).ok());
            if t + 1 < rows {
                self.grid.advice(Adv::Acc, row + 1, value)?;
            }
        }
        let end = start + rows;
        self.place("dot", start);
        let value = acc.and_then(|a| i64::try_from(a).ok());
        let cell = self.grid.advice(Adv::Acc, end, value)?;
        self.row = end;
        self.acc_taken = true;
        Ok(Wire {
            cell,
            value,
            acc_row: Some(end),
        })
    }

    /// A cell constrained to the constant 0.
    fn zero_wire(&mut self) -> Result<Wire<G::Cell>, Error> {
        let row = self.fresh_row();
        self.place("zero", row);
        let cell = self.grid.advice(Adv::X(0), row, Some(0))?;
        self.grid.zero(&cell)?;
        Ok(Wire {
            cell,
            value: Some(0),
            acc_row: None,
        })
    }

    /// `w0·a·b + w1·a + w2·b + c` in one row (gate `arith`).
    pub fn arith(
        &mut self,
        a: &Wire<G::Cell>,
        b: Option<&Wire<G::Cell>>,
        [w0, w1, w2, c]: [i64; 4],
    ) -> Result<Wire<G::Cell>, Error> {
        let (w0, w2) = match b {
            Some(_) => (w0, w2),
            // Without a second operand its terms vanish (the free cell is 0 anyway).
            None => (0, 0),
        };
        let row = self.fresh_row();
        self.place("arith", row);
        self.grid.enable(Sel::Arith, row)?;
        self.copy_in(a, Adv::X(0), row)?;
        let bv = match b {
            Some(b) => {
                self.copy_in(b, Adv::X(1), row)?;
                b.value
            }
            None => {
                // Read by the gate, but with w0 = w2 = 0 nothing depends on it.
                self.grid.advice(Adv::X(1), row, Some(0))?;
                self.grid.free(Adv::X(1), row);
                Some(0)
            }
        };
        for (i, w) in [w0, w1, w2].into_iter().enumerate() {
            self.grid.fixed(Fix::W(i), row, w)?;
        }
        self.grid.fixed(Fix::C, row, c)?;
        let value = a.value.zip(bv).and_then(|(x, y)| {
            let v = w0 as i128 * x as i128 * y as i128
                + w1 as i128 * x as i128
                + w2 as i128 * y as i128
                + c as i128;
            i64::try_from(v).ok()
        });
        let cell = self.grid.advice(Adv::Acc, row, value)?;
        Ok(Wire {
            cell,
            value,
            acc_row: Some(row),
        })
    }

    fn tag(&self, f: &zkinfer_ir::TableFn, node: &str) -> Result<i64, CircuitError> {
        self.tables
            .tag(f)
            .map(|t| t as i64)
            .ok_or_else(|| CircuitError::Layout {
                node: node.into(),
                reason: format!("table function {} is missing from the table", f.name()),
            })
    }
}

/// Rows used and where each chip went.
#[derive(Clone, Debug, Default)]
pub struct LayoutReport {
    pub rows: usize,
    pub placements: Vec<Placement>,
}

/// Lays out `graph` with `lanes` lanes and one public instance per value. With a trace the
/// wires carry values, and every node's values are checked against the integer reference.
pub fn lay_out<G: Grid>(
    grid: &mut G,
    graph: &Graph,
    lanes: usize,
    tables: &TableSet,
    trace: Option<&Trace>,
) -> Result<LayoutReport, CircuitError> {
    lay_out_with(
        grid,
        graph,
        CircuitParams::for_graph(graph, lanes),
        tables,
        trace,
    )
}

/// Lays out `graph` for the circuit with `params` (see [`lay_out`]).
pub fn lay_out_with<G: Grid>(
    grid: &mut G,
    graph: &Graph,
    params: CircuitParams,
    tables: &TableSet,
    trace: Option<&Trace>,
) -> Result<LayoutReport, CircuitError> {
    let lanes = params.lanes;
    let mut l = Layout::new(grid, lanes, tables);
    l.booleans = params.booleans;
    // Public values, in instance order, when they are packed at the end.
    let mut public: Vec<Wire<G::Cell>> = Vec::new();
    let mut wires: Vec<Vec<Wire<G::Cell>>> = Vec::with_capacity(graph.nodes.len());
    let mut offset = 0;
    for (id, node) in graph.nodes.iter().enumerate() {
        l.node = id;
        l.grid.owner(id, node.op.name());
        let value = |i: usize| trace.map(|t| t.values[id].data()[i]);
        let arg = |i: usize| &wires[node.inputs[i]];
        let out: Vec<Wire<G::Cell>> = match &node.op {
            Op::Input(_) => {
                let vals: Vec<Option<i64>> = (0..node.len()).map(value).collect();
                let exposed = !params.packed && !params.commit_inputs;
                let w = wrap(l.load(&vals, exposed.then_some(offset)))?;
                if exposed {
                    offset += node.len();
                }
                if params.packed {
                    public.extend(w.iter().cloned());
                }
                w
            }
            Op::Dense(dense)
                if params.weight_lanes > 0
                    && DenseDims::new(dense, &graph.nodes[node.inputs[0]].shape)
                        .freivalds_pays(lanes, params.weight_lanes) =>
            {
                let dims = DenseDims::new(dense, &graph.nodes[node.inputs[0]].shape);
                let y = trace.map(|t| t.values[id].data());
                l.dense_freivalds(arg(0), dense, &dims, params.weight_lanes, y, &node.name)?
            }
            Op::Dense(dense) => {
                let x = arg(0);
                let rows = dense.rows(&graph.nodes[node.inputs[0]].shape);
                let mut out = Vec::with_capacity(rows.len());
                for j in 0..rows.len() {
                    let t: Vec<(&Wire<G::Cell>, i64)> =
                        dense.row(&rows, j).map(|(xi, w)| (&x[xi], w)).collect();
                    let bias = dense.bias.as_ref().map_or(0, |b| b.data()[j]);
                    out.push(wrap(l.dot(&t, bias))?);
                }
                out
            }
            Op::Binary(bin) => {
                let (a, b) = (arg(0), arg(1));
                let ia = broadcast_indices(&graph.nodes[node.inputs[0]].shape, &node.shape);
                let ib = broadcast_indices(&graph.nodes[node.inputs[1]].shape, &node.shape);
                let (ls, rs) = (1i64 << bin.lhs_shift, 1i64 << bin.rhs_shift);
                let coeffs = match bin.kind {
                    BinaryKind::Add => [0, ls, rs, 0],
                    BinaryKind::Sub => [0, ls, -rs, 0],
                    BinaryKind::Mul => [1, 0, 0, 0],
                };
                ia.iter()
                    .zip(&ib)
                    .map(|(&i, &j)| wrap(l.arith(&a[i], Some(&b[j]), coeffs)))
                    .collect::<Result<_, _>>()?
            }
            Op::Affine(aff) => {
                let x = arg(0).clone();
                x.iter()
                    .zip(aff.mul.data().iter().zip(aff.add.data()))
                    .map(|(w, (&m, &c))| wrap(l.arith(w, None, [0, m, 0, c])))
                    .collect::<Result<_, _>>()?
            }
            Op::Rescale(rs) => {
                let x = arg(0).clone();
                x.iter()
                    .enumerate()
                    .map(|(i, w)| l.rescale_op(w, rs, i, &node.name))
                    .collect::<Result<_, _>>()?
            }
            Op::Linear(lin) => {
                let x = node
                    .inputs
                    .first()
                    .map_or(&[][..], |&i| wires[i].as_slice());
                let mut out = Vec::with_capacity(lin.terms.len());
                for (row, &bias) in lin.terms.iter().zip(&lin.bias) {
                    let t: Vec<(&Wire<G::Cell>, i64)> =
                        row.iter().map(|&(xi, w)| (&x[xi], w)).collect();
                    out.push(wrap(l.dot(&t, bias))?);
                }
                out
            }
            Op::Max(zkinfer_ir::Windows { windows })
            | Op::ArgMax(zkinfer_ir::ArgMax { windows, .. }) => {
                let x = arg(0);
                let mut out = Vec::with_capacity(windows.len());
                for win in windows {
                    let z: Vec<Wire<G::Cell>> = win.iter().map(|&i| x[i].clone()).collect();
                    out.push(match &node.op {
                        Op::ArgMax(am) => l.argmax(&z, am.last, &node.name)?,
                        _ => l.max(&z, &node.name)?,
                    });
                }
                out
            }
            Op::Mean(m) => {
                // One fixed divisor cell per distinct count: an `arith` row whose output is
                // the constant alone.
                let x = arg(0).clone();
                let mut divisors: Vec<(i64, Wire<G::Cell>)> = Vec::new();
                let mut out = Vec::with_capacity(x.len());
                for (w, &n) in x.iter().zip(&m.counts) {
                    let b = match divisors.iter().find(|(c, _)| *c == n) {
                        Some((_, b)) => b.clone(),
                        None => {
                            let b = wrap(l.arith(w, None, [0, 0, 0, n]))?;
                            divisors.push((n, b.clone()));
                            b
                        }
                    };
                    out.push(l.divide(w, &b, 0, &node.name)?);
                }
                out
            }
            Op::Div(dv) => {
                let (a, b) = (arg(0).clone(), arg(1).clone());
                let ia = broadcast_indices(&graph.nodes[node.inputs[0]].shape, &node.shape);
                let ib = broadcast_indices(&graph.nodes[node.inputs[1]].shape, &node.shape);
                ia.iter()
                    .zip(&ib)
                    .map(|(&i, &j)| l.divide(&a[i], &b[j], dv.shift, &node.name))
                    .collect::<Result<_, _>>()?
            }
            Op::Select(sel) => {
                let idx = arg(0).clone();
                let data = node.inputs.get(1).map_or(Vec::new(), |&i| wires[i].clone());
                let mut out = Vec::with_capacity(sel.choices.len());
                for (o, choices) in sel.choices.iter().enumerate() {
                    let at = sel.index[o];
                    let keys: Vec<i64> = choices.iter().map(|&(k, _)| k).collect();
                    let e = l.selector((node.inputs[0], at), &idx[at], &keys, &node.name)?;
                    out.push(l.select(&e, &data, choices, &node.name)?);
                }
                out
            }
            Op::OneHot(h) => {
                let idx = arg(0).clone();
                let keys: Vec<i64> = (0..h.depth as i64).collect();
                let mut out = Vec::with_capacity(idx.len() * h.depth);
                for (p, index) in idx.iter().enumerate() {
                    out.extend(l.selector((node.inputs[0], p), index, &keys, &node.name)?);
                }
                out
            }
            Op::TopK(t) => {
                let x = arg(0).clone();
                let bits = graph.nodes[node.inputs[0]].bound;
                let mut out = Vec::with_capacity(t.windows.len() * t.k);
                for w in &t.windows {
                    let row: Vec<Wire<G::Cell>> = w.iter().map(|&i| x[i].clone()).collect();
                    out.extend(l.top_k(&row, t.k, t.largest, bits, &node.name)?);
                }
                out
            }
            Op::IntDiv(op) => {
                let (a, b) = (arg(0).clone(), arg(1).clone());
                let (na, nb) = (&graph.nodes[node.inputs[0]], &graph.nodes[node.inputs[1]]);
                let ia = broadcast_indices(&na.shape, &node.shape);
                let ib = broadcast_indices(&nb.shape, &node.shape);
                ia.iter()
                    .zip(&ib)
                    .map(|(&i, &j)| l.int_div(&a[i], &b[j], *op, na.bound, nb.bound, &node.name))
                    .collect::<Result<_, _>>()?
            }
            Op::Softmax(sm) => {
                let x = arg(0).clone();
                let n = node.shape.last().copied().unwrap_or(1).max(1);
                // Masked elements are the constant 0: one cell constrained to it.
                let zero = match sm.mask.contains(&true) {
                    true => Some(wrap(l.zero_wire())?),
                    false => None,
                };
                let mut out = Vec::with_capacity(x.len());
                for start in (0..x.len()).step_by(n) {
                    let kept = sm.kept(start, n);
                    let z: Vec<Wire<G::Cell>> =
                        kept.iter().map(|&j| x[start + j].clone()).collect();
                    let mut p = l.softmax(&z, sm, &node.name)?.into_iter();
                    for j in 0..n {
                        let w = match (kept.contains(&j), &zero) {
                            (false, Some(zero)) => Some(zero.clone()),
                            _ => p.next(),
                        };
                        out.extend(w);
                    }
                }
                out
            }
            Op::MatMul => {
                let shape = |i: usize| graph.nodes[node.inputs[i]].shape.as_slice();
                let dims = MatMulDims::new(shape(0), shape(1))
                    .and_then(|d| {
                        if d.m * d.n * d.p == 0 {
                            Err("a product with an empty dimension".into())
                        } else {
                            Ok(d)
                        }
                    })
                    .map_err(|reason| CircuitError::Layout {
                        node: node.name.clone(),
                        reason,
                    })?;
                let mut out = Vec::with_capacity(node.len());
                for block in 0..dims.blocks.len() {
                    let c = trace.map(|t| t.values[id].data());
                    out.extend(l.matmul_block([arg(0), arg(1)], c, &dims, block)?);
                }
                out
            }
            Op::Reshape | Op::Transpose(_) | Op::Concat(_) | Op::Gather(_) | Op::Remap(_) => graph
                .index_map(id)
                .unwrap_or_default()
                .iter()
                .map(|&(which, i)| wires[node.inputs[which]][i].clone())
                .collect(),
        };
        if let Some(range) = zkinfer_ir::type_range(node) {
            for w in &out {
                l.type_check(w, range, &node.name)?;
            }
        }
        if let Some(t) = trace {
            let got: Vec<Option<i64>> = out.iter().map(|w| w.value).collect();
            let want: Vec<Option<i64>> = t.values[id].data().iter().map(|&v| Some(v)).collect();
            if got != want {
                return Err(CircuitError::Layout {
                    node: node.name.clone(),
                    reason: "the circuit's witness disagrees with the integer reference".into(),
                });
            }
        }
        wires.push(out);
    }
    let last = graph.nodes.len().saturating_sub(1);
    l.grid.owner(last, "public values (packing, commitments)");
    l.expose_public(graph, params, &wires, public, offset)?;
    // Last: the second phase cannot take first-phase cells after it.
    if params.second_phase() {
        l.grid.owner(last, "Freivalds' checks (second phase)");
        l.check_products()?;
    }
    Ok(LayoutReport {
        rows: l.rows(),
        placements: l.placements,
    })
}
