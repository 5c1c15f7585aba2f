//! Negative tests of the limb range checks and the saturating function tables: each forged
//! witness is consistent everywhere but in the one constraint under test, and the public
//! output is forged along with it, so that constraint alone can catch it.

use zkinfer_ir::{eval, Graph, Input, Op, Rescale, TableFn, Tensor};

use super::tests::{check_claiming, forge, graph, node, rows_of, unit_cells, TB};
use crate::grid::{Adv, Tamper};

const SIGMOID: TableFn = TableFn::Sigmoid {
    in_scale: 3,
    out_scale: 6,
};

/// x[1,4] → Rescale(shift 2, sigmoid at 2^-3 in, 2^-6 out). The table input q is
/// [400, −300, 5, −7]: the first two far past the table on either side, the others inside.
fn sigmoid_graph() -> (Graph, Vec<Tensor<i64>>) {
    let s = vec![1, 4];
    let g = graph(
        vec![
            node("x", Op::Input(Input { index: 0 }), vec![], s.clone(), 12),
            node(
                "sig",
                Op::Rescale(Rescale::uniform(2, SIGMOID)),
                vec![0],
                s.clone(),
                7,
            ),
        ],
        vec![0],
        1,
    );
    let x = Tensor::new(s, vec![1600, -1200, 20, -30]).unwrap();
    (g, vec![x])
}

/// The MockProver with `tamper`, the instance claiming `output` (see `check_claiming`).
fn run(
    g: &Graph,
    x: &[Tensor<i64>],
    tamper: Vec<Tamper>,
    output: Option<(usize, i64)>,
) -> Result<(), String> {
    check_claiming(g, x, TB, tamper, output)
}

/// Only `constraint` fails (and nothing of the copies or the instance).
fn fails_only(err: &str, constraint: &str, others: &[&str]) {
    assert!(err.contains(constraint), "expected {constraint}: {err}");
    for o in others {
        assert!(!err.contains(o), "{o} must hold: {err}");
    }
    assert!(
        !err.contains("Equality constraint"),
        "copies must hold: {err}"
    );
}

/// The saturating unit of element `i`: its first row, and the table's ends.
fn unit(g: &Graph, i: usize) -> (usize, i64, i64) {
    let (lo, hi) = SIGMOID.domain(&TB);
    (rows_of(g, 1, "range")[i], lo, hi - 1)
}

/// Cells of a saturating unit at `j` with raw input `q`, table input `c`: the unit of `q − c`
/// with `c` and `f(c)` in its second row.
fn saturate_cells(j: usize, q: i64, c: i64) -> Vec<(Adv, usize, i64)> {
    let mut cells = unit_cells(j, q - c, 2);
    cells[0] = (Adv::Q, j, q);
    cells.push((Adv::Q, j + 1, c));
    cells.push((Adv::F, j + 1, SIGMOID.apply(c)));
    cells
}

#[test]
fn honest_saturation_is_exact_on_both_sides() {
    let (g, x) = sigmoid_graph();
    let (_, lo, hi) = unit(&g, 0);
    assert!(
        lo > -100 && hi < 100,
        "the table is {lo}..={hi}, not the activation range"
    );
    let out = eval(&g, &TB, &x).unwrap().values[1].data().to_vec();
    assert_eq!(out[0], 64);
    assert_eq!(out[1], 0);
    assert_eq!(out[2], SIGMOID.apply(5));
    run(&g, &x, vec![], None).unwrap();
}

#[test]
fn a_limb_out_of_range_fails_the_limb_lookup() {
    let (g, x) = sigmoid_graph();
    let (j, _, hi) = unit(&g, 0);
    // u = 400 − hi > 255: all of it in the low limb still recomposes, but that limb is not
    // in [0, 2^8).
    let u = 400 - hi;
    assert!(u > 255);
    let forged = forge(&g, &[(Adv::R, j, u), (Adv::R, j + 1, 0)]);
    let err = run(&g, &x, forged, None).unwrap_err();
    fails_only(&err, "table B", &["\"range\"", "\"saturate\""]);
}

#[test]
fn a_forged_recomposition_fails_the_range_gate() {
    let (g, x) = sigmoid_graph();
    let (j, _, hi) = unit(&g, 0);
    let u = 400 - hi;
    let forged = forge(&g, &[(Adv::R, j + 1, (u >> 8) + 1)]);
    let err = run(&g, &x, forged, None).unwrap_err();
    fails_only(&err, "\"range\"", &["table B", "\"saturate\""]);
}

