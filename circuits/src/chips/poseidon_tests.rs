//! The Poseidon chip: the commitment the circuit exposes is the native hash, and a forged
//! round fails its gate.

use std::sync::Arc;

use halo2_axiom::dev::MockProver;
use zkinfer_ir::{eval, Affine, Graph, Input, Op, Tensor};

use super::tests::{graph, node, t, TB};
use crate::grid::{Adv, DryRun, Tamper};
use crate::layout::lay_out_with;
use crate::{plan_with, poseidon, CircuitParams, ModelCircuit, TableSet};

const COMMITTED: CircuitParams = CircuitParams {
    lanes: 3,
    freivalds: false,
    packed: false,
    commit_inputs: true,
    commit_outputs: true,
    packed_inputs: true,
    packed_outputs: false,
    limb_bits: 8,
    gelu_line: false,
    booleans: false,
    weight_lanes: 0,
};

/// x[n] → 2x + 1, both sides committed. The inputs (|x| < 2^6) fit the activation range
/// [−2^9, 2^9) and are packed before hashing; the outputs (declared |y| < 2^10, beyond it) are
/// hashed one element per value.
fn affine(n: usize) -> (Graph, Vec<Tensor<i64>>) {
    let g = graph(
        vec![
            node("x", Op::Input(Input { index: 0 }), vec![], vec![n], 6),
            node(
                "y",
                Op::Affine(Affine {
                    mul: Tensor::new(vec![n], vec![2; n]).unwrap(),
                    add: Tensor::new(vec![n], vec![1; n]).unwrap(),
                }),
                vec![0],
                vec![n],
                10,
            ),
        ],
        vec![0],
        1,
    );
    let x: Vec<i64> = (0..n as i64).map(|i| 7 * i - 20).collect();
    (g, vec![Tensor::new(vec![n], x).unwrap()])
}

fn run(
    g: &Graph,
    x: &[Tensor<i64>],
    instances: Option<Vec<crate::Fr>>,
    tamper: Vec<Tamper>,
) -> Result<(), String> {
    let trace = eval(g, &TB, x).unwrap();
    let p = plan_with(g, &TB, COMMITTED).unwrap();
    let params = CircuitParams {
        lanes: p.lanes,
        ..COMMITTED
    };
    let honest = ModelCircuit::instances_for(g, &trace, &TB, params, None).unwrap();
    let mut c = ModelCircuit::new(Arc::new(g.clone()), &TB, params).with_trace(Arc::new(trace));
    c.tamper = tamper;
    let prover = MockProver::run(p.k, &c, vec![instances.unwrap_or(honest)])
        .map_err(|e| format!("{e:?}"))?;
    prover.verify().map_err(|e| format!("{e:?}"))
}

/// First row of each permutation.
fn permutation_rows(g: &Graph) -> Vec<usize> {
    let p = plan_with(g, &TB, COMMITTED).unwrap();
    let params = CircuitParams {
        lanes: p.lanes,
        ..COMMITTED
    };
    let tables = TableSet::for_graph(g, &TB);
    let report = lay_out_with(&mut DryRun::default(), g, params, &tables, None).unwrap();
    report
        .placements
        .iter()
        .filter(|pl| pl.what == "poseidon")
        .map(|pl| pl.row)
        .collect()
}

#[test]
fn the_exposed_commitments_are_the_native_hashes() {
    for n in [1, 2, 3, 5] {
        let (g, x) = affine(n);
        let trace = eval(&g, &TB, &x).unwrap();
        let (pin, pout) = (
            poseidon::boundary_packing(&g, &[0], &TB),
            poseidon::boundary_packing(&g, &[1], &TB),
        );
        assert!(pin.is_some() && pout.is_none());
        let commit = |v: &[i64], p| poseidon::commit_boundary(v, p).unwrap();
        let native = vec![
            commit(trace.values[0].data(), pin),
            commit(trace.values[1].data(), pout),
        ];
        assert_ne!(native[0], poseidon::commit(trace.values[0].data()));
        run(&g, &x, Some(native), vec![]).unwrap_or_else(|e| panic!("n = {n}: {e}"));
        // The commitment to other values is not what the circuit computes.
        let mut other = trace.values[1].data().to_vec();
        other[0] += 1;
        let wrong = vec![
            poseidon::commit(trace.values[0].data()),
            poseidon::commit(&other),
        ];
        let err = run(&g, &x, Some(wrong), vec![]).expect_err("a wrong commitment must fail");
        assert!(
            err.contains("Instance") || err.contains("instance"),
            "{err}"
        );
    }
}

