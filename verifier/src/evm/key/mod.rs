//! The verifying-key contract of zkinfer's own Solidity verifier.
//!
//! One verifier contract (`Halo2Verifier.sol`, the same bytecode for every model) reads the
//! model's verifying key from a separate contract with `EXTCODECOPY`: the transcript's
//! segments, the constants, the preprocessed commitments, the SRS points and the SHPLONK query
//! sets' rotations. The key contract's code is also a program, generated here for the model:
//! the verifier calls it with the scalars it has computed (evaluations, challenges, Lagrange
//! values, inverted SHPLONK weights) and gets back the scalar of every commitment and of the
//! generator, after the program has evaluated the circuit's constraint expression and the
//! quotient. The verifier's own code therefore does not grow with the circuit, and the
//! per-model arithmetic runs as straight-line code (about 30 gas an operation) instead of an
//! interpreter's loop. This module builds the key from a bundle.
//!
//! The circuit's constraint system becomes a PLONK protocol through snark-verifier's halo2
//! translation (the same queries, evaluation order and quotient expression its own Solidity
//! verifier unrolls); the verification itself follows its SHPLONK verifier, so both contracts
//! accept exactly the same proofs.
//!
//! # Layout
//!
//! The key contract's runtime code is the program, which starts with `PUSH2 len POP` (its own
//! length, where the data starts), then the data. The data is a header of [`HEADER_WORDS`]
//! 32-byte words, then tables whose byte offsets (from the data's start) the header gives.
//! Scalars live in one table of 32-byte *slots*:
//!
//! | slots | what |
//! |---|---|
//! | `0 .. E` | the evaluations read from the proof |
//! | `E`, `E + 1` | the instance polynomial's evaluation, the quotient's evaluation |
//! | `CH ..` | every challenge squeezed: the protocol's, then `z`, `mu`, `gamma`, `z'` |
//! | `LAG ..` | the Lagrange polynomials the expression uses, evaluated at `z` |
//! | `SH ..` | `1/(zⁿ - 1)`, each query set's `cc`, each set's weights scaled by `cc / Σ w` |
//! | `CONST ..` | constants: the expression's, `ω^i`, the SHPLONK set weights' `ell` |
//! | `TEMP ..` | the program's registers, then its outputs (in the key contract's memory) |
//!
//! The program copies its calldata (slots `0 .. TEMP`) to memory, runs each instruction
//! `dst = a op b` modulo the scalar field as straight-line EVM code ([`Key::program`]), and
//! returns the commitments' scalars then the generator's.

use halo2_axiom::halo2curves::bn256::{Fq, Fr, G1Affine, G2Affine};
use halo2_axiom::halo2curves::ff::{Field, PrimeField};
use halo2_axiom::halo2curves::CurveAffine;

mod build;
mod program;

pub use build::build;

/// The first header word: the layout's name and version, left-aligned ASCII.
pub const MAGIC: &[u8; 16] = b"zkinfer-vk-v1\0\0\0";
/// Words in the header.
pub const HEADER_WORDS: usize = 32;

/// An instruction's operation on slots: `dst = a op b` modulo the scalar field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Op {
    Add = 0,
    Mul = 1,
    Sub = 2,
    /// `dst = -a` (`b` is `a` and unused).
    Neg = 3,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Instruction {
    pub op: Op,
    pub dst: u16,
    pub a: u16,
    pub b: u16,
}

/// One stretch of the proof: `points` G1 points and `scalars` scalars absorbed, then
/// `squeezes` challenges squeezed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub points: u16,
    pub scalars: u16,
    pub squeezes: u16,
}

/// A SHPLONK query set: polynomials opened at the same rotations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuerySet {
    /// Indices into [`Key::rotations`].
    pub shifts: Vec<u16>,
    /// Constant slots of `Π_{i≠j} (ω^{r_j} − ω^{r_i})`, one per shift.
    pub ell: Vec<u16>,
    /// `(commitment, evaluation slot per shift)`: commitments number the distinct preprocessed
    /// points, then the proof's witness points, then the quotient (its chunks `Σ zⁿⁱ·Qᵢ`).
    pub polys: Vec<(u16, Vec<u16>)>,
}

/// A model's verifying key as the contract reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    pub num_instance: usize,
    pub k: u32,
    pub omega: Fr,
    pub n_inv: Fr,
    pub initial_state: Fr,
    pub num_evals: usize,
    pub num_chunks: usize,
    /// Witness commitments in the proof, before the quotient chunks.
    pub num_witness: usize,
    /// Challenges the constraint expression may use (before `z`).
    pub num_protocol_challenges: usize,
    pub segments: Vec<Segment>,
    /// The distinct preprocessed commitments (equal fixed columns share one).
    pub preprocessed: Vec<G1Affine>,
    pub g1: G1Affine,
    pub g2: G2Affine,
    pub s_g2: G2Affine,
    pub constants: Vec<Fr>,
    /// Constant slots of `ω^i`, one per Lagrange polynomial used.
    pub lagranges: Vec<u16>,
    pub instructions: Vec<Instruction>,
    /// The slot of the constraint expression's value.
    pub result: u16,
    /// Constant slots of `ω^r`, one per rotation queried.
    pub rotations: Vec<u16>,
    pub sets: Vec<QuerySet>,
    /// Slots used (the temporaries end there).
    pub num_slots: usize,
}

