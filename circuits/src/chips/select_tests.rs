//! Negative tests of selection by a computed index: a one-hot selector moved to another
//! candidate, or replaced by a non-boolean combination with the right sum and key, fails
//! only the constraint under test.

use zkinfer_ir::{
    Dense, ElemType, Graph, Input, OneHot, Op, Select, Source, TableBounds, Tensor, WeightSide,
};

use super::tests::{check, check_claiming, check_claims, forge, graph, node, rows_of, TB};
use crate::grid::Adv;
use crate::plan::plan;
use crate::CircuitParams;

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

/// The cells of element 0's selector entries `e`: witnessed in the lanes of their own sum's
/// chain (the first `dot` placement of node 1), `lanes` a row.
fn entry_cells(g: &Graph, e: &[i64]) -> Vec<(Adv, usize, i64)> {
    let lanes = plan(g, &TB).unwrap().lanes;
    let start = rows_of(g, 1, "select.e")[0];
    assert_eq!(start, rows_of(g, 1, "dot")[0]);
    e.iter()
        .enumerate()
        .map(|(j, &v)| (Adv::X(j % lanes), start + j / lanes, v))
        .collect()
}

/// Element 0's selector forged to `e` (index 1 in the instance), with every cell the chip
/// derives from it recomputed: the entries with their sum's chain, the keyed and valued dot
/// chains and the key difference. Returns the cells and the output the forger claims.
fn forged(g: &Graph, tb: &TableBounds, e: [i64; 3]) -> (Vec<(Adv, usize, i64)>, i64) {
    let lanes = plan(g, tb).unwrap().lanes;
    let arith = rows_of(g, 1, "arith");
    let dots = rows_of(g, 1, "dot");
    let mut cells = entry_cells(g, &e);
    let ones: Vec<(i64, i64)> = e.iter().map(|&v| (v, 1)).collect();
    cells.extend(dot_cells(dots[0], &ones, -1, lanes));
    let keyed: Vec<(i64, i64)> = e.iter().enumerate().map(|(k, &v)| (v, k as i64)).collect();
    let key = keyed.iter().map(|(v, k)| v * k).sum::<i64>();
    cells.extend(dot_cells(dots[1], &keyed, 0, lanes));
    cells.push((Adv::Acc, arith[0], key - 1));
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
    for holds in ["\"arith\"", "\"dot\"", "Lookup", "Permutation", "Equality"] {
        assert!(!err.contains(holds), "{holds} must hold: {err}");
    }
    // One failure: the gate's constraint of lane 1 (holding −1), in the entries' row.
    assert_eq!(err.matches("ConstraintCaseDebug").count(), 1, "{err}");
    assert!(err.contains("\"boolean lanes\""), "{err}");
    let start = rows_of(&g, 1, "select.e")[0];
    assert!(err.contains(&format!("row: {start}")), "{err}");
    assert!(err.contains("\"-1\""), "{err}");
    // The honest entries pass the same check.
    let (cells, out) = forged(&g, &TB, [0, 1, 0]);
    assert_eq!(out, -20);
    check_claiming(&g, &x, TB, forge(&g, &cells), Some((0, out))).unwrap();
}

#[test]
fn a_selectors_entries_take_only_their_sums_rows() {
    // With the boolean-lanes gate the entries take their sum's rows only; a circuit compiled
    // before it (no gate) lays them out one witness row and one booleanity row each, and both
    // layouts prove the honest selection.
    let (g, x) = select_graph();
    let p = plan(&g, &TB).unwrap();
    let tables = crate::TableSet::for_graph(&g, &TB);
    let with = CircuitParams::for_graph(&g, p.lanes);
    assert!(with.booleans);
    let without = CircuitParams {
        booleans: false,
        ..with
    };
    let rows = |params| {
        crate::lay_out_with(&mut crate::DryRun::default(), &g, params, &tables, None)
            .unwrap()
            .rows
    };
    // Two selectors of 3 entries: at least 2·3·2 rows fewer (the sum's chain is the same
    // rows; a witness row after a chain also skips the chain's last `acc` row).
    assert!(
        rows(without) >= rows(with) + 12,
        "{} {}",
        rows(without),
        rows(with)
    );
    for params in [with, without] {
        let trace = zkinfer_ir::eval(&g, &TB, &x).unwrap();
        let c = crate::ModelCircuit::new(std::sync::Arc::new(g.clone()), &TB, params)
            .with_trace(std::sync::Arc::new(trace.clone()));
        let instances = crate::ModelCircuit::instances(&g, &trace);
        halo2_axiom::dev::MockProver::run(p.k, &c, vec![instances])
            .unwrap()
            .assert_satisfied();
    }
}