#[test]
fn a_forged_round_fails_its_gate() {
    let (g, x) = affine(3);
    let rows = permutation_rows(&g);
    // The inputs packed into one element (one permutation), the outputs one element each (a
    // pair and a padded single: two permutations).
    assert_eq!(rows.len(), 3, "{rows:?}");
    let first = rows[0];
    let fails = |tamper: Tamper, gate: &str| {
        let err = run(&g, &x, None, vec![tamper]).expect_err("a forged round must fail");
        assert!(err.contains(gate), "expected `{gate}` to fail, got: {err}");
    };
    // A wrong square in a full round, a wrong square in a partial round, a wrong state
    // element between rounds.
    fails(t(Adv::Q, first, 5), "poseidon full round");
    fails(t(Adv::Acc, first + 20, 5), "poseidon partial round");
    fails(t(Adv::X(2), first + 30, 5), "poseidon partial round");
    // The last permutation's output row: its state is checked by the round before it.
    fails(
        t(Adv::X(1), rows[2] + poseidon::ROUNDS, 5),
        "poseidon full round",
    );
}

#[test]
fn the_layout_takes_the_rows_it_reports() {
    let (g, _) = affine(10);
    let rows = permutation_rows(&g);
    // The outputs: 10 values, one element each, five permutations.
    let rows = &rows[1..];
    // Two absorb rows before each permutation but the first.
    assert_eq!(
        rows[1] - rows[0],
        poseidon::ROUNDS + 1 + 2,
        "input permutations are back to back but for the absorb rows"
    );
    assert_eq!(crate::sponge_rows(5), 3 * (poseidon::ROUNDS + 1) + 2 * 2);
}

/// x[n] → x + x, outputs committed: a sum of two values in the table's domain (a residual
/// stream), which may leave it by one bit.
fn residual(n: usize, x: Vec<i64>, input_bits: u32) -> (Graph, Vec<Tensor<i64>>) {
    use zkinfer_ir::{Binary, BinaryKind};
    let add = Op::Binary(Binary {
        kind: BinaryKind::Add,
        lhs_shift: 0,
        rhs_shift: 0,
    });
    let g = graph(
        vec![
            node(
                "x",
                Op::Input(Input { index: 0 }),
                vec![],
                vec![n],
                input_bits,
            ),
            node("sum", add, vec![0, 0], vec![n], input_bits + 1),
        ],
        vec![0],
        1,
    );
    (g, vec![Tensor::new(vec![n], x).unwrap()])
}

#[test]
fn a_residual_sum_is_packed_after_the_sending_shard_checks_its_range() {
    let packed = CircuitParams {
        commit_inputs: false,
        packed_inputs: false,
        packed_outputs: true,
        ..COMMITTED
    };
    let ranges = |g: &Graph| {
        let tables = TableSet::for_graph(g, &TB);
        let report = lay_out_with(&mut DryRun::default(), g, packed, &tables, None).unwrap();
        report
            .placements
            .iter()
            .filter(|p| p.node == 1 && p.what == "range")
            .count()
    };
    // Inputs in the domain [−2^9, 2^9): their sum packs, each value range-checked first (two
    // units per value: both sides of the exact bound).
    let (g, x) = residual(6, vec![-256, -7, 0, 5, 200, 255], 9);
    assert!(crate::poseidon::boundary_packing(&g, &[1], &TB).is_some());
    assert_eq!(ranges(&g), 2 * 6);
    let trace = eval(&g, &TB, &x).unwrap();
    let instances = ModelCircuit::instances_for(&g, &trace, &TB, packed, None).unwrap();
    let c = ModelCircuit::new(Arc::new(g.clone()), &TB, packed).with_trace(Arc::new(trace));
    let k = plan_with(&g, &TB, packed).unwrap().k;
    MockProver::run(k, &c, vec![instances])
        .unwrap()
        .verify()
        .unwrap();
    // A sum outside the domain (−600) cannot be packed: the range check refuses it.
    let (g, x) = residual(1, vec![-300], 9);
    let trace = eval(&g, &TB, &x).unwrap();
    let tables = TableSet::for_graph(&g, &TB);
    let Err(err) = lay_out_with(&mut DryRun::default(), &g, packed, &tables, Some(&trace)) else {
        panic!("a sum outside the table's domain must not pack");
    };
    assert!(format!("{err}").contains("outside"), "{err}");
    // A sum of such a sum and a value (the residual stream after its second sum) packs too.
    let mut g = residual(2, vec![1, 2], 9).0;
    let mut second = g.nodes[1].clone();
    second.name = "sum2".into();
    second.inputs = vec![1, 0];
    g.nodes.push(second);
    g.outputs = vec![2];
    assert!(crate::poseidon::boundary_packing(&g, &[2], &TB).is_some());
    // Values that the circuit itself confines need no check; a product of two does not pack.
    let (g, _) = affine(4);
    assert!(crate::poseidon::boundary_packing(&g, &[0], &TB).is_some());
    let mut g = residual(2, vec![1, 2], 9).0;
    if let Op::Binary(b) = &mut g.nodes[1].op {
        b.kind = zkinfer_ir::BinaryKind::Mul;
    }
    assert!(crate::poseidon::boundary_packing(&g, &[1], &TB).is_none());
}
