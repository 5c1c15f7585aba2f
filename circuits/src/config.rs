//! The columns, gates and lookups of the model circuit.
//!
//! One row has a *main slot* (lanes `x[0..L)`, `acc`) used by the dot-product, arithmetic and
//! division gates, and a *rescale slot* (`q`, `r`, `f`) used by the rescale gate and the two
//! lookups. A rescale can share the row of the value it rescales, so a dot product's final
//! accumulator is rescaled and activated in the row where it lands.

use halo2_axiom::halo2curves::bn256::Fr;
use halo2_axiom::plonk::{
    Advice, Column, ConstraintSystem, Expression, Fixed, Instance, Selector, TableColumn,
};
use halo2_axiom::poly::Rotation;
use serde::{Deserialize, Serialize};
use zkinfer_ir::{Graph, Op, Settings};

mod freivalds;
mod poseidon;

pub use freivalds::{FixedWeightsConfig, FreivaldsConfig};
pub use poseidon::PoseidonConfig;

/// What `configure` needs to know: the number of dot-product lanes, and whether the circuit
/// has the second-phase columns of Freivalds' check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CircuitParams {
    pub lanes: usize,
    #[serde(default)]
    pub freivalds: bool,
    /// The public values are range-checked and packed several to an instance.
    #[serde(default)]
    pub packed: bool,
    /// The inputs are exposed as one Poseidon commitment (an inner shard's inputs).
    #[serde(default)]
    pub commit_inputs: bool,
    /// The outputs are exposed as one Poseidon commitment (an inner shard's outputs).
    #[serde(default)]
    pub commit_outputs: bool,
    /// The committed inputs are range-checked and packed before hashing.
    #[serde(default)]
    pub packed_inputs: bool,
    /// The committed outputs are packed before hashing.
    #[serde(default)]
    pub packed_outputs: bool,
    /// Bits per range-check limb (`TableBounds::limb_bits`).
    #[serde(default)]
    pub limb_bits: u32,
    /// The GELU line gate (`Settings::gelu_line`).
    #[serde(default)]
    pub gelu_line: bool,
    /// The boolean-lanes gate (`Settings::booleans`).
    #[serde(default)]
    pub booleans: bool,
    /// Fixed columns per row of constant matrices' `W·r` (`Settings::weight_lanes`): with
    /// them, products with constant matrices take Freivalds' check where it saves rows (the
    /// circuit has its second phase); 0: none, every such product takes the direct map.
    #[serde(default)]
    pub weight_lanes: usize,
}

impl Default for CircuitParams {
    fn default() -> Self {
        Self {
            lanes: 4,
            freivalds: false,
            packed: false,
            commit_inputs: false,
            commit_outputs: false,
            packed_inputs: false,
            packed_outputs: false,
            limb_bits: zkinfer_ir::DEFAULT_LIMB_BITS,
            gelu_line: false,
            booleans: false,
            weight_lanes: 0,
        }
    }
}

/// Most limbs in one range check: `2·limb_bits` bits. Each count is a gate of its own, and
/// every gate adds code to the Solidity verifier; the planner picks limbs wide enough.
pub const MAX_LIMBS: usize = 2;

impl CircuitParams {
    /// The parameters for `graph` with `lanes` lanes, and as many per row of constant
    /// matrices' `W·r`: see [`CircuitParams::for_graph_with`].
    pub fn for_graph(graph: &Graph, lanes: usize) -> Self {
        Self::for_graph_with(graph, lanes, lanes)
    }

    /// The parameters for `graph` with `lanes` lanes: Freivalds' columns only when the graph
    /// has a product of two witnessed tensors, or a product with a constant matrix that
    /// Freivalds' check (`weight_lanes` entries of `W` per row) lays out in fewer rows than
    /// the direct map; the columns of `W·r` only in the latter case.
    pub fn for_graph_with(graph: &Graph, lanes: usize, weight_lanes: usize) -> Self {
        let fixed = dense_freivalds_pays(graph, lanes, weight_lanes);
        Self {
            lanes,
            freivalds: needs_freivalds(graph) || fixed,
            gelu_line: Settings::needs_gelu_line(graph),
            booleans: Settings::needs_booleans(graph),
            weight_lanes: if fixed { weight_lanes } else { 0 },
            ..Self::default()
        }
    }

