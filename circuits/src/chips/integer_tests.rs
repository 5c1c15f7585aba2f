//! Negative tests of exact integer semantics: ONNX's integer division (its quotient, its
//! remainder and the right shift built on it) and the check that a value fits its element
//! type. Each forged witness is made consistent everywhere but in the constraint under test.

use zkinfer_ir::{eval, ElemType, Graph, Input, IntDiv, Linear, Op, Tensor};

use super::tests::{check, check_claiming, forge, graph, node, rows_of, unit_cells, TB};
use crate::grid::Adv;

const A: [i64; 4] = [21, -15, 12, -7];
const B: [i64; 4] = [2, 4, -5, -3];

/// a, b: [4] → the integer division `op` of a by b.
fn div_graph(op: IntDiv) -> (Graph, Vec<Tensor<i64>>) {
    let s = vec![4];
    let g = graph(
        vec![
            node("a", Op::Input(Input { index: 0 }), vec![], s.clone(), 6),
            node("b", Op::Input(Input { index: 1 }), vec![], s.clone(), 4),
            node("div", Op::IntDiv(op), vec![0, 1], s.clone(), 6),
        ],
        vec![0, 1],
        2,
    );
    let x = vec![
        Tensor::new(s.clone(), A.to_vec()).unwrap(),
        Tensor::new(s, B.to_vec()).unwrap(),
    ];
    (g, x)
}

fn op(floor: bool, remainder: bool) -> IntDiv {
    IntDiv { floor, remainder }
}

#[test]
fn honest_division_matches_onnx_in_every_mode() {
    let cases = [
        (op(false, false), [10, -3, -2, 2]),
        (op(false, true), [1, -3, 2, -1]),
        (op(true, false), [10, -4, -3, 2]),
        (op(true, true), [1, 1, -3, -1]),
    ];
    for (o, want) in cases {
        let (g, x) = div_graph(o);
        let got = eval(&g, &TB, &x).unwrap().values[2].data().to_vec();
        assert_eq!(got, want, "{o:?}");
        check(&g, &x, vec![]).unwrap();
    }
}

/// The cells a forger sets to make element 0's quotient `q` (with `r = a − q·b`) hold in
/// every gate of the division: the quotient witness and its range unit, the rows `q·b`, `r`,
/// `r'` and the gap `|b| − 1 − r'`, and the two unsigned checks. Element 0 has `a, b > 0`.
fn forged_quotient(g: &Graph, q: i64) -> Vec<(Adv, usize, i64)> {
    let (a, b) = (A[0], B[0]);
    let r = a - q * b;
    let gap = b - 1 - r;
    let wit = rows_of(g, 2, "intdiv.q")[0];
    let arith = rows_of(g, 2, "arith");
    let range = rows_of(g, 2, "range");
    let mut cells = vec![(Adv::X(0), wit, q)];
    cells.extend(unit_cells(range[0], q, 1));
    cells.extend([
        (Adv::Acc, arith[0], q * b),
        (Adv::Acc, arith[1], r),
        (Adv::Acc, arith[3], r),
        (Adv::F, range[3], r),
        (Adv::Acc, arith[4], gap),
        (Adv::F, range[4], gap),
    ]);
    cells
}

#[test]
fn a_wrong_quotient_fails_the_product_row() {
    let (g, x) = div_graph(op(false, false));
    let wit = rows_of(&g, 2, "intdiv.q")[0];
    let tamper = forge(&g, &[(Adv::X(0), wit, 11)]);
    let err = check_claiming(&g, &x, TB, tamper, Some((0, 11))).unwrap_err();
    assert!(err.contains("\"arith\""), "{err}");
}

#[test]
fn a_quotient_one_too_small_fails_the_remainder_bound_alone() {
    // q = 9 for 21 / 2: every row holds (r = 3), and only |b| − 1 − r ≥ 0 fails.
    let (g, x) = div_graph(op(false, false));
    let tamper = forge(&g, &forged_quotient(&g, 9));
    let err = check_claiming(&g, &x, TB, tamper, Some((0, 9))).unwrap_err();
    assert!(err.contains("table A"), "{err}");
    for holds in ["\"arith\"", "\"range", "Permutation", "Equality"] {
        assert!(!err.contains(holds), "{holds} must hold: {err}");
    }
}

#[test]
fn a_quotient_one_too_large_fails_the_remainder_sign_alone() {
    // q = 11: r = −1 < 0 although a > 0; only r' ≥ 0 fails (the gap, 2, is fine).
    let (g, x) = div_graph(op(false, false));
    let tamper = forge(&g, &forged_quotient(&g, 11));
    let err = check_claiming(&g, &x, TB, tamper, Some((0, 11))).unwrap_err();
    assert!(err.contains("table A"), "{err}");
    for holds in ["\"arith\"", "\"range", "Permutation", "Equality"] {
        assert!(!err.contains(holds), "{holds} must hold: {err}");
    }
}

