//! Negative tests of TopK: forged witnesses laid out by the chip itself with forced positions
//! (every derived cell consistent), so that only the constraint under test can fail.

use std::sync::Arc;

use halo2_axiom::dev::MockProver;
use zkinfer_ir::{eval, Graph, Input, Op, Tensor, TopK};

use super::tests::{graph, node};
use crate::grid::{DryRun, Tamper};
use crate::layout::{lay_out, topk::FORCE};
use crate::{plan, CircuitParams, ModelCircuit, TableSet};

/// Limbs of 12 bits: the order and threshold gaps (10 bits) are one lookup each.
const TB: zkinfer_ir::TableBounds = zkinfer_ir::TableBounds {
    neg: 128,
    pos: 512,
    exp: 256,
    limb_bits: 12,
};

/// x: [4] → the positions of its 2 largest.
fn topk_graph() -> (Graph, Vec<Tensor<i64>>) {
    let op = Op::TopK(TopK {
        windows: vec![vec![0, 1, 2, 3]],
        k: 2,
        largest: true,
    });
    let g = graph(
        vec![
            node("x", Op::Input(Input { index: 0 }), vec![], vec![4], 5),
            node("top", op, vec![0], vec![1, 2], 2),
        ],
        vec![0],
        1,
    );
    (g, vec![Tensor::new(vec![4], vec![5, 9, 1, 7]).unwrap()])
}

/// The MockProver's verdict on the witness the chip lays out when forced to `positions`
/// (every cell that differs from the honest layout tampered; the output instance claims
/// the forced positions).
fn forced(positions: Vec<usize>) -> Result<(), String> {
    let (g, x) = topk_graph();
    let honest = eval(&g, &TB, &x).unwrap();
    let mut claimed = honest.clone();
    let data = positions.iter().map(|&p| p as i64).collect();
    claimed.values[1] = Tensor::new(vec![1, 2], data).unwrap();
    let p = plan(&g, &TB).unwrap();
    let tables = TableSet::for_graph(&g, &TB);
    let record = |trace: &zkinfer_ir::Trace, force: Option<Vec<usize>>| {
        FORCE.with(|f| *f.borrow_mut() = force);
        let mut r = DryRun {
            values: Some(Default::default()),
            ..DryRun::default()
        };
        lay_out(&mut r, &g, p.lanes, &tables, Some(trace)).unwrap();
        FORCE.with(|f| *f.borrow_mut() = None);
        r.values.unwrap_or_default()
    };
    let (a, b) = (record(&honest, None), record(&claimed, Some(positions)));
    let tamper: Vec<Tamper> = b
        .iter()
        .filter(|(cell, v)| a.get(cell) != Some(v))
        .map(|(&(col, row), &value)| Tamper { col, row, value })
        .collect();
    assert!(!tamper.is_empty());
    let mut c = ModelCircuit::new(
        Arc::new(g.clone()),
        &TB,
        CircuitParams::for_graph(&g, p.lanes),
    )
    .with_trace(Arc::new(honest));
    c.tamper = tamper;
    let instances = ModelCircuit::instances(&g, &claimed);
    let prover = MockProver::run(p.k, &c, vec![instances]).map_err(|e| format!("{e:?}"))?;
    prover.verify().map_err(|e| format!("{e:?}"))
}

fn only(err: &str, constraint: &str) {
    assert!(err.contains(constraint), "expected {constraint}: {err}");
    for holds in ["\"arith\"", "\"dot\"", "\"range"] {
        assert!(!err.contains(holds), "{holds} must hold: {err}");
    }
}

#[test]
fn honest_top_k_is_proven() {
    let (g, x) = topk_graph();
    assert_eq!(eval(&g, &TB, &x).unwrap().values[1].data(), &[1, 3]);
    super::tests::check(&g, &x, vec![]).unwrap();
}

#[test]
fn an_unsorted_output_fails_the_order_check() {
    // 7 before 9: every row, sum and product holds; (7 − 9)·4 + 1 − 3 − 1 < 0 does not.
    let err = forced(vec![3, 1]).unwrap_err();
    only(&err, "table A");
}

#[test]
fn dropping_a_top_element_fails_the_threshold_check() {
    // 9 and 5, dropping the 7: sorted and injective, but the 7 left out is above the last.
    let err = forced(vec![1, 0]).unwrap_err();
    only(&err, "table A");
}

#[test]
fn picking_an_element_twice_fails_the_column_booleanity() {
    // 9 twice: each row one-hot and the order (9, 9; position 1 after 1) fails too, but the
    // column of position 1 sums to 2, which its booleanity refuses.
    let err = forced(vec![1, 1]).unwrap_err();
    assert!(
        err.contains("Permutation") || err.contains("Equality"),
        "{err}"
    );
}
