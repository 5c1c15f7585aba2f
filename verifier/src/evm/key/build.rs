//! The key from a bundle: snark-verifier's PLONK protocol of the circuit, its constraint
//! expression as instructions (constants folded, common subexpressions shared, dead code and
//! zero fixed columns dropped, registers reused), the SHPLONK query sets in halo2's order.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use halo2_axiom::halo2curves::bn256::{Fr, G1Affine};
use halo2_axiom::halo2curves::ff::{Field, PrimeField};
use halo2_axiom::halo2curves::group::prime::PrimeCurveAffine;
use halo2_axiom::poly::commitment::ParamsProver;
use snark_verifier_sdk::snark_verifier::system::halo2::{compile, Config};

use super::{err, Instruction, Key, KeyError, Op, QuerySet, Segment};
use crate::Bundle;

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
    let num_weights: usize = set_ops.iter().map(|(shifts, _, _)| shifts.len()).sum();
    let constant_base = lagrange_base + lagranges.len() + 1 + set_ops.len() + num_weights;
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
