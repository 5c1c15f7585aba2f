//! Freivalds' second-phase columns and gates, and the constant matrices' own columns.

use halo2_axiom::halo2curves::bn256::Fr;
use halo2_axiom::plonk::{
    Advice, Challenge, Column, ConstraintSystem, Expression, FirstPhase, Fixed, SecondPhase,
    Selector, VirtualCells,
};
use halo2_axiom::poly::Rotation;

/// Freivalds' check of a witnessed product `C = A·B`: a challenge `ρ` drawn after every
/// first-phase column (so after `A`, `B` and `C`) is committed, and two second-phase columns.
/// With `r = (ρ^(p-1), …, ρ, 1)` the circuit computes `B·r` and `C·r` by Horner's rule and
/// checks `A·(B·r) = C·r` row by row of `A`.
#[derive(Clone, Debug)]
pub struct FreivaldsConfig {
    pub challenge: Challenge,
    /// Horner accumulators and dot-product accumulators.
    pub h: Column<Advice>,
    /// The entries of `B·r`, copied next to the row of `A` they multiply.
    pub v: Column<Advice>,
    /// `h[next] = chain·ρ^L·h + Σ_i ρ^(L-1-i)·x_i`: Horner over `L` lanes per row.
    pub s_horner: Selector,
    /// `h[next] = chain·ρ·h + acc − c`: Horner over one `acc` cell per row, less a fixed bias.
    pub s_horner_acc: Selector,
    /// `h[next] = chain·h + x_0·v`: one product per row of `A·(B·r)`.
    pub s_fdot: Selector,
    /// The columns of constant matrices' `W·r` (circuits with `weight_lanes`).
    pub fixed: Option<FixedWeightsConfig>,
}

/// A constant matrix's `W·r` by Horner's rule over its entries, `L` per row, in fixed columns
/// of their own with their own accumulator: `h[next] = chain·ρ^L·h + Σ_i ρ^(L-1-i)·w_i`
/// (gate `freivalds horner fixed`). Nothing else reads these columns, so the matrices' rows
/// run beside the rest of the layout, from row 0, instead of after it.
#[derive(Clone, Debug)]
pub struct FixedWeightsConfig {
    pub w: Vec<Column<Fixed>>,
    pub chain: Column<Fixed>,
    /// Second phase: the Horner accumulators.
    pub h: Column<Advice>,
    pub s_horner: Selector,
}

impl FreivaldsConfig {
    pub(super) fn configure(
        meta: &mut ConstraintSystem<Fr>,
        x: &[Column<Advice>],
        acc: Column<Advice>,
        [chain, c]: [Column<Fixed>; 2],
        weight_lanes: usize,
    ) -> Self {
        let challenge = meta.challenge_usable_after(FirstPhase);
        let h = meta.advice_column_in(SecondPhase);
        let v = meta.advice_column_in(SecondPhase);
        meta.enable_equality(h);
        meta.enable_equality(v);
        let [s_horner, s_horner_acc, s_fdot] = [(); 3].map(|_| meta.selector());
        let lanes = x.len();
        // Horner over one row of `n` lanes into accumulator `h` chained by `chain`, the lanes
        // advice (`x`) or fixed (a matrix's own columns).
        let horner =
            |m: &mut VirtualCells<'_, Fr>,
             s: Selector,
             (h, chain, lanes): (Column<Advice>, Column<Fixed>, usize),
             lane: &dyn Fn(&mut VirtualCells<'_, Fr>, usize) -> Expression<Fr>| {
                let s = m.query_selector(s);
                let rho = m.query_challenge(challenge);
                let pow = |e: usize| {
                    (0..e).fold(Expression::Constant(Fr::one()), |acc, _| acc * rho.clone())
                };
                let h_cur = m.query_advice(h, Rotation::cur());
                let h_next = m.query_advice(h, Rotation::next());
                let sum = (0..lanes).fold(
                    m.query_fixed(chain, Rotation::cur()) * pow(lanes) * h_cur,
                    |e, i| e + pow(lanes - 1 - i) * lane(m, i),
                );
                vec![s * (h_next - sum)]
            };
        meta.create_gate("freivalds horner", |m| {
            horner(m, s_horner, (h, chain, lanes), &|m, i| {
                m.query_advice(x[i], Rotation::cur())
            })
        });
        let fixed = (weight_lanes > 0).then(|| {
            let w: Vec<_> = (0..weight_lanes).map(|_| meta.fixed_column()).collect();
            let chain = meta.fixed_column();
            let h = meta.advice_column_in(SecondPhase);
            meta.enable_equality(h);
            let s_horner = meta.selector();
            meta.create_gate("freivalds horner fixed", |m| {
                horner(m, s_horner, (h, chain, weight_lanes), &|m, i| {
                    m.query_fixed(w[i], Rotation::cur())
                })
            });
            FixedWeightsConfig {
                w,
                chain,
                h,
                s_horner,
            }
        });
        meta.create_gate("freivalds horner acc", |m| {
            let s = m.query_selector(s_horner_acc);
            let rho = m.query_challenge(challenge);
            let h_cur = m.query_advice(h, Rotation::cur());
            let h_next = m.query_advice(h, Rotation::next());
            let step = m.query_fixed(chain, Rotation::cur()) * rho * h_cur
                + m.query_advice(acc, Rotation::cur())
                - m.query_fixed(c, Rotation::cur());
            vec![s * (h_next - step)]
        });
        meta.create_gate("freivalds dot", |m| {
            let s = m.query_selector(s_fdot);
            let h_cur = m.query_advice(h, Rotation::cur());
            let h_next = m.query_advice(h, Rotation::next());
            let step = m.query_fixed(chain, Rotation::cur()) * h_cur
                + m.query_advice(x[0], Rotation::cur()) * m.query_advice(v, Rotation::cur());
            vec![s * (h_next - step)]
        });
        Self {
            challenge,
            h,
            v,
            s_horner,
            s_horner_acc,
            s_fdot,
            fixed,
        }
    }
}
