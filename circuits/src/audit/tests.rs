//! The audit's new mutation kinds: each is generated on an honest circuit and caught there;
//! a limb whose range lookup is switched off is found by the coordinated carry, which no
//! single-cell mutation can see; a sampled audit touches every (gate kind, part) pair; a
//! public value is judged by the verifier's bound rule; and the in-place check judges every
//! mutation as a full re-layout does.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use zkinfer_ir::{
    eval, Dense, Graph, Input, Node, Op, Rescale, TableBounds, TableFn, Tensor, WeightSide,
};

use super::record::Recorder;
use super::{audit, audit_with, bound_admits, AuditConfig, AuditReport, Kind, Outcome};
use crate::grid::{Adv, Fix, Sel, SKIP_FIXED};
use crate::layout::lay_out_with;
use crate::{plan, CircuitParams, ModelCircuit};

/// Activations in [-512, 512): 9 magnitude bits, two limbs of 8.
const TB: TableBounds = TableBounds {
    neg: 128,
    pos: 512,
    exp: 256,
    limb_bits: 8,
};

fn node(name: &str, op: Op, inputs: Vec<usize>, shape: Vec<usize>, bound: u32) -> Node {
    Node {
        name: name.into(),
        op,
        inputs,
        shape,
        scale: 0,
        bound,
        dtype: Default::default(),
    }
}

fn graph(nodes: Vec<Node>, inputs: Vec<usize>, output: usize) -> Graph {
    let g = Graph {
        input_names: inputs.iter().map(|i| format!("in{i}")).collect(),
        output_names: vec!["out".into()],
        nodes,
        inputs,
        outputs: vec![output],
    };
    g.check().unwrap();
    g
}

/// x[1,5] → Dense(5→3) → Rescale(shift 2, Relu): rescale rows and two-limb range units.
fn dense_relu() -> (Graph, Vec<Tensor<i64>>) {
    let w = Tensor::new(
        vec![5, 3],
        vec![1, -2, 3, 0, 4, -1, 2, 2, 2, -3, 1, 0, 1, 1, -1],
    )
    .unwrap();
    let b = Tensor::new(vec![1, 3], vec![5, -7, 2]).unwrap();
    let g = graph(
        vec![
            node("x", Op::Input(Input { index: 0 }), vec![], vec![1, 5], 5),
            node(
                "fc",
                Op::Dense(Dense {
                    weight: w,
                    side: WeightSide::Right,
                    bias: Some(b),
                }),
                vec![0],
                vec![1, 3],
                12,
            ),
            node(
                "act",
                Op::Rescale(Rescale::uniform(2, TableFn::Relu)),
                vec![1],
                vec![1, 3],
                8,
            ),
        ],
        vec![0],
        2,
    );
    let x = Tensor::new(vec![1, 5], vec![3, -1, 4, 1, -5]).unwrap();
    (g, vec![x])
}

/// a / b, rounded, at 3 fractional bits: division rows.
fn div_graph() -> (Graph, Vec<Tensor<i64>>) {
    let s = vec![1, 3];
    let g = graph(
        vec![
            node("a", Op::Input(Input { index: 0 }), vec![], s.clone(), 6),
            node("b", Op::Input(Input { index: 1 }), vec![], s.clone(), 6),
            node(
                "div",
                Op::Div(zkinfer_ir::Div { shift: 3 }),
                vec![0, 1],
                s.clone(),
                9,
            ),
        ],
        vec![0, 1],
        2,
    );
    let a = Tensor::new(s.clone(), vec![7, -20, 30]).unwrap();
    let b = Tensor::new(s, vec![3, 9, 31]).unwrap();
    (g, vec![a, b])
}

