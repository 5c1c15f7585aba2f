//! The MockProver's judgement of one mutation, made cheap without being weakened.
//!
//! The plain way (`full`) lays the whole circuit out again with the mutation as its `tamper`
//! and checks every constraint on every row: on the large circuits of the corpus that is
//! almost all of an audit's time, once per mutation. The fast way lays the honest circuit
//! out once, then for each mutation moves its advice cells in that same MockProver (the
//! `Assignment` interface the layout itself assigns through), checks the gates and lookups on
//! the rows whose rotations reach a moved cell, and every copy constraint, and puts the honest
//! values back.
//!
//! Why this judges a mutation as the plain way does:
//! - the moved MockProver holds the same cells the tampered layout assigns (a tamper only
//!   replaces an advice value; challenges are fixed, not drawn from the witness). The column
//!   each layout column lands in is checked once per audit by a tampered layout that marks one
//!   cell of every column, and each move checks that the cell holds the honest value the dry
//!   run recorded for it: a wrong column map is an error, not a silent miss;
//! - `verify_at_rows` reports a subset of what `verify` reports on the same cells, so a
//!   mutation it catches the full check catches too;
//! - a mutation it does not catch is checked again the plain way, and that verdict stands:
//!   an escape is only ever reported by the full re-layout and full check.
//!
//! Public instances live outside the advice columns, so instance mutations go the plain way.

use std::collections::{BTreeSet, HashMap};

use halo2_axiom::circuit::Value;
use halo2_axiom::dev::{AdviceCellValue, MockProver};
use halo2_axiom::halo2curves::bn256::Fr;
use halo2_axiom::plonk::{Advice, Assigned, Assignment, Column, ConstraintSystem};

use crate::config::ModelConfig;
use crate::grid::{fe, Adv, AdvCell, Tamper};
use crate::{CircuitError, ModelCircuit};

fn err(reason: String) -> CircuitError {
    CircuitError::Layout {
        node: "<audit>".into(),
        reason,
    }
}

/// How many mutations each way judged (for the report and the tests).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CheckStats {
    /// Caught by the in-place check of the rows a mutation reaches.
    pub in_place: usize,
    /// Judged by a full re-layout and full check (instances, and every one not caught in
    /// place).
    pub full: usize,
}

pub(super) struct Checker<'a> {
    circuit: &'a ModelCircuit,
    k: u32,
    instances: &'a [Fr],
    /// The honest layout; a mutation's cells are moved in it and moved back.
    honest: Option<MockProver<Fr>>,
    config: ModelConfig,
    /// Every rotation at which a gate or lookup queries an advice column.
    rotations: Vec<i32>,
    usable_rows: usize,
    pub stats: CheckStats,
}

impl<'a> Checker<'a> {
    /// Lays out the honest circuit; an error if it does not satisfy every constraint.
    /// `in_place: false` judges every mutation the plain way.
    /// `cells`: the advice cells the layout assigns.
    pub fn new(
        circuit: &'a ModelCircuit,
        k: u32,
        instances: &'a [Fr],
        in_place: bool,
        cells: impl Iterator<Item = AdvCell>,
    ) -> Result<Self, CircuitError> {
        let mut cs = ConstraintSystem::<Fr>::default();
        let config = ModelConfig::configure(&mut cs, circuit.params);
        let rotations: BTreeSet<i32> = cs.advice_queries().iter().map(|(_, r)| r.0).collect();
        let usable_rows = (1usize << k).saturating_sub(cs.blinding_factors() + 1);
        let prover = run(circuit, k, instances.to_vec(), Vec::new())?;
        if prover.verify().is_err() {
            return Err(err("the honest witness does not satisfy the circuit".into()));
        }
        if in_place {
            check_columns(circuit, k, instances, &config, cells)?;
        }
        Ok(Self {
            circuit,
            k,
            instances,
            honest: in_place.then_some(prover),
            config,
            rotations: rotations.into_iter().collect(),
            usable_rows,
            stats: CheckStats::default(),
        })
    }

    /// Whether every constraint holds with the cells of `tamper` moved (and public instance
    /// `i` set to `v`). `honest` is each moved cell's honest value where it is an integer.
    pub fn holds(
        &mut self,
        tamper: &[Tamper],
        honest: &dyn Fn(Adv, usize) -> Option<i64>,
        inst: Option<(usize, Fr)>,
    ) -> Result<bool, CircuitError> {
        if inst.is_none() && !self.holds_in_place(tamper, honest)? {
            self.stats.in_place += 1;
            return Ok(false);
        }
        self.stats.full += 1;
        self.full(tamper, inst)
    }

