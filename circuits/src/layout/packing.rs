//! Packed public values (see `zkinfer_ir::Packing`): each value is range-checked into the
//! signed table's domain by an identity lookup, then `per` of them are folded into one
//! instance by Horner's rule, `h' = W·h + (v + neg)`, one `arith` row per value.

use halo2_axiom::halo2curves::bn256::Fr;
use zkinfer_ir::{Packing, TableFn};

use super::{wrap, Layout, Wire};
use crate::grid::{fe, Adv, Fix, Grid, Sel};
use crate::CircuitError;

impl<G: Grid> Layout<'_, G> {
    /// Range-checks and packs `public` (inputs then outputs) and exposes the packed elements
    /// as instances `0, 1, …`.
    pub(super) fn pack_public(&mut self, public: &[Wire<G::Cell>]) -> Result<(), CircuitError> {
        let packing = Packing::for_table(&self.tables.bounds);
        let base = i64::try_from(packing.base).map_err(|_| CircuitError::Layout {
            node: "public values".into(),
            reason: "the table is too large to pack".into(),
        })?;
        for (index, chunk) in public.chunks(packing.per).enumerate() {
            // Little-endian digits: Horner runs from the last one.
            let mut acc: Option<(G::Cell, Option<Fr>)> = None;
            for w in chunk.iter().rev() {
                let q = self.rescale(w, 0, &TableFn::Identity, "public values")?;
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
                            g.advice(Adv::X(0), row, Some(0))?;
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
            if let Some((cell, _)) = acc {
                wrap(self.grid.expose(&cell, index))?;
            }
        }
        Ok(())
    }
}
