//! Rescales: `acc + half = 2^s·q + r` with the remainder range-checked, fused with the
//! function that follows (see `Layout::rescale_op`).

use crate::grid::{Adv, Fix, Grid, Sel};
use crate::CircuitError;

use super::{range, wrap, Layout, Wire};

impl<G: Grid> Layout<'_, G> {
    /// The row whose rescale slot takes `x`: the row of `x` itself when `x` is an accumulator
    /// whose slot is free, else a fresh row with `x` copied into `acc`.
    pub(super) fn rescale_row(
        &mut self,
        x: &Wire<G::Cell>,
        what: &'static str,
    ) -> Result<usize, CircuitError> {
        let row = match x.acc_row {
            Some(r) if self.rescale_used.insert(r) => r,
            _ => {
                let r = self.fresh_full_row();
                wrap(self.copy_in(x, Adv::Acc, r))?;
                r
            }
        };
        self.place(what, row);
        Ok(row)
    }

    /// Element `i` of rescale `op` applied to `x`. The rescale row holds
    /// `acc + half = 2^s·q + r` with `r` looked up at the table's resolution; then: identity
    /// and ReLU bound `q` to the activation range `[−2^m, 2^m)` exactly by a range unit (ReLU
    /// takes its output from the sign), the sign test returns the sign, a function tabulated
    /// over the activation range looks `(q, f(q))` up in the same row, and a saturating
    /// function clamps `q` into its table through a range unit of `q − clamp(q)`.
    pub fn rescale_op(
        &mut self,
        x: &Wire<G::Cell>,
        op: &zkinfer_ir::Rescale,
        i: usize,
        node_name: &str,
    ) -> Result<Wire<G::Cell>, CircuitError> {
        use zkinfer_ir::{Saturation, TableFn};
        let (shift, table) = (op.shift(i), op.table);
        let l = self.tables.limb_bits();
        if shift > 2 * l {
            return Err(CircuitError::Layout {
                node: node_name.into(),
                reason: format!(
                    "a shift of {shift} bits is wider than two {l}-bit limbs of the range table"
                ),
            });
        }
        let w = match x.value {
            Some(v) => Some(zkinfer_ir::rescale(
                v,
                i,
                op,
                &self.tables.bounds,
                node_name,
            )?),
            None => None,
        };
        if shift == 0 && table == TableFn::Identity {
            // No rounding: the check that the value lies in the activation range.
            self.bound_signed(x, node_name)?;
            return Ok(x.clone());
        }
        // A remainder wider than a limb is split, r = r0 + 2^l·r1: r1 is taken out of the
        // accumulator first and checked on its own, r0 stays in the rescale row.
        let (x, w, mul_b) = match self.tables.range_mul(shift) {
            Some(mul_b) => (x.clone(), w, mul_b),
            None => {
                let r1 = self.high_remainder(w.map(|w| w.r >> l), shift, node_name)?;
                let x = wrap(self.arith(x, Some(&r1), [0, 1, -(1i64 << l), 0]))?;
                let low = w.map(|w| zkinfer_ir::RescaleWitness {
                    r: w.r & ((1i64 << l) - 1),
                    ..w
                });
                (x, low, 1)
            }
        };
        let x = &x;
        let row = self.rescale_row(x, "rescale")?;
        let direct = table.needs_table() && table.saturation() == Saturation::None;
        let tag_a = match direct {
            true => Some(self.tag(&table, node_name)?),
            false => None,
        };
        let tag_b = self.tag(&self.tables.range_fn(), node_name)?;
        let g = &mut *self.grid;
        let (q_cell, f_cell) = wrap((|| {
            g.enable(Sel::Rescale, row)?;
            g.fixed(Fix::Pow, row, 1i64 << shift)?;
            g.fixed(Fix::Half, row, op.half(i))?;
            g.fixed(Fix::TagB, row, tag_b)?;
            g.fixed(Fix::MulB, row, mul_b)?;
            let q = g.advice(Adv::Q, row, w.map(|w| w.q))?;
            g.advice(Adv::R, row, w.map(|w| w.r))?;
            let f = match tag_a {
                Some(tag_a) => {
                    g.enable(Sel::EnA, row)?;
                    g.fixed(Fix::TagA, row, tag_a)?;
                    Some(g.advice(Adv::F, row, w.map(|w| w.f))?)
                }
                None => None,
            };
            Ok((q, f))
        })())?;
        let q = Wire {
            cell: q_cell,
            value: w.map(|w| w.q),
            acc_row: None,
        };
        let m = self.tables.bounds.mag_bits();
        match (table, f_cell) {
            (_, Some(cell)) => Ok(Wire {
                cell,
                value: w.map(|w| w.f),
                acc_row: None,
            }),
            (TableFn::Identity, None) => {
                self.bound_signed(&q, node_name)?;
                Ok(q)
            }
            // The output lies in [0, 2^m) exactly, as the identity's in [−2^m, 2^m).
            (TableFn::Relu, None) => {
                self.range_unit_bounded(&q, m, range::Unit::Relu, range::Bound::Exact, node_name)
            }
            (TableFn::Negative, None) => self.range_unit(&q, m, range::Unit::Signed, node_name),
            // Above GELU's table the output is the line f(top) + slope·u, u = q − top: its
            // bound (`set_bounds`: slope·2^m) needs u < 2^m exactly. A calibrated table holds
            // 0 (lo ≤ 0 ≤ top), so every q ∈ [−2^m, 2^m) has a gap of magnitude below 2^m.
            (f, None) if f.slope_above() != 0 => self.range_unit_bounded(
                &q,
                m,
                range::Unit::Saturate(f),
                range::Bound::Exact,
                node_name,
            ),
            // Elsewhere the output is a table value whatever q is. q and the clamped input
            // both lie in [−2^m, 2^m): their gap in (−2^(m+1), 2^(m+1)).
            (f, None) => self.range_unit(&q, m + 1, range::Unit::Saturate(f), node_name),
        }
    }
}