/// idx: [2] (int64, keys 0..3) → its one-hot rows [2, 3].
fn one_hot_graph() -> (Graph, Vec<Tensor<i64>>) {
    let mut idx = node("idx", Op::Input(Input { index: 0 }), vec![], vec![2], 3);
    idx.dtype = ElemType::Int64;
    let mut hot = node(
        "hot",
        Op::OneHot(OneHot { depth: 3 }),
        vec![0],
        vec![2, 3],
        1,
    );
    hot.dtype = ElemType::Bool;
    let g = graph(vec![idx, hot], vec![0], 1);
    (g, vec![Tensor::new(vec![2], vec![1, 2]).unwrap()])
}

#[test]
fn one_hot_rows_are_a_selector_each_and_refuse_an_index_outside_the_depth() {
    let (g, x) = one_hot_graph();
    let t = zkinfer_ir::eval(&g, &TB, &x).unwrap();
    assert_eq!(t.values[1].data(), &[0, 1, 0, 0, 0, 1]);
    check(&g, &x, vec![]).unwrap();
    for bad in [3, -1] {
        let err = zkinfer_ir::eval(&g, &TB, &[Tensor::new(vec![2], vec![1, bad]).unwrap()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("hot") && err.contains("outside 0..3"), "{err}");
    }
}

#[test]
fn a_one_hot_row_moved_to_another_position_fails_the_key_check() {
    // Element 0's index is 1; the forger's row puts the 1 at position 2 and claims it as the
    // output. Booleanity and Σ e = 1 hold, the keyed sum (2) is recomputed, and only its
    // difference from the index (constrained to 0) fails.
    let (g, x) = one_hot_graph();
    let lanes = plan(&g, &TB).unwrap().lanes;
    let arith = rows_of(&g, 1, "arith");
    let dots = rows_of(&g, 1, "dot");
    let e = [0, 0, 1];
    let mut cells = entry_cells(&g, &e);
    let keyed: Vec<(i64, i64)> = e.iter().enumerate().map(|(k, &v)| (v, k as i64)).collect();
    cells.extend(dot_cells(dots[1], &keyed, 0, lanes));
    cells.push((Adv::Acc, arith[0], 2 - 1));
    let tamper = forge(&g, &cells);
    let claims = [(1, 0), (2, 1)];
    let err = check_claims(&g, &x, TB, tamper.clone(), &claims).unwrap_err();
    assert!(
        err.contains("Permutation") || err.contains("Equality"),
        "{err}"
    );
    for holds in ["\"arith\"", "\"dot\"", "Lookup"] {
        assert!(!err.contains(holds), "{holds} must hold: {err}");
    }
    // Without the forged row, the claim alone fails too: the output is the selector's cells.
    assert!(check_claims(&g, &x, TB, vec![], &claims).is_err());
}

#[test]
fn an_embedding_is_a_one_hot_product_checked_by_freivalds() {
    // 4 tokens from a 64-row table of width 16: Freivalds' check over the table takes fewer
    // rows than the direct map, so the product is laid out with it.
    let mut idx = node("ids", Op::Input(Input { index: 0 }), vec![], vec![4], 7);
    idx.dtype = ElemType::Int64;
    let mut hot = node(
        "hot",
        Op::OneHot(OneHot { depth: 64 }),
        vec![0],
        vec![4, 64],
        1,
    );
    hot.dtype = ElemType::Bool;
    let table: Vec<i64> = (0..64 * 16).map(|i| (i * 37 % 201) - 100).collect();
    let dense = Op::Dense(Dense {
        weight: Tensor::new(vec![64, 16], table.clone()).unwrap(),
        side: WeightSide::Right,
        bias: None,
    });
    let g = graph(
        vec![idx, hot, node("emb", dense, vec![1], vec![4, 16], 8)],
        vec![0],
        2,
    );
    let p = plan(&g, &TB).unwrap();
    assert!(CircuitParams::for_graph(&g, p.lanes).weight_lanes > 0);
    let ids = [5, 63, 0, 5];
    let x = vec![Tensor::new(vec![4], ids.to_vec()).unwrap()];
    let t = zkinfer_ir::eval(&g, &TB, &x).unwrap();
    let want: Vec<i64> = ids
        .iter()
        .flat_map(|&k| table[k as usize * 16..(k as usize + 1) * 16].to_vec())
        .collect();
    assert_eq!(t.values[2].data(), &want[..]);
    check(&g, &x, vec![]).unwrap();
    // Another row's entry claimed for token 1 fails.
    let err = check_claims(&g, &x, TB, vec![], &[(16, table[0])]).unwrap_err();
    assert!(!err.is_empty());
}