fn circuit(
    g: &Graph,
    x: &[Tensor<i64>],
) -> (ModelCircuit, u32, Vec<halo2_axiom::halo2curves::bn256::Fr>) {
    let trace = eval(g, &TB, x).unwrap();
    let p = plan(g, &TB).unwrap();
    let c = ModelCircuit::new(
        Arc::new(g.clone()),
        &TB,
        CircuitParams::for_graph(g, p.lanes),
    )
    .with_trace(Arc::new(trace.clone()));
    let instances = ModelCircuit::instances(g, &trace);
    (c, p.k, instances)
}

fn run(g: &Graph, x: &[Tensor<i64>], cfg: AuditConfig) -> AuditReport {
    let (c, k, instances) = circuit(g, x);
    audit(&c, k, &instances, cfg).unwrap()
}

fn tried(r: &AuditReport, kind: &str) -> usize {
    r.by_kind().get(kind).map_or(0, |t| t.tried)
}

#[test]
fn every_new_mutation_kind_is_tried_and_caught_on_an_honest_circuit() {
    let (g, x) = dense_relu();
    let r = run(&g, &x, AuditConfig::default());
    assert!(r.exhaustive);
    assert!(r.escaped().is_empty(), "{:?}", r.escaped());
    for kind in [
        "cell",
        "rescale (q+1, r-2^s)",
        "rescale (q-1, r+2^s)",
        "range (r0+2^l, r1-1)",
        "range (r0-2^l, r1+1)",
        "instance +1",
        "instance -1",
        "instance out of bound",
    ] {
        assert!(
            tried(&r, kind) > 0,
            "no `{kind}` mutation: {:?}",
            r.by_kind()
        );
    }
    // One rescale pair per direction and output element, and instance mutations of all
    // 5 inputs and 3 outputs.
    assert_eq!(tried(&r, "rescale (q+1, r-2^s)"), 3);
    assert_eq!(tried(&r, "instance +1"), 8);
    // The pair moves q and r with their copies: more than two cells.
    assert!(r
        .mutations
        .iter()
        .filter(|m| m.kind == Kind::Coordinated("rescale (q+1, r-2^s)"))
        .all(|m| m.cells >= 2 && m.part == "rescale" && m.outcome == Outcome::Caught));
    assert_eq!(r.coverage.pairs_covered, r.coverage.pairs);
    assert!(r.coverage.gates >= 4, "{:?}", r.coverage);

    let (g, x) = div_graph();
    let r = run(&g, &x, AuditConfig::default());
    assert!(r.escaped().is_empty(), "{:?}", r.escaped());
    assert_eq!(tried(&r, "div (p+1, r-2s, q+2s)"), 3);
    assert_eq!(tried(&r, "div (p-1, r+2s, q-2s)"), 3);
}

#[test]
fn a_limb_without_its_range_lookup_escapes_only_a_coordinated_carry() {
    let (g, x) = dense_relu();
    // The first two-limb range unit, with lookup B of its low limb switched off.
    let (c, _, _) = circuit(&g, &x);
    let mut rec = Recorder::new();
    lay_out_with(&mut rec, &c.graph, c.params, &c.tables, c.trace.as_deref()).unwrap();
    let j = rec
        .enabled
        .iter()
        .find_map(|&(s, j)| (s == Sel::Range(2)).then_some(j))
        .unwrap();
    SKIP_FIXED.with(|s| *s.borrow_mut() = vec![(Fix::MulB, j), (Fix::TagB, j)]);
    let old = run(
        &g,
        &x,
        AuditConfig {
            coordinated: false,
            instances: false,
            ..AuditConfig::default()
        },
    );
    let new = run(&g, &x, AuditConfig::default());
    SKIP_FIXED.with(|s| s.borrow_mut().clear());
    // Moving the low limb alone breaks the unit's sum: the single-cell audit sees nothing.
    assert!(old.escaped().is_empty(), "{:?}", old.escaped());
    let escaped = new.escaped();
    assert!(
        !escaped.is_empty(),
        "the coordinated carry missed the unchecked limb"
    );
    assert!(
        escaped.iter().all(
            |m| matches!(m.kind, Kind::Coordinated(k) if k.starts_with("range"))
                && m.col == Adv::R
                && m.row == j
        ),
        "{escaped:?}"
    );
}

