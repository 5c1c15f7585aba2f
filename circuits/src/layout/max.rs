//! Maxima and their positions: a witnessed maximum with range-checked gaps (MaxPool,
//! ReduceMax, ArgMax), and the small pieces they share.

use crate::grid::{Adv, Fix, Grid, Sel};
use crate::CircuitError;

use super::{wrap, Layout, Wire};

impl<G: Grid> Layout<'_, G> {
    /// A free witness in lane 0 of a fresh row, constrained only by what uses it.
    pub(super) fn witness(
        &mut self,
        value: Option<i64>,
        what: &'static str,
    ) -> Result<Wire<G::Cell>, CircuitError> {
        let row = self.fresh_row();
        self.place(what, row);
        Ok(Wire {
            cell: wrap(self.grid.advice(Adv::X(0), row, value))?,
            value,
            acc_row: None,
        })
    }

    /// Constrains `d ≥ 0` (and `d < 2^m`, to whole limbs): a range check.
    fn nonneg(&mut self, d: &Wire<G::Cell>, node_name: &str) -> Result<(), CircuitError> {
        self.bound_unsigned(d, node_name)
    }

    /// Constrains `Π d_i = 0`: some `d_i` is zero. The running product leaves i64, so it is
    /// carried as a field element.
    pub(super) fn some_zero(&mut self, d: &[Wire<G::Cell>]) -> Result<(), CircuitError> {
        let Some(first) = d.first() else {
            return Ok(());
        };
        let mut prod_cell = first.cell.clone();
        let mut prod = first.value.map(crate::grid::fe);
        for di in &d[1..] {
            let row = self.fresh_row();
            self.place("max.prod", row);
            let next = prod.zip(di.value).map(|(p, v)| p * crate::grid::fe(v));
            let cell = wrap((|| {
                self.grid.enable(Sel::Arith, row)?;
                self.grid.fixed(Fix::W(0), row, 1)?;
                let x0 = self.grid.advice_field(Adv::X(0), row, prod)?;
                self.grid.copy(&prod_cell, &x0)?;
                self.copy_in(di, Adv::X(1), row)?;
                self.grid.advice_field(Adv::Acc, row, next)
            })())?;
            prod_cell = cell;
            prod = next;
        }
        wrap(self.grid.zero(&prod_cell))
    }

    /// `m − z_i` for a witnessed `m`, each proven non-negative: `m ≥ max z`.
    fn gaps(
        &mut self,
        z: &[Wire<G::Cell>],
        m: &Wire<G::Cell>,
        node_name: &str,
    ) -> Result<Vec<Wire<G::Cell>>, CircuitError> {
        let mut d = Vec::with_capacity(z.len());
        for zi in z {
            let di = wrap(self.arith(m, Some(zi), [0, 1, -1, 0]))?;
            self.nonneg(&di, node_name)?;
            d.push(di);
        }
        Ok(d)
    }

    /// `max z`: a witness `m` with every `m − z_i ≥ 0` and one of them zero.
    pub fn max(
        &mut self,
        z: &[Wire<G::Cell>],
        node_name: &str,
    ) -> Result<Wire<G::Cell>, CircuitError> {
        let values: Option<Vec<i64>> = z.iter().map(|w| w.value).collect();
        let m_value = match values {
            Some(v) => Some(zkinfer_ir::window_max(&v, false, &self.tables.bounds, node_name)?.0),
            None => None,
        };
        let m = self.witness(m_value, "max.m")?;
        let d = self.gaps(z, &m, node_name)?;
        self.some_zero(&d)?;
        Ok(m)
    }

    /// The position of the first (or, with `last`, the last) maximum of `z`. With `m` as in
    /// [`Self::max`] and a one-hot `e`: `e_i ∈ {0, 1}`, `Σ e_i = 1`, `e_i · (m − z_i) = 0`, and
    /// before the selected position every gap is at least 1 (`m − z_i + s_i − 1 ≥ 0` with
    /// `s_i` the running sum of `e`). The output is `Σ i · e_i`.
    pub fn argmax(
        &mut self,
        z: &[Wire<G::Cell>],
        last: bool,
        node_name: &str,
    ) -> Result<Wire<G::Cell>, CircuitError> {
        let values: Option<Vec<i64>> = z.iter().map(|w| w.value).collect();
        let found = match values {
            Some(v) => Some(zkinfer_ir::window_max(
                &v,
                last,
                &self.tables.bounds,
                node_name,
            )?),
            None => None,
        };
        let m = self.witness(found.map(|f| f.0), "argmax.m")?;
        let d = self.gaps(z, &m, node_name)?;
        let n = z.len();
        let order: Vec<usize> = if last {
            (0..n).rev().collect()
        } else {
            (0..n).collect()
        };
        let mut running: Option<Wire<G::Cell>> = None;
        let mut e = vec![None; n];
        for &i in &order {
            let ei = self.witness(found.map(|f| i64::from(f.1 == i)), "argmax.e")?;
            let boolean = wrap(self.arith(&ei, Some(&ei), [1, -1, 0, 0]))?;
            wrap(self.grid.zero(&boolean.cell))?;
            let picked_gap = wrap(self.arith(&ei, Some(&d[i]), [1, 0, 0, 0]))?;
            wrap(self.grid.zero(&picked_gap.cell))?;
            let s = match &running {
                None => ei.clone(),
                Some(prev) => wrap(self.arith(prev, Some(&ei), [0, 1, 1, 0]))?,
            };
            let t = wrap(self.arith(&d[i], Some(&s), [0, 1, 1, -1]))?;
            self.nonneg(&t, node_name)?;
            running = Some(s);
            e[i] = Some(ei);
        }
        if let Some(total) = &running {
            let one = wrap(self.arith(total, None, [0, 1, 0, -1]))?;
            wrap(self.grid.zero(&one.cell))?;
        }
        let e: Vec<Wire<G::Cell>> = e.into_iter().flatten().collect();
        let terms: Vec<(&Wire<G::Cell>, i64)> =
            e.iter().enumerate().map(|(i, w)| (w, i as i64)).collect();
        wrap(self.dot(&terms, 0))
    }
}
