//! Automatic witness mutation: for advice cells of a model's circuit, change the value (with
//! every cell copy-constrained to it) and ask the MockProver whether every constraint still
//! holds. One that does is an under-constrained cell: a forger could move it and still prove.
//!
//! Three kinds of mutation:
//! - **cell**: one copy class moved by one;
//! - **coordinated**: cells that one gate's identity links, moved together so that the
//!   identity still holds and only a range check can refuse them: a rescale's quotient and
//!   remainder `(q ± 1, r ∓ 2^s)`, a division's `(p ± 1, r ∓ 2s, q ± 2s)`, and two adjacent
//!   limbs of a range unit `(r_i ± 2^l, r_{i+1} ∓ 1)`;
//! - **instance**: a public value (with the cells constrained to it) moved by one and to just
//!   outside its declared bound. One every constraint accepts but the verifier's bound check
//!   (`|v| < 2^bound` per public tensor) refuses is [`Outcome::Refused`], not an escape.
//!
//! Cells come from a dry run of the same layout code the circuit runs, which records each
//! cell's value, copies, owner (node and part of its layout), the selectors of each row and
//! the exposed cells. A circuit too large to try every cell is sampled: up to `per_group`
//! cells of every (node, part, column) group, then one more cell for every (gate, part) pair
//! the sample has not touched yet, so the report states its coverage of gate kinds.
//!
//! Each mutation is first checked in place, in the honest MockProver with its cells moved,
//! on the rows they reach (`check`); one not caught there is laid out again in full with the
//! mutation and every constraint checked, so only a full check ever reports an escape.

mod check;
mod plans;
mod record;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use halo2_axiom::halo2curves::bn256::Fr;

use crate::grid::{fe, Adv, AdvCell, Tamper};
use crate::layout::lay_out_with;
use crate::{CircuitError, ModelCircuit};
pub use check::CheckStats;
use check::Checker;
use plans::{bound_admits, classes, coordinated, instance_plans, same_outputs, Plan, Rng};
use record::{gate_name, span, Recorder};

/// How many cells to try.
#[derive(Clone, Copy, Debug)]
pub struct AuditConfig {
    /// Every cell when the circuit has at most this many copy classes.
    pub exhaustive_below: usize,
    /// Otherwise, cells tried per (node, part, column) group (and one coordinated mutation
    /// per (kind, node, part), one public value per tensor).
    pub per_group: usize,
    /// Seed of the sample.
    pub seed: u64,
    /// Try coordinated mutations.
    pub coordinated: bool,
    /// Try mutations of the public instances.
    pub instances: bool,
    /// On a sampled circuit, add a class for every (gate, part) pair the sample missed.
    pub cover: bool,
    /// Sample coordinated and instance mutations (this many per (kind, node, part), per
    /// tensor) even where the cells are tried exhaustively (a fast CI run).
    pub linked_per_group: Option<usize>,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            exhaustive_below: 2000,
            per_group: 3,
            seed: 1,
            coordinated: true,
            instances: true,
            cover: true,
            linked_per_group: None,
        }
    }
}

/// What a mutation did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Some constraint failed: the cell is bound.
    Caught,
    /// Every constraint held: the cell is under-constrained.
    Escaped,
    /// Declared free by the layout (read only with a zero coefficient): not mutated.
    Free,
    /// Every constraint held, but a public value left its declared bound, which the
    /// verifier refuses before any cryptography.
    Refused,
    /// Every constraint held for a moved public input, and the reference evaluator gives the
    /// same public outputs for it (an input the outputs do not depend on there): a true
    /// statement, not a forgery.
    Consistent,
}

/// Which mutation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// One copy class moved by one.
    Cell,
    /// Cells linked by one gate's identity, moved together so that it still holds.
    Coordinated(&'static str),
    /// A public instance and the cells constrained to it.
    Instance(&'static str),
}

impl Kind {
    pub fn name(&self) -> &'static str {
        match self {
            Kind::Cell => "cell",
            Kind::Coordinated(k) | Kind::Instance(k) => k,
        }
    }
}

