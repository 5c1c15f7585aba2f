//! Freivalds' check of a product `C = A·B` of two witnessed tensors.
//!
//! `C` is witnessed, one entry per row in the `acc` cell, where the rescale after the product
//! shares the row. The check itself runs in the second phase, after every first-phase column
//! (with `A`, `B` and `C`) is committed and the challenge `ρ` is drawn. With
//! `r = (ρ^(p-1), …, ρ, 1)`:
//! - `v_k = (B·r)_k` by Horner's rule over row `k` of `B`, copied into `L` lanes per row;
//! - `u_i = (C·r)_i` by Horner's rule over the `acc` cells of row `i` of `C`;
//! - `Σ_k A_ik · v_k`, one product per row, is copy-constrained to `u_i`.
//!
//! A wrong `C` passes only if `ρ` is a root of the nonzero polynomial `Σ_j (C − A·B)_ij ρ^(p-1-j)`
//! of some row `i`: probability at most `(p − 1) / |F|`.

use halo2_axiom::halo2curves::bn256::Fr;
use halo2_axiom::plonk::Error;
use zkinfer_ir::MatMulDims;

use super::{wrap, Layout, Wire};
use crate::grid::{fe, Adv, Fix, Grid, Sel};
use crate::CircuitError;

/// How a chain's rows step its accumulator `h`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// `h' = ρ^L·h + Σ_i ρ^(L-1-i)·x_i` (gate `freivalds horner`).
    Lanes,
    /// `h' = ρ·h + acc` (gate `freivalds horner acc`).
    Acc,
    /// `h' = h + x_0·v_k` with `v_k` the `k`-th Horner result of `B` (gate `freivalds dot`).
    Dot,
}

/// A chain laid out in the first phase: its first row and, per row, the first-phase values its
/// step reads. Its accumulator cells are assigned in the second phase.
#[derive(Clone, Debug)]
struct Chain {
    start: usize,
    step: Step,
    rows: Vec<Vec<Option<i64>>>,
}

/// The chains of one product block.
#[derive(Clone, Debug, Default)]
pub(super) struct Product {
    b: Vec<Chain>,
    c: Vec<Chain>,
    a: Vec<Chain>,
}

