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
use zkinfer_ir::{Dense, MatMulDims, WeightSide};

use super::{wrap, Layout, Wire};
use crate::grid::{fe, Adv, Fix, Grid, Sel};
use crate::CircuitError;

/// How a chain's rows step its accumulator `h`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// `h' = ρ^L·h + Σ_i ρ^(L-1-i)·x_i` (gate `freivalds horner`).
    Lanes,
    /// `h' = ρ·h + acc − c`, `c` a fixed bias (gate `freivalds horner acc`).
    Acc,
    /// `h' = ρ^L·h + Σ_i ρ^(L-1-i)·w_i` over fixed weights (gate `freivalds horner fixed`).
    Fixed,
    /// `h' = h + x_0·v_k` with `v_k` the `k`-th Horner result of `B` (gate `freivalds dot`).
    Dot,
}

/// The entries of a checked product `C` (row-major wires) and the chains that hold them.
type CChains<C> = (Vec<Wire<C>>, Vec<Chain>);

/// A chain laid out in the first phase: its first row and, per row, the first-phase values its
/// step reads (an `Acc` row: the `acc` value and the fixed bias; a `Fixed` row: the weights).
/// Its accumulator cells are assigned in the second phase.
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
    /// Rows of one chain with step `step`: selector and chain flag (0 on the first row). A
    /// constant matrix's `W·r` chain takes rows of its own columns; the others fresh rows.
    fn chain_rows(&mut self, step: Step, len: usize) -> Result<Vec<usize>, Error> {
        let (sel, flag) = match step {
            Step::Lanes => (Sel::Horner, Fix::Chain),
            Step::Acc => (Sel::HornerAcc, Fix::Chain),
            Step::Fixed => (Sel::HornerFixed, Fix::ChainW),
            Step::Dot => (Sel::FDot, Fix::Chain),
        };
        (0..len)
            .map(|t| {
                let row = match step {
                    Step::Fixed => {
                        self.weight_row += 1;
                        self.weight_row - 1
                    }
                    _ => self.fresh_row(),
                };
                self.grid.enable(sel, row)?;
                self.grid.fixed(flag, row, i64::from(t > 0))?;
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
        let (out, c_chains) = self.c_chains(m, p, |i, j| {
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
            (value, 0)
        })?;
        product.c = c_chains;
        // A: row i against B·r, one product per row.
        product.a = self.dot_chains(m, n, |i, k| &a[dims.a(ba, i, k)])?;
        self.products.push(product);
        Ok(out)
    }

    /// `m` chains of `p` rows, one entry of `C` per row in `acc` (where its rescale can share
    /// the row) and its fixed bias in `c`: `entry(i, j)` gives the value and the bias. Returns
    /// the entries' wires, row-major, and the chains.
    fn c_chains(
        &mut self,
        m: usize,
        p: usize,
        entry: impl Fn(usize, usize) -> (Option<i64>, i64),
    ) -> Result<CChains<G::Cell>, CircuitError> {
        let mut out = Vec::with_capacity(m * p);
        let mut chains = Vec::with_capacity(m);
        for i in 0..m {
            let rows = wrap(self.chain_rows(Step::Acc, p))?;
            self.place("freivalds.c", rows[0]);
            let mut values = Vec::with_capacity(p);
            for (j, &row) in rows.iter().enumerate() {
                let (value, bias) = entry(i, j);
                let cell = wrap(self.grid.advice(Adv::Acc, row, value))?;
                wrap(self.grid.fixed(Fix::C, row, bias))?;
                out.push(Wire {
                    cell,
                    value,
                    acc_row: Some(row),
                });
                values.push(vec![value, Some(bias)]);
            }
            chains.push(Chain {
                start: rows[0],
                step: Step::Acc,
                rows: values,
            });
        }
        Ok((out, chains))
    }

    /// `m` chains of `n` rows: row `i` of `A` (`a(i, k)`) against `B·r`, one product per row.
    fn dot_chains<'w>(
        &mut self,
        m: usize,
        n: usize,
        a: impl Fn(usize, usize) -> &'w Wire<G::Cell>,
    ) -> Result<Vec<Chain>, CircuitError>
    where
        G::Cell: 'w,
    {
        let mut chains = Vec::with_capacity(m);
        for i in 0..m {
            let rows = wrap(self.chain_rows(Step::Dot, n))?;
            self.place("freivalds.a", rows[0]);
            let mut values = Vec::with_capacity(n);
            for (k, &row) in rows.iter().enumerate() {
                let w = a(i, k);
                wrap(self.copy_in(w, Adv::X(0), row))?;
                values.push(vec![w.value]);
            }
            chains.push(Chain {
                start: rows[0],
                step: Step::Dot,
                rows: values,
            });
        }
        Ok(chains)
    }

    /// A product with a constant matrix by Freivalds' check, `Y = X·M + bias` seen as
    /// [`DenseDims`] says: `v = M·r` by Horner's rule over the fixed weights in their own
    /// columns (no advice but the accumulators; these rows run beside the rest), then `X·v = (Y − bias)·r` row by row of `X`. `Y` is a witness: its
    /// values are the trace's `y` when given (the circuit checks them), else computed.
    /// Returns `Y`'s wires in the output's order.
    pub(super) fn dense_freivalds(
        &mut self,
        x: &[Wire<G::Cell>],
        dense: &Dense,
        dims: &DenseDims,
        lanes: usize,
        y: Option<&[i64]>,
        node: &str,
    ) -> Result<Vec<Wire<G::Cell>>, CircuitError> {
        let (w, bias) = (dense.weight.data(), dense.bias.as_ref().map(|b| b.data()));
        let mut product = Product::default();
        // M·r: row k of M in ⌈d_out/L⌉ rows of `L = lanes` fixed weights (the circuit's
        // `weight_lanes`), zero-padded at the front.
        let per = dims.d_out.div_ceil(lanes).max(1);
        let pad = per * lanes - dims.d_out;
        for k in 0..dims.d_in {
            let rows = wrap(self.chain_rows(Step::Fixed, per))?;
            self.place("freivalds.w", rows[0]);
            let mut values = Vec::with_capacity(per);
            for (r, &row) in rows.iter().enumerate() {
                let mut lane_values = Vec::with_capacity(lanes);
                for lane in 0..lanes {
                    let s = r * lanes + lane;
                    let weight = match s.checked_sub(pad) {
                        Some(j) => w[dims.w(k, j)],
                        None => 0,
                    };
                    wrap(self.grid.fixed(Fix::WF(lane), row, weight))?;
                    lane_values.push(Some(weight));
                }
                values.push(lane_values);
            }
            product.b.push(Chain {
                start: rows[0],
                step: Step::Fixed,
                rows: values,
            });
        }
        let (wires, c_chains) = self.c_chains(dims.rows, dims.d_out, |t, j| {
            let at = dims.y(t, j);
            let b = bias.map_or(0, |b| b[at]);
            let value = match y {
                Some(y) => Some(y[at]),
                None => (0..dims.d_in)
                    .map(|k| {
                        x[dims.x(t, k)]
                            .value
                            .map(|v| v as i128 * w[dims.w(k, j)] as i128)
                    })
                    .sum::<Option<i128>>()
                    .and_then(|v| i64::try_from(v + b as i128).ok()),
            };
            (value, b)
        })?;
        product.c = c_chains;
        product.a = self.dot_chains(dims.rows, dims.d_in, |t, k| &x[dims.x(t, k)])?;
        self.products.push(product);
        // The chains hold Y row by row of X; the output's order is the node's.
        let mut out: Vec<Option<Wire<G::Cell>>> = vec![None; wires.len()];
        for (i, wire) in wires.into_iter().enumerate() {
            out[dims.y(i / dims.d_out, i % dims.d_out)] = Some(wire);
        }
        out.into_iter()
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| CircuitError::Layout {
                node: node.into(),
                reason: "the product's rows do not cover its output".into(),
            })
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
        // A row of lanes holds as many values as the chain's gate has lanes.
        let lanes = chain.rows.first().map_or(self.lanes, Vec::len);
        let powers: Option<Vec<Fr>> = rho.map(|r| {
            std::iter::successors(Some(Fr::one()), |p| Some(*p * r))
                .take(lanes + 1)
                .collect()
        });
        let pow = |e: usize| powers.as_ref().map(|p| p[e]);
        let mut h: Option<Fr> = Some(Fr::zero());
        let mut last = None;
        for (t, row_values) in chain.rows.iter().enumerate() {
            let row = chain.start + t;
            let prev = if t == 0 { Some(Fr::zero()) } else { h };
            h = match chain.step {
                Step::Lanes | Step::Fixed => row_values.iter().enumerate().fold(
                    prev.zip(pow(lanes)).map(|(h, p)| h * p),
                    |acc, (lane, x)| {
                        let term = pow(lanes - 1 - lane).zip(*x).map(|(p, x)| p * fe(x));
                        acc.zip(term).map(|(a, b)| a + b)
                    },
                ),
                Step::Acc => {
                    let x = row_values[0].zip(row_values[1]).map(|(x, c)| fe(x) - fe(c));
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
            let col = match chain.step {
                Step::Fixed => Adv::HW,
                _ => Adv::H,
            };
            last = Some(wrap(self.grid.advice_field(col, row + 1, h))?);
        }
        let cell = last.ok_or_else(|| CircuitError::Layout {
            node: "MatMul".into(),
            reason: "an empty Freivalds chain".into(),
        })?;
        Ok((cell, h))
    }
}

/// A product with a constant matrix (`Dense`) as `rows` rows of `X` (`d_in` each) times a
/// `d_in × d_out` matrix `M`: `M = W` when the weight stands on the right, `M = Wᵀ` (and
/// `X = xᵀ`) when it stands on the left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DenseDims {
    pub rows: usize,
    pub d_in: usize,
    pub d_out: usize,
    pub(crate) side: WeightSide,
}