/// One tried mutation.
#[derive(Clone, Debug, PartialEq)]
pub struct Mutation {
    pub kind: Kind,
    pub node: usize,
    pub node_name: String,
    pub op: &'static str,
    /// The part of the node's layout (`range`, `rescale`, ...; `instance` for public values).
    pub part: &'static str,
    /// The first cell changed.
    pub col: Adv,
    pub row: usize,
    /// Cells changed together (the cells and their copies).
    pub cells: usize,
    pub outcome: Outcome,
}

/// Per op kind: mutations tried, caught, escaped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub tried: usize,
    pub caught: usize,
    pub free: usize,
    pub escaped: usize,
    /// Refused by the verifier's bound check, or consistent (a true statement).
    pub refused: usize,
}

impl Tally {
    fn add(&mut self, o: Outcome) {
        self.tried += 1;
        match o {
            Outcome::Caught => self.caught += 1,
            Outcome::Escaped => self.escaped += 1,
            Outcome::Free => self.free += 1,
            Outcome::Refused | Outcome::Consistent => self.refused += 1,
        }
    }
}

/// Which gates the tried mutations touched: a gate kind (a selector; a range unit per limb
/// count) reads a cell when it is enabled on the cell's row or on a row whose rotations reach
/// it; a pair is that gate kind and the layout part of the cell.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    pub gates: usize,
    pub gates_covered: usize,
    /// (gate kind, part) pairs over the whole circuit.
    pub pairs: usize,
    pub pairs_covered: usize,
    /// The pairs no mutation touched (only cells declared free hold them).
    pub missed: Vec<(String, &'static str)>,
}

#[derive(Clone, Debug, Default)]
pub struct AuditReport {
    /// Advice cells the layout assigns, and their copy classes.
    pub cells: usize,
    pub classes: usize,
    /// Whether every class was tried.
    pub exhaustive: bool,
    pub coverage: Coverage,
    pub mutations: Vec<Mutation>,
    /// How the mutations were judged (in place, or by a full re-layout).
    pub checks: CheckStats,
}

impl AuditReport {
    pub fn escaped(&self) -> Vec<&Mutation> {
        self.mutations
            .iter()
            .filter(|m| m.outcome == Outcome::Escaped)
            .collect()
    }

    /// Tallies by op kind.
    pub fn by_op(&self) -> BTreeMap<&'static str, Tally> {
        let mut out: BTreeMap<&'static str, Tally> = BTreeMap::new();
        for m in &self.mutations {
            out.entry(m.op).or_default().add(m.outcome);
        }
        out
    }

    /// Tallies by mutation kind.
    pub fn by_kind(&self) -> BTreeMap<&'static str, Tally> {
        let mut out: BTreeMap<&'static str, Tally> = BTreeMap::new();
        for m in &self.mutations {
            out.entry(m.kind.name()).or_default().add(m.outcome);
        }
        out
    }
}

/// Audits `circuit` (with its trace) at `k` against the honest `instances`.
pub fn audit(
    circuit: &ModelCircuit,
    k: u32,
    instances: &[Fr],
    cfg: AuditConfig,
) -> Result<AuditReport, CircuitError> {
    audit_with(circuit, k, instances, cfg, true)
}