    /// The circuit has the second-phase columns of Freivalds' check.
    pub fn second_phase(&self) -> bool {
        self.freivalds || self.weight_lanes > 0
    }

    /// The circuit has the Poseidon gates.
    pub fn poseidon(&self) -> bool {
        self.commit_inputs || self.commit_outputs
    }
}

impl From<&Settings> for CircuitParams {
    fn from(s: &Settings) -> Self {
        Self {
            lanes: s.lanes,
            freivalds: s.freivalds,
            packed: s.packed,
            commit_inputs: s.commits_inputs(),
            commit_outputs: s.commits_outputs(),
            packed_inputs: s.shard.as_ref().is_some_and(|s| s.packed_inputs),
            packed_outputs: s.shard.as_ref().is_some_and(|s| s.packed_outputs),
            limb_bits: s.table.limbs(),
            gelu_line: s.gelu_line,
            booleans: s.booleans,
            weight_lanes: s.weight_lanes,
        }
    }
}

/// The graph has a product of two witnessed tensors (only Freivalds' check proves it).
pub fn needs_freivalds(graph: &Graph) -> bool {
    graph.nodes.iter().any(|n| n.op == Op::MatMul)
}

/// Some product with a constant matrix takes fewer rows by Freivalds' check (`weight_lanes`
/// entries of `W` per row) than by the direct map at `lanes` lanes (in a circuit with the
/// columns of `W·r`, each such product is laid out that way).
pub fn dense_freivalds_pays(graph: &Graph, lanes: usize, weight_lanes: usize) -> bool {
    graph.nodes.iter().any(|n| match &n.op {
        Op::Dense(d) => n.inputs.first().is_some_and(|&i| {
            crate::layout::DenseDims::new(d, &graph.nodes[i].shape)
                .freivalds_pays(lanes, weight_lanes)
        }),
        _ => false,
    })
}

/// Smallest lane count: the arithmetic and division gates use lanes 0..3.
pub const MIN_LANES: usize = 3;

#[derive(Clone, Debug)]
pub struct ModelConfig {
    pub lanes: usize,
    pub x: Vec<Column<Advice>>,
    pub acc: Column<Advice>,
    pub q: Column<Advice>,
    pub r: Column<Advice>,
    pub f: Column<Advice>,
    pub w: Vec<Column<Fixed>>,
    pub c: Column<Fixed>,
    pub chain: Column<Fixed>,
    pub pow: Column<Fixed>,
    pub half: Column<Fixed>,
    pub tag_a: Column<Fixed>,
    pub tag_b: Column<Fixed>,
    pub mul_b: Column<Fixed>,
    pub constants: Column<Fixed>,
    pub cmax: Column<Fixed>,
    pub s_dot: Selector,
    pub s_arith: Selector,
    pub s_rescale: Selector,
    pub s_div: Selector,
    pub s_clamp: Selector,
    /// `s_range[n-1]`: the range unit of `n` limbs starting at this row.
    pub s_range: Vec<Selector>,
    pub s_relu: Selector,
    /// The saturating unit's ends `lo` and `hi` are read from the `half` and `cmax` columns in
    /// the unit's first row (no rescale or clamp gate is enabled there).
    pub s_sat: Selector,
    /// GELU above its table: the output `q[j+2] = f(c) + slope·max(u, 0)`, the slope in the
    /// `pow` column of the unit's first row (only in circuits with GELU).
    pub s_sat_line: Option<Selector>,
    /// Every lane of the row is 0 or 1 (only in circuits that select by a computed index).
    pub s_bool: Option<Selector>,
    pub en_a: Selector,
    pub instance: Column<Instance>,
    pub t_tag: TableColumn,
    pub t_x: TableColumn,
    pub t_y: TableColumn,
    pub freivalds: Option<FreivaldsConfig>,
    pub poseidon: Option<PoseidonConfig>,
}

