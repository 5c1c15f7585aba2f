//! Selection by a computed index (gate-free): a one-hot selector `e` over the element's
//! candidates, with `e_j·(e_j − 1) = 0`, `Σ e_j = 1` and `Σ key_j·e_j = index`, and the output
//! `Σ e_j·value_j` (constants as fixed weights of one dot chain, data elements through one
//! product each).

use zkinfer_ir::Source;

use super::{wrap, Layout, Wire};
use crate::grid::Grid;
use crate::CircuitError;

impl<G: Grid> Layout<'_, G> {
    /// The candidate of `choices` whose key equals `index` (`data`: the wires of the selected
    /// tensor, for `Source::Data`).
    pub fn select(
        &mut self,
        index: &Wire<G::Cell>,
        data: &[Wire<G::Cell>],
        choices: &[(i64, Source)],
        node: &str,
    ) -> Result<Wire<G::Cell>, CircuitError> {
        let picked = match index.value {
            Some(v) => Some(choices.iter().position(|(k, _)| *k == v).ok_or_else(|| {
                CircuitError::Layout {
                    node: node.into(),
                    reason: format!("index {v} is none of the positions it may select"),
                }
            })?),
            None => None,
        };
        let mut e = Vec::with_capacity(choices.len());
        for j in 0..choices.len() {
            let ej = self.witness(picked.map(|p| i64::from(p == j)), "select.e")?;
            let boolean = wrap(self.arith(&ej, Some(&ej), [1, -1, 0, 0]))?;
            wrap(self.grid.zero(&boolean.cell))?;
            e.push(ej);
        }
        let ones: Vec<(&Wire<G::Cell>, i64)> = e.iter().map(|w| (w, 1)).collect();
        let total = wrap(self.dot(&ones, -1))?;
        wrap(self.grid.zero(&total.cell))?;
        let keyed: Vec<(&Wire<G::Cell>, i64)> =
            e.iter().zip(choices).map(|(w, &(k, _))| (w, k)).collect();
        let key = wrap(self.dot(&keyed, 0))?;
        let diff = wrap(self.arith(&key, Some(index), [0, 1, -1, 0]))?;
        wrap(self.grid.zero(&diff.cell))?;
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
