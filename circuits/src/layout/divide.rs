//! Rounded division of two values (`div` gate): softmax probabilities, Div by a computed
//! tensor, and means by a fixed count.

use crate::grid::{Adv, Fix, Grid, Sel};
use crate::CircuitError;

use super::{wrap, Layout, Wire};

impl<G: Grid> Layout<'_, G> {
    /// `round(a · 2^shift / b)` (gate `div`; `0 ≤ r < 2b` by lookups B and A), then bounded by
    /// the bound function.
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
        let range_tag = self.tag(&self.tables.bound_fn(), node_name)?;
        let row = self.fresh_row();
        self.rescale_used.insert(row);
        self.place("div", row);
        let p = w.map(|w| w.p);
        let p_cell = wrap((|| {
            self.copy_in(a, Adv::X(0), row)?;
            self.copy_in(b, Adv::X(1), row)?;
            let g = &mut *self.grid;
            g.enable(Sel::Div, row)?;
            g.enable(Sel::EnA, row)?;
            g.fixed(Fix::Pow, row, 1i64 << shift)?;
            g.fixed(Fix::TagA, row, range_tag)?;
            g.fixed(Fix::TagB, row, range_tag)?;
            g.fixed(Fix::MulB, row, 1)?;
            g.advice(Adv::Q, row, w.map(|w| w.slack))?;
            g.advice(Adv::R, row, w.map(|w| w.r))?;
            g.advice(Adv::F, row, w.map(|w| w.slack))?;
            g.advice(Adv::X(2), row, p)
        })())?;
        let pw = Wire {
            cell: p_cell,
            value: p,
            acc_row: None,
        };
        self.rescale(&pw, 0, &zkinfer_ir::TableFn::Identity, node_name)
    }
}