#[test]
fn a_forged_sign_bit_fails_the_range_gate() {
    let (g, x) = sigmoid_graph();
    // Element 2 is inside the table: u = 0, sign 0. Claiming u < 0 needs limbs of −1.
    let (j, _, _) = unit(&g, 2);
    let forged = forge(&g, &[(Adv::F, j, 1)]);
    let err = run(&g, &x, forged, None).unwrap_err();
    assert!(err.contains("\"range\""), "{err}");
    // Making the recomposition hold with a negative limb moves the failure to the lookup.
    let forged = forge(&g, &[(Adv::F, j, 1), (Adv::R, j, -1)]);
    let err = run(&g, &x, forged, None).unwrap_err();
    assert!(
        err.contains("table B") && !err.contains("\"range\""),
        "{err}"
    );
}

#[test]
fn a_saturated_input_mapped_to_an_in_table_output_fails_the_saturate_gate() {
    let (g, x) = sigmoid_graph();
    let (j, lo, hi) = unit(&g, 0);
    // q = 400 is past the table's end; claim c = hi − 5 (a real table row, f(c) < 64) with
    // u = 400 − c > 0 in consistent limbs.
    let c = hi - 5;
    let forged = forge(&g, &saturate_cells(j, 400, c));
    let err = run(&g, &x, forged, Some((0, SIGMOID.apply(c)))).unwrap_err();
    fails_only(&err, "\"saturate\"", &["table A", "table B", "\"range\""]);
    // The same below the table: q = −300 claimed as c = lo + 3.
    let (j, _, _) = unit(&g, 1);
    let c = lo + 3;
    let forged = forge(&g, &saturate_cells(j, -300, c));
    let err = run(&g, &x, forged, Some((1, SIGMOID.apply(c)))).unwrap_err();
    fails_only(&err, "\"saturate\"", &["table A", "table B", "\"range\""]);
}

#[test]
fn an_in_interval_input_at_the_wrong_table_row_fails() {
    let (g, x) = sigmoid_graph();
    let (j, _, _) = unit(&g, 2);
    // q = 5 looked up as c = 6: u = −1 claims a clamp at the lower end, which c is not.
    let forged = forge(&g, &saturate_cells(j, 5, 6));
    let err = run(&g, &x, forged, Some((2, SIGMOID.apply(6)))).unwrap_err();
    fails_only(&err, "\"saturate\"", &["table A", "table B", "\"range\""]);
    // Or the rescale itself lands on the next row: q = 6 with the remainder 4 smaller. The
    // rescale identity holds, the remainder leaves [0, 4).
    let row = rows_of(&g, 1, "rescale")[2];
    let r = 20 + 2 - 4 * 5;
    let mut cells = saturate_cells(j, 6, 6);
    cells.push((Adv::R, row, r - 4));
    let forged = forge(&g, &cells);
    let err = run(&g, &x, forged, Some((2, SIGMOID.apply(6)))).unwrap_err();
    fails_only(&err, "table B", &["table A", "\"rescale\"", "\"saturate\""]);
}

const GELU: TableFn = TableFn::Map {
    g: zkinfer_ir::MapFn::Gelu,
    in_scale: 3,
    out_scale: 5,
    extent: None,
};

#[test]
fn gelu_is_the_line_above_its_table_and_a_forged_line_fails() {
    // q = [400, −300, 5]: far above (the identity at the output scale), far below (0), inside.
    let s = vec![1, 3];
    let g = graph(
        vec![
            node("x", Op::Input(Input { index: 0 }), vec![], s.clone(), 12),
            node(
                "gelu",
                Op::Rescale(Rescale::uniform(2, GELU)),
                vec![0],
                s.clone(),
                12,
            ),
        ],
        vec![0],
        1,
    );
    let x = vec![Tensor::new(s, vec![1600, -1200, 20]).unwrap()];
    let out = eval(&g, &TB, &x).unwrap().values[1].data().to_vec();
    assert_eq!(out[0], 400 * 4, "x·2^(5−3) above the table");
    assert_eq!(out[1], 0);
    let (lo, hi) = GELU.domain(&TB);
    assert!(hi - lo < 200, "{lo}..{hi}");
    run(&g, &x, vec![], None).unwrap();
    // The output of the line, forged with the instance: only the line gate notices.
    let j = rows_of(&g, 1, "range")[0];
    let forged = forge(&g, &[(Adv::Q, j + 2, out[0] - 1)]);
    let err = run(&g, &x, forged, Some((0, out[0] - 1))).unwrap_err();
    fails_only(
        &err,
        "\"saturate line\"",
        &["table A", "table B", "\"range\""],
    );
}

