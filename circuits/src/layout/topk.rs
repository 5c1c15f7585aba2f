//! TopK (gate-free): per output position `j` a one-hot row `e_j` over the window (boolean,
//! summing to 1), its position `i_j = Σ m·e_{j,m}` and value `v_j = Σ e_{j,m}·x_m`; every
//! column sum `s_m = Σ_j e_{j,m}` boolean, so no element is picked twice. Order, with ties to
//! the lower position: `(v_j − v_{j+1})·n + i_{j+1} − i_j − 1 ≥ 0`. And every element left out
//! comes after the last one picked: `(1 − s_m)·((v_last − x_m)·n + m − i_last − 1) ≥ 0`.
//! (For the smallest, `x` is negated.) Together: exactly the top `k` in that order.

use super::{wrap, Layout, Wire};
use crate::grid::Grid;
use crate::CircuitError;

impl<G: Grid> Layout<'_, G> {
    /// The positions of the top `k` of `x` (`bits`: the values' magnitude bound).
    pub fn top_k(
        &mut self,
        x: &[Wire<G::Cell>],
        k: usize,
        largest: bool,
        bits: u32,
        node: &str,
    ) -> Result<Vec<Wire<G::Cell>>, CircuitError> {
        let n = x.len();
        let sign: i64 = if largest { 1 } else { -1 };
        let positions = match x.iter().map(|w| w.value).collect::<Option<Vec<i64>>>() {
            Some(v) => {
                let t = zkinfer_ir::TopK {
                    windows: vec![(0..n).collect()],
                    k,
                    largest,
                };
                Some(forced().unwrap_or_else(|| t.positions(&v)))
            }
            None => None,
        };
        // The ordering differences reach (2·2^bits)·n + n.
        let gap_bits = bits + 2 + (usize::BITS - n.leading_zeros());
        let nn = n as i64;
        let mut rows: Vec<Vec<Wire<G::Cell>>> = Vec::with_capacity(k);
        let (mut idx, mut val) = (Vec::with_capacity(k), Vec::with_capacity(k));
        for j in 0..k {
            let mut e = Vec::with_capacity(n);
            for m in 0..n {
                let v = positions.as_ref().map(|p| i64::from(p[j] == m));
                let em = self.witness(v, "topk.e")?;
                let boolean = wrap(self.arith(&em, Some(&em), [1, -1, 0, 0]))?;
                wrap(self.grid.zero(&boolean.cell))?;
                e.push(em);
            }
            let ones: Vec<(&Wire<G::Cell>, i64)> = e.iter().map(|w| (w, 1)).collect();
            let total = wrap(self.dot(&ones, -1))?;
            wrap(self.grid.zero(&total.cell))?;
            let at: Vec<(&Wire<G::Cell>, i64)> =
                e.iter().enumerate().map(|(m, w)| (w, m as i64)).collect();
            idx.push(wrap(self.dot(&at, 0))?);
            let mut products = Vec::with_capacity(n);
            for (em, xm) in e.iter().zip(x) {
                products.push(wrap(self.arith(em, Some(xm), [sign, 0, 0, 0]))?);
            }
            let terms: Vec<(&Wire<G::Cell>, i64)> = products.iter().map(|w| (w, 1)).collect();
            val.push(wrap(self.dot(&terms, 0))?);
            rows.push(e);
        }
        // Each element picked at most once.
        let mut picked = Vec::with_capacity(n);
        for m in 0..n {
            let col: Vec<(&Wire<G::Cell>, i64)> = rows.iter().map(|e| (&e[m], 1)).collect();
            let s = wrap(self.dot(&col, 0))?;
            let boolean = wrap(self.arith(&s, Some(&s), [1, -1, 0, 0]))?;
            wrap(self.grid.zero(&boolean.cell))?;
            picked.push(s);
        }
        // Sorted, ties to the lower position.
        for j in 0..k.saturating_sub(1) {
            let t = wrap(self.arith(&val[j], Some(&val[j + 1]), [0, nn, -nn, -1]))?;
            let u = wrap(self.arith(&idx[j + 1], Some(&idx[j]), [0, 1, -1, 0]))?;
            let d = wrap(self.arith(&t, Some(&u), [0, 1, 1, 0]))?;
            self.unsigned_bits(&d, gap_bits, node)?;
        }
        // Everything left out comes after the last one picked.
        if let (Some(v_last), Some(i_last)) = (val.last(), idx.last()) {
            for (m, (xm, s)) in x.iter().zip(&picked).enumerate() {
                let t = wrap(self.arith(v_last, Some(xm), [0, nn, -sign * nn, m as i64 - 1]))?;
                let t2 = wrap(self.arith(&t, Some(i_last), [0, 1, -1, 0]))?;
                let g = wrap(self.arith(&t2, Some(s), [-1, 1, 0, 0]))?;
                self.unsigned_bits(&g, gap_bits, node)?;
            }
        }
        Ok(idx)
    }
}

#[cfg(test)]
thread_local! {
    /// Positions a negative test forces on the chip, to lay out a forged witness.
    pub(crate) static FORCE: std::cell::RefCell<Option<Vec<usize>>> = const { std::cell::RefCell::new(None) };
}

#[cfg(test)]
fn forced() -> Option<Vec<usize>> {
    FORCE.with(|f| f.borrow().clone())
}

#[cfg(not(test))]
fn forced() -> Option<Vec<usize>> {
    None
}

/// Whether a negative test is laying out a forced witness (the honest-prover guards then
/// let out-of-range values through, for the constraints to catch).
pub(crate) fn forcing() -> bool {
    forced().is_some()
}
