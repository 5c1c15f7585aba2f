//! Negative tests of the CNN and classic-ML chips: maximum and argmax, rounded division and
//! means, table functions and comparisons.

use zkinfer_ir::{eval, Graph, Input, Op, Rescale, TableFn, Tensor, Windows};

use super::tests::{
    assert_fails, check, check_with, forge, forge_with, graph, node, rows_of, rows_with, t,
    unit_cells, unsigned_cells, value_at, TB,
};
use crate::grid::{Adv, Tamper};

/// x[1,4] → `op` over the one window of all four elements; the output is x itself, so a
/// forged maximum is caught by the chip, not by the instance.
fn window_graph(op: Op, z: [i64; 4]) -> (Graph, Vec<Tensor<i64>>) {
    let s = vec![1, 4];
    let g = graph(
        vec![
            node("x", Op::Input(Input { index: 0 }), vec![], s.clone(), 5),
            node("reduce", op, vec![0], vec![1, 1], 5),
        ],
        vec![0],
        0,
    );
    (g, vec![Tensor::new(s, z.to_vec()).unwrap()])
}

fn max_op() -> Op {
    Op::Max(Windows {
        windows: vec![vec![0, 1, 2, 3]],
    })
}

/// Forges `m` consistently: every gap `m − z_i`, its range unit (the gap in the low limb) and
/// the product chain.
fn forge_max(g: &Graph, z: [i64; 4], m: i64) -> Vec<Tamper> {
    let m_row = rows_of(g, 1, "max.m")[0];
    let gaps = rows_of(g, 1, "arith");
    let units = rows_of(g, 1, "range");
    let prods = rows_of(g, 1, "max.prod");
    let mut cells = vec![(Adv::X(0), m_row, m)];
    let mut prod = 1i64;
    for (i, &zi) in z.iter().enumerate() {
        let d = m - zi;
        cells.push((Adv::Acc, gaps[i], d));
        cells.extend(unsigned_cells(units[i], d, 2));
        prod *= d;
        if i > 0 {
            cells.push((Adv::Acc, prods[i - 1], prod));
        }
    }
    forge(g, &cells)
}

#[test]
fn max_chip_accepts_the_true_maximum_only() {
    let z = [3, 9, -2, 5];
    let (g, x) = window_graph(max_op(), z);
    check(&g, &x, vec![]).unwrap();
    assert_eq!(value_at(&g, &x, 1, 0), 9);
    // Below the maximum: the gap of 9 is negative, which its range unit's limb lookup rejects.
    let err = check(&g, &x, forge_max(&g, z, 8)).unwrap_err();
    assert!(err.contains("table B"), "{err}");
    // Above every element: no gap is zero, so the product of the gaps is not 0.
    let err = check(&g, &x, forge_max(&g, z, 10)).unwrap_err();
    assert!(
        err.contains("Equality constraint not satisfied") && !err.contains("table B"),
        "{err}"
    );
}

#[test]
fn a_gap_of_one_limb_is_one_lookup_that_rejects_a_negative_gap() {
    // With 10-bit limbs the 9-bit activation range fits one limb: each gap m − z_i is checked
    // by one lookup of (d, d) in the range table, in a rescale slot of its own.
    let tb = zkinfer_ir::TableBounds {
        limb_bits: 10,
        ..TB
    };
    let z = [3, 9, -2, 5];
    let (g, x) = window_graph(max_op(), z);
    check_with(&g, &x, tb, vec![]).unwrap();
    assert!(rows_with(&g, &tb, 1, "range").len() == 4);
    // m = 8: the gap of 9 is −1, consistent in the gap row, its lookup slot and the product
    // chain; the range lookup of its slot (lookup A) rejects it (and no gap being 0, the
    // product check too).
    let gaps = rows_with(&g, &tb, 1, "arith");
    let slots = rows_with(&g, &tb, 1, "range");
    let prods = rows_with(&g, &tb, 1, "max.prod");
    let mut cells = vec![(Adv::X(0), rows_with(&g, &tb, 1, "max.m")[0], 8)];
    let mut prod = 1i64;
    for (i, &zi) in z.iter().enumerate() {
        let d = 8 - zi;
        cells.push((Adv::Acc, gaps[i], d));
        cells.push((Adv::F, slots[i], d));
        prod *= d;
        if i > 0 {
            cells.push((Adv::Acc, prods[i - 1], prod));
        }
    }
    let err = check_with(&g, &x, tb, forge_with(&g, &tb, &cells)).unwrap_err();
    assert!(err.contains("table A") && !err.contains("table B"), "{err}");
}