impl ModelConfig {
    pub fn configure(meta: &mut ConstraintSystem<Fr>, params: CircuitParams) -> Self {
        let lanes = params.lanes.max(MIN_LANES);
        let x: Vec<_> = (0..lanes).map(|_| meta.advice_column()).collect();
        let (acc, q, r, f) = (
            meta.advice_column(),
            meta.advice_column(),
            meta.advice_column(),
            meta.advice_column(),
        );
        for &col in x.iter().chain([&acc, &q, &r, &f]) {
            meta.enable_equality(col);
        }
        let w: Vec<_> = (0..lanes).map(|_| meta.fixed_column()).collect();
        let [c, chain, pow, half, tag_a, tag_b, mul_b, constants, cmax] =
            [(); 9].map(|_| meta.fixed_column());
        meta.enable_constant(constants);
        let instance = meta.instance_column();
        meta.enable_equality(instance);
        let (s_dot, s_arith, s_rescale, s_div, s_clamp) = (
            meta.selector(),
            meta.selector(),
            meta.selector(),
            meta.selector(),
            meta.selector(),
        );
        let en_a = meta.complex_selector();
        let s_range: Vec<Selector> = (0..MAX_LIMBS).map(|_| meta.selector()).collect();
        let s_relu = meta.selector();
        let s_sat = meta.complex_selector();
        let s_sat_line = params.gelu_line.then(|| meta.selector());
        let s_bool = params.booleans.then(|| meta.selector());
        let (t_tag, t_x, t_y) = (
            meta.lookup_table_column(),
            meta.lookup_table_column(),
            meta.lookup_table_column(),
        );

        // dot: acc[next] = chain·acc + c + Σ_i w_i·x_i.
        // `chain` is 0 on a chain's first row, so that row's `acc` cell is free (it holds the
        // previous output's total); weights `w_i` and bias `c` are fixed, so the verifying key
        // commits to the model, and each product costs one advice cell.
        meta.create_gate("dot", |m| {
            let s = m.query_selector(s_dot);
            let acc_cur = m.query_advice(acc, Rotation::cur());
            let acc_next = m.query_advice(acc, Rotation::next());
            let sum = x.iter().zip(&w).fold(
                m.query_fixed(chain, Rotation::cur()) * acc_cur + m.query_fixed(c, Rotation::cur()),
                |e, (&xi, &wi)| {
                    e + m.query_fixed(wi, Rotation::cur()) * m.query_advice(xi, Rotation::cur())
                },
            );
            vec![s * (acc_next - sum)]
        });

        // arith: acc = w0·x0·x1 + w1·x0 + w2·x1 + c — Add, Sub, Mul, and constant affine maps.
        meta.create_gate("arith", |m| {
            let s = m.query_selector(s_arith);
            let (x0, x1) = (
                m.query_advice(x[0], Rotation::cur()),
                m.query_advice(x[1], Rotation::cur()),
            );
            let [w0, w1, w2] = [0, 1, 2].map(|i| m.query_fixed(w[i], Rotation::cur()));
            let rhs = w0 * x0.clone() * x1.clone()
                + w1 * x0
                + w2 * x1
                + m.query_fixed(c, Rotation::cur());
            vec![s * (m.query_advice(acc, Rotation::cur()) - rhs)]
        });

        // rescale: acc + half = pow·q + r, with pow = 2^s and half = 2^(s-1) (0 when s = 0),
        // s ≤ l. Lookup B bounds r·2^(l-s) to the range table [0, 2^l), i.e. r ∈ [0, 2^s), and
        // q is bounded by its range unit (or by the function table it is looked up in). With
        // acc and q small integers, r·2^(l-s) = (acc + half)·2^(l-s) − q·2^l holds over the
        // integers, so q = floor((acc + half) / 2^s) is the only solution.
        meta.create_gate("rescale", |m| {
            let s = m.query_selector(s_rescale);
            let lhs = m.query_advice(acc, Rotation::cur()) + m.query_fixed(half, Rotation::cur());
            let rhs = m.query_fixed(pow, Rotation::cur()) * m.query_advice(q, Rotation::cur())
                + m.query_advice(r, Rotation::cur());
            vec![s * (lhs - rhs)]
        });

        // div: 2·e·2^o + s = p·2s + r and q = 2s - 1 - r, with e = x0, s = x1, p = x2, pow = 2^o.
        // r ≥ 0 and q ≥ 0 are range-checked (by lookups B and A against the range table when
        // they fit one limb, by range units otherwise), so r < 2s; p is bounded by its own
        // range unit. Then p = round(e·2^o / s) exactly.
        meta.create_gate("div", |m| {
            let s = m.query_selector(s_div);
            let (e, sum, p) = (
                m.query_advice(x[0], Rotation::cur()),
                m.query_advice(x[1], Rotation::cur()),
                m.query_advice(x[2], Rotation::cur()),
            );
            let rem = m.query_advice(r, Rotation::cur());
            let two = Expression::Constant(Fr::from(2));
            let one = Expression::Constant(Fr::from(1));
            let div = two.clone() * e * m.query_fixed(pow, Rotation::cur()) + sum.clone()
                - two.clone() * sum.clone() * p
                - rem.clone();
            let slack = m.query_advice(q, Rotation::cur()) - (two * sum - one - rem);
            vec![s.clone() * div, s * slack]
        });

        // clamp: r·(cmax - q) = 0. With the rescale gate at pow = 1 (acc = q + r), lookup A's
        // exp domain [0, cmax] and r ≥ 0 (range-checked), this makes q = min(acc, cmax) exactly: a
        // nonzero overflow r forces q = cmax, and q < acc is impossible otherwise. exp(cmax) is
        // 0 in the table, so clamping changes no value.
        meta.create_gate("clamp", |m| {
            let s = m.query_selector(s_clamp);
            let r_cur = m.query_advice(r, Rotation::cur());
            let gap = m.query_fixed(cmax, Rotation::cur()) - m.query_advice(q, Rotation::cur());
            vec![s * r_cur * gap]
        });

        // range (n limbs): a unit of n rows whose rescale slots hold the value v = q[j] (or, in
        // a saturating unit, v = q[j] − q[j+1]), its sign σ = f[j] and the limbs r[j..j+n):
        // σ ∈ {0, 1} and v·(1 − 2σ) − σ = Σ_i 2^(l·i)·r[j+i]. Each limb is looked up in the
        // range table [0, 2^l) (lookup B), so v ∈ [−2^(n·l), 2^(n·l)) and σ = [v < 0] exactly:
        // v ≥ 0 gives v itself, v < 0 gives −v − 1, and the other choice of σ would make the
        // left side negative or ≥ p − 2^(n·l).
        // An exact unit (the activation range of a rescale output or quotient) also looks its
        // top limb up shifted, mul_b = 2^(l−t) (lookup B on the limb itself or on a copy):
        // with the plain lookup keeping it an integer below 2^l, 2^(l−t)·top < 2^l makes
        // top < 2^t, so the magnitude is below 2^((n−1)·l + t) = 2^bits exactly.
        let l = params.limb_bits.max(1);
        for (i, &sel) in s_range.iter().enumerate() {
            meta.create_gate("range", |m| {
                let s = m.query_selector(sel);
                let sat = m.query_selector(s_sat);
                let v =
                    m.query_advice(q, Rotation::cur()) - sat * m.query_advice(q, Rotation::next());
                let sigma = m.query_advice(f, Rotation::cur());
                let one = Expression::Constant(Fr::one());
                let two = Expression::Constant(Fr::from(2));
                let limbs = (0..=i).fold(Expression::Constant(Fr::zero()), |e, k| {
                    e + Expression::Constant(Fr::from(1u64 << (l as usize * k)))
                        * m.query_advice(r, Rotation(k as i32))
                });
                vec![
                    s.clone() * sigma.clone() * (one.clone() - sigma.clone()),
                    s * (v * (one - two * sigma.clone()) - sigma - limbs),
                ]
            });
        }

        // relu: q[j+1] = q[j]·(1 − σ), the sign σ from the range unit at j.
        meta.create_gate("relu", |m| {
            let s = m.query_selector(s_relu);
            let one = Expression::Constant(Fr::one());
            let out = m.query_advice(q, Rotation::next());
            let v = m.query_advice(q, Rotation::cur());
            vec![s * (out - v * (one - m.query_advice(f, Rotation::cur())))]
        });

        // saturate: c = q[j+1] is the table input for v = q[j], u = v − c range-checked with
        // sign σ by the unit at j. u < 0 forces c = lo, u > 0 forces c = hi (hi is the top of
        // the table, or a value outside it when the function does not saturate above), so
        // with c in the table's domain, c = clamp(v, lo, hi) exactly.
        meta.create_gate("saturate", |m| {
            let s = m.query_selector(s_sat);
            let one = Expression::Constant(Fr::one());
            let v = m.query_advice(q, Rotation::cur());
            let c = m.query_advice(q, Rotation::next());
            let sigma = m.query_advice(f, Rotation::cur());
            let u = v - c.clone();
            let lo = m.query_fixed(half, Rotation::cur());
            let hi = m.query_fixed(cmax, Rotation::cur());
            vec![
                s.clone() * sigma.clone() * (c.clone() - lo),
                s * u * (one - sigma) * (c - hi),
            ]
        });

        // saturate line: beyond the top of GELU's table the output is the line through it,
        // q[j+2] = f[j+1] + slope·u·(1 − σ) with u = q[j] − q[j+1] (0 inside the table).
        if let Some(s_sat_line) = s_sat_line {
            meta.create_gate("saturate line", |m| {
                let s = m.query_selector(s_sat_line);
                let one = Expression::Constant(Fr::one());
                let u = m.query_advice(q, Rotation::cur()) - m.query_advice(q, Rotation::next());
                let above = u * (one - m.query_advice(f, Rotation::cur()));
                let out = m.query_advice(q, Rotation(2));
                let fc = m.query_advice(f, Rotation::next());
                vec![s * (out - fc - m.query_fixed(pow, Rotation::cur()) * above)]
            });
        }

        // boolean lanes: x_i·(x_i − 1) = 0 in every lane. Enabled on the rows of a dot chain
        // whose lanes are one-hot entries witnessed there, it makes the chain both their
        // booleanity and their sum.
        if let Some(s_bool) = s_bool {
            meta.create_gate("boolean lanes", |m| {
                let s = m.query_selector(s_bool);
                let one = Expression::Constant(Fr::one());
                x.iter()
                    .map(|&xi| {
                        let v = m.query_advice(xi, Rotation::cur());
                        s.clone() * v.clone() * (v - one.clone())
                    })
                    .collect::<Vec<_>>()
            });
        }

        // Lookup A: (tag_a, q, f) is a row of the table when enabled.
        meta.lookup("table A (q, f)", |m| {
            let en = m.query_selector(en_a);
            vec![
                (m.query_fixed(tag_a, Rotation::cur()), t_tag),
                (en.clone() * m.query_advice(q, Rotation::cur()), t_x),
                (en * m.query_advice(f, Rotation::cur()), t_y),
            ]
        });
        // Lookup B: (tag_b, mul_b·r, mul_b·r) is a row of the table: with the range table's
        // rows (x, x) for x ∈ [0, 2^l) this is the range check mul_b·r ∈ [0, 2^l): a limb
        // (mul_b = 1), a rescale remainder (mul_b = 2^(l-s)) or the top limb of an exact
        // range unit (mul_b = 2^(l-t), that limb also looked up plainly). mul_b = 0 and
        // tag_b = 0 disable it (the zero row).
        meta.lookup("table B (range of r)", |m| {
            let scaled = m.query_fixed(mul_b, Rotation::cur()) * m.query_advice(r, Rotation::cur());
            vec![
                (m.query_fixed(tag_b, Rotation::cur()), t_tag),
                (scaled.clone(), t_x),
                (scaled, t_y),
            ]
        });

        let freivalds = params
            .second_phase()
            .then(|| FreivaldsConfig::configure(meta, &x, acc, [chain, c], params.weight_lanes));
        let poseidon = params
            .poseidon()
            .then(|| PoseidonConfig::configure(meta, &x, [acc, q, r], &w));
        Self {
            lanes,
            x,
            acc,
            q,
            r,
            f,
            w,
            c,
            chain,
            pow,
            half,
            tag_a,
            tag_b,
            mul_b,
            constants,
            cmax,
            s_dot,
            s_arith,
            s_rescale,
            s_div,
            s_clamp,
            s_range,
            s_relu,
            s_bool,
            s_sat,
            s_sat_line,
            en_a,
            instance,
            t_tag,
            t_x,
            t_y,
            freivalds,
            poseidon,
        }
    }
}

