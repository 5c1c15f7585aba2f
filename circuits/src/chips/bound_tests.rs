//! The activation range is proven exactly, not to whole limbs: a rescale output lies in
//! `[−2^m, 2^m)`, which the packing of a shard's outputs and the bounds of `set_bounds` (every
//! later bound, the skipped integer type checks) take for granted. A range unit of `n` limbs
//! of `l` bits alone bounds the magnitude by `2^(n·l)`; the top limb is checked to its own
//! width `t = m − (n − 1)·l` by a second lookup of `2^(l−t)·top` in the same range table.
//!
//! Each forged witness here is an honest computation on an input that drives a rescale output
//! past `2^m` (which the integer reference refuses), every cell consistent with it: before
//! the exact top-limb check it satisfied every constraint of the circuit.

use std::sync::Arc;

use halo2_axiom::dev::MockProver;
use zkinfer_ir::{eval, Graph, Input, Op, Rescale, TableBounds, TableFn, Tensor};

use super::tests::{forge_classes, graph, node, TB};
use crate::grid::{fe, Adv, DryRun};
use crate::layout::lay_out_with;
use crate::{plan_with, poseidon, CircuitParams, Fr, LayoutReport, ModelCircuit, TableSet};

/// x[n] → Rescale(shift 2, `f`), the output the graph's.
fn rescale_graph(f: TableFn, n: usize, m: u32) -> Graph {
    graph(
        vec![
            node("x", Op::Input(Input { index: 0 }), vec![], vec![n], 20),
            node(
                "rs",
                Op::Rescale(Rescale::uniform(2, f)),
                vec![0],
                vec![n],
                m + 1,
            ),
        ],
        vec![0],
        1,
    )
}

/// The circuit of `g` at table bounds `tb` with `public` (the lanes the planner's), its `k`,
/// its layout and its copy constraints.
struct Laid {
    params: CircuitParams,
    k: u32,
    report: LayoutReport,
    copies: Vec<(crate::AdvCell, crate::AdvCell)>,
}

impl Laid {
    fn new(g: &Graph, tb: &TableBounds, public: CircuitParams) -> Self {
        let p = plan_with(g, tb, public).unwrap();
        let params = CircuitParams {
            lanes: p.lanes,
            limb_bits: tb.limbs(),
            ..public
        };
        let mut grid = DryRun {
            copies: Some(Vec::new()),
            ..DryRun::default()
        };
        let tables = TableSet::for_graph(g, tb);
        let report = lay_out_with(&mut grid, g, params, &tables, None).unwrap();
        Self {
            params,
            k: p.k,
            report,
            copies: grid.copies.unwrap_or_default(),
        }
    }

    fn rows(&self, node: usize, what: &str) -> Vec<usize> {
        self.report
            .placements
            .iter()
            .filter(|pl| pl.node == node && pl.what == what)
            .map(|pl| pl.row)
            .collect()
    }

    /// The MockProver on the honest trace of `x` with `cells` (and their copies) forged, and
    /// the instance column `instances`.
    fn run(
        &self,
        g: &Graph,
        tb: &TableBounds,
        x: &[Tensor<i64>],
        cells: &[(Adv, usize, i64)],
        instances: Vec<Fr>,
    ) -> Result<(), String> {
        let trace = eval(g, tb, x).unwrap();
        let mut c =
            ModelCircuit::new(Arc::new(g.clone()), tb, self.params).with_trace(Arc::new(trace));
        c.tamper = forge_classes(&self.copies, cells);
        let prover = MockProver::run(self.k, &c, vec![instances]).map_err(|e| format!("{e:?}"))?;
        prover.verify().map_err(|e| format!("{e:?}"))
    }
}

/// The cells of a range unit at `j` of `n` limbs of `l` bits holding `v`: the value, its
/// sign and its limbs. In a two-limb sign unit, also the top limb's copy in the second row's
/// `(q, f)`, which looks it up plainly while that row's limb lookup is the shifted one (in
/// other units the copy is a limb cell, forged with its class).
fn unit_cells(j: usize, v: i64, n: usize, l: u32, signed: bool) -> Vec<(Adv, usize, i64)> {
    let mag = if v < 0 { -v - 1 } else { v };
    let mut cells = vec![(Adv::Q, j, v), (Adv::F, j, i64::from(v < 0))];
    for i in 0..n {
        let limb = (mag >> (l as usize * i)) & ((1 << l) - 1);
        cells.push((Adv::R, j + i, limb));
    }
    if signed && n == 2 {
        let top = mag >> l;
        cells.extend([(Adv::Q, j + 1, top), (Adv::F, j + 1, top)]);
    }
    cells
}