#[test]
fn a_sampled_audit_touches_every_gate_kind_and_part() {
    let (g, x) = dense_relu();
    let cfg = AuditConfig {
        exhaustive_below: 0,
        per_group: 1,
        ..AuditConfig::default()
    };
    let r = run(&g, &x, cfg);
    assert!(!r.exhaustive && r.mutations.len() < r.classes + 30);
    assert!(r.escaped().is_empty(), "{:?}", r.escaped());
    let c = &r.coverage;
    assert_eq!(
        (c.pairs_covered, c.gates_covered),
        (c.pairs, c.gates),
        "{c:?}"
    );
    assert!(c.missed.is_empty());
    // Without the top-up the same sample states what it missed (or covers it by chance).
    let bare = run(
        &g,
        &x,
        AuditConfig {
            cover: false,
            ..cfg
        },
    );
    let b = &bare.coverage;
    assert_eq!(b.pairs, c.pairs);
    assert_eq!(b.pairs - b.pairs_covered, b.missed.len());
}

#[test]
fn a_public_value_is_judged_by_the_verifiers_bound() {
    // |v| < 2^bound, as the verifier reads a public value.
    assert!(bound_admits(255, Some(8)) && bound_admits(-255, Some(8)));
    assert!(!bound_admits(256, Some(8)) && !bound_admits(-256, Some(8)));
    assert!(bound_admits(i64::MIN + 1, None));
    // Every out-of-bound instance mutation of the honest circuit is caught by a constraint
    // already (its cells no longer agree with the gates that read them).
    let (g, x) = dense_relu();
    let r = run(&g, &x, AuditConfig::default());
    let out: Vec<_> = r
        .mutations
        .iter()
        .filter(|m| m.kind == Kind::Instance("instance out of bound"))
        .collect();
    assert_eq!(out.len(), 8);
    assert!(out
        .iter()
        .all(|m| m.part == "instance" && m.outcome == Outcome::Caught));
}

#[test]
fn the_in_place_check_judges_every_mutation_as_a_full_re_layout_does() {
    let both = |g: &Graph, x: &[Tensor<i64>]| {
        let (c, k, instances) = circuit(g, x);
        let fast = audit_with(&c, k, &instances, AuditConfig::default(), true).unwrap();
        let plain = audit_with(&c, k, &instances, AuditConfig::default(), false).unwrap();
        assert_eq!(fast.mutations, plain.mutations);
        assert_eq!(plain.checks.in_place, 0);
        // Every mutation the in-place check did not catch was laid out again in full.
        let judged = fast.mutations.iter().filter(|m| m.outcome != Outcome::Free);
        assert_eq!(fast.checks.in_place + fast.checks.full, judged.count());
        assert!(fast.checks.in_place > 0, "{:?}", fast.checks);
        fast
    };
    for (g, x) in [dense_relu(), div_graph()] {
        let r = both(&g, &x);
        assert!(r.escaped().is_empty(), "{:?}", r.escaped());
    }
    // An under-constrained circuit (a limb without its range lookup): the same escapes.
    let (g, x) = dense_relu();
    let (c, _, _) = circuit(&g, &x);
    let mut rec = Recorder::new();
    lay_out_with(&mut rec, &c.graph, c.params, &c.tables, c.trace.as_deref()).unwrap();
    let j = rec
        .enabled
        .iter()
        .find_map(|&(s, j)| (s == Sel::Range(2)).then_some(j))
        .unwrap();
    SKIP_FIXED.with(|s| *s.borrow_mut() = vec![(Fix::MulB, j), (Fix::TagB, j)]);
    let r = both(&g, &x);
    SKIP_FIXED.with(|s| s.borrow_mut().clear());
    assert!(!r.escaped().is_empty());
}
