//! The Poseidon sponge on the grid (see `crate::poseidon` for the parameters and the sponge):
//! each permutation takes 65 round rows and the row of its output state; absorbing a pair into
//! a state that is not the initial one takes two `arith` rows (`s + m`). A boundary whose
//! values fit the table's domain is packed first (`⌊252 / ⌈log2 W⌉⌋` values per element for a
//! table of width `W`: 16 for the corpus tables), so a value costs one or two packing rows and
//! about two sponge rows instead of 34.

use halo2_axiom::halo2curves::bn256::Fr;
use halo2_axiom::halo2curves::ff::Field;

use zkinfer_ir::Packing;

use super::{wrap, FieldCell, Layout, Wire};
use crate::grid::{fe, Adv, Fix, Grid, Sel};
use crate::poseidon::{is_full_round, sbox, spec, WIDTH};
use crate::CircuitError;

/// A state element: its cell and, when proving, its value.
type Elem<C> = FieldCell<C>;

/// Rows the sponge over `n` field elements takes.
pub fn sponge_rows(n: usize) -> usize {
    let perms = n.div_ceil(2).max(1);
    perms * (crate::poseidon::ROUNDS + 1) + (perms - 1) * 2
}

/// Rows the commitment to `n` boundary values takes: packed by `packing` (range-checked or
/// not), or one element each.
pub fn commit_rows(n: usize, packing: Option<Packing>, range_check: bool) -> usize {
    match packing {
        Some(p) => n * (1 + usize::from(range_check)) + sponge_rows(p.len(n)),
        None => sponge_rows(n),
    }
}

impl<G: Grid> Layout<'_, G> {
    /// `s + m` in one `arith` row, for absorbing `m` into the state element `s`.
    fn absorb(
        &mut self,
        s: &Elem<G::Cell>,
        m: &Elem<G::Cell>,
    ) -> Result<Elem<G::Cell>, CircuitError> {
        let row = self.fresh_row();
        self.place("poseidon absorb", row);
        let value = s.1.zip(m.1).map(|(a, b)| a + b);
        let g = &mut *self.grid;
        wrap((|| {
            g.enable(Sel::Arith, row)?;
            let x0 = g.advice_field(Adv::X(0), row, s.1)?;
            g.copy(&s.0, &x0)?;
            let x1 = g.advice_field(Adv::X(1), row, m.1)?;
            g.copy(&m.0, &x1)?;
            for (i, w) in [0, 1, 1].into_iter().enumerate() {
                g.fixed(Fix::W(i), row, w)?;
            }
            g.fixed(Fix::C, row, 0)?;
            Ok((g.advice_field(Adv::Acc, row, value)?, value))
        })())
    }

    /// Poseidon commitment to a shard boundary's `values` (packed by `packing` first when
    /// given, see `crate::poseidon::commit_boundary`), exposed as instance `index`. Values
    /// that are free witnesses (a shard's inputs) need `range_check` for the packing to bind
    /// them.
    pub(super) fn commit(
        &mut self,
        values: &[Wire<G::Cell>],
        index: usize,
        packing: Option<Packing>,
        range_check: bool,
    ) -> Result<(), CircuitError> {
        let values: Vec<Elem<G::Cell>> = match packing {
            Some(p) => self.pack(values, p, range_check)?,
            None => values
                .iter()
                .map(|w| (w.cell.clone(), w.value.map(fe)))
                .collect(),
        };
        self.sponge(&values, index)
    }

    /// The sponge over field elements, its output exposed as instance `index`.
    fn sponge(&mut self, values: &[Elem<G::Cell>], index: usize) -> Result<(), CircuitError> {
        let spec = spec();
        let mut state: Option<[Elem<G::Cell>; WIDTH]> = None;
        let pairs: Vec<&[Elem<G::Cell>]> = if values.is_empty() {
            vec![&[]]
        } else {
            values.chunks(2).collect()
        };
        for pair in pairs {
            // The permutation's input: the previous state plus the pair, or [n, a, b].
            let absorbed: Vec<Option<Elem<G::Cell>>> = match &state {
                Some(prev) => {
                    let mut out = vec![Some(prev[0].clone())];
                    for (j, s) in prev.iter().enumerate().skip(1) {
                        out.push(Some(match pair.get(j - 1) {
                            Some(m) => self.absorb(s, m)?,
                            None => s.clone(),
                        }));
                    }
                    out
                }
                None => vec![None; WIDTH],
            };
            let first = self.fresh_block(spec.round_constants.len());
            self.place("poseidon", first);
            let g = &mut *self.grid;
            let mut cur: Vec<Elem<G::Cell>> = Vec::with_capacity(WIDTH);
            for (j, from) in absorbed.into_iter().enumerate() {
                let elem = match (from, j) {
                    (Some((cell, v)), _) => {
                        let c = wrap(g.advice_field(Adv::X(j), first, v))?;
                        wrap(g.copy(&cell, &c))?;
                        (c, v)
                    }
                    (None, 0) => {
                        let v = Fr::from(values.len() as u64);
                        let c = wrap(g.advice_field(Adv::X(0), first, Some(v)))?;
                        wrap(g.constant(&c, v))?;
                        (c, Some(v))
                    }
                    (None, _) => match pair.get(j - 1) {
                        Some(m) => {
                            let c = wrap(g.advice_field(Adv::X(j), first, m.1))?;
                            wrap(g.copy(&m.0, &c))?;
                            (c, m.1)
                        }
                        None => {
                            let c = wrap(g.advice_field(Adv::X(j), first, Some(Fr::ZERO)))?;
                            wrap(g.constant(&c, Fr::ZERO))?;
                            (c, Some(Fr::ZERO))
                        }
                    },
                };
                cur.push(elem);
            }
            for (r, rc) in spec.round_constants.iter().enumerate() {
                let row = first + r;
                let full = is_full_round(r);
                let shifted: Vec<Option<Fr>> =
                    (0..WIDTH).map(|j| cur[j].1.map(|v| v + rc[j])).collect();
                // The round's output lands in the next row, which must be the next one taken.
                let next_row = self.fresh_row();
                debug_assert_eq!(next_row, row + 1);
                let g2 = &mut *self.grid;
                let next = wrap((|| {
                    g2.enable(
                        if full {
                            Sel::PoseidonFull
                        } else {
                            Sel::PoseidonPartial
                        },
                        row,
                    )?;
                    let square_cols = [Adv::Acc, Adv::Q, Adv::R];
                    let mut after = Vec::with_capacity(WIDTH);
                    for j in 0..WIDTH {
                        g2.fixed_field(Fix::W(j), row, rc[j])?;
                        if j == 0 || full {
                            g2.advice_field(square_cols[j], row, shifted[j].map(|v| v.square()))?;
                            after.push(shifted[j].map(sbox));
                        } else {
                            after.push(shifted[j]);
                        }
                    }
                    let mut next = Vec::with_capacity(WIDTH);
                    for (i, m_row) in spec.mds.iter().enumerate() {
                        let v = after
                            .iter()
                            .zip(m_row)
                            .try_fold(Fr::ZERO, |acc, (a, m)| a.map(|a| acc + *m * a));
                        next.push((g2.advice_field(Adv::X(i), row + 1, v)?, v));
                    }
                    Ok(next)
                })())?;
                cur = next;
            }
            state = Some([cur[0].clone(), cur[1].clone(), cur[2].clone()]);
        }
        let out = state.ok_or_else(|| CircuitError::Layout {
            node: "commitment".into(),
            reason: "no permutation".into(),
        })?;
        wrap(self.grid.expose(&out[1].0, index))
    }
}