/// Usable rows and blinding factors of a circuit with `params`, from its constraint system.
pub fn blinding_factors(params: CircuitParams) -> usize {
    let mut cs = ConstraintSystem::<Fr>::default();
    ModelConfig::configure(&mut cs, params);
    cs.blinding_factors()
}

/// The halo2 shape of a circuit with `params`: what the prover's quotient works over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CircuitShape {
    /// The largest degree of a gate, lookup or permutation constraint.
    pub degree: usize,
    /// The extended domain is `quotient_parts` times the circuit's: the quotient evaluates
    /// every column on that many cosets of size `2^k` (one FFT of `2^k` each).
    pub quotient_parts: usize,
    pub advice: usize,
    /// Fixed columns, the selectors (one fixed column each) and the table columns included.
    pub fixed: usize,
    pub selectors: usize,
    pub instance: usize,
    /// Columns in the equality (copy) argument: one permutation polynomial each.
    pub permutation: usize,
    /// Grand-product polynomials of the copy argument (`degree − 2` columns each).
    pub permutation_products: usize,
    pub lookups: usize,
}

impl CircuitShape {
    /// Polynomials brought to each coset of the extended domain: fixed, advice, instance,
    /// the three Lagrange polynomials (first, last, active rows), the copy argument's
    /// permutations and products, and each lookup's product and two permuted columns.
    pub fn polys_per_part(&self) -> usize {
        self.fixed
            + self.advice
            + self.instance
            + 3
            + self.permutation
            + self.permutation_products
            + 3 * self.lookups
    }

