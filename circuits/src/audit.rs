//! Automatic witness mutation: for advice cells of a model's circuit, change the value (with
//! every cell copy-constrained to it) and ask the MockProver whether every constraint still
//! holds. One that does is an under-constrained cell: a forger could move it and still prove.
//!
//! Cells come from a dry run of the same layout code the circuit runs, which records each
//! cell's value, copies and owner (node and part of its layout). A circuit too large to try
//! every cell is sampled: up to `per_group` cells of every (node, part, column) group, so every
//! node and every gate kind is tried, with a seeded choice that the report states.

use std::collections::{BTreeMap, HashMap};

use halo2_axiom::dev::MockProver;
use halo2_axiom::halo2curves::bn256::Fr;

use crate::grid::{Adv, AdvCell, DryRun, Tamper};
use crate::layout::lay_out_with;
use crate::{CircuitError, ModelCircuit};

/// How many cells to try.
#[derive(Clone, Copy, Debug)]
pub struct AuditConfig {
    /// Every cell when the circuit has at most this many copy classes.
    pub exhaustive_below: usize,
    /// Otherwise, cells tried per (node, part, column) group.
    pub per_group: usize,
    /// Seed of the sample.
    pub seed: u64,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            exhaustive_below: 2000,
            per_group: 3,
            seed: 1,
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
}

/// One tried mutation.
#[derive(Clone, Debug, PartialEq)]
pub struct Mutation {
    pub node: usize,
    pub node_name: String,
    pub op: &'static str,
    /// The part of the node's layout (`range`, `rescale`, ...).
    pub part: &'static str,
    pub col: Adv,
    pub row: usize,
    /// Cells changed together (the cell and its copies).
    pub cells: usize,
    pub outcome: Outcome,
}

/// Per op kind: cells tried, caught, escaped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub tried: usize,
    pub caught: usize,
    pub free: usize,
    pub escaped: usize,
}

#[derive(Clone, Debug, Default)]
pub struct AuditReport {
    /// Advice cells the layout assigns, and their copy classes.
    pub cells: usize,
    pub classes: usize,
    /// Whether every class was tried.
    pub exhaustive: bool,
    pub mutations: Vec<Mutation>,
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
            let t = out.entry(m.op).or_default();
            t.tried += 1;
            match m.outcome {
                Outcome::Caught => t.caught += 1,
                Outcome::Escaped => t.escaped += 1,
                Outcome::Free => t.free += 1,
            }
        }
        out
    }
}

/// A deterministic generator for the sample (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Copy classes: every cell's class representative (union-find over the copy pairs).
fn classes(
    cells: impl Iterator<Item = AdvCell>,
    copies: &[(AdvCell, AdvCell)],
) -> HashMap<AdvCell, AdvCell> {
    let mut parent: HashMap<AdvCell, AdvCell> = cells.map(|c| (c, c)).collect();
    fn find(p: &mut HashMap<AdvCell, AdvCell>, c: AdvCell) -> AdvCell {
        let mut root = c;
        while let Some(&up) = p.get(&root) {
            if up == root {
                break;
            }
            root = up;
        }
        let mut at = c;
        while at != root {
            let up = p.get(&at).copied().unwrap_or(root);
            p.insert(at, root);
            at = up;
        }
        root
    }
    for &(a, b) in copies {
        parent.entry(a).or_insert(a);
        parent.entry(b).or_insert(b);
        let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
        if ra != rb {
            parent.insert(ra, rb);
        }
    }
    let keys: Vec<AdvCell> = parent.keys().copied().collect();
    keys.into_iter()
        .map(|c| (c, find(&mut parent, c)))
        .collect()
}