/// Only `constraint` fails: no other gate or lookup, no copy, no instance.
fn fails_only(err: &str, constraint: &str) {
    assert!(err.contains(constraint), "expected {constraint}: {err}");
    for other in [
        "table A",
        "table B",
        "\"range\"",
        "\"rescale\"",
        "\"relu\"",
        "\"arith\"",
        "poseidon",
    ] {
        if other != constraint {
            assert!(!err.contains(other), "{other} must hold: {err}");
        }
    }
    assert!(
        !err.contains("Equality constraint") && !err.contains("nstance"),
        "copies and instances must hold: {err}"
    );
}

#[test]
fn a_packed_hand_off_pushed_past_2_m_fails_the_top_limb_lookup() {
    // A shard's last step: x[2] → Rescale(shift 2, identity), its outputs packed into their
    // Poseidon commitment without a range check of their own (the rescale's unit bounds
    // them): digits v + 2^m in base 2^(m+1), m = 9, two limbs of 8 bits.
    let g = rescale_graph(TableFn::Identity, 2, TB.mag_bits());
    let public = CircuitParams {
        commit_outputs: true,
        packed_outputs: true,
        limb_bits: TB.limbs(),
        ..CircuitParams::default()
    };
    assert!(poseidon::boundary_packing(&g, &[1], &TB).is_some());
    let laid = Laid::new(&g, &TB, public);
    let units = laid.rows(1, "range");
    assert_eq!(units.len(), 2, "one unit per output, no other range check");

    // Honest: q = [−300, 100]. Forged: the input [2896, 396], whose outputs are exactly
    // [724, 99]: 724 = −300 + 2^10 lies past 2^9, in the next digit's place, so the packed
    // element is the honest one and the receiving shard reads [−300, 100].
    let x = vec![Tensor::new(vec![2], vec![-1200, 400]).unwrap()];
    let honest = eval(&g, &TB, &x).unwrap().values[1].data().to_vec();
    assert_eq!(honest, vec![-300, 100]);
    let (forged_x, forged_q) = ([2896, 396], [724, 99]);
    let packing = zkinfer_ir::Packing::for_table(&TB);
    let digit = |v: i64| v + packing.offset;
    assert_eq!(
        digit(forged_q[0]) + packing.base as i64 * digit(forged_q[1]),
        digit(honest[0]) + packing.base as i64 * digit(honest[1]),
        "the forged outputs alias the honest ones"
    );
    assert!(forged_q[0] >= 1 << TB.mag_bits() && forged_q[0] < 1 << (2 * TB.limbs()));

    let rescale = laid.rows(1, "rescale");
    let pack = laid.rows(g.nodes.len() - 1, "pack");
    assert_eq!(pack.len(), 2);
    let mut cells = Vec::new();
    for i in 0..2 {
        // The accumulator copies the input; the remainder (2) is the honest one.
        cells.push((Adv::Acc, rescale[i], forged_x[i]));
        cells.extend(unit_cells(units[i], forged_q[i], 2, TB.limbs(), true));
    }
    // Horner from the last digit: the first row holds the last digit alone.
    cells.push((Adv::Acc, pack[0], digit(forged_q[1])));
    let instances = |inputs: [i64; 2]| {
        let trace = eval(&g, &TB, &x).unwrap();
        let honest = ModelCircuit::instances_for(&g, &trace, &TB, laid.params, None).unwrap();
        vec![fe(inputs[0]), fe(inputs[1]), honest[2]]
    };
    laid.run(&g, &TB, &x, &[], instances([-1200, 400])).unwrap();
    let err = laid
        .run(&g, &TB, &x, &cells, instances(forged_x))
        .unwrap_err();
    // 724 = 2·2^8 + 212: the top limb 2 is a limb, but 2^(8−1)·2 leaves the range table.
    fails_only(&err, "table B");
}

