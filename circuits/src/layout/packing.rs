//! Packed public values (see `zkinfer_ir::Packing`): each value is range-checked into the
//! activation range `[−2^m, 2^m)` exactly (limbs, both sides), then `per` of them are folded into one
//! instance by Horner's rule, `h' = W·h + (v + neg)`, one `arith` row per value.

use halo2_axiom::halo2curves::bn256::Fr;
use zkinfer_ir::{Graph, Packing};

use super::{wrap, FieldCell, Layout, Wire};
use crate::grid::{fe, Adv, Fix, Grid, Sel};
use crate::{CircuitError, CircuitParams};

impl<G: Grid> Layout<'_, G> {
    /// The public instances after the layout: commitments to a shard's inputs and outputs,
    /// the packed values of an `--evm` model, or one instance per output value (the inputs,
    /// when public and unpacked, were exposed as they were loaded, from instance 0 to
    /// `offset`).
    pub(super) fn expose_public(
        &mut self,
        graph: &Graph,
        params: CircuitParams,
        wires: &[Vec<Wire<G::Cell>>],
        mut public: Vec<Wire<G::Cell>>,
        mut offset: usize,
    ) -> Result<(), CircuitError> {
        let flat = |ids: &[usize]| -> Vec<Wire<G::Cell>> {
            ids.iter().flat_map(|&i| wires[i].iter().cloned()).collect()
        };
        if params.commit_inputs {
            let inputs = flat(&graph.inputs);
            let packing = params
                .packed_inputs
                .then(|| Packing::for_table(&self.tables.bounds));
            self.commit(&inputs, 0, packing, true)?;
            offset = 1;
        }
        if params.packed {
            public.extend(flat(&graph.outputs));
            self.pack_public(&public)?;
        } else if params.commit_outputs {
            let outputs = flat(&graph.outputs);
            let packing = params
                .packed_outputs
                .then(|| Packing::for_table(&self.tables.bounds));
            // Outputs that the circuit computed within the table's domain need no range check
            // to be packed; the others (a residual stream: sums of such values) are checked
            // into it first (see `poseidon::boundary_packing`).
            if packing.is_some() {
                for &id in &graph.outputs {
                    if !crate::poseidon::in_table_domain(graph, id, &self.tables.bounds) {
                        for w in &wires[id] {
                            self.bound_exact(w, "shard outputs")?;
                        }
                    }
                }
            }
            self.commit(&outputs, offset, packing, false)?;
        } else {
            for w in flat(&graph.outputs) {
                wrap(self.grid.expose(&w.cell, offset))?;
                offset += 1;
            }
        }
        Ok(())
    }

    /// Range-checks and packs `public` (inputs then outputs) and exposes the packed elements
    /// as instances `0, 1, …`.
    pub(super) fn pack_public(&mut self, public: &[Wire<G::Cell>]) -> Result<(), CircuitError> {
        let packing = Packing::for_table(&self.tables.bounds);
        let packed = self.pack(public, packing, true)?;
        for (index, (cell, _)) in packed.iter().enumerate() {
            wrap(self.grid.expose(cell, index))?;
        }
        Ok(())
    }

    /// Packs `values` by `packing` into field elements; with `range_check`, each value is
    /// first bounded to the table's domain (without it the packing is not injective: values
    /// that are free witnesses need it, values the circuit computed within their bounds do not).
    pub(super) fn pack(
        &mut self,
        values: &[Wire<G::Cell>],
        packing: Packing,
        range_check: bool,
    ) -> Result<Vec<FieldCell<G::Cell>>, CircuitError> {
        let base = i64::try_from(packing.base).map_err(|_| CircuitError::Layout {
            node: "public values".into(),
            reason: "the table is too large to pack".into(),
        })?;
        let mut out = Vec::with_capacity(packing.len(values.len()));
        for chunk in values.chunks(packing.per) {
            // Little-endian digits: Horner runs from the last one.
            let mut acc: Option<(G::Cell, Option<Fr>)> = None;
            for w in chunk.iter().rev() {
                if range_check {
                    self.bound_exact(w, "public values")?;
                }
                let q = w.clone();
                let row = self.fresh_row();
                self.place("pack", row);
                let g = &mut *self.grid;
                let digit = q.value.map(|v| fe(v) + fe(packing.offset));
                let value = match &acc {
                    Some((_, prev)) => prev.zip(digit).map(|(p, d)| p * fe(base) + d),
                    None => digit,
                };
                let cell = wrap((|| {
                    g.enable(Sel::Arith, row)?;
                    // acc = W·x0 + x1 + neg (the first digit: x0 = 0 with weight 0).
                    match &acc {
                        Some((prev_cell, prev)) => {
                            let x0 = g.advice_field(Adv::X(0), row, *prev)?;
                            g.copy(prev_cell, &x0)?;
                            g.fixed(Fix::W(1), row, base)?;
                        }
                        None => {
                            // Read by the gate, but with w0 = w1 = 0 nothing depends on it.
                            g.advice(Adv::X(0), row, Some(0))?;
                            g.free(Adv::X(0), row);
                            g.fixed(Fix::W(1), row, 0)?;
                        }
                    }
                    let x1 = g.advice(Adv::X(1), row, q.value)?;
                    g.copy(&q.cell, &x1)?;
                    g.fixed(Fix::W(0), row, 0)?;
                    g.fixed(Fix::W(2), row, 1)?;
                    g.fixed(Fix::C, row, packing.offset)?;
                    g.advice_field(Adv::Acc, row, value)
                })())?;
                acc = Some((cell, value));
            }
            out.extend(acc);
        }
        Ok(out)
    }
}

/// Instance layout: every input element, then every output element.
pub fn instance_len(graph: &Graph) -> usize {
    instance_len_with(graph, CircuitParams::default())
}

/// [`instance_len`] for the circuit with `params`: a committed side is one instance.
pub fn instance_len_with(graph: &Graph, params: CircuitParams) -> usize {
    let side = |ids: &[zkinfer_ir::NodeId], committed: bool| match committed {
        true => 1,
        false => ids.iter().map(|&i| graph.nodes[i].len()).sum(),
    };
    side(&graph.inputs, params.commit_inputs) + side(&graph.outputs, params.commit_outputs)
}
