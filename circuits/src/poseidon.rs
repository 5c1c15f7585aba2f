//! Poseidon over BN254's scalar field, natively: the hash that commits to the activations a
//! shard hands to the next one.
//!
//! Parameters: the Poseidon paper's (Grassi et al., eprint 2019/458) x⁵ S-box, width t = 3
//! (rate 2, capacity 1), 8 full and 57 partial rounds, round constants and the Cauchy MDS
//! matrix drawn from the paper's Grain LFSR (`generate_parameters_grain.sage 1 0 254 3 8 57
//! <r>`). This is the parameter set of circomlib's `Poseidon(2)`, the most widely deployed
//! Poseidon on BN254: the permutation of `[0, a, b]` has circomlib's `poseidon([a, b])` as its
//! first element. The constants are generated here from the LFSR, not copied.
//!
//! The sponge over `n` values `m_1 … m_n`: the state starts as `[n, 0, 0]` (the length in the
//! capacity element separates lengths), the values are absorbed two at a time (`state[1] +=
//! m_i`, `state[2] += m_{i+1}`, a zero pads an odd count) with a permutation after each pair,
//! and the commitment is `state[1]`. A signed quantized value `q` is the field element `q`
//! (negative values are `p − |q|`).

use std::sync::OnceLock;

use halo2_axiom::halo2curves::bn256::Fr;
use halo2_axiom::halo2curves::ff::{Field, PrimeField};

use zkinfer_ir::{BinaryKind, Graph, NodeId, Op, Packing, TableBounds, TableFn};

use crate::grid::fe;

/// State width.
pub const WIDTH: usize = 3;
/// Full rounds (half before the partial rounds, half after).
pub const FULL_ROUNDS: usize = 8;
/// Partial rounds.
pub const PARTIAL_ROUNDS: usize = 57;
/// All rounds.
pub const ROUNDS: usize = FULL_ROUNDS + PARTIAL_ROUNDS;

/// Round constants (one per state element and round) and the MDS matrix.
#[derive(Debug)]
pub struct Spec {
    pub round_constants: Vec<[Fr; WIDTH]>,
    pub mds: [[Fr; WIDTH]; WIDTH],
}

/// Whether round `r` applies the S-box to the whole state.
pub fn is_full_round(r: usize) -> bool {
    !(FULL_ROUNDS / 2..FULL_ROUNDS / 2 + PARTIAL_ROUNDS).contains(&r)
}

/// The Grain LFSR of the Poseidon reference, seeded with the field and round parameters.
struct Grain {
    bits: [bool; 80],
    at: usize,
}

impl Grain {
    fn new(field_bits: u16, width: u16, full: u16, partial: u16) -> Self {
        let mut seed = Vec::with_capacity(80);
        let mut push = |v: u16, n: u32| seed.extend((0..n).rev().map(|i| (v >> i) & 1 == 1));
        push(1, 2); // prime field
        push(0, 4); // S-box x^alpha
        push(field_bits, 12);
        push(width, 12);
        push(full, 10);
        push(partial, 10);
        push(0x3ff, 10);
        push(0x3ff, 10);
        push(0x3ff, 10);
        let mut bits = [false; 80];
        bits.copy_from_slice(&seed);
        let mut g = Self { bits, at: 0 };
        for _ in 0..160 {
            g.step();
        }
        g
    }

    fn bit(&self, i: usize) -> bool {
        self.bits[(self.at + i) % 80]
    }

    fn step(&mut self) -> bool {
        let b =
            self.bit(62) ^ self.bit(51) ^ self.bit(38) ^ self.bit(23) ^ self.bit(13) ^ self.bit(0);
        self.bits[self.at] = b;
        self.at = (self.at + 1) % 80;
        b
    }

    /// One output bit: of each pair of generated bits, the second is kept when the first is 1.
    fn next(&mut self) -> bool {
        loop {
            if self.step() {
                return self.step();
            }
            self.step();
        }
    }

    /// `n` output bits, most significant first, as little-endian bytes.
    fn bytes(&mut self, n: usize) -> [u8; 32] {
        let mut out = [0u8; 32];
        for i in (0..n).rev() {
            if self.next() {
                out[i / 8] |= 1 << (i % 8);
            }
        }
        out
    }