/// One rescale output forged to `q`, claimed as the public output, in a circuit at `tb`:
/// the MockProver's verdict.
fn forged_output(f: TableFn, tb: TableBounds, q: i64) -> Result<(), String> {
    let m = tb.mag_bits();
    let l = tb.limbs();
    let g = rescale_graph(f, 1, m);
    let laid = Laid::new(&g, &tb, CircuitParams::for_graph(&g, 3));
    let x = vec![Tensor::new(vec![1], vec![400]).unwrap()];
    let n = m.div_ceil(l) as usize;
    let j = laid.rows(1, "range")[0];
    let row = laid.rows(1, "rescale")[0];
    let out = match f {
        TableFn::Relu => q.max(0),
        _ => q,
    };
    let mut cells = vec![(Adv::Acc, row, 4 * q)];
    cells.extend(unit_cells(j, q, n, l, f == TableFn::Identity));
    if f == TableFn::Relu {
        cells.push((Adv::Q, j + 1, out));
    }
    laid.run(&g, &tb, &x, &[], vec![fe(400), fe(100)]).unwrap();
    laid.run(&g, &tb, &x, &cells, vec![fe(4 * q), fe(out)])
}

#[test]
fn a_rescale_output_past_the_activation_range_fails_the_top_limb_lookup() {
    // Two limbs of 8 bits for m = 9: the limbs alone allow 2^16, set_bounds assumes
    // |q| < 2^10, the activation range is [−2^9, 2^9). 5000 and −3000 are past all but the
    // first; 600 only past the last.
    for f in [TableFn::Identity, TableFn::Relu] {
        for q in [5000, 600, -3000] {
            if f == TableFn::Relu && q < 0 {
                continue;
            }
            let err = forged_output(f, TB, q).expect_err("a rescale output past 2^m");
            fails_only(&err, "table B");
        }
        // The ends of the range are outputs like any other.
        forged_output(f, TB, 511).unwrap();
        if f == TableFn::Identity {
            forged_output(f, TB, -512).unwrap();
            let err = forged_output(f, TB, -513).expect_err("−513 is below −2^9");
            fails_only(&err, "table B");
        }
    }
    // One limb of 10 bits for m = 9: the limb alone allows 2^10.
    let wide = TableBounds {
        limb_bits: 10,
        ..TB
    };
    for f in [TableFn::Identity, TableFn::Relu] {
        let err = forged_output(f, wide, 700).expect_err("a rescale output past 2^m");
        fails_only(&err, "table B");
        forged_output(f, wide, 511).unwrap();
    }
}

#[test]
fn a_gelu_line_past_its_assumed_bound_fails_the_top_limb_lookup() {
    // Above its table GELU is the line f(top) + 4·(q − top) (2^-3 in, 2^-5 out), which
    // `set_bounds` bounds by 4·2^m: the gap q − top must stay below 2^m = 512.
    let gelu = TableFn::Map {
        g: zkinfer_ir::MapFn::Gelu,
        in_scale: 3,
        out_scale: 5,
        extent: None,
    };
    let (lo, hi) = gelu.domain(&TB);
    let top = hi - 1;
    assert!(lo <= 0 && (0..100).contains(&top), "{lo}..{hi}");
    let g = rescale_graph(gelu, 1, TB.mag_bits());
    let laid = Laid::new(&g, &TB, CircuitParams::for_graph(&g, 3));
    // Honest: q = 400, above the table; the output 400·4.
    let x = vec![Tensor::new(vec![1], vec![1600]).unwrap()];
    let honest = eval(&g, &TB, &x).unwrap().values[1].data()[0];
    assert_eq!(honest, 1600);
    laid.run(&g, &TB, &x, &[], vec![fe(1600), fe(honest)])
        .unwrap();
    // `set_bounds`' bits: |out| ≤ max_abs < 2^bits.
    let assumed = 1i64 << (128 - (gelu.max_abs(&TB) as u128).leading_zeros());
    let j = laid.rows(1, "range")[0];
    let row = laid.rows(1, "rescale")[0];
    let forged = |q: i64| {
        let out = honest + 4 * (q - 400);
        let mut cells = vec![(Adv::Acc, row, 4 * q)];
        cells.extend(unit_cells(j, q - top, 2, TB.limbs(), false));
        cells[1] = (Adv::Q, j, q);
        cells.push((Adv::Q, j + 2, out));
        (out, laid.run(&g, &TB, &x, &cells, vec![fe(4 * q), fe(out)]))
    };
    // q = 5000: the output 20000 is past the bound, the gap 5000 − top past 2^9.
    let (out, verdict) = forged(5000);
    assert!(out >= assumed, "{out} < {assumed}");
    fails_only(&verdict.unwrap_err(), "table B");
    // The last q in the activation range is an output like any other.
    let (out, verdict) = forged(511);
    assert!(out < assumed);
    verdict.unwrap();
}