/// [`audit`], with every mutation judged by a full re-layout when `in_place` is false (the
/// plain twin of the in-place check, for its tests).
fn audit_with(
    circuit: &ModelCircuit,
    k: u32,
    instances: &[Fr],
    cfg: AuditConfig,
    in_place: bool,
) -> Result<AuditReport, CircuitError> {
    let trace = circuit
        .trace
        .as_deref()
        .ok_or_else(|| CircuitError::Layout {
            node: "<audit>".into(),
            reason: "the audit needs a witness".into(),
        })?;
    let mut rec = Recorder::new();
    lay_out_with(
        &mut rec,
        &circuit.graph,
        circuit.params,
        &circuit.tables,
        Some(trace),
    )?;
    let dry = std::mem::take(&mut rec.dry);
    let (copies, values, owners, free) = (
        dry.copies.unwrap_or_default(),
        dry.values.unwrap_or_default(),
        dry.owners.unwrap_or_default(),
        dry.free.unwrap_or_default(),
    );
    let class_of = classes(owners.keys().copied(), &copies);
    let mut members: HashMap<AdvCell, Vec<AdvCell>> = HashMap::new();
    for (&c, &root) in &class_of {
        members.entry(root).or_default().push(c);
    }
    let class = |c: &AdvCell| -> Vec<AdvCell> {
        class_of
            .get(c)
            .and_then(|root| members.get(root))
            .cloned()
            .unwrap_or_else(|| vec![*c])
    };
    let mut checker = Checker::new(circuit, k, instances, in_place, owners.keys().copied())?;
    let honest = |col: Adv, row: usize| values.get(&(col, row)).copied();

    // The gate kinds reading each row (for coverage).
    let mut gates_at: HashMap<usize, Vec<String>> = HashMap::new();
    for &(sel, j) in &rec.enabled {
        for r in j..j + span(sel) {
            gates_at.entry(r).or_default().push(gate_name(sel));
        }
    }
    let owner = |c: &AdvCell| owners.get(c).copied().unwrap_or((usize::MAX, ""));
    let pairs_of = |cells: &[AdvCell]| -> BTreeSet<(String, &'static str)> {
        cells
            .iter()
            .flat_map(|c| {
                let part = owner(c).1;
                gates_at
                    .get(&c.1)
                    .into_iter()
                    .flatten()
                    .map(move |g| (g.clone(), part))
            })
            .collect()
    };

    // A class belongs to the node that produced its value: the member with the smallest
    // owner (inputs before the nodes that read them), then in layout order.
    let order = |c: &AdvCell| (owner(c).0, c.1, format!("{:?}", c.0));
    let mut reps: Vec<AdvCell> = members
        .values()
        .filter_map(|m| m.iter().min_by_key(|c| order(c)).copied())
        .collect();
    reps.sort_by_key(order);
    let is_free = |rep: &AdvCell| class(rep).len() == 1 && free.contains(rep);
    let all_pairs: BTreeSet<(String, &'static str)> = reps
        .iter()
        .filter(|r| !is_free(r))
        .flat_map(|r| pairs_of(&class(r)))
        .collect();
    let exhaustive = reps.len() <= cfg.exhaustive_below;
    let mut rng = Rng(cfg.seed);
    let chosen: Vec<AdvCell> = match exhaustive {
        true => reps,
        false => {
            // Up to `per_group` classes per (node, part, column) of their producing cell.
            let mut groups: BTreeMap<(usize, &'static str, String), Vec<AdvCell>> = BTreeMap::new();
            for &c in &reps {
                let (node, part) = owner(&c);
                groups
                    .entry((node, part, format!("{:?}", c.0)))
                    .or_default()
                    .push(c);
            }
            let mut out = Vec::new();
            for (_, cells) in groups {
                out.extend(rng.pick(cells, cfg.per_group));
            }
            // Then the first class, in layout order, of every (gate, part) pair not touched.
            let mut covered: BTreeSet<(String, &'static str)> = out
                .iter()
                .filter(|r| !is_free(r))
                .flat_map(|r| pairs_of(&class(r)))
                .collect();
            let picked: HashSet<AdvCell> = out.iter().copied().collect();
            let rest = reps
                .iter()
                .filter(|r| cfg.cover && !picked.contains(r) && !is_free(r));
            for rep in rest {
                let pairs = pairs_of(&class(rep));
                if !pairs.is_subset(&covered) {
                    covered.extend(pairs);
                    out.push(*rep);
                }
            }
            out
        }
    };

    let mut plans: Vec<Plan> = Vec::new();
    for rep in chosen {
        // Integer cells move by one; a field-valued cell (Poseidon, Freivalds' second phase)
        // takes a value it is all but certain not to hold.
        let value = values
            .get(&rep)
            .map_or(0x5eed_cafe_f00d, |v| v.wrapping_add(1));
        plans.push(Plan {
            kind: Kind::Cell,
            at: rep,
            set: vec![(rep, value)],
            instance: None,
        });
    }
    if cfg.coordinated {
        let all = coordinated(&rec, &values, circuit.tables.limb_bits());
        match (exhaustive, cfg.linked_per_group) {
            (true, None) => plans.extend(all),
            (_, n) => {
                let mut groups: BTreeMap<(&'static str, usize, &'static str), Vec<Plan>> =
                    BTreeMap::new();
                for p in all {
                    let (node, part) = owner(&p.at);
                    groups
                        .entry((p.kind.name(), node, part))
                        .or_default()
                        .push(p);
                }
                // One per (kind, node, part): every linked pair of every node is tried once.
                for (_, g) in groups {
                    plans.extend(rng.pick(g, n.unwrap_or(1)));
                }
            }
        }
    }
    if cfg.instances {
        plans.extend(instance_plans(
            circuit,
            &rec,
            &values,
            exhaustive,
            cfg.linked_per_group,
            &mut rng,
        ));
    }

    let mut mutations = Vec::with_capacity(plans.len());
    let mut covered: BTreeSet<(String, &'static str)> = BTreeSet::new();
    for plan in plans {
        let mut tamper: Vec<Tamper> = Vec::new();
        let mut cells: Vec<AdvCell> = Vec::new();
        let mut set: HashMap<AdvCell, i64> = HashMap::new();
        let mut conflict = false;
        for &(cell, value) in &plan.set {
            for c in class(&cell) {
                match set.insert(c, value) {
                    // Two cells of one plan in one class cannot move apart: nothing to try.
                    Some(old) => conflict |= old != value,
                    None => {
                        cells.push(c);
                        tamper.push(Tamper {
                            col: c.0,
                            row: c.1,
                            value,
                        });
                    }
                }
            }
        }
        if conflict {
            continue;
        }
        // A free cell is one nothing reads; one copied anywhere is not free.
        let outcome = match plan.kind == Kind::Cell && is_free(&plan.at) {
            true => Outcome::Free,
            false => {
                let inst = plan.instance.map(|(i, v, _)| (i, fe(v)));
                match checker.holds(&tamper, &honest, inst)? {
                    false => Outcome::Caught,
                    true => match plan.instance {
                        Some((_, v, bound)) if !bound_admits(v, bound) => Outcome::Refused,
                        Some((i, v, _)) if same_outputs(circuit, trace, i, v) => {
                            Outcome::Consistent
                        }
                        _ => Outcome::Escaped,
                    },
                }
            }
        };
        if outcome != Outcome::Free {
            covered.extend(pairs_of(&cells));
        }
        let (node, part) = match plan.kind {
            Kind::Instance(_) => (owner(&plan.at).0, "instance"),
            _ => owners.get(&plan.at).copied().unwrap_or((0, "")),
        };
        let n = &circuit.graph.nodes[node.min(circuit.graph.nodes.len().saturating_sub(1))];
        mutations.push(Mutation {
            kind: plan.kind,
            node,
            node_name: n.name.clone(),
            op: n.op.name(),
            part,
            col: plan.at.0,
            row: plan.at.1,
            cells: cells.len(),
            outcome,
        });
    }
    let gates: BTreeSet<&String> = all_pairs.iter().map(|(g, _)| g).collect();
    let gates_covered: BTreeSet<&String> = all_pairs
        .iter()
        .filter(|p| covered.contains(*p))
        .map(|(g, _)| g)
        .collect();
    let coverage = Coverage {
        gates: gates.len(),
        gates_covered: gates_covered.len(),
        pairs: all_pairs.len(),
        pairs_covered: all_pairs.iter().filter(|p| covered.contains(*p)).count(),
        missed: all_pairs
            .iter()
            .filter(|p| !covered.contains(*p))
            .cloned()
            .collect(),
    };
    Ok(AuditReport {
        cells: owners.len(),
        classes: members.len(),
        exhaustive,
        coverage,
        mutations,
        checks: checker.stats,
    })
}