#[test]
fn argmax_chip_rejects_a_later_tie_or_a_non_maximal_index() {
    let z = [5, 9, 9, 1];
    let op = Op::ArgMax(zkinfer_ir::ArgMax {
        windows: vec![vec![0, 1, 2, 3]],
        last: false,
    });
    let (g, x) = window_graph(op, z);
    check(&g, &x, vec![]).unwrap();
    assert_eq!(value_at(&g, &x, 1, 0), 1);
    let e = rows_of(&g, 1, "argmax.e");
    let arith = rows_of(&g, 1, "arith");
    // Range units: the four gaps, then each element's first-index gap.
    let units = rows_of(&g, 1, "range");
    // arith rows: four gaps, then per element: boolean, e·gap, [running sum], first-index gap.
    let (prefix_1, t_1) = (arith[4 + 3 + 2], arith[4 + 3 + 3]);
    // Choosing the second 9 (index 2) instead of the first: the running sum before it is 0,
    // so the first 9's gap must be at least 1; it is 0, and 0 + 0 - 1 fails the range check.
    let mut cells = vec![
        (Adv::X(0), e[1], 0),
        (Adv::X(0), e[2], 1),
        (Adv::Acc, prefix_1, 0),
        (Adv::Acc, t_1, -1),
    ];
    cells.extend(unsigned_cells(units[4 + 1], -1, 2));
    let err = check(&g, &x, forge(&g, &cells)).unwrap_err();
    assert!(err.contains("table B"), "{err}");
    // Choosing index 0 (value 5): its gap 4 times e = 1 is not zero.
    let picked_0 = arith[4 + 1];
    let forged = forge(
        &g,
        &[
            (Adv::X(0), e[0], 1),
            (Adv::X(0), e[1], 0),
            (Adv::Acc, picked_0, 4),
        ],
    );
    let err = check(&g, &x, forged).unwrap_err();
    assert!(err.contains("Equality constraint not satisfied"), "{err}");
}

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

#[test]
fn division_chip_rejects_a_wrong_quotient_or_remainder() {
    let (g, x) = div_graph();
    check(&g, &x, vec![]).unwrap();
    // round(7·8/3) = 19.
    assert_eq!(value_at(&g, &x, 2, 0), 19);
    let row = rows_of(&g, 2, "div")[0];
    assert_fails(&g, &x, t(Adv::X(2), row, 20), "\"div\"");
    // 2·7·8 + 3 = 115 = 19·6 + 1. Quotient 18 with remainder 7 ≥ 2b satisfies the gate, but
    // its slack 2b − 1 − r = −2 fails its range unit (units per element: r, slack, p).
    let units = rows_of(&g, 2, "range");
    let forged_div = |p: i64, r: i64, slack: i64| {
        let mut cells = vec![(Adv::X(2), row, p), (Adv::R, row, r), (Adv::Q, row, slack)];
        cells.extend(unsigned_cells(units[0], r, 2));
        cells.extend(unsigned_cells(units[1], slack, 2));
        cells.extend(unit_cells(units[2], p, 2));
        forge(&g, &cells)
    };
    let err = check(&g, &x, forged_div(18, 7, -2)).unwrap_err();
    assert!(err.contains("table B") && !err.contains("\"div\""), "{err}");
    // Quotient 20 with remainder −5: the negative remainder fails its range unit.
    let err = check(&g, &x, forged_div(20, -5, 10)).unwrap_err();
    assert!(err.contains("table B") && !err.contains("\"div\""), "{err}");
}

/// x[1,3] → Rescale(shift, `table`, floor?).
fn table_graph(table: TableFn, shift: u32, floor: bool, z: [i64; 3]) -> (Graph, Vec<Tensor<i64>>) {
    let s = vec![1, 3];
    let op = Op::Rescale(Rescale {
        shifts: vec![shift],
        table,
        floor,
    });
    let g = graph(
        vec![
            node("x", Op::Input(Input { index: 0 }), vec![], s.clone(), 13),
            node("f", op, vec![0], s.clone(), 9),
        ],
        vec![0],
        1,
    );
    (g, vec![Tensor::new(s, z.to_vec()).unwrap()])
}

