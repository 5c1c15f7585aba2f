//! Selection by a computed index (gate-free): a one-hot selector `e` over the element's
//! candidates, with `e_j·(e_j − 1) = 0`, `Σ e_j = 1` and `Σ key_j·e_j = index`, and the output
//! `Σ e_j·value_j` (constants as fixed weights of one dot chain, data elements through one
//! product each). Every selection by the same index element over the same keys (an
//! embedding row's elements, a tree node's feature, threshold and children) shares one
//! selector.

use zkinfer_ir::Source;

use super::{wrap, Layout, Wire};
use crate::grid::{Adv, Grid, Sel};
use crate::CircuitError;

impl<G: Grid> Layout<'_, G> {
    /// The one-hot selector of index `index` over `keys`: `e_j ∈ {0, 1}`, `Σ e_j = 1`,
    /// `Σ key_j·e_j = index`. Built once per index element and key list (`at`: the index's
    /// node and element) and shared by every selection by it.
    pub fn selector(
        &mut self,
        at: (usize, usize),
        index: &Wire<G::Cell>,
        keys: &[i64],
        node: &str,
    ) -> Result<Vec<Wire<G::Cell>>, CircuitError> {
        let cache_key = (at.0, at.1, keys.to_vec());
        if let Some(e) = self.selectors.get(&cache_key) {
            return Ok(e.clone());
        }
        let picked = match index.value {
            Some(v) => {
                Some(
                    keys.iter()
                        .position(|k| *k == v)
                        .ok_or_else(|| CircuitError::Layout {
                            node: node.into(),
                            reason: format!("index {v} is none of the positions it may select"),
                        })?,
                )
            }
            None => None,
        };
        let entry = |j: usize| picked.map(|p| i64::from(p == j));
        let mut e = Vec::with_capacity(keys.len());
        let total = match self.booleans {
            // The entries witnessed in the lanes of their own sum's chain, whose rows' gate
            // makes each lane 0 or 1: booleanity and sum in `⌈n/L⌉` rows.
            true => {
                self.place("select.e", self.row);
                wrap(
                    self.chain(keys.len(), -1, Some(Sel::Bool), |l, j, lane, row| {
                        let cell = l.grid.advice(Adv::X(lane), row, entry(j))?;
                        e.push(Wire {
                            cell,
                            value: entry(j),
                            acc_row: None,
                        });
                        Ok((entry(j), 1))
                    }),
                )?
            }
            // A circuit without that gate (an artifact compiled before it): one witness row
            // and one `e·e − e = 0` row per entry, then the sum.
            false => {
                for j in 0..keys.len() {
                    let ej = self.witness(entry(j), "select.e")?;
                    let boolean = wrap(self.arith(&ej, Some(&ej), [1, -1, 0, 0]))?;
                    wrap(self.grid.zero(&boolean.cell))?;
                    e.push(ej);
                }
                let ones: Vec<(&Wire<G::Cell>, i64)> = e.iter().map(|w| (w, 1)).collect();
                wrap(self.dot(&ones, -1))?
            }
        };
        wrap(self.grid.zero(&total.cell))?;
        let keyed: Vec<(&Wire<G::Cell>, i64)> = e.iter().zip(keys).map(|(w, &k)| (w, k)).collect();
        let key = wrap(self.dot(&keyed, 0))?;
        let diff = wrap(self.arith(&key, Some(index), [0, 1, -1, 0]))?;
        wrap(self.grid.zero(&diff.cell))?;
        self.selectors.insert(cache_key, e.clone());
        Ok(e)
    }

    /// `Σ e_j·value_j` for the selector `e` over `choices` (`data`: the wires of the selected
    /// tensor, for `Source::Data`).
    pub fn select(
        &mut self,
        e: &[Wire<G::Cell>],
        data: &[Wire<G::Cell>],
        choices: &[(i64, Source)],
        node: &str,
    ) -> Result<Wire<G::Cell>, CircuitError> {
        let mut products = Vec::new();
        let mut terms: Vec<(usize, i64)> = Vec::with_capacity(choices.len());
        for (j, &(_, src)) in choices.iter().enumerate() {
            match src {
                Source::Const(c) => terms.push((j, c)),
                Source::Data(i) => {
                    let x = data.get(i).ok_or_else(|| CircuitError::Layout {
                        node: node.into(),
                        reason: format!("selects element {i} of a tensor of {}", data.len()),
                    })?;
                    products.push(wrap(self.arith(&e[j], Some(x), [1, 0, 0, 0]))?);
                    terms.push((choices.len() + products.len() - 1, 1));
                }
            }
        }
        let cells: Vec<(&Wire<G::Cell>, i64)> = terms
            .iter()
            .map(|&(i, w)| match i < choices.len() {
                true => (&e[i], w),
                false => (&products[i - choices.len()], w),
            })
            .collect();
        wrap(self.dot(&cells, 0))
    }
}
