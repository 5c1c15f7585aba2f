//! The mutations an audit tries, before they are tried: the seeded sample's generator, copy
//! classes, coordinated mutations (cells one gate's identity links) and mutations of public
//! instances, with the two rules that judge a moved public value (the verifier's bound, and
//! the reference evaluator's outputs).

use std::collections::{BTreeMap, HashMap};

use crate::grid::{Adv, AdvCell, Sel};
use crate::ModelCircuit;

use super::record::Recorder;
use super::Kind;

/// A deterministic generator for the sample (splitmix64).
pub(super) struct Rng(pub u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Up to `n` items of `items`, chosen without replacement.
    pub fn pick<T>(&mut self, mut items: Vec<T>, n: usize) -> Vec<T> {
        let mut out = Vec::with_capacity(n.min(items.len()));
        for _ in 0..n.min(items.len()) {
            let i = (self.next() % items.len() as u64) as usize;
            out.push(items.swap_remove(i));
        }
        out
    }
}

/// Copy classes: every cell's class representative (union-find over the copy pairs).
pub(super) fn classes(
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

/// A mutation before it is tried: new values for whole copy classes, and the instance.
pub(super) struct Plan {
    pub kind: Kind,
    /// The cell it is attributed to.
    pub at: AdvCell,
    /// `(cell, new value)`: each cell's class takes the value.
    pub set: Vec<(AdvCell, i64)>,
    /// `(index, new value, declared bound)` of a public instance.
    pub instance: Option<(usize, i64, Option<u32>)>,
}

/// Coordinated mutations: cells one gate's identity links, moved so that it still holds.
pub(super) fn coordinated(
    rec: &Recorder,
    values: &HashMap<AdvCell, i64>,
    limb_bits: u32,
) -> Vec<Plan> {
    let v = |c: AdvCell| values.get(&c).copied();
    let mut out = Vec::new();
    for &(sel, j) in &rec.enabled {
        for d in [1i64, -1] {
            let set: Option<Vec<(AdvCell, i64)>> = match sel {
                // rescale: acc + half = pow·q + r.
                Sel::Rescale => {
                    let pow = rec.pow.get(&j).copied();
                    let (q, r) = ((Adv::Q, j), (Adv::R, j));
                    match (v(q), v(r), pow) {
                        (Some(qv), Some(rv), Some(pow)) => {
                            Some(vec![(q, qv + d), (r, rv - d * pow)])
                        }
                        _ => None,
                    }
                }
                // div: 2·e·2^o + s = p·2s + r and q = 2s − 1 − r.
                Sel::Div => {
                    let (s, p, r, q) = ((Adv::X(1), j), (Adv::X(2), j), (Adv::R, j), (Adv::Q, j));
                    match (v(s), v(p), v(r), v(q)) {
                        (Some(sv), Some(pv), Some(rv), Some(qv)) => Some(vec![
                            (p, pv + d),
                            (r, rv - d * 2 * sv),
                            (q, qv + d * 2 * sv),
                        ]),
                        _ => None,
                    }
                }
                // range: v·(1 − 2σ) − σ = Σ 2^(l·i)·r[j+i]; a carry between adjacent limbs.
                Sel::Range(n) if n >= 2 && limb_bits < 62 => {
                    let (lo, hi) = ((Adv::R, j), (Adv::R, j + 1));
                    match (v(lo), v(hi)) {
                        (Some(a), Some(b)) => {
                            Some(vec![(lo, a + d * (1 << limb_bits)), (hi, b - d)])
                        }
                        _ => None,
                    }
                }
                _ => None,
            };
            let kind = match (sel, d) {
                (Sel::Rescale, 1) => "rescale (q+1, r-2^s)",
                (Sel::Rescale, _) => "rescale (q-1, r+2^s)",
                (Sel::Div, 1) => "div (p+1, r-2s, q+2s)",
                (Sel::Div, _) => "div (p-1, r+2s, q-2s)",
                (_, 1) => "range (r0+2^l, r1-1)",
                _ => "range (r0-2^l, r1+1)",
            };
            if let Some(set) = set {
                out.push(Plan {
                    kind: Kind::Coordinated(kind),
                    at: set[0].0,
                    set,
                    instance: None,
                });
            }
        }
    }
    out
}

/// Whether the reference evaluator, with public input value `i` (in instance order, inputs
/// first, one instance per value) set to `v`, gives the honest public outputs.
pub(super) fn same_outputs(
    circuit: &ModelCircuit,
    trace: &zkinfer_ir::Trace,
    i: usize,
    v: i64,
) -> bool {
    let (g, p) = (&circuit.graph, circuit.params);
    if p.packed || p.commit_inputs {
        return false;
    }
    let mut inputs: Vec<zkinfer_ir::Tensor<i64>> = g
        .inputs
        .iter()
        .map(|&id| trace.values[id].clone())
        .collect();
    let mut at = i;
    for t in inputs.iter_mut() {
        let n = t.data().len();
        if at < n {
            t.data_mut()[at] = v;
            return match zkinfer_ir::eval(g, &circuit.tables.bounds, &inputs) {
                Ok(moved) => g
                    .outputs
                    .iter()
                    .all(|&id| moved.values[id].data() == trace.values[id].data()),
                Err(_) => false,
            };
        }
        at -= n;
    }
    false
}

/// The verifier's read of a public value: `|v| < 2^bound` (no bound: a packed or committed
/// instance, whose check is the packing's or the commitment's).
pub(super) fn bound_admits(v: i64, bound: Option<u32>) -> bool {
    bound.is_none_or(|b| v.unsigned_abs() < 1u64 << b.min(63))
}

/// Mutations of public instances: each by ±1 and to just outside its tensor's bound, with the
/// cells constrained to it. A value only has a bound when it is one instance of its own (not
/// packed, its side not committed); only integer-valued exposed cells are moved.
pub(super) fn instance_plans(
    circuit: &ModelCircuit,
    rec: &Recorder,
    values: &HashMap<AdvCell, i64>,
    exhaustive: bool,
    per_group: Option<usize>,
    rng: &mut Rng,
) -> Vec<Plan> {
    let (g, p) = (&circuit.graph, circuit.params);
    // (tensor node, declared bound) per instance index, in instance order.
    let mut tensor_of: Vec<(usize, Option<u32>)> = Vec::new();
    for (ids, committed) in [(&g.inputs, p.commit_inputs), (&g.outputs, p.commit_outputs)] {
        match committed || p.packed {
            true => {}
            false => {
                for &id in ids.iter() {
                    let n = &g.nodes[id];
                    tensor_of.extend((0..n.len()).map(|_| (id, Some(n.bound))));
                }
            }
        }
    }
    let mut by_index: BTreeMap<usize, Vec<AdvCell>> = BTreeMap::new();
    for &(cell, i) in &rec.exposed {
        by_index.entry(i).or_default().push(cell);
    }
    // Sampled: one index per tensor.
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &i in by_index.keys() {
        let node = tensor_of.get(i).map_or(usize::MAX, |t| t.0);
        groups.entry(node).or_default().push(i);
    }
    let indices: Vec<usize> = match (exhaustive, per_group) {
        (true, None) => by_index.keys().copied().collect(),
        (_, n) => groups
            .into_values()
            .flat_map(|g| rng.pick(g, n.unwrap_or(1)))
            .collect(),
    };
    let mut out = Vec::new();
    for i in indices {
        let Some(cells) = by_index.get(&i) else {
            continue;
        };
        let Some(&cell) = cells.first() else {
            continue;
        };
        let Some(&v) = values.get(&cell) else {
            continue;
        };
        let bound = tensor_of.get(i).and_then(|t| t.1);
        let mut targets = vec![("instance +1", v + 1), ("instance -1", v - 1)];
        if let Some(b) = bound.filter(|&b| b < 62) {
            let edge = 1i64 << b;
            targets.push(("instance out of bound", if v < 0 { -edge } else { edge }));
        }
        for (kind, nv) in targets {
            out.push(Plan {
                kind: Kind::Instance(kind),
                at: cell,
                set: cells.iter().map(|&c| (c, nv)).collect(),
                instance: Some((i, nv, bound)),
            });
        }
    }
    out
}