    /// A field element by rejection: `n`-bit draws at or above the modulus are discarded.
    fn field_element(&mut self, n: usize) -> Fr {
        loop {
            let mut repr = <Fr as PrimeField>::Repr::default();
            repr.as_mut().copy_from_slice(&self.bytes(n));
            if let Some(v) = Option::<Fr>::from(Fr::from_repr(repr)) {
                return v;
            }
        }
    }

    /// An `n`-bit draw reduced modulo the field (how the reference draws the MDS points).
    fn reduced(&mut self, n: usize) -> Fr {
        let bytes = self.bytes(n);
        (0..n).rev().fold(Fr::ZERO, |acc, i| {
            let bit = (bytes[i / 8] >> (i % 8)) & 1;
            acc.double() + Fr::from(u64::from(bit))
        })
    }
}

/// The parameters, generated once.
pub fn spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| {
        let mut g = Grain::new(254, WIDTH as u16, FULL_ROUNDS as u16, PARTIAL_ROUNDS as u16);
        let round_constants = (0..ROUNDS)
            .map(|_| [(); WIDTH].map(|_| g.field_element(254)))
            .collect();
        // Cauchy matrix 1/(x_i + y_j) over 2t distinct points; for t = 3 the first draw is
        // distinct, invertible and passes the reference's invariant-subspace checks.
        let points: Vec<Fr> = (0..2 * WIDTH).map(|_| g.reduced(254)).collect();
        let mut mds = [[Fr::ZERO; WIDTH]; WIDTH];
        for (i, row) in mds.iter_mut().enumerate() {
            for (j, m) in row.iter_mut().enumerate() {
                *m = Option::<Fr>::from((points[i] + points[WIDTH + j]).invert())
                    .unwrap_or(Fr::ZERO);
            }
        }
        Spec {
            round_constants,
            mds,
        }
    })
}

/// x⁵.
pub fn sbox(x: Fr) -> Fr {
    let sq = x.square();
    sq.square() * x
}

/// The Poseidon permutation: per round, add the round constants, apply the S-box (to every
/// element in a full round, to the first in a partial one), multiply by the MDS matrix.
pub fn permute(state: &mut [Fr; WIDTH]) {
    let spec = spec();
    for (r, rc) in spec.round_constants.iter().enumerate() {
        let mut x = [Fr::ZERO; WIDTH];
        for j in 0..WIDTH {
            x[j] = state[j] + rc[j];
            if j == 0 || is_full_round(r) {
                x[j] = sbox(x[j]);
            }
        }
        for (i, s) in state.iter_mut().enumerate() {
            *s = (0..WIDTH).fold(Fr::ZERO, |acc, j| acc + spec.mds[i][j] * x[j]);
        }
    }
}

/// The sponge hash of `values` (see the module documentation).
pub fn hash(values: &[Fr]) -> Fr {
    let mut state = [Fr::from(values.len() as u64), Fr::ZERO, Fr::ZERO];
    for pair in values.chunks(2) {
        state[1] += pair[0];
        state[2] += pair.get(1).copied().unwrap_or(Fr::ZERO);
        permute(&mut state);
    }
    if values.is_empty() {
        permute(&mut state);
    }
    state[1]
}

/// The commitment to quantized values: [`hash`] of them as field elements.
pub fn commit(values: &[i64]) -> Fr {
    let fs: Vec<Fr> = values.iter().map(|&v| fe(v)).collect();
    hash(&fs)
}

/// The commitment to a shard boundary's values: [`hash`] of them packed by `packing` (see
/// `Packing::for_boundary`), or of the values themselves; `None` when a value lies outside
/// the packing's domain.
pub fn commit_boundary(values: &[i64], packing: Option<Packing>) -> Option<Fr> {
    match packing {
        None => Some(commit(values)),
        Some(p) => {
            let elements: Vec<Fr> = p.pack(values)?.into_iter().map(Fr::from_raw).collect();
            Some(hash(&elements))
        }
    }
}

/// The packing of the boundary tensors `ids` of `graph`: packed when every value lies in the
/// table's domain `[-neg, pos)` or is range-checked into it by the sending shard. A value lies
/// in it when the circuit confines it there: from its bound (see `Packing::for_boundary`),
/// from the exact range check that bounds it (a ReLU or identity rescale's output lies in
/// `[−2^m, 2^m)`, its top limb checked to its own width: see `layout::range`), or
/// because it is one of such values (a maximum, which the circuit constrains to equal one of
/// its window, or an index map: reshape, transpose, concat, gather). A sum or difference of
/// such values, or of such sums (a residual stream), may leave it by a bit per sum: the
/// sending shard checks it into the domain before packing (an input that drives it out fails
/// to prove, as one beyond a table does). The receiving shard range-checks every value before
/// packing.
pub fn boundary_packing(graph: &Graph, ids: &[NodeId], table: &TableBounds) -> Option<Packing> {
    ids.iter()
        .all(|&i| in_table_domain(graph, i, table) || checked_into_domain(graph, i, table))
        .then(|| Packing::for_table(table))
}