#[test]
fn table_functions_reject_a_row_not_in_the_table() {
    let tanh = TableFn::Map {
        g: zkinfer_ir::MapFn::Tanh,
        in_scale: 4,
        out_scale: 6,
        extent: None,
    };
    let (g, x) = table_graph(tanh, 2, false, [40, -100, 7]);
    check(&g, &x, vec![]).unwrap();
    // tanh saturates: its table input c = clamp(q) and f(c) sit in the second row of the
    // range unit of q − c.
    for i in 0..3 {
        let j = rows_of(&g, 1, "range")[i];
        let f = value_at(&g, &x, 1, i);
        assert_fails(&g, &x, t(Adv::F, j + 1, f + 1), "table A");
    }
}

#[test]
fn comparison_sign_comes_from_a_floor_and_cannot_be_flipped() {
    // [x < 0] after a floor shift of 4: -1 → q = -1 (true), 15 → q = 0 (false), -16 → -1.
    let (g, x) = table_graph(TableFn::Negative, 4, true, [-1, 15, -16]);
    check(&g, &x, vec![]).unwrap();
    assert_eq!(eval(&g, &TB, &x).unwrap().values[1].data(), &[1, 0, 1]);
    let row = rows_of(&g, 1, "rescale")[0];
    let j = rows_of(&g, 1, "range")[0];
    // Claiming -1 is not negative: q = 0 (sign 0, limbs 0) needs r = -1, outside [0, 16).
    let mut cells = vec![(Adv::R, row, -1)];
    cells.extend(unit_cells(j, 0, 2));
    let err = check(&g, &x, forge(&g, &cells)).unwrap_err();
    assert!(
        err.contains("table B") && !err.contains("\"range\""),
        "{err}"
    );
    // Or keeping q = -1 with the sign 0: the limbs no longer recompose q.
    assert_fails(&g, &x, t(Adv::F, j, 0), "\"range\"");
}

#[test]
fn an_input_outside_the_table_range_fails_with_the_node_named() {
    let tanh = TableFn::Map {
        g: zkinfer_ir::MapFn::Tanh,
        in_scale: 4,
        out_scale: 6,
        extent: None,
    };
    // 4000 >> 2 = 1000 lies past the table's end (512).
    let (g, x) = table_graph(tanh, 2, false, [40, 4000, 7]);
    let err = eval(&g, &TB, &x).unwrap_err().to_string();
    assert!(err.contains("`f`"), "{err}");
    assert!(err.contains("tanh") && err.contains("1000"), "{err}");
}

#[test]
fn mean_divides_by_its_fixed_count_with_exact_rounding() {
    let s = vec![1, 4];
    let g = graph(
        vec![
            node("x", Op::Input(Input { index: 0 }), vec![], s.clone(), 7),
            node(
                "mean",
                Op::Mean(zkinfer_ir::Mean {
                    counts: vec![3, 3, 5, 5],
                }),
                vec![0],
                s.clone(),
                7,
            ),
        ],
        vec![0],
        1,
    );
    let x = vec![Tensor::new(s, vec![10, -10, 12, 13]).unwrap()];
    check(&g, &x, vec![]).unwrap();
    // round(10/3) = 3, round(-10/3) = -3, round(12/5) = 2, round(13/5) = 3.
    assert_eq!(eval(&g, &TB, &x).unwrap().values[1].data(), &[3, -3, 2, 3]);
    let div = rows_of(&g, 1, "div");
    assert_fails(&g, &x, t(Adv::X(2), div[0], 4), "\"div\"");
    // 2·10 + 3 = 23 = 3·6 + 5. Quotient 2 with remainder 11 ≥ 2b: its slack −6 fails its
    // range unit (units per element: r, slack, p).
    let units = rows_of(&g, 1, "range");
    let mut cells = vec![
        (Adv::X(2), div[0], 2),
        (Adv::R, div[0], 11),
        (Adv::Q, div[0], -6),
    ];
    cells.extend(unsigned_cells(units[0], 11, 2));
    cells.extend(unsigned_cells(units[1], -6, 2));
    cells.extend(unit_cells(units[2], 2, 2));
    let err = check(&g, &x, forge(&g, &cells)).unwrap_err();
    assert!(err.contains("table B") && !err.contains("\"div\""), "{err}");
    // The divisor is a fixed constant: claiming 4 instead of 3 breaks its `arith` row.
    let divisor_row = rows_of(&g, 1, "arith")[0];
    let err = check(&g, &x, forge(&g, &[(Adv::Acc, divisor_row, 4)])).unwrap_err();
    assert!(err.contains("\"arith\""), "{err}");
}
