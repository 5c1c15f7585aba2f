//! The Poseidon round gates (one round per row).

use halo2_axiom::halo2curves::bn256::Fr;
use halo2_axiom::plonk::{Advice, Column, ConstraintSystem, Expression, Fixed, Selector};
use halo2_axiom::poly::Rotation;

/// One Poseidon round per row (see `crate::poseidon`): the state in lanes 0..3, the round
/// constants in the fixed weights `w[0..3]`, the squares of `x_j + c_j` in `acc`, `q`, `r`,
/// and the next state in the next row's lanes. Squares keep the gates at degree 4:
/// `x' = sq²·(x + c)` is the S-box x⁵.
#[derive(Clone, Debug)]
pub struct PoseidonConfig {
    pub s_full: Selector,
    pub s_partial: Selector,
}

impl PoseidonConfig {
    pub(super) fn configure(
        meta: &mut ConstraintSystem<Fr>,
        x: &[Column<Advice>],
        squares: [Column<Advice>; 3],
        w: &[Column<Fixed>],
    ) -> Self {
        let (s_full, s_partial) = (meta.selector(), meta.selector());
        let mds = crate::poseidon::spec().mds;
        let gate = |m: &mut halo2_axiom::plonk::VirtualCells<'_, Fr>, full: bool| {
            let s = m.query_selector(if full { s_full } else { s_partial });
            let xs: Vec<Expression<Fr>> = (0..3)
                .map(|j| {
                    m.query_advice(x[j], Rotation::cur()) + m.query_fixed(w[j], Rotation::cur())
                })
                .collect();
            let sq: Vec<Expression<Fr>> = squares
                .iter()
                .map(|&c| m.query_advice(c, Rotation::cur()))
                .collect();
            let with_sbox = if full { 3 } else { 1 };
            let mut out: Vec<Expression<Fr>> = (0..with_sbox)
                .map(|j| s.clone() * (sq[j].clone() - xs[j].clone() * xs[j].clone()))
                .collect();
            let after: Vec<Expression<Fr>> = (0..3)
                .map(|j| match j < with_sbox {
                    true => sq[j].clone() * sq[j].clone() * xs[j].clone(),
                    false => xs[j].clone(),
                })
                .collect();
            for (i, row) in mds.iter().enumerate() {
                let next = m.query_advice(x[i], Rotation::next());
                let sum = row
                    .iter()
                    .zip(&after)
                    .fold(Expression::Constant(Fr::zero()), |e, (&c, a)| {
                        e + Expression::Constant(c) * a.clone()
                    });
                out.push(s.clone() * (next - sum));
            }
            out
        };
        meta.create_gate("poseidon full round", |m| gate(m, true));
        meta.create_gate("poseidon partial round", |m| gate(m, false));
        Self { s_full, s_partial }
    }
}