impl DenseDims {
    pub fn new(dense: &Dense, x_shape: &[usize]) -> Self {
        let ws = dense.weight.shape();
        let (a, b) = (
            ws.first().copied().unwrap_or(0),
            ws.get(1).copied().unwrap_or(0),
        );
        match dense.side {
            WeightSide::Right => Self {
                rows: x_shape.iter().product::<usize>() / a.max(1),
                d_in: a,
                d_out: b,
                side: WeightSide::Right,
            },
            WeightSide::Left => Self {
                rows: x_shape.get(1).copied().unwrap_or(1),
                d_in: b,
                d_out: a,
                side: WeightSide::Left,
            },
        }
    }

    /// Flat index into `x` of `X[t][k]`.
    fn x(&self, t: usize, k: usize) -> usize {
        match self.side {
            WeightSide::Right => t * self.d_in + k,
            WeightSide::Left => k * self.rows + t,
        }
    }

    /// Flat index into the output of `Y[t][j]`.
    fn y(&self, t: usize, j: usize) -> usize {
        match self.side {
            WeightSide::Right => t * self.d_out + j,
            WeightSide::Left => j * self.rows + t,
        }
    }

    /// Flat index into the weight of `M[k][j]`.
    fn w(&self, k: usize, j: usize) -> usize {
        match self.side {
            WeightSide::Right => k * self.d_out + j,
            WeightSide::Left => j * self.d_in + k,
        }
    }

    /// Rows of the direct map: one dot chain of `⌈d_in/L⌉` rows per output.
    pub fn direct_rows(&self, lanes: usize) -> usize {
        self.rows * self.d_out * self.d_in.div_ceil(lanes).max(1)
    }

    /// Rows of Freivalds' check: `M·r` over the fixed weights (`d_in·⌈d_out/W⌉` with
    /// `W = weight_lanes` per row, in columns of their own), one row per output entry, one per
    /// product `X·v`.
    pub fn freivalds_rows(&self, weight_lanes: usize) -> usize {
        self.d_in * self.d_out.div_ceil(weight_lanes.max(1)).max(1)
            + self.rows * (self.d_out + self.d_in)
    }

    /// Whether Freivalds' check with `weight_lanes` entries of `M` per row takes fewer rows
    /// than the direct map at `lanes` lanes (an empty product always takes the direct one).
    /// The count is the sum, though `M·r` runs beside the rest: the check is taken only where
    /// it saves rows even laid out after it.
    pub fn freivalds_pays(&self, lanes: usize, weight_lanes: usize) -> bool {
        self.d_in * self.d_out * self.rows > 0
            && weight_lanes > 0
            && self.freivalds_rows(weight_lanes) < self.direct_rows(lanes)
    }
}