impl<G: Grid> Layout<'_, G> {
    /// Rows of one chain with step `step`: selector and `chain` flag (0 on the first row).
    fn chain_rows(&mut self, step: Step, len: usize) -> Result<Vec<usize>, Error> {
        let sel = match step {
            Step::Lanes => Sel::Horner,
            Step::Acc => Sel::HornerAcc,
            Step::Dot => Sel::FDot,
        };
        (0..len)
            .map(|t| {
                let row = self.fresh_row();
                self.grid.enable(sel, row)?;
                self.grid.fixed(Fix::Chain, row, i64::from(t > 0))?;
                Ok(row)
            })
            .collect()
    }

    /// Block `out_block` of `C = A·B`: lays out `C` and the first-phase rows of its check, and
    /// returns `C`'s wires (row-major). `C` is a witness: its values are the trace's `c` when
    /// given (the circuit checks them), else computed from the wires.
    pub(super) fn matmul_block(
        &mut self,
        [a, b]: [&[Wire<G::Cell>]; 2],
        c: Option<&[i64]>,
        dims: &MatMulDims,
        out_block: usize,
    ) -> Result<Vec<Wire<G::Cell>>, CircuitError> {
        let (ba, bb) = dims.blocks[out_block];
        let (m, n, p, lanes) = (dims.m, dims.n, dims.p, self.lanes);
        let mut product = Product::default();
        // B: row k in ⌈p/L⌉ rows of lanes, zero-padded at the front (leading zeros leave a
        // Horner sum unchanged; each pad is constrained to 0).
        let per = p.div_ceil(lanes).max(1);
        let pad = per * lanes - p;
        for k in 0..n {
            let rows = wrap(self.chain_rows(Step::Lanes, per))?;
            self.place("freivalds.b", rows[0]);
            let mut values = Vec::with_capacity(per);
            for (r, &row) in rows.iter().enumerate() {
                let mut lane_values = Vec::with_capacity(lanes);
                for lane in 0..lanes {
                    let s = r * lanes + lane;
                    let v = if s < pad {
                        let cell = wrap(self.grid.advice(Adv::X(lane), row, Some(0)))?;
                        wrap(self.grid.zero(&cell))?;
                        Some(0)
                    } else {
                        let w = &b[dims.b(bb, k, s - pad)];
                        wrap(self.copy_in(w, Adv::X(lane), row))?;
                        w.value
                    };
                    lane_values.push(v);
                }
                values.push(lane_values);
            }
            product.b.push(Chain {
                start: rows[0],
                step: Step::Lanes,
                rows: values,
            });
        }
        // C: one entry per row in `acc`, where its rescale can share the row.
        let mut out = Vec::with_capacity(m * p);
        for i in 0..m {
            let rows = wrap(self.chain_rows(Step::Acc, p))?;
            self.place("freivalds.c", rows[0]);
            let mut values = Vec::with_capacity(p);
            for (j, &row) in rows.iter().enumerate() {
                let value = match c {
                    Some(c) => Some(c[dims.c(out_block, i, j)]),
                    None => (0..n)
                        .map(|k| {
                            let (x, y) = (a[dims.a(ba, i, k)].value, b[dims.b(bb, k, j)].value);
                            x.zip(y).map(|(x, y)| x as i128 * y as i128)
                        })
                        .sum::<Option<i128>>()
                        .and_then(|v| i64::try_from(v).ok()),
                };
                let cell = wrap(self.grid.advice(Adv::Acc, row, value))?;
                out.push(Wire {
                    cell,
                    value,
                    acc_row: Some(row),
                });
                values.push(vec![value]);
            }
            product.c.push(Chain {
                start: rows[0],
                step: Step::Acc,
                rows: values,
            });
        }
        // A: row i against B·r, one product per row.
        for i in 0..m {
            let rows = wrap(self.chain_rows(Step::Dot, n))?;
            self.place("freivalds.a", rows[0]);
            let mut values = Vec::with_capacity(n);
            for (k, &row) in rows.iter().enumerate() {
                let w = &a[dims.a(ba, i, k)];
                wrap(self.copy_in(w, Adv::X(0), row))?;
                values.push(vec![w.value]);
            }
            product.a.push(Chain {
                start: rows[0],
                step: Step::Dot,
                rows: values,
            });
        }
        self.products.push(product);
        Ok(out)
    }

    /// Ends the first phase and fills every product's check with the challenge.
    pub(super) fn check_products(&mut self) -> Result<(), CircuitError> {
        self.grid.next_phase();
        let rho = self.grid.challenge();
        let products = std::mem::take(&mut self.products);
        for product in &products {
            let v: Vec<(G::Cell, Option<Fr>)> = product
                .b
                .iter()
                .map(|c| self.fill(c, rho, &[]))
                .collect::<Result<_, _>>()?;
            for (c, a) in product.c.iter().zip(&product.a) {
                let (u, _) = self.fill(c, rho, &[])?;
                let (dot, _) = self.fill(a, rho, &v)?;
                wrap(self.grid.copy(&dot, &u))?;
            }
        }
        Ok(())
    }

    /// Assigns the accumulators of `chain` (and, for a dot chain, its copies of `v`); returns
    /// the final accumulator.
    fn fill(
        &mut self,
        chain: &Chain,
        rho: Option<Fr>,
        v: &[(G::Cell, Option<Fr>)],
    ) -> Result<(G::Cell, Option<Fr>), CircuitError> {
        let lanes = self.lanes;
        let pow = |e: usize| rho.map(|r| (0..e).fold(Fr::one(), |acc, _| acc * r));
        let mut h: Option<Fr> = Some(Fr::zero());
        let mut last = None;
        for (t, row_values) in chain.rows.iter().enumerate() {
            let row = chain.start + t;
            let prev = if t == 0 { Some(Fr::zero()) } else { h };
            h = match chain.step {
                Step::Lanes => row_values.iter().enumerate().fold(
                    prev.zip(pow(lanes)).map(|(h, p)| h * p),
                    |acc, (lane, x)| {
                        let term = pow(lanes - 1 - lane).zip(*x).map(|(p, x)| p * fe(x));
                        acc.zip(term).map(|(a, b)| a + b)
                    },
                ),
                Step::Acc => {
                    let x = row_values[0].map(fe);
                    prev.zip(rho).zip(x).map(|((h, r), x)| h * r + x)
                }
                Step::Dot => {
                    let (v_cell, v_value) = &v[t];
                    let cell = wrap(self.grid.advice_field(Adv::V, row, *v_value))?;
                    wrap(self.grid.copy(v_cell, &cell))?;
                    let x = row_values[0].map(fe);
                    prev.zip(x).zip(*v_value).map(|((h, x), v)| h + x * v)
                }
            };
            last = Some(wrap(self.grid.advice_field(Adv::H, row + 1, h))?);
        }
        let cell = last.ok_or_else(|| CircuitError::Layout {
            node: "MatMul".into(),
            reason: "an empty Freivalds chain".into(),
        })?;
        Ok((cell, h))
    }
}