    /// The plain way: the whole layout with `tamper`, every constraint on every row.
    fn full(&self, tamper: &[Tamper], inst: Option<(usize, Fr)>) -> Result<bool, CircuitError> {
        let mut column = self.instances.to_vec();
        if let Some((i, v)) = inst {
            if let Some(slot) = column.get_mut(i) {
                *slot = v;
            }
        }
        let prover = run(self.circuit, self.k, column, tamper.to_vec())?;
        Ok(prover.verify().is_ok())
    }

    /// The moved cells in the honest MockProver, checked on the rows they reach. `true` (not
    /// caught here) also when there is no honest MockProver to move them in.
    fn holds_in_place(
        &mut self,
        tamper: &[Tamper],
        honest: &dyn Fn(Adv, usize) -> Option<i64>,
    ) -> Result<bool, CircuitError> {
        let Some(prover) = self.honest.as_mut() else {
            return Ok(true);
        };
        let mut saved: Vec<(Column<Advice>, usize, Assigned<Fr>)> = Vec::new();
        let mut moved = Ok(());
        for t in tamper {
            let Some(column) = column_of(&self.config, t.col) else {
                moved = Err(err(format!("no column for {:?}", t.col)));
                break;
            };
            let old = match prover.advice_values(column).get(t.row) {
                Some(AdviceCellValue::Assigned(a)) => **a,
                other => {
                    moved = Err(err(format!(
                        "cell {:?} row {} is not an assigned advice cell: {other:?}",
                        t.col, t.row
                    )));
                    break;
                }
            };
            if let Some(v) = honest(t.col, t.row) {
                if old.evaluate() != fe(v) {
                    moved = Err(err(format!(
                        "the audit's column map disagrees with the layout at {:?} row {}",
                        t.col, t.row
                    )));
                    break;
                }
            }
            saved.push((column, t.row, old));
            prover.assign_advice(column, t.row, Value::known(Assigned::Trivial(fe(t.value))));
        }
        let holds = match moved {
            Ok(()) => {
                let rows: BTreeSet<usize> = tamper
                    .iter()
                    .flat_map(|t| self.rotations.iter().map(move |r| t.row as i64 - *r as i64))
                    .filter(|&r| r >= 0 && (r as usize) < self.usable_rows)
                    .map(|r| r as usize)
                    .collect();
                Ok(prover
                    .verify_at_rows(rows.iter().copied(), rows.iter().copied())
                    .is_ok())
            }
            Err(e) => Err(e),
        };
        // Back to honest, in reverse order (a cell moved twice gets its first value).
        for (column, row, old) in saved.into_iter().rev() {
            prover.assign_advice(column, row, Value::known(old));
        }
        holds
    }
}

/// Lays the circuit out with one cell of every advice column of `cells` (the lowest row)
/// marked with a value of its own, and checks that `column_of` finds each mark where the
/// layout put it.
fn check_columns(
    circuit: &ModelCircuit,
    k: u32,
    instances: &[Fr],
    config: &ModelConfig,
    cells: impl Iterator<Item = AdvCell>,
) -> Result<(), CircuitError> {
    let mut first: HashMap<Adv, usize> = HashMap::new();
    for (col, row) in cells {
        let at = first.entry(col).or_insert(row);
        *at = (*at).min(row);
    }
    let marks: Vec<Tamper> = first
        .into_iter()
        .zip(0i64..)
        .map(|((col, row), i)| Tamper {
            col,
            row,
            value: 0x5eed_0000_0000 + i,
        })
        .collect();
    let marked = run(circuit, k, instances.to_vec(), marks.clone())?;
    for t in &marks {
        let found = column_of(config, t.col)
            .and_then(|c| marked.advice_values(c).get(t.row).cloned())
            .and_then(|v| match v {
                AdviceCellValue::Assigned(a) => Some(a.evaluate()),
                AdviceCellValue::Poison(_) => None,
            });
        if found != Some(fe(t.value)) {
            return Err(err(format!(
                "the audit's column map misses the layout's {:?} (row {})",
                t.col, t.row
            )));
        }
    }
    Ok(())
}

fn run(
    circuit: &ModelCircuit,
    k: u32,
    instances: Vec<Fr>,
    tamper: Vec<Tamper>,
) -> Result<MockProver<Fr>, CircuitError> {
    let mut c = circuit.clone();
    c.tamper = tamper;
    MockProver::run(k, &c, vec![instances]).map_err(|e| err(format!("MockProver: {e:?}")))
}

/// The advice column the layout assigns `col` to (as `RegionGrid` maps it).
fn column_of(config: &ModelConfig, col: Adv) -> Option<Column<Advice>> {
    Some(match col {
        Adv::X(i) => *config.x.get(i)?,
        Adv::Acc => config.acc,
        Adv::Q => config.q,
        Adv::R => config.r,
        Adv::F => config.f,
        Adv::H => config.freivalds.as_ref()?.h,
        Adv::V => config.freivalds.as_ref()?.v,
        Adv::HW => config.freivalds.as_ref()?.fixed.as_ref()?.h,
    })
}
