//! The verifying-key contract of zkinfer's own Solidity verifier.
//!
//! One verifier contract (`Halo2Verifier.sol`, the same bytecode for every model) reads the
//! model's verifying key from a separate contract with `EXTCODECOPY`: the transcript's
//! segments, the constants, the preprocessed commitments, the SHPLONK query sets and the SRS
//! points. The key contract's code also evaluates the circuit's constraint expression: the
//! verifier calls it with the scalars it needs and gets the expression's value back, so that
//! the verifier's own code does not grow with the circuit. This module builds the key from a
//! bundle.
//!
//! The circuit's constraint system becomes a PLONK protocol through snark-verifier's halo2
//! translation (the same queries, evaluation order and quotient expression its own Solidity
//! verifier unrolls); the verification itself follows its SHPLONK verifier, so both contracts
//! accept exactly the same proofs.
//!
//! # Layout
//!
//! The key contract's runtime code is the program, which starts with `PUSH2 len POP` (its own
//! length, where the data starts), then the data. The data is a header of [`HEADER_WORDS`] 32-byte words, then tables whose byte
//! offsets (from the data's start) the header gives. Scalars live in one table of 32-byte
//! *slots*:
//!
//! | slots | what |
//! |---|---|
//! | `0 .. E` | the evaluations read from the proof |
//! | `E`, `E + 1` | the instance polynomial's evaluation, the quotient's evaluation |
//! | `CH ..` | every challenge squeezed: the protocol's, then `z`, `mu`, `gamma`, `z'` |
//! | `LAG ..` | the Lagrange polynomials the expression uses, evaluated at `z` |
//! | `CONST ..` | constants: the expression's, `ω^i`, the SHPLONK set weights |
//! | `TEMP ..` | the instructions' results (in the key contract's memory only) |
//!
//! The program copies its calldata (slots `0 .. TEMP`) to memory, runs each instruction
//! `dst = a op b` modulo the scalar field as straight-line EVM code (about 30 gas each) and
//! returns the result slot.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use halo2_axiom::halo2curves::bn256::{Fq, Fr, G1Affine, G2Affine};
use halo2_axiom::halo2curves::ff::{Field, PrimeField};
use halo2_axiom::halo2curves::group::prime::PrimeCurveAffine;
use halo2_axiom::halo2curves::CurveAffine;
use halo2_axiom::poly::commitment::ParamsProver;
use snark_verifier_sdk::snark_verifier::system::halo2::{compile, Config};

use crate::Bundle;

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
    pub fn constant_base(&self) -> usize {
        self.lagrange_base() + self.lagranges.len()
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

fn slot(i: usize) -> Result<u16, KeyError> {
    u16::try_from(i).map_err(|_| err(format!("more than {} slots", u16::MAX)))
}

/// Builds slots and instructions with common subexpressions shared.
#[derive(Default)]
struct Builder {
    constants: Vec<Fr>,
    constant_index: HashMap<[u8; 32], usize>,
    instructions: Vec<(Op, Operand, Operand)>,
    instruction_index: HashMap<(Op, Operand, Operand), usize>,
}

/// An operand before slots are numbered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Operand {
    Eval(usize),
    Instance,
    Challenge(usize),
    Lagrange(usize),
    Constant(usize),
    Temp(usize),
}

impl Builder {
    fn constant(&mut self, c: Fr) -> Operand {
        let repr = c.to_repr();
        let next = self.constants.len();
        let i = *self.constant_index.entry(repr).or_insert(next);
        if i == next {
            self.constants.push(c);
        }
        Operand::Constant(i)
    }

    fn value(&self, o: Operand) -> Option<Fr> {
        match o {
            Operand::Constant(i) => self.constants.get(i).copied(),
            _ => None,
        }
    }