#[test]
fn a_remainder_wider_than_a_limb_is_split_and_its_high_part_bounded() {
    // x → Rescale(shift 12) with 8-bit limbs: r = r0 + 2^8·r1, r1 < 2^4 checked in its slot.
    let s = vec![1, 2];
    let g = graph(
        vec![
            node("x", Op::Input(Input { index: 0 }), vec![], s.clone(), 20),
            node(
                "rs",
                Op::Rescale(Rescale::uniform(12, TableFn::Identity)),
                vec![0],
                s.clone(),
                9,
            ),
        ],
        vec![0],
        1,
    );
    let x = vec![Tensor::new(s, vec![300_000, -123_456]).unwrap()];
    run(&g, &x, vec![], None).unwrap();
    let q = eval(&g, &TB, &x).unwrap().values[1].data()[0];
    let r = 300_000 + 2048 - (q << 12);
    let (r0, r1) = (r & 255, r >> 8);
    let slot = rows_of(&g, 1, "remainder")[0];
    let row = rows_of(&g, 1, "rescale")[0];
    let unit = rows_of(&g, 1, "range")[0];
    // q − 1 needs a remainder of r + 2^12, i.e. r1 + 16: every identity holds (the arith row
    // taking r1 out of the accumulator, the rescale, the range unit of q − 1) and r1 + 16 is
    // a limb, but 2^4·(r1 + 16) leaves the range table.
    let mut cells = vec![
        (Adv::Q, slot, r1 + 16),
        (Adv::F, slot, r1 + 16),
        (Adv::Acc, row, 300_000 - 256 * (r1 + 16)),
        (Adv::R, row, r0),
    ];
    cells.extend(unit_cells(unit, q - 1, 2));
    let forged = forge(&g, &cells);
    let err = run(&g, &x, forged, Some((0, q - 1))).unwrap_err();
    fails_only(
        &err,
        "table B",
        &["table A", "\"rescale\"", "\"arith\"", "\"range\""],
    );
}

const EXP: TableFn = TableFn::Map {
    g: zkinfer_ir::MapFn::Exp,
    in_scale: 3,
    out_scale: 6,
    extent: Some((-200, 1)),
};

/// x[1,3] → Rescale(shift 2, exp at 2^-3 in, 2^-6 out), the exponential of a log-softmax
/// (inputs ≤ 0). The table input q is [−400, −5, 0]: far below the table, inside, its top.
fn exp_graph() -> (Graph, Vec<Tensor<i64>>) {
    let s = vec![1, 3];
    let g = graph(
        vec![
            node("x", Op::Input(Input { index: 0 }), vec![], s.clone(), 12),
            node(
                "exp",
                Op::Rescale(Rescale::uniform(2, EXP)),
                vec![0],
                s.clone(),
                7,
            ),
        ],
        vec![0],
        1,
    );
    (g, vec![Tensor::new(s, vec![-1600, -20, 0]).unwrap()])
}

#[test]
fn the_exponential_saturates_to_zero_below_its_table_only() {
    let (g, x) = exp_graph();
    let (lo, hi) = EXP.domain(&TB);
    assert_eq!(hi, 1, "the top is the calibrated extent's");
    assert!(
        lo > -60 && EXP.apply(lo) == 0 && EXP.apply(lo + 1) > 0,
        "{lo}"
    );
    assert_eq!(EXP.saturates(&TB), (true, false));
    let out = eval(&g, &TB, &x).unwrap().values[1].data().to_vec();
    assert_eq!(out, vec![0, EXP.apply(-5), 64]);
    run(&g, &x, vec![], None).unwrap();
    // An input above the extent is refused, not clamped.
    let above = vec![Tensor::new(vec![1, 3], vec![-1600, -20, 16]).unwrap()];
    assert!(eval(&g, &TB, &above).is_err());
}

#[test]
fn a_forged_exponential_fails_the_saturate_gate_on_either_side() {
    let (g, x) = exp_graph();
    let (lo, _) = EXP.domain(&TB);
    let rows = rows_of(&g, 1, "range");
    // q = −400 claimed as the in-table c = lo + 3 (a nonzero output).
    let c = lo + 3;
    let mut cells = unit_cells(rows[0], -400 - c, 2);
    cells[0] = (Adv::Q, rows[0], -400);
    cells.extend([
        (Adv::Q, rows[0] + 1, c),
        (Adv::F, rows[0] + 1, EXP.apply(c)),
    ]);
    let err = run(&g, &x, forge(&g, &cells), Some((0, EXP.apply(c)))).unwrap_err();
    fails_only(&err, "\"saturate\"", &["table A", "table B", "\"range\""]);
    // q = 0 claimed as clamped from above to c = −1: the exponential does not saturate there.
    let mut cells = unit_cells(rows[2], 1, 2);
    cells[0] = (Adv::Q, rows[2], 0);
    cells.extend([
        (Adv::Q, rows[2] + 1, -1),
        (Adv::F, rows[2] + 1, EXP.apply(-1)),
    ]);
    let err = run(&g, &x, forge(&g, &cells), Some((2, EXP.apply(-1)))).unwrap_err();
    fails_only(&err, "\"saturate\"", &["table A", "table B", "\"range\""]);
}
