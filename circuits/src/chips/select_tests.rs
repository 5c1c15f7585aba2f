//! Negative tests of selection by a computed index: a one-hot selector moved to another
//! candidate, or replaced by a non-boolean combination with the right sum and key, fails
//! only the constraint under test.

use zkinfer_ir::{ElemType, Graph, Input, Op, Select, Source, TableBounds, Tensor};

use super::tests::{check, check_claiming, forge, graph, node, rows_of, TB};
use crate::grid::Adv;
use crate::plan::plan;

const VALUES: [i64; 3] = [10, -20, 30];

/// idx: [2] (int64) → element o picks `VALUES[idx[o]]` among keys 0, 1, 2.
fn select_graph() -> (Graph, Vec<Tensor<i64>>) {
    let mut idx = node("idx", Op::Input(Input { index: 0 }), vec![], vec![2], 3);
    idx.dtype = ElemType::Int64;
    let choices: Vec<(i64, Source)> = VALUES
        .iter()
        .enumerate()
        .map(|(k, &v)| (k as i64, Source::Const(v)))
        .collect();
    let sel = Op::Select(Select {
        index: vec![0, 1],
        choices: vec![choices.clone(), choices],
    });
    let g = graph(
        vec![idx, node("pick", sel, vec![0], vec![2], 6)],
        vec![0],
        1,
    );
    (g, vec![Tensor::new(vec![2], vec![1, 2]).unwrap()])
}

/// The accumulator cells of a dot chain starting at row `start` over `terms` (values with
/// their weights) plus `bias`, `lanes` products a row: each later row's `acc` holds the sum
/// so far, and the row after the last the total.
fn dot_cells(
    start: usize,
    terms: &[(i64, i64)],
    bias: i64,
    lanes: usize,
) -> Vec<(Adv, usize, i64)> {
    let mut acc = bias;
    let mut out = Vec::new();
    for (t, chunk) in terms.chunks(lanes).enumerate() {
        acc += chunk.iter().map(|(v, w)| v * w).sum::<i64>();
        out.push((Adv::Acc, start + t + 1, acc));
    }
    out
}

/// Element 0's selector forged to `e` (index 1 in the instance), with every cell the chip
/// derives from it recomputed: the booleanity rows, the three dot chains and the key
/// difference. Returns the cells and the output the forger claims.
fn forged(g: &Graph, tb: &TableBounds, e: [i64; 3]) -> (Vec<(Adv, usize, i64)>, i64) {
    let lanes = plan(g, tb).unwrap().lanes;
    let wit = rows_of(g, 1, "select.e");
    let arith = rows_of(g, 1, "arith");
    let dots = rows_of(g, 1, "dot");
    let mut cells = Vec::new();
    for j in 0..3 {
        cells.push((Adv::X(0), wit[j], e[j]));
        cells.push((Adv::Acc, arith[j], e[j] * e[j] - e[j]));
    }
    let ones: Vec<(i64, i64)> = e.iter().map(|&v| (v, 1)).collect();
    cells.extend(dot_cells(dots[0], &ones, -1, lanes));
    let keyed: Vec<(i64, i64)> = e.iter().enumerate().map(|(k, &v)| (v, k as i64)).collect();
    let key = keyed.iter().map(|(v, k)| v * k).sum::<i64>();
    cells.extend(dot_cells(dots[1], &keyed, 0, lanes));
    cells.push((Adv::Acc, arith[3], key - 1));
    let valued: Vec<(i64, i64)> = e.iter().zip(VALUES).map(|(&v, c)| (v, c)).collect();
    let out = valued.iter().map(|(v, c)| v * c).sum::<i64>();
    cells.extend(dot_cells(dots[2], &valued, 0, lanes));
    (cells, out)
}

#[test]
fn honest_selection_picks_the_indexed_candidate() {
    let (g, x) = select_graph();
    let t = zkinfer_ir::eval(&g, &TB, &x).unwrap();
    assert_eq!(t.values[1].data(), &[-20, 30]);
    check(&g, &x, vec![]).unwrap();
    // An index none of the candidates has is refused by the evaluator.
    let bad = vec![Tensor::new(vec![2], vec![1, 3]).unwrap()];
    assert!(zkinfer_ir::eval(&g, &TB, &bad).is_err());
}

#[test]
fn a_selector_moved_to_another_candidate_fails_the_key_check() {
    // Index 1, but the one-hot picks key 2 (value 30): booleanity, sum and every dot hold;
    // the key (2) minus the index (1) is not the constant 0.
    let (g, x) = select_graph();
    let (cells, out) = forged(&g, &TB, [0, 0, 1]);
    assert_eq!(out, 30);
    let err = check_claiming(&g, &x, TB, forge(&g, &cells), Some((0, out))).unwrap_err();
    assert!(
        err.contains("Permutation") || err.contains("Equality"),
        "{err}"
    );
    for holds in ["\"arith\"", "\"dot\"", "Lookup"] {
        assert!(!err.contains(holds), "{holds} must hold: {err}");
    }
}

#[test]
fn a_non_one_hot_selector_fails_its_booleanity() {
    // e = (1, −1, 1): Σ e = 1 and Σ k·e = 1 = the index, so only e₁(e₁ − 1) = 2 ≠ 0 can
    // catch the forged output 10 + 20 + 30 = 60.
    let (g, x) = select_graph();
    let (cells, out) = forged(&g, &TB, [1, -1, 1]);
    assert_eq!(out, 60);
    let err = check_claiming(&g, &x, TB, forge(&g, &cells), Some((0, out))).unwrap_err();
    assert!(
        err.contains("Permutation") || err.contains("Equality"),
        "{err}"
    );
    for holds in ["\"arith\"", "\"dot\"", "Lookup"] {
        assert!(!err.contains(holds), "{holds} must hold: {err}");
    }
    // The same forgery with the booleanity row left honest breaks the arith gate instead.
    let (mut cells, out) = forged(&g, &TB, [1, -1, 1]);
    let row = rows_of(&g, 1, "arith")[1];
    cells.retain(|&(c, r, _)| !(c == Adv::Acc && r == row));
    let err = check_claiming(&g, &x, TB, forge(&g, &cells), Some((0, out))).unwrap_err();
    assert!(err.contains("\"arith\""), "{err}");
}