    fn op(&mut self, op: Op, a: Operand, b: Operand) -> Operand {
        // Constants fold; zeros and ones vanish.
        let (zero, one) = (Some(Fr::ZERO), Some(Fr::ONE));
        match (op, self.value(a), self.value(b)) {
            (_, Some(x), Some(y)) => {
                return self.constant(match op {
                    Op::Add => x + y,
                    Op::Mul => x * y,
                    Op::Sub => x - y,
                    Op::Neg => -x,
                })
            }
            (Op::Mul, x, _) if x == zero => return a,
            (Op::Mul, _, y) if y == zero => return b,
            (Op::Mul, x, _) if x == one => return b,
            (Op::Mul, _, y) if y == one => return a,
            (Op::Add, x, _) if x == zero => return b,
            (Op::Add | Op::Sub, _, y) if y == zero => return a,
            _ => {}
        }
        // Addition and multiplication commute: one order shares more.
        let (a, b) = match op {
            Op::Add | Op::Mul if b < a => (b, a),
            _ => (a, b),
        };
        let next = self.instructions.len();
        let i = *self.instruction_index.entry((op, a, b)).or_insert(next);
        if i == next {
            self.instructions.push((op, a, b));
        }
        Operand::Temp(i)
    }

    /// Keeps only what `root` depends on: instructions, constants and Lagrange polynomials
    /// (so that every part of the key matters). Returns the new root and, for each Lagrange
    /// polynomial kept, its old index.
    fn retain(&mut self, root: Operand) -> (Operand, Vec<usize>) {
        let n = self.instructions.len();
        let mut live = vec![false; n];
        let mut stack = vec![root];
        while let Some(o) = stack.pop() {
            if let Operand::Temp(i) = o {
                if !live[i] {
                    live[i] = true;
                    let (_, a, b) = self.instructions[i];
                    stack.extend([a, b]);
                }
            }
        }
        let kept: Vec<(Op, Operand, Operand)> = (0..n)
            .filter(|&i| live[i])
            .map(|i| self.instructions[i])
            .collect();
        let mut temp = vec![0; n];
        for (new, old) in (0..n).filter(|&i| live[i]).enumerate() {
            temp[old] = new;
        }
        let operands = || kept.iter().flat_map(|&(_, a, b)| [a, b]).chain([root]);
        let mut constants: Vec<usize> = operands()
            .filter_map(|o| match o {
                Operand::Constant(i) => Some(i),
                _ => None,
            })
            .collect();
        constants.sort_unstable();
        constants.dedup();
        let mut lagranges: Vec<usize> = operands()
            .filter_map(|o| match o {
                Operand::Lagrange(i) => Some(i),
                _ => None,
            })
            .collect();
        lagranges.sort_unstable();
        lagranges.dedup();
        let remap = |o: Operand| match o {
            Operand::Temp(i) => Operand::Temp(temp[i]),
            Operand::Constant(i) => {
                Operand::Constant(constants.iter().position(|&c| c == i).unwrap_or(0))
            }
            Operand::Lagrange(i) => {
                Operand::Lagrange(lagranges.iter().position(|&l| l == i).unwrap_or(0))
            }
            other => other,
        };
        self.instructions = kept
            .iter()
            .map(|&(op, a, b)| (op, remap(a), remap(b)))
            .collect();
        self.instruction_index.clear();
        let values: Vec<Fr> = constants.iter().map(|&i| self.constants[i]).collect();
        self.constants.clear();
        self.constant_index.clear();
        for v in values {
            self.constant(v);
        }
        (remap(root), lagranges)
    }
}