/// Audits `circuit` (with its trace) at `k` against the honest `instances`.
pub fn audit(
    circuit: &ModelCircuit,
    k: u32,
    instances: &[Fr],
    cfg: AuditConfig,
) -> Result<AuditReport, CircuitError> {
    let trace = circuit
        .trace
        .as_deref()
        .ok_or_else(|| CircuitError::Layout {
            node: "<audit>".into(),
            reason: "the audit needs a witness".into(),
        })?;
    let mut grid = DryRun {
        copies: Some(Vec::new()),
        values: Some(HashMap::new()),
        owners: Some(HashMap::new()),
        free: Some(Default::default()),
        ..DryRun::default()
    };
    lay_out_with(
        &mut grid,
        &circuit.graph,
        circuit.params,
        &circuit.tables,
        Some(trace),
    )?;
    let (copies, values, owners, free) = (
        grid.copies.unwrap_or_default(),
        grid.values.unwrap_or_default(),
        grid.owners.unwrap_or_default(),
        grid.free.unwrap_or_default(),
    );
    let class_of = classes(owners.keys().copied(), &copies);
    let mut members: HashMap<AdvCell, Vec<AdvCell>> = HashMap::new();
    for (&c, &root) in &class_of {
        members.entry(root).or_default().push(c);
    }
    let verify = |tamper: Vec<Tamper>| -> Result<bool, CircuitError> {
        let mut c = circuit.clone();
        c.tamper = tamper;
        let prover =
            MockProver::run(k, &c, vec![instances.to_vec()]).map_err(|e| CircuitError::Layout {
                node: "<audit>".into(),
                reason: format!("MockProver: {e:?}"),
            })?;
        Ok(prover.verify().is_ok())
    };
    if !verify(Vec::new())? {
        return Err(CircuitError::Layout {
            node: "<audit>".into(),
            reason: "the honest witness does not satisfy the circuit".into(),
        });
    }
    // A class belongs to the node that produced its value: the member with the smallest
    // owner (inputs before the nodes that read them), then in layout order.
    let owner = |c: &AdvCell| owners.get(c).copied().unwrap_or((usize::MAX, ""));
    let order = |c: &AdvCell| (owner(c).0, c.1, format!("{:?}", c.0));
    let mut reps: Vec<AdvCell> = members
        .values()
        .filter_map(|m| m.iter().min_by_key(|c| order(c)).copied())
        .collect();
    reps.sort_by_key(order);
    let exhaustive = reps.len() <= cfg.exhaustive_below;
    let chosen: Vec<AdvCell> = match exhaustive {
        true => reps,
        false => {
            // Up to `per_group` classes per (node, part, column) of their producing cell.
            let mut groups: BTreeMap<(usize, &'static str, String), Vec<AdvCell>> = BTreeMap::new();
            for c in reps {
                let (node, part) = owner(&c);
                groups
                    .entry((node, part, format!("{:?}", c.0)))
                    .or_default()
                    .push(c);
            }
            let mut rng = Rng(cfg.seed);
            let mut out = Vec::new();
            for (_, mut cells) in groups {
                for _ in 0..cfg.per_group.min(cells.len()) {
                    let i = (rng.next() % cells.len() as u64) as usize;
                    out.push(cells.swap_remove(i));
                }
            }
            out
        }
    };
    let mut mutations = Vec::with_capacity(chosen.len());
    for rep in chosen {
        let class = class_of
            .get(&rep)
            .and_then(|root| members.get(root))
            .cloned()
            .unwrap_or_else(|| vec![rep]);
        // Integer cells move by one; a field-valued cell (Poseidon, Freivalds' second phase)
        // takes a value it is all but certain not to hold.
        let value = values
            .get(&rep)
            .map_or(0x5eed_cafe_f00d, |v| v.wrapping_add(1));
        let tamper = class
            .iter()
            .map(|&(col, row)| Tamper { col, row, value })
            .collect();
        // A free cell is one nothing reads; one copied anywhere is not free.
        let outcome = match class.len() == 1 && free.contains(&rep) {
            true => Outcome::Free,
            false => match verify(tamper)? {
                true => Outcome::Escaped,
                false => Outcome::Caught,
            },
        };
        let (node, part) = owners.get(&rep).copied().unwrap_or((0, ""));
        let n = &circuit.graph.nodes[node.min(circuit.graph.nodes.len().saturating_sub(1))];
        mutations.push(Mutation {
            node,
            node_name: n.name.clone(),
            op: n.op.name(),
            part,
            col: rep.0,
            row: rep.1,
            cells: class.len(),
            outcome,
        });
    }
    Ok(AuditReport {
        cells: owners.len(),
        classes: members.len(),
        exhaustive,
        mutations,
    })
}