/// A residual stream: a sum or difference of values in the table's domain or of such sums,
/// which a sending shard range-checks into it (see [`boundary_packing`]). Its calibrated
/// values lie in the domain like every activation's; the check makes the packing injective
/// whatever the prover computed.
fn checked_into_domain(graph: &Graph, id: NodeId, table: &TableBounds) -> bool {
    let node = &graph.nodes[id];
    let residual = matches!(&node.op, Op::Binary(b)
        if matches!(b.kind, BinaryKind::Add | BinaryKind::Sub)
            && b.lhs_shift == 0
            && b.rhs_shift == 0);
    residual
        && node
            .inputs
            .iter()
            .all(|&i| in_table_domain(graph, i, table) || checked_into_domain(graph, i, table))
}

/// The circuit confines every value of node `id` to the table's domain (see
/// [`boundary_packing`]).
pub fn in_table_domain(graph: &Graph, id: NodeId, table: &TableBounds) -> bool {
    let node = &graph.nodes[id];
    let inputs_in = || {
        node.inputs
            .iter()
            .all(|&i| in_table_domain(graph, i, table))
    };
    match &node.op {
        Op::Rescale(r) if matches!(r.table, TableFn::Relu | TableFn::Identity) => true,
        _ if Packing::for_boundary(table, [node.bound]).is_some() => true,
        Op::Max(_) | Op::Reshape | Op::Transpose(_) | Op::Concat(_) | Op::Gather(_) => inputs_in(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(v: &Fr) -> String {
        let b = v.to_repr();
        let digits: String = b
            .as_ref()
            .iter()
            .rev()
            .map(|x| format!("{x:02x}"))
            .collect();
        format!("0x{digits}")
    }

    #[test]
    fn the_generated_constants_are_the_reference_ones() {
        // First and last round constants and the MDS matrix's first row, as published with
        // circomlib's Poseidon (poseidon_constants.json, t = 3).
        let s = spec();
        assert_eq!(
            hex(&s.round_constants[0][0]),
            "0x0ee9a592ba9a9518d05986d656f40c2114c4993c11bb29938d21d47304cd8e6e"
        );
        assert_eq!(
            hex(&s.round_constants[ROUNDS - 1][2]),
            "0x1da55cc900f0d21f4a3e694391918a1b3c23b2ac773c6b3ef88e2e4228325161"
        );
        assert_eq!(
            hex(&s.mds[0][0]),
            "0x109b7f411ba0e4c9b2b70caf5c36a7b194be7c11ad24378bfedb68592ba8118b"
        );
        assert_eq!(
            hex(&s.mds[2][2]),
            "0x19a3fc0a56702bf417ba7fee3802593fa644470307043f7773279cd71d25d5e0"
        );
    }

    #[test]
    fn the_permutation_matches_circomlib_poseidon_test_vectors() {
        // circomlibjs 0.1.7 `buildPoseidonReference()([a, b])` = permutation([0, a, b])[0].
        for (a, b, want) in [
            (
                1,
                2,
                "0x115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189a",
            ),
            (
                0,
                0,
                "0x2098f5fb9e239eab3ceac3f27b81e481dc3124d55ffed523a839ee8446b64864",
            ),
            (
                3,
                5,
                "0x0f0044cfe436e6a40984346b6cfab873c8bb8ff079be9d03738ddc67a89faf08",
            ),
        ] {
            let mut state = [Fr::ZERO, Fr::from(a), Fr::from(b)];
            permute(&mut state);
            assert_eq!(hex(&state[0]), want, "poseidon([{a}, {b}])");
        }
    }

    #[test]
    fn the_commitment_separates_lengths_orders_and_values() {
        let base = commit(&[1, -2, 3]);
        assert_ne!(base, commit(&[1, -2, 3, 0]), "zero padding is not a value");
        assert_ne!(base, commit(&[-2, 1, 3]));
        assert_ne!(base, commit(&[1, -2, 4]));
        assert_eq!(base, commit(&[1, -2, 3]));
    }
}