impl Key {
    pub fn challenge_base(&self) -> usize {
        self.num_evals + 2
    }
    pub fn lagrange_base(&self) -> usize {
        self.challenge_base() + self.num_protocol_challenges + 4
    }
    /// The SHPLONK inputs the verifier computes: `1/(zⁿ - 1)`, then each set's `cc`, then
    /// each set's weights scaled by `cc / Σ w`.
    pub fn shplonk_base(&self) -> usize {
        self.lagrange_base() + self.lagranges.len()
    }
    /// Weights of all query sets (one per set and rotation).
    pub fn num_weights(&self) -> usize {
        self.sets.iter().map(|s| s.shifts.len()).sum()
    }
    pub fn constant_base(&self) -> usize {
        self.shplonk_base() + 1 + self.sets.len() + self.num_weights()
    }
    /// Commitments whose scalars the program returns: the distinct preprocessed points, the
    /// witness points, the quotient.
    pub fn num_commitments(&self) -> usize {
        self.preprocessed.len() + self.num_witness + 1
    }
    pub fn temp_base(&self) -> usize {
        self.constant_base() + self.constants.len()
    }
    /// Bytes of proof: the points and scalars of every segment.
    pub fn proof_len(&self) -> usize {
        self.segments
            .iter()
            .map(|s| 64 * s.points as usize + 32 * s.scalars as usize)
            .sum()
    }
    /// The verifier's calldata size: key address, instances, proof.
    pub fn calldata_len(&self) -> usize {
        32 + 32 * self.num_instance + self.proof_len()
    }
}

/// Why a bundle has no key for the compact verifier.
#[derive(Clone, Debug, thiserror::Error)]
#[error("the circuit cannot be expressed for the compact EVM verifier: {0}")]
pub struct KeyError(pub String);

fn err(msg: impl Into<String>) -> KeyError {
    KeyError(msg.into())
}

fn word(v: usize) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&(v as u64).to_be_bytes());
    w
}

fn fr_word(f: &Fr) -> [u8; 32] {
    let mut w = f.to_repr();
    w.reverse();
    w
}

fn fq_word(f: &Fq) -> [u8; 32] {
    let mut w = f.to_repr();
    w.reverse();
    w
}

fn g1_bytes(p: &G1Affine) -> Vec<u8> {
    let c = p.coordinates();
    let (x, y) = Option::from(c.map(|c| (*c.x(), *c.y()))).unwrap_or((Fq::ZERO, Fq::ZERO));
    [fq_word(&x), fq_word(&y)].concat()
}

/// The precompile's encoding of a G2 point: `x.c1, x.c0, y.c1, y.c0`.
fn g2_bytes(p: &G2Affine) -> Vec<u8> {
    let c = p.coordinates();
    let zero = Default::default();
    let (x, y) = Option::from(c.map(|c| (*c.x(), *c.y()))).unwrap_or((zero, zero));
    [
        fq_word(&x.c1),
        fq_word(&x.c0),
        fq_word(&y.c1),
        fq_word(&y.c0),
    ]
    .concat()
}

fn u16s(out: &mut Vec<u8>, values: impl IntoIterator<Item = u16>) {
    for v in values {
        out.extend(v.to_be_bytes());
    }
}

/// Header word indices.
pub mod header {
    pub const MAGIC: usize = 0;
    pub const NUM_INSTANCE: usize = 1;
    pub const CALLDATA_LEN: usize = 2;
    pub const K: usize = 3;
    pub const OMEGA: usize = 4;
    pub const N_INV: usize = 5;
    pub const INITIAL_STATE: usize = 6;
    pub const NUM_EVALS: usize = 7;
    pub const NUM_CHUNKS: usize = 8;
    pub const NUM_WITNESS: usize = 9;
    pub const NUM_PROTOCOL_CHALLENGES: usize = 10;
    pub const NUM_SEGMENTS: usize = 11;
    pub const SEGMENTS: usize = 12;
    pub const NUM_PREPROCESSED: usize = 13;
    pub const PREPROCESSED: usize = 14;
    pub const SRS: usize = 15;
    pub const NUM_CONSTANTS: usize = 16;
    pub const CONSTANTS: usize = 17;
    pub const CONSTANT_BASE: usize = 18;
    pub const NUM_LAGRANGES: usize = 19;
    pub const LAGRANGES: usize = 20;
    pub const LAGRANGE_BASE: usize = 21;
    pub const NUM_TEMPS: usize = 22;
    pub const PROGRAM_LEN: usize = 23;
    pub const SHPLONK_BASE: usize = 24;
    pub const NUM_ROTATIONS: usize = 25;
    pub const ROTATIONS: usize = 26;
    pub const NUM_SETS: usize = 27;
    pub const SETS: usize = 28;
    pub const NUM_SLOTS: usize = 29;
    pub const CHALLENGE_BASE: usize = 30;
    pub const DATA_LEN: usize = 31;
}