/// A register for each instruction's result, reused after the result's last use: the
/// registers and how many there are.
fn registers(instructions: &[(Op, Operand, Operand)], root: Operand) -> (Vec<usize>, usize) {
    let n = instructions.len();
    let mut last = vec![0; n];
    for (i, &(_, a, b)) in instructions.iter().enumerate() {
        for o in [a, b] {
            if let Operand::Temp(t) = o {
                last[t] = i;
            }
        }
    }
    if let Operand::Temp(t) = root {
        last[t] = usize::MAX;
    }
    let (mut register, mut free, mut count) = (vec![0; n], Vec::new(), 0);
    for (i, &(_, a, b)) in instructions.iter().enumerate() {
        // Operands are loaded before the result is stored: their registers may take it.
        for o in [a, b] {
            if let Operand::Temp(t) = o {
                if last[t] == i && !free.contains(&register[t]) {
                    free.push(register[t]);
                }
            }
        }
        register[i] = free.pop().unwrap_or_else(|| {
            count += 1;
            count - 1
        });
        if last[i] < i || (last[i] == 0 && !matches!(root, Operand::Temp(t) if t == i)) {
            // Never used: its register is free again at once.
            free.push(register[i]);
        }
    }
    (register, count)
}

/// The key of `bundle`'s circuit.
pub fn build(bundle: &Bundle) -> Result<Key, KeyError> {
    let num_instance = bundle.header.settings.instance_len();
    let protocol = compile(
        &bundle.params,
        &bundle.vk,
        Config::kzg().with_num_instance(vec![num_instance]),
    );
    if protocol.num_instance.len() != 1 || protocol.quotient.chunk_degree != 1 {
        return Err(err(
            "expected one instance column and a quotient of chunk degree 1",
        ));
    }
    if protocol.linearization.is_some() || !protocol.accumulator_indices.is_empty() {
        return Err(err("linearization and accumulators are not supported"));
    }
    let num_pre = protocol.preprocessed.len();
    let instance_poly = num_pre;
    let num_witness: usize = protocol.num_witness.iter().sum();
    let witness_base = num_pre + 1;
    let quotient_poly = witness_base + num_witness;
    let num_chunks = protocol.quotient.num_chunk();
    let num_evals = protocol.evaluations.len();
    let num_protocol_challenges: usize = protocol.num_challenge.iter().sum();
    let domain = &protocol.domain;
    let omega = domain.gen;
    let rotate = |r: i32| {
        if r >= 0 {
            omega.pow_vartime([r as u64])
        } else {
            domain.gen_inv.pow_vartime([(-r) as u64])
        }
    };

    let mut all_pre = bundle.vk.fixed_commitments().clone();
    all_pre.extend(bundle.vk.permutation().commitments().iter().copied());
    if all_pre.len() != num_pre {
        return Err(err("preprocessed commitments disagree with the protocol"));
    }
    // A fixed column committed to the identity is the zero polynomial: its queries are 0.
    let zero_poly = |poly: usize| {
        all_pre
            .get(poly)
            .is_some_and(|p| bool::from(p.is_identity()))
    };
    // Where each query's value comes from.
    let eval_of: BTreeMap<(usize, i32), usize> = protocol
        .evaluations
        .iter()
        .enumerate()
        .map(|(i, q)| ((q.poly, q.rotation.0), i))
        .collect();
    let lagranges_used: RefCell<Vec<i32>> = RefCell::default();
    let builder = RefCell::new(Builder::default());
    type Res = Result<Operand, KeyError>;
    let numerator: Res = protocol.quotient.numerator.evaluate(
        &|c: Fr| Ok(builder.borrow_mut().constant(c)),
        &|common| {
            let v = serde_json::to_value(common).map_err(|e| err(e.to_string()))?;
            if v == "Identity" {
                return Ok(Operand::Challenge(num_protocol_challenges));
            }
            let i = v["Lagrange"]
                .as_i64()
                .and_then(|i| i32::try_from(i).ok())
                .ok_or_else(|| err(format!("unknown common polynomial {v}")))?;
            let mut used = lagranges_used.borrow_mut();
            let at = used.iter().position(|&u| u == i).unwrap_or_else(|| {
                used.push(i);
                used.len() - 1
            });
            Ok(Operand::Lagrange(at))
        },
        &|q| {
            if zero_poly(q.poly) {
                Ok(builder.borrow_mut().constant(Fr::ZERO))
            } else if let Some(&i) = eval_of.get(&(q.poly, q.rotation.0)) {
                Ok(Operand::Eval(i))
            } else if q.poly == instance_poly && q.rotation.0 == 0 {
                Ok(Operand::Instance)
            } else {
                Err(err(format!(
                    "query of polynomial {} at rotation {} has no evaluation",
                    q.poly, q.rotation.0
                )))
            }
        },
        &|i| {
            (i < num_protocol_challenges)
                .then_some(Operand::Challenge(i))
                .ok_or_else(|| err(format!("challenge {i} out of range")))
        },
        &|a: Res| {
            let a = a?;
            Ok(builder.borrow_mut().op(Op::Neg, a, a))
        },
        &|a: Res, c: Res| Ok(builder.borrow_mut().op(Op::Add, a?, c?)),
        &|a: Res, c: Res| Ok(builder.borrow_mut().op(Op::Mul, a?, c?)),
        &|a: Res, s: Fr| {
            let a = a?;
            let mut b = builder.borrow_mut();
            let s = b.constant(s);
            Ok(b.op(Op::Mul, a, s))
        },
    );
    let mut b = builder.into_inner();
    let (numerator, kept) = b.retain(numerator?);
    let used = lagranges_used.into_inner();
    let lagrange_points: Vec<i32> = kept.iter().map(|&i| used[i]).collect();
    let lagranges: Vec<Operand> = lagrange_points
        .iter()
        .map(|&i| b.constant(rotate(i)))
        .collect();

    // SHPLONK query sets, in snark-verifier's order (that of halo2's prover).
    let rotations_sorted: Vec<i32> = {
        let mut r: Vec<i32> = protocol.queries.iter().map(|q| q.rotation.0).collect();
        r.sort_unstable();
        r.dedup();
        r
    };
    let rotation_consts: Vec<Operand> = rotations_sorted
        .iter()
        .map(|&r| b.constant(rotate(r)))
        .collect();
    let rotation_index = |r: i32| rotations_sorted.iter().position(|&x| x == r);
    // (poly, rotations, evaluation sources), first appearance order.
    let mut poly_shifts: Vec<(usize, Vec<i32>)> = Vec::new();
    for q in &protocol.queries {
        match poly_shifts.iter_mut().find(|(p, _)| *p == q.poly) {
            Some((_, shifts)) if !shifts.contains(&q.rotation.0) => shifts.push(q.rotation.0),
            Some(_) => {}
            None => poly_shifts.push((q.poly, vec![q.rotation.0])),
        }
    }
    let mut sets: Vec<(Vec<i32>, Vec<usize>)> = Vec::new();
    for (poly, shifts) in poly_shifts {
        let same = |s: &Vec<i32>| {
            let (mut a, mut c) = (s.clone(), shifts.clone());
            a.sort_unstable();
            c.sort_unstable();
            a == c
        };
        match sets.iter_mut().find(|(s, _)| same(s)) {
            Some((_, polys)) if !polys.contains(&poly) => polys.push(poly),
            Some(_) => {}
            None => sets.push((shifts, vec![poly])),
        }
    }
    let eval_operand = |poly: usize, r: i32| -> Result<Operand, KeyError> {
        if poly == quotient_poly && r == 0 {
            return Ok(Operand::Eval(num_evals + 1));
        }
        eval_of
            .get(&(poly, r))
            .map(|&i| Operand::Eval(i))
            .ok_or_else(|| err(format!("opening of polynomial {poly} at {r} has no value")))
    };
    let mut preprocessed: Vec<G1Affine> = Vec::new();
    let distinct: Vec<usize> = all_pre
        .iter()
        .map(|p| {
            preprocessed.iter().position(|q| q == p).unwrap_or_else(|| {
                preprocessed.push(*p);
                preprocessed.len() - 1
            })
        })
        .collect();
    let num_distinct = preprocessed.len();
    let mut set_ops = Vec::new();
    for (shifts, polys) in &sets {
        let ell = shifts
            .iter()
            .enumerate()
            .map(|(j, &rj)| {
                let prod = shifts
                    .iter()
                    .enumerate()
                    .filter(|&(i, _)| i != j)
                    .fold(Fr::ONE, |acc, (_, &ri)| acc * (rotate(rj) - rotate(ri)));
                b.constant(prod)
            })
            .collect::<Vec<_>>();
        let mut entries = Vec::new();
        for &poly in polys {
            let commitment = if poly < num_pre {
                distinct[poly]
            } else if poly >= witness_base && poly <= quotient_poly {
                num_distinct + (poly - witness_base)
            } else {
                return Err(err(format!("polynomial {poly} has no commitment")));
            };
            let evals = shifts
                .iter()
                .map(|&r| eval_operand(poly, r))
                .collect::<Result<Vec<_>, _>>()?;
            entries.push((commitment, evals));
        }
        let shift_idx = shifts
            .iter()
            .map(|&r| rotation_index(r).ok_or_else(|| err("rotation missing")))
            .collect::<Result<Vec<_>, _>>()?;
        set_ops.push((shift_idx, ell, entries));
    }

    // Temporaries share registers once their last use is past (the key program's memory).
    let (register, num_registers) = registers(&b.instructions, numerator);

    // Number the slots.
    let challenge_base = num_evals + 2;
    let lagrange_base = challenge_base + num_protocol_challenges + 4;
    let constant_base = lagrange_base + lagranges.len();
    let temp_base = constant_base + b.constants.len();
    let number = |o: Operand| -> Result<u16, KeyError> {
        slot(match o {
            Operand::Eval(i) => i,
            Operand::Instance => num_evals,
            Operand::Challenge(i) => challenge_base + i,
            Operand::Lagrange(i) => lagrange_base + i,
            Operand::Constant(i) => constant_base + i,
            Operand::Temp(i) => temp_base + register[i],
        })
    };
    let instructions = b
        .instructions
        .iter()
        .enumerate()
        .map(|(i, &(op, a, c))| {
            Ok(Instruction {
                op,
                dst: slot(temp_base + register[i])?,
                a: number(a)?,
                b: number(c)?,
            })
        })
        .collect::<Result<Vec<_>, KeyError>>()?;
    let sets = set_ops
        .into_iter()
        .map(|(shifts, ell, entries)| {
            Ok(QuerySet {
                shifts: shifts.into_iter().map(slot).collect::<Result<_, _>>()?,
                ell: ell.into_iter().map(number).collect::<Result<_, _>>()?,
                polys: entries
                    .into_iter()
                    .map(|(c, evals)| {
                        Ok((
                            slot(c)?,
                            evals.into_iter().map(number).collect::<Result<_, _>>()?,
                        ))
                    })
                    .collect::<Result<_, KeyError>>()?,
            })
        })
        .collect::<Result<Vec<_>, KeyError>>()?;

    let mut segments: Vec<Segment> = protocol
        .num_witness
        .iter()
        .zip(&protocol.num_challenge)
        .map(|(&w, &c)| Segment {
            points: w as u16,
            scalars: 0,
            squeezes: c as u16,
        })
        .collect();
    segments.extend([
        Segment {
            points: num_chunks as u16,
            scalars: 0,
            squeezes: 1,
        },
        Segment {
            points: 0,
            scalars: num_evals as u16,
            squeezes: 2,
        },
        Segment {
            points: 1,
            scalars: 0,
            squeezes: 1,
        },
        Segment {
            points: 1,
            scalars: 0,
            squeezes: 0,
        },
    ]);

    let initial_state = protocol
        .transcript_initial_state
        .ok_or_else(|| err("no transcript initial state"))?;
    Ok(Key {
        num_instance,
        k: domain.k as u32,
        omega,
        n_inv: domain.n_inv,
        initial_state,
        num_evals,
        num_chunks,
        num_witness,
        num_protocol_challenges,
        segments,
        preprocessed,
        g1: bundle.params.get_g()[0],
        g2: bundle.params.g2(),
        s_g2: bundle.params.s_g2(),
        lagranges: lagranges
            .into_iter()
            .map(number)
            .collect::<Result<_, _>>()?,
        constants: b.constants,
        result: number(numerator)?,
        rotations: rotation_consts
            .into_iter()
            .map(number)
            .collect::<Result<_, _>>()?,
        sets,
        num_slots: temp_base + num_registers,
        instructions,
    })
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
    /// Reserved: zero (the program holds the result's slot).
    pub const RESERVED: usize = 24;
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
            for (c, evals) in &s.polys {
                u16s(&mut sets, [*c]);
                u16s(&mut sets, evals.iter().copied());
            }
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
        h[header::PROGRAM_LEN] = word(self.program().len());
        h[header::NUM_ROTATIONS] = word(self.rotations.len());
        h[header::ROTATIONS] = word(rotations);
        h[header::NUM_SETS] = word(self.sets.len());
        h[header::SETS] = word(sets);
        h[header::NUM_SLOTS] = word(self.num_slots);
        h[header::CHALLENGE_BASE] = word(self.challenge_base());
        h[header::DATA_LEN] = word(base + tables.len());
        let mut out: Vec<u8> = h.concat();
        out.extend(tables);
        out
    }

    /// The constraint expression as EVM code: copy the calldata (the input slots) to memory,
    /// push the modulus, then per instruction `DUP1 (b) MLOAD [DUP2 SUB] (a) MLOAD op (dst)
    /// MSTORE` (a negation: `(a) MLOAD DUP2 SUB (dst) MSTORE`), and return the result slot.
    /// Values stay below 2^256 but may equal r (for 0) after a negation; every op reduces.
    pub fn program(&self) -> Vec<u8> {
        const MLOAD: u8 = 0x51;
        fn push(code: &mut Vec<u8>, slot: u16) {
            let addr = 32 * slot as u32;
            if addr <= 0xffff {
                code.push(0x61);
                code.extend((addr as u16).to_be_bytes());
            } else {
                code.push(0x62);
                code.extend(&addr.to_be_bytes()[1..]);
            }
        }
        // PUSH2 len POP (the program's length: where the data starts), CALLDATASIZE PUSH1 0
        // PUSH1 0 CALLDATACOPY, PUSH32 r.
        let mut c = vec![0x61, 0, 0, 0x50, 0x36, 0x60, 0x00, 0x60, 0x00, 0x37, 0x7f];
        let mut modulus = fr_word(&-Fr::ONE); // r - 1, which ends in 0x00
        modulus[31] += 1;
        c.extend(modulus);
        for i in &self.instructions {
            if i.op == Op::Neg {
                // (a) MLOAD DUP2 SUB: r - a (r for 0: every later op reduces).
                push(&mut c, i.a);
                c.extend([MLOAD, 0x81, 0x03]);
                push(&mut c, i.dst);
                c.push(0x52); // MSTORE
                continue;
            }
            c.push(0x80); // DUP1: the modulus
            push(&mut c, i.b);
            c.push(MLOAD);
            if i.op == Op::Sub {
                c.extend([0x81, 0x03]); // DUP2 SUB: r - b
            }
            push(&mut c, i.a);
            c.push(MLOAD);
            c.push(match i.op {
                Op::Mul => 0x09,                     // MULMOD
                Op::Add | Op::Sub | Op::Neg => 0x08, // ADDMOD
            });
            push(&mut c, i.dst);
            c.push(0x52); // MSTORE
        }
        // PUSH1 32 (result) RETURN
        c.extend([0x60, 0x20]);
        push(&mut c, self.result);
        c.push(0xf3);
        let len = (c.len() as u16).to_be_bytes();
        c[1..3].copy_from_slice(&len);
        c
    }

    /// The key contract's runtime code: the program, then the data (never executed: the
    /// program returns before it).
    pub fn runtime_code(&self) -> Vec<u8> {
        let mut code = self.program();
        code.extend(self.encode());
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
