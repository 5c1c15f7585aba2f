//! Softmax of one row: a witnessed maximum, clamped exponentials by table, their sum, and the
//! division chip for each probability.

use super::{wrap, Layout, Wire};
use crate::grid::{Adv, Fix, Grid, Sel};
use crate::CircuitError;

impl<G: Grid> Layout<'_, G> {
    /// `e = exp(min(d, cmax))` in the rescale slot of `d`'s row (gates `rescale` at pow 1 and
    /// `clamp`, lookup A on the exp table, the overflow range-checked).
    fn exp_clamped(
        &mut self,
        d: &Wire<G::Cell>,
        w: Option<(i64, i64, i64)>,
        exp: &zkinfer_ir::TableFn,
        node_name: &str,
    ) -> Result<Wire<G::Cell>, CircuitError> {
        let row = self.rescale_row(d, "softmax.exp")?;
        let tag_a = self.tag(exp, node_name)?;
        let tag_b = self.tag(&self.tables.range_fn(), node_name)?;
        let cmax = self.tables.bounds.exp - 1;
        // The overflow r ∈ [0, 2^m): one lookup in this row when that fits one limb.
        let in_row = self.tables.bounds.mag_bits() <= self.tables.limb_bits();
        let g = &mut *self.grid;
        let (cell, r_cell) = wrap((|| {
            g.enable(Sel::Rescale, row)?;
            g.enable(Sel::Clamp, row)?;
            g.enable(Sel::EnA, row)?;
            g.fixed(Fix::Pow, row, 1)?;
            g.fixed(Fix::Cmax, row, cmax)?;
            g.fixed(Fix::TagA, row, tag_a)?;
            if in_row {
                g.fixed(Fix::TagB, row, tag_b)?;
                g.fixed(Fix::MulB, row, 1)?;
            }
            g.advice(Adv::Q, row, w.map(|w| w.0))?;
            let r = g.advice(Adv::R, row, w.map(|w| w.1))?;
            Ok((g.advice(Adv::F, row, w.map(|w| w.2))?, r))
        })())?;
        if !in_row {
            let overflow = Wire {
                cell: r_cell,
                value: w.map(|w| w.1),
                acc_row: None,
            };
            self.bound_unsigned(&overflow, node_name)?;
        }
        Ok(Wire {
            cell,
            value: w.map(|w| w.2),
            acc_row: None,
        })
    }

    /// Softmax of one row (see `zkinfer_ir::SoftmaxWitness` for the relations).
    pub fn softmax(
        &mut self,
        z: &[Wire<G::Cell>],
        op: &zkinfer_ir::Softmax,
        node_name: &str,
    ) -> Result<Vec<Wire<G::Cell>>, CircuitError> {
        let values: Option<Vec<i64>> = z.iter().map(|w| w.value).collect();
        let wit = match values {
            Some(v) => Some(zkinfer_ir::softmax_row(
                &v,
                op,
                &self.tables.bounds,
                node_name,
            )?),
            None => None,
        };
        let n = z.len();
        // m is a free witness in its own row; d_i = m - z_i (arith), e_i = exp(d_i) (lookup in
        // the same row; it also bounds d_i ≥ 0). The product check below pins m to max z.
        let m_value = wit.as_ref().map(|w| w.max);
        let m_row = self.fresh_row();
        self.place("softmax.max", m_row);
        let m = Wire {
            cell: wrap(self.grid.advice(Adv::X(0), m_row, m_value))?,
            value: m_value,
            acc_row: None,
        };
        let mut d = Vec::with_capacity(n);
        let mut e = Vec::with_capacity(n);
        for (i, zi) in z.iter().enumerate() {
            let di = wrap(self.arith(&m, Some(zi), [0, 1, -1, 0]))?;
            let w = wit.as_ref().map(|w| (w.clamped[i], w.overflow[i], w.e[i]));
            e.push(self.exp_clamped(&di, w, &op.exp, node_name)?);
            d.push(di);
        }
        // Π d_i = 0: the maximum is attained, so m is max z exactly.
        self.some_zero(&d)?;
        // s = Σ e_i.
        let terms: Vec<(&Wire<G::Cell>, i64)> = e.iter().map(|w| (w, 1)).collect();
        let sum = wrap(self.dot(&terms, 0))?;
        // p_i = round(e_i · 2^o / s) (gate `div`), then p_i bounded by the bound function.
        let mut out = Vec::with_capacity(n);
        for ei in &e {
            out.push(self.divide(ei, &sum, op.out_scale, node_name)?);
        }
        Ok(out)
    }
}