    /// The proving key's polynomials among them (fixed, the three Lagrange polynomials, the
    /// copy argument's permutations): the same in every proof, what `pk.cosets` holds.
    pub fn key_polys_per_part(&self) -> usize {
        self.fixed + 3 + self.permutation
    }

    /// Bytes of the values in `pk.cosets` at `2^k` rows: 32 per value, every part.
    pub fn key_cosets_bytes(&self, k: u32) -> u64 {
        (self.quotient_parts * self.key_polys_per_part()) as u64 * (32u64 << k)
    }

    /// Estimated seconds per proof that `pk.cosets` saves at `2^k` rows with `cores` cores:
    /// each proving-key polynomial read on each coset instead of brought there by an FFT,
    /// `1.4e-7 s` per value on 2 cores (`cosets_bench` on a GPT-2 small block: 0.16–0.19 s
    /// per polynomial and coset computed, 0.02 s read, at 2^20). More cores speed it up by
    /// √(cores / 2), as the rest of the estimate.
    pub fn key_cosets_seconds_saved(&self, k: u32, cores: usize) -> f64 {
        let values = (self.quotient_parts * self.key_polys_per_part()) as f64 * (1u64 << k) as f64;
        values * 1.4e-7 * (2.0 / cores.max(1) as f64).sqrt()
    }
}

