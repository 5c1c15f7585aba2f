//! Softmax of one row: a witnessed maximum, clamped exponentials by table, their sum, and the
//! division chip for each probability.

use super::{wrap, Layout, Wire};
use crate::grid::{Adv, Fix, Grid, Sel};
use crate::CircuitError;

impl<G: Grid> Layout<'_, G> {
    /// `e = exp(min(d, cmax))`. In the rescale slot of `d`'s row, `d = c + r` with the overflow
    /// `r ≥ 0` range-checked and `r·(cmax − c) = 0` (gates `rescale` at pow 1 and `clamp`).
    /// Then `c = a·2^j + b` (a floor rescale: `b` one lookup in the range table, `(a, T_hi(a))`
    /// in the high half of the exponential, which bounds `a` and so `c`), `(b, T_lo(b))` in the
    /// low half, and `e = round(T_hi·T_lo / 2^(out + 2·guard))` (an `arith` row and an identity
    /// rescale).
    fn exp_clamped(
        &mut self,
        d: &Wire<G::Cell>,
        w: Option<(i64, i64, i64)>,
        split: &zkinfer_ir::ExpSplit,
        node_name: &str,
    ) -> Result<Wire<G::Cell>, CircuitError> {
        let l = self.tables.limb_bits();
        if split.j > l {
            return Err(CircuitError::Layout {
                node: node_name.into(),
                reason: format!(
                    "the exponential's low half has {} bits, more than a {l}-bit limb",
                    split.j
                ),
            });
        }
        let row = self.rescale_row(d, "softmax.exp")?;
        let range = self.tag(&self.tables.range_fn(), node_name)?;
        let (hi, lo) = (split.hi(), split.lo());
        let (tag_hi, tag_lo) = (self.tag(&hi, node_name)?, self.tag(&lo, node_name)?);
        // The overflow r ∈ [0, 2^m): one lookup in this row when that fits one limb.
        let in_row = self.tables.bounds.mag_bits() <= l;
        let g = &mut *self.grid;
        let (c_cell, r_cell) = wrap((|| {
            g.enable(Sel::Rescale, row)?;
            g.enable(Sel::Clamp, row)?;
            g.fixed(Fix::Pow, row, 1)?;
            g.fixed(Fix::Cmax, row, split.cmax())?;
            if in_row {
                g.fixed(Fix::TagB, row, range)?;
                g.fixed(Fix::MulB, row, 1)?;
            }
            let c = g.advice(Adv::Q, row, w.map(|w| w.0))?;
            Ok((c, g.advice(Adv::R, row, w.map(|w| w.1))?))
        })())?;
        if !in_row {
            let overflow = Wire {
                cell: r_cell,
                value: w.map(|w| w.1),
                acc_row: None,
            };
            self.bound_unsigned(&overflow, node_name)?;
        }
        let c = Wire {
            cell: c_cell,
            value: w.map(|w| w.0),
            acc_row: None,
        };
        // c = a·2^j + b.
        let a = c.value.map(|c| c >> split.j);
        let b = c.value.map(|c| c & ((1 << split.j) - 1));
        let (t_hi, t_lo) = (a.map(|a| hi.apply(a)), b.map(|b| lo.apply(b)));
        let srow = self.rescale_row(&c, "softmax.split")?;
        let g = &mut *self.grid;
        let (b_cell, hi_cell) = wrap((|| {
            g.enable(Sel::Rescale, srow)?;
            g.fixed(Fix::Pow, srow, 1i64 << split.j)?;
            g.fixed(Fix::TagB, srow, range)?;
            g.fixed(Fix::MulB, srow, 1i64 << (l - split.j))?;
            g.enable(Sel::EnA, srow)?;
            g.fixed(Fix::TagA, srow, tag_hi)?;
            g.advice(Adv::Q, srow, a)?;
            let b = g.advice(Adv::R, srow, b)?;
            Ok((b, g.advice(Adv::F, srow, t_hi)?))
        })())?;
        let k = self.take_slots(1);
        self.place("softmax.low", k);
        let g = &mut *self.grid;
        let lo_cell = wrap((|| {
            let b_copy = g.advice(Adv::Q, k, b)?;
            g.copy(&b_cell, &b_copy)?;
            g.enable(Sel::EnA, k)?;
            g.fixed(Fix::TagA, k, tag_lo)?;
            g.advice(Adv::F, k, t_lo)
        })())?;
        let wire = |cell, value| Wire {
            cell,
            value,
            acc_row: None,
        };
        let product = wrap(self.arith(
            &wire(hi_cell, t_hi),
            Some(&wire(lo_cell, t_lo)),
            [1, 0, 0, 0],
        ))?;
        let e = self.rescale_op(
            &product,
            &zkinfer_ir::Rescale::uniform(split.shift(), zkinfer_ir::TableFn::Identity),
            0,
            node_name,
        )?;
        if e.value.is_some() && e.value != w.map(|w| w.2) {
            return Err(CircuitError::Layout {
                node: node_name.into(),
                reason: "the split exponential disagrees with the integer reference".into(),
            });
        }
        Ok(e)
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
        let split = op.split();
        let mut d = Vec::with_capacity(n);
        let mut e = Vec::with_capacity(n);
        for (i, zi) in z.iter().enumerate() {
            let di = wrap(self.arith(&m, Some(zi), [0, 1, -1, 0]))?;
            let w = wit.as_ref().map(|w| (w.clamped[i], w.overflow[i], w.e[i]));
            e.push(self.exp_clamped(&di, w, &split, node_name)?);
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