/// u: [4] (uint8) → u >> 3, as BitShift RIGHT lowers: the floor division by the constant 8.
fn shift_graph() -> (Graph, Vec<Tensor<i64>>) {
    let s = vec![4];
    let mut u = node("u", Op::Input(Input { index: 0 }), vec![], s.clone(), 9);
    u.dtype = ElemType::Uint8;
    let eight = Op::Linear(Linear {
        terms: vec![Vec::new()],
        bias: vec![8],
    });
    let g = graph(
        vec![
            u,
            node("8", eight, vec![], vec![1], 4),
            node("shr", Op::IntDiv(op(true, false)), vec![0, 1], s.clone(), 9),
        ],
        vec![0],
        2,
    );
    (g, vec![Tensor::new(s, vec![200, 17, 7, 255]).unwrap()])
}

#[test]
fn a_wrong_right_shift_fails_the_remainder_check() {
    let (g, x) = shift_graph();
    assert_eq!(eval(&g, &TB, &x).unwrap().values[2].data(), &[25, 2, 0, 31]);
    check(&g, &x, vec![]).unwrap();
    // 200 >> 3 claimed as 24: q·8 = 192, r = 8 and the gap 8 − 1 − 8 < 0. The floor
    // division takes its sign from the divisor, so there is no unit of the dividend.
    let (q, r) = (24, 8);
    let wit = rows_of(&g, 2, "intdiv.q")[0];
    let arith = rows_of(&g, 2, "arith");
    let range = rows_of(&g, 2, "range");
    let mut cells = vec![(Adv::X(0), wit, q)];
    cells.extend(unit_cells(range[0], q, 2));
    cells.extend([
        (Adv::Acc, arith[0], q * 8),
        (Adv::Acc, arith[1], r),
        (Adv::Acc, arith[3], r),
        (Adv::F, range[2], r),
        (Adv::Acc, arith[4], -1),
        (Adv::F, range[3], -1),
    ]);
    let err = check_claiming(&g, &x, TB, forge(&g, &cells), Some((0, q))).unwrap_err();
    assert!(err.contains("table A"), "{err}");
    for holds in ["\"arith\"", "\"range", "Permutation", "Equality"] {
        assert!(!err.contains(holds), "{holds} must hold: {err}");
    }
}

#[test]
fn a_boolean_input_of_two_fails_its_booleanity() {
    // The model's output is its bool input: a forger claims 2 in both instances and makes
    // the booleanity row's product hold; only its copy to the constant 0 can fail.
    let s = vec![2];
    let mut p = node("p", Op::Input(Input { index: 0 }), vec![], s.clone(), 1);
    p.dtype = ElemType::Bool;
    let g = graph(vec![p], vec![0], 0);
    let x = vec![Tensor::new(s, vec![1, 0]).unwrap()];
    check(&g, &x, vec![]).unwrap();
    let load = rows_of(&g, 0, "load")[0];
    let check_row = rows_of(&g, 0, "arith")[0];
    let cells = [(Adv::X(0), load, 2), (Adv::Acc, check_row, 2)];
    let err = check_claiming(&g, &x, TB, forge(&g, &cells), Some((0, 2))).unwrap_err();
    assert!(
        err.contains("Permutation") || err.contains("Equality"),
        "{err}"
    );
    assert!(!err.contains("\"arith\""), "the product row holds: {err}");
}

#[test]
fn an_int8_value_past_its_range_is_refused_by_the_reference_and_the_circuit() {
    // y = 2·x with y declared int8: 2·100 does not fit, and the evaluator refuses it.
    let s = vec![1];
    let double = Op::Affine(zkinfer_ir::Affine {
        mul: Tensor::new(s.clone(), vec![2]).unwrap(),
        add: Tensor::new(s.clone(), vec![0]).unwrap(),
    });
    let x = node("x", Op::Input(Input { index: 0 }), vec![], s.clone(), 8);
    let mut y = node("y", double, vec![0], s.clone(), 9);
    y.dtype = ElemType::Int8;
    let g = graph(vec![x, y], vec![0], 1);
    let over = vec![Tensor::new(s.clone(), vec![100]).unwrap()];
    let err = eval(&g, &TB, &over).unwrap_err().to_string();
    assert!(err.contains("overflows int8"), "{err}");

    // An int8 input (its bound, 9 bits, does not imply the type) claimed as 200 in the
    // instance: the rows `x + 128` and `127 − x` hold, their unsigned lookups do not.
    let mut p = node("p", Op::Input(Input { index: 0 }), vec![], s.clone(), 9);
    p.dtype = ElemType::Int8;
    let g = graph(vec![p], vec![0], 0);
    let fine = vec![Tensor::new(s, vec![-100]).unwrap()];
    check(&g, &fine, vec![]).unwrap();
    let arith = rows_of(&g, 0, "arith");
    let range = rows_of(&g, 0, "range");
    let cells = [
        (Adv::X(0), rows_of(&g, 0, "load")[0], 200),
        (Adv::Acc, arith[0], 328),
        (Adv::F, range[0], 328),
        (Adv::Acc, arith[1], -73),
        (Adv::F, range[1], -73),
    ];
    let err = check_claiming(&g, &fine, TB, forge(&g, &cells), Some((0, 200))).unwrap_err();
    assert!(err.contains("table A"), "{err}");
    for holds in ["\"arith\"", "Permutation", "Equality"] {
        assert!(!err.contains(holds), "{holds} must hold: {err}");
    }
}