/// The halo2 shape of the circuit with `params` (from its constraint system, no layout).
pub fn circuit_shape(params: CircuitParams) -> CircuitShape {
    let mut cs = ConstraintSystem::<Fr>::default();
    ModelConfig::configure(&mut cs, params);
    let degree = cs.degree();
    let permutation = cs.permutation().get_columns().len();
    let chunk = degree.saturating_sub(2).max(1);
    CircuitShape {
        degree,
        quotient_parts: (degree - 1).next_power_of_two(),
        advice: cs.num_advice_columns(),
        fixed: cs.num_fixed_columns() + cs.num_selectors(),
        selectors: cs.num_selectors(),
        instance: cs.num_instance_columns(),
        permutation,
        permutation_products: permutation.div_ceil(chunk),
        lookups: cs.lookups().len(),
    }
}

/// Number of advice columns, lookup arguments and equality-enabled columns.
pub fn column_counts(params: CircuitParams) -> (usize, usize, usize) {
    let lanes = params.lanes.max(MIN_LANES);
    // Freivalds' accumulators and copies of `B·r`, and the accumulators of `W·r`.
    let second = match params.second_phase() {
        true => 2 + usize::from(params.weight_lanes > 0),
        false => 0,
    };
    (lanes + 4 + second, 2, lanes + 4 + 1 + 1 + second)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_circuit_shape_agrees_with_the_planners_column_counts() {
        for params in [
            CircuitParams::default(),
            CircuitParams {
                lanes: 8,
                freivalds: true,
                weight_lanes: 12,
                gelu_line: true,
                ..CircuitParams::default()
            },
        ] {
            let shape = circuit_shape(params);
            let (advice, lookups, permutation) = column_counts(params);
            assert_eq!(
                (shape.advice, shape.lookups, shape.permutation),
                (advice, lookups, permutation),
                "{params:?}"
            );
            // Lookups have degree 5 (a selector times a column, against a table column), so
            // the quotient works on 4 cosets.
            assert_eq!((shape.degree, shape.quotient_parts), (5, 4), "{params:?}");
            assert!(shape.fixed > shape.selectors + params.weight_lanes);
        }
    }
}