impl Key {
    /// The data the key contract holds (after its program).
    pub fn encode(&self) -> Vec<u8> {
        self.encode_after(self.program().len())
    }

    /// [`Key::encode`] for a program of `program_len` bytes (its length is in the header).
    fn encode_after(&self, program_len: usize) -> Vec<u8> {
        let mut tables = Vec::new();
        let base = 32 * HEADER_WORDS;
        let at = |tables: &mut Vec<u8>, bytes: Vec<u8>| {
            let offset = base + tables.len();
            tables.extend(bytes);
            offset
        };
        let mut seg = Vec::new();
        u16s(
            &mut seg,
            self.segments
                .iter()
                .flat_map(|s| [s.points, s.scalars, s.squeezes]),
        );
        let segments = at(&mut tables, seg);
        let preprocessed = at(
            &mut tables,
            self.preprocessed.iter().flat_map(g1_bytes).collect(),
        );
        let srs = at(
            &mut tables,
            [
                g1_bytes(&self.g1),
                g2_bytes(&self.g2),
                g2_bytes(&-self.s_g2),
            ]
            .concat(),
        );
        let constants = at(
            &mut tables,
            self.constants.iter().flat_map(fr_word).collect(),
        );
        let mut lag = Vec::new();
        u16s(&mut lag, self.lagranges.iter().copied());
        let lagranges = at(&mut tables, lag);
        let mut rot = Vec::new();
        u16s(&mut rot, self.rotations.iter().copied());
        let rotations = at(&mut tables, rot);
        let mut sets = Vec::new();
        for s in &self.sets {
            u16s(&mut sets, [s.shifts.len() as u16, s.polys.len() as u16]);
            u16s(&mut sets, s.shifts.iter().copied());
            u16s(&mut sets, s.ell.iter().copied());
        }
        let sets = at(&mut tables, sets);

        let mut h = vec![[0u8; 32]; HEADER_WORDS];
        h[header::MAGIC][..16].copy_from_slice(MAGIC);
        h[header::NUM_INSTANCE] = word(self.num_instance);
        h[header::CALLDATA_LEN] = word(self.calldata_len());
        h[header::K] = word(self.k as usize);
        h[header::OMEGA] = fr_word(&self.omega);
        h[header::N_INV] = fr_word(&self.n_inv);
        h[header::INITIAL_STATE] = fr_word(&self.initial_state);
        h[header::NUM_EVALS] = word(self.num_evals);
        h[header::NUM_CHUNKS] = word(self.num_chunks);
        h[header::NUM_WITNESS] = word(self.num_witness);
        h[header::NUM_PROTOCOL_CHALLENGES] = word(self.num_protocol_challenges);
        h[header::NUM_SEGMENTS] = word(self.segments.len());
        h[header::SEGMENTS] = word(segments);
        h[header::NUM_PREPROCESSED] = word(self.preprocessed.len());
        h[header::PREPROCESSED] = word(preprocessed);
        h[header::SRS] = word(srs);
        h[header::NUM_CONSTANTS] = word(self.constants.len());
        h[header::CONSTANTS] = word(constants);
        h[header::CONSTANT_BASE] = word(self.constant_base());
        h[header::NUM_LAGRANGES] = word(self.lagranges.len());
        h[header::LAGRANGES] = word(lagranges);
        h[header::LAGRANGE_BASE] = word(self.lagrange_base());
        h[header::NUM_TEMPS] = word(self.num_slots - self.temp_base());
        h[header::PROGRAM_LEN] = word(program_len);
        h[header::NUM_ROTATIONS] = word(self.rotations.len());
        h[header::ROTATIONS] = word(rotations);
        h[header::NUM_SETS] = word(self.sets.len());
        h[header::SETS] = word(sets);
        h[header::NUM_SLOTS] = word(self.num_slots);
        h[header::SHPLONK_BASE] = word(self.shplonk_base());
        h[header::CHALLENGE_BASE] = word(self.challenge_base());
        h[header::DATA_LEN] = word(base + tables.len());
        let mut out: Vec<u8> = h.concat();
        out.extend(tables);
        out
    }

    /// The key contract's runtime code: the program, then the data (never executed: the
    /// program returns before it).
    pub fn runtime_code(&self) -> Vec<u8> {
        let mut code = self.program();
        code.extend(self.encode_after(code.len()));
        code
    }

    /// Creation code that deploys [`Key::runtime_code`].
    pub fn deployment_code(&self) -> Vec<u8> {
        deployment_of(&self.runtime_code())
    }
}

/// Creation code that deploys `runtime` as a contract's code:
/// `PUSH2 len PUSH1 14 PUSH1 0 CODECOPY PUSH2 len PUSH1 0 RETURN`, then the code.
pub fn deployment_of(runtime: &[u8]) -> Vec<u8> {
    let len = (runtime.len() as u16).to_be_bytes();
    let mut code = vec![
        0x61, len[0], len[1], 0x60, 0x0e, 0x60, 0x00, 0x39, 0x61, len[0], len[1], 0x60, 0x00, 0xf3,
    ];
    code.extend(runtime);
    code
}
