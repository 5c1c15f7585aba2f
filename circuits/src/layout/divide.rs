//! Rounded division of two values (`div` gate): softmax probabilities, Div by a computed
//! tensor, and means by a fixed count.

use crate::grid::{Adv, Fix, Grid, Sel};
use crate::CircuitError;

use super::{wrap, Layout, Wire};

impl<G: Grid> Layout<'_, G> {
    /// `round(a · 2^shift / b)` (gate `div`; `r ≥ 0` and the slack `2b − 1 − r ≥ 0` range-checked,
    /// so `0 ≤ r < 2b`), then `p` bounded to the activation range.
    pub fn divide(
        &mut self,
        a: &Wire<G::Cell>,
        b: &Wire<G::Cell>,
        shift: u32,
        node_name: &str,
    ) -> Result<Wire<G::Cell>, CircuitError> {
        let w = match (a.value, b.value) {
            (Some(av), Some(bv)) => Some(zkinfer_ir::div_round(
                av,
                bv,
                shift,
                &self.tables.bounds,
                node_name,
            )?),
            _ => None,
        };
        // r and the slack lie in [0, 2^m): one lookup each in this row when that fits one
        // limb, range units otherwise.
        let in_row = self.tables.bounds.mag_bits() <= self.tables.limb_bits();
        let range_tag = self.tag(&self.tables.range_fn(), node_name)?;
        let row = self.fresh_full_row();
        self.place("div", row);
        let p = w.map(|w| w.p);
        let (p_cell, r_cell, slack_cell) = wrap((|| {
            self.copy_in(a, Adv::X(0), row)?;
            self.copy_in(b, Adv::X(1), row)?;
            let g = &mut *self.grid;
            g.enable(Sel::Div, row)?;
            g.fixed(Fix::Pow, row, 1i64 << shift)?;
            if in_row {
                g.enable(Sel::EnA, row)?;
                g.fixed(Fix::TagA, row, range_tag)?;
                g.fixed(Fix::TagB, row, range_tag)?;
                g.fixed(Fix::MulB, row, 1)?;
                g.advice(Adv::F, row, w.map(|w| w.slack))?;
            }
            let slack = g.advice(Adv::Q, row, w.map(|w| w.slack))?;
            let r = g.advice(Adv::R, row, w.map(|w| w.r))?;
            Ok((g.advice(Adv::X(2), row, p)?, r, slack))
        })())?;
        if !in_row {
            let wire = |cell, value| Wire {
                cell,
                value,
                acc_row: None,
            };
            self.bound_unsigned(&wire(r_cell, w.map(|w| w.r)), node_name)?;
            self.bound_unsigned(&wire(slack_cell, w.map(|w| w.slack)), node_name)?;
        }
        let pw = Wire {
            cell: p_cell,
            value: p,
            acc_row: None,
        };
        self.bound_signed(&pw, node_name)?;
        Ok(pw)
    }
}
