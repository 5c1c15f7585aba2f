//! Freivalds' check of a product with a constant matrix (`Dense`): `M·r` from the fixed
//! weights, then `X·(M·r) = (Y − bias)·r`. An honest `Y` passes with the weight on either
//! side; a `Y` with one wrong entry (or without its bias), every other cell recomputed to
//! agree with it, fails in the MockProver and its real proof fails verification; a forged
//! accumulator fails its gate.

use std::sync::Arc;

use halo2_axiom::dev::MockProver;
use halo2_axiom::halo2curves::bn256::Bn256;
use halo2_axiom::plonk::{keygen_pk, keygen_vk, Circuit};
use halo2_axiom::poly::kzg::commitment::ParamsKZG;
use rand::rngs::OsRng;
use zkinfer_ir::WeightSide;
use zkinfer_ir::{eval, rescale, Dense, Graph, Input, Op, Rescale, TableFn, Tensor, Trace};

use super::tests::{graph, node, real_proof_verifies, t, TB};
use crate::grid::{Adv, DryRun, Tamper};
use crate::layout::{lay_out_with, DenseDims};
use crate::{CircuitParams, ModelCircuit, TableSet};

/// The lane count of these circuits: narrow, so that the check pays off at these sizes.
const LANES: usize = 3;
/// Rows of these circuits (the layout takes about 600).
const K: u32 = 10;

/// Small deterministic integers in `[-r, r]`.
fn ints(n: usize, seed: u64, r: i64) -> Vec<i64> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 33) % (2 * r as u64 + 1)) as i64 - r
        })
        .collect()
}

/// `x · W + bias` with `W` on the right (x `[8, 12]`, W `[12, 10]`), or `W · x` with `W` on the
/// left (W `[10, 12]`, x `[12, 8]`, no bias), then a rescale by 2^1.
fn product(side: WeightSide) -> (Graph, Vec<Tensor<i64>>) {
    let (x_shape, w_shape, y_shape, bias) = match side {
        WeightSide::Right => (
            vec![8, 12],
            vec![12, 10],
            vec![8, 10],
            Some(Tensor::new(vec![8, 10], ints(80, 3, 20)).unwrap()),
        ),
        WeightSide::Left => (vec![12, 8], vec![10, 12], vec![10, 8], None),
    };
    let weight = Tensor::new(w_shape, ints(120, 1, 3)).unwrap();
    let g = graph(
        vec![
            node(
                "x",
                Op::Input(Input { index: 0 }),
                vec![],
                x_shape.clone(),
                5,
            ),
            node(
                "fc",
                Op::Dense(Dense { weight, side, bias }),
                vec![0],
                y_shape.clone(),
                12,
            ),
            node(
                "rs",
                Op::Rescale(Rescale::uniform(1, TableFn::Identity)),
                vec![1],
                y_shape,
                9,
            ),
        ],
        vec![0],
        2,
    );
    let x = Tensor::new(x_shape, ints(96, 2, 8)).unwrap();
    (g, vec![x])
}

fn params(g: &Graph) -> CircuitParams {
    CircuitParams::for_graph(g, LANES)
}

/// The honest trace with `Y[idx]` changed by `delta` (every entry when `idx` is `None`) and the
/// rescaled output recomputed from it: a prover claiming a wrong product, consistent
/// everywhere except in the product itself.
fn forged(g: &Graph, x: &[Tensor<i64>], idx: Option<usize>, delta: &[i64]) -> Trace {
    let mut trace = eval(g, &TB, x).unwrap();
    let mut y = trace.values[1].data().to_vec();
    for (i, v) in y.iter_mut().enumerate() {
        if idx.is_none_or(|idx| idx == i) {
            *v += delta[i % delta.len()];
        }
    }
    let Op::Rescale(rs) = &g.nodes[2].op else {
        panic!("node 2 is the rescale");
    };
    let out = y
        .iter()
        .enumerate()
        .map(|(i, &v)| rescale(v, i, rs, &TB, "rs").unwrap().f)
        .collect();
    let shape = g.nodes[1].shape.clone();
    trace.values[1] = Tensor::new(shape.clone(), y).unwrap();
    trace.values[2] = Tensor::new(shape, out).unwrap();
    trace
}

fn circuit(g: &Graph, p: CircuitParams, trace: Trace, tamper: Vec<Tamper>) -> ModelCircuit {
    let mut c = ModelCircuit::new(Arc::new(g.clone()), &TB, p).with_trace(Arc::new(trace));
    c.tamper = tamper;
    c
}

fn mock(g: &Graph, p: CircuitParams, trace: Trace, tamper: Vec<Tamper>) -> Result<(), String> {
    let instances = ModelCircuit::instances(g, &trace);
    let c = circuit(g, p, trace, tamper);
    let prover = MockProver::run(K, &c, vec![instances]).map_err(|e| format!("{e:?}"))?;
    prover.verify().map_err(|e| format!("{e:?}"))
}

/// The layout's rows and the first row of each placement `what` of the product.
fn layout(g: &Graph, p: CircuitParams) -> (usize, Vec<(&'static str, usize)>) {
    let tables = TableSet::for_graph(g, &TB);
    let mut grid = DryRun::default();
    let report = lay_out_with(&mut grid, g, p, &tables, None).unwrap();
    let rows = report
        .placements
        .iter()
        .filter(|pl| pl.node == 1)
        .map(|pl| (pl.what, pl.row))
        .collect();
    (report.rows, rows)
}

#[test]
fn the_planner_takes_the_check_where_it_saves_rows() {
    let (g, _) = product(WeightSide::Right);
    let dims = DenseDims::new(
        match &g.nodes[1].op {
            Op::Dense(d) => d,
            _ => unreachable!(),
        },
        &g.nodes[0].shape,
    );
    assert_eq!((dims.rows, dims.d_in, dims.d_out), (8, 12, 10));
    // Direct: 8·10 outputs of ⌈12/3⌉ rows; the check: 12·⌈10/3⌉ + 8·(10 + 12).
    assert_eq!(dims.direct_rows(LANES), 320);
    assert_eq!(dims.freivalds_rows(LANES), 224);
    assert!(dims.freivalds_pays(LANES, LANES));
    // Twice the weights per row: 12·⌈10/6⌉ + 8·(10 + 12).
    assert_eq!(dims.freivalds_rows(2 * LANES), 200);
    assert_eq!(
        (params(&g).freivalds, params(&g).weight_lanes),
        (true, LANES)
    );
    let (rows_check, placed) = layout(&g, params(&g));
    // The matrix's `M·r` (12·⌈10/3⌉ = 48 rows) takes its own columns from row 0, beside the
    // rest of the layout, not after it.
    let first = |what| placed.iter().find(|&&(w, _)| w == what).unwrap().1;
    assert_eq!(first("freivalds.w"), 0, "{placed:?}");
    assert!(first("freivalds.c") < 48, "{placed:?}");
    let direct = CircuitParams {
        freivalds: false,
        weight_lanes: 0,
        ..params(&g)
    };
    let (rows_direct, placed) = layout(&g, direct);
    assert!(placed.iter().all(|&(w, _)| w == "dot"), "{placed:?}");
    assert!(rows_check < rows_direct, "{rows_check} ≥ {rows_direct}");
    // One token: the direct map is shorter, and the circuit needs no second phase.
    let one = DenseDims { rows: 1, ..dims };
    assert!(!one.freivalds_pays(LANES, LANES));
}

/// `x · W` with x `[t, d]` and W `[d, d]`, then a rescale by 2^1.
fn square_product(t: usize, d: usize) -> Graph {
    let weight = Tensor::new(vec![d, d], ints(d * d, 1, 3)).unwrap();
    let dense = Dense {
        weight,
        side: WeightSide::Right,
        bias: None,
    };
    let rescale = Op::Rescale(Rescale::uniform(1, TableFn::Identity));
    graph(
        vec![
            node("x", Op::Input(Input { index: 0 }), vec![], vec![t, d], 5),
            node("fc", Op::Dense(dense), vec![0], vec![t, d], 12),
            node("rs", rescale, vec![1], vec![t, d], 9),
        ],
        vec![0],
        2,
    )
}

#[test]
fn the_planner_can_be_told_to_take_the_direct_map() {
    use crate::{plan, plan_products, WeightProducts};
    // 32 tokens through a 64 × 64 matrix, where the check pays: `Auto` takes it, `Direct`
    // does not, and its circuit has neither the second phase nor the matrix's own columns.
    let g = square_product(32, 64);
    let public = CircuitParams::default();
    let auto = plan_products(&g, &TB, public, WeightProducts::Auto).unwrap();
    assert!(auto.freivalds && auto.weight_lanes > 0, "{auto:?}");
    assert_eq!(plan(&g, &TB).unwrap(), auto);
    let direct = plan_products(&g, &TB, public, WeightProducts::Direct).unwrap();
    assert!(!direct.freivalds && direct.weight_lanes == 0, "{direct:?}");
    // `Auto` weighs the direct map too (at every lane count), so it never costs more work.
    assert!(auto.work < direct.work, "{} vs {}", auto.work, direct.work);
}

#[test]
fn an_honest_product_passes_with_the_weight_on_either_side() {
    for side in [WeightSide::Right, WeightSide::Left] {
        let (g, x) = product(side);
        let (_, placed) = layout(&g, params(&g));
        assert!(placed.iter().any(|&(w, _)| w == "freivalds.w"), "{side:?}");
        mock(&g, params(&g), eval(&g, &TB, &x).unwrap(), vec![]).unwrap();
        // Twice the weights per row of `M·r` (fewer, wider rows) agrees too.
        let wide = CircuitParams::for_graph_with(&g, LANES, 2 * LANES);
        assert_eq!(wide.weight_lanes, 2 * LANES);
        mock(&g, wide, eval(&g, &TB, &x).unwrap(), vec![]).unwrap();
        // The direct map of the same graph agrees.
        let direct = CircuitParams {
            freivalds: false,
            weight_lanes: 0,
            ..params(&g)
        };
        mock(&g, direct, eval(&g, &TB, &x).unwrap(), vec![]).unwrap();
    }
}

#[test]
fn one_wrong_entry_of_y_fails_only_the_freivalds_equality() {
    for side in [WeightSide::Right, WeightSide::Left] {
        let (g, x) = product(side);
        let wide = CircuitParams::for_graph_with(&g, LANES, 2 * LANES);
        for (idx, p) in [
            (0, params(&g)),
            (37, params(&g)),
            (79, params(&g)),
            (41, wide),
        ] {
            let err = mock(&g, p, forged(&g, &x, Some(idx), &[1]), vec![])
                .expect_err("a wrong product must not verify");
            // Every gate and lookup holds (the Horner sums agree with the forged Y); only the
            // equality of X·(M·r) and (Y − bias)·r fails, on the second-phase column.
            let failures = err.matches("Equality constraint not satisfied").count();
            assert!(failures > 0, "{side:?} {idx}: {err}");
            assert_eq!(err.matches("phase: Phase(1)").count(), failures, "{err}");
            assert!(!err.contains("gate") && !err.contains("ookup"), "{err}");
        }
    }
}

#[test]
fn a_product_without_its_bias_fails() {
    let (g, x) = product(WeightSide::Right);
    let Op::Dense(Dense { bias: Some(b), .. }) = &g.nodes[1].op else {
        panic!("the right-side product has a bias");
    };
    let minus: Vec<i64> = b.data().iter().map(|v| -v).collect();
    let err = mock(&g, params(&g), forged(&g, &x, None, &minus), vec![])
        .expect_err("X·W without the bias must not verify");
    assert!(err.contains("Equality constraint not satisfied"), "{err}");
}

#[test]
fn a_forged_accumulator_fails_its_gate() {
    let (g, x) = product(WeightSide::Right);
    let honest = eval(&g, &TB, &x).unwrap();
    let (_, placed) = layout(&g, params(&g));
    for (what, gate, col) in [
        ("freivalds.w", "freivalds horner fixed", Adv::HW),
        ("freivalds.c", "freivalds horner acc", Adv::H),
        ("freivalds.a", "freivalds dot", Adv::H),
    ] {
        let row = placed.iter().find(|&&(w, _)| w == what).unwrap().1;
        let err = mock(&g, params(&g), honest.clone(), vec![t(col, row + 1, 7)])
            .expect_err("a forged accumulator must not verify");
        assert!(err.contains(&format!("\"{gate}\"")), "{what}: {err}");
    }
    // A forged copy of M·r next to a row of X fails the dot gate or its copy.
    let row = placed.iter().find(|&&(w, _)| w == "freivalds.a").unwrap().1;
    let err = mock(&g, params(&g), honest, vec![t(Adv::V, row, 5)])
        .expect_err("a forged copy of M·r must not verify");
    assert!(err.contains("Equality constraint not satisfied"), "{err}");
}

#[test]
fn a_real_proof_of_a_wrong_product_fails_verification() {
    let (g, x) = product(WeightSide::Right);
    let p = params(&g);
    let srs = ParamsKZG::<Bn256>::setup(K, OsRng);
    let shape = circuit(&g, p, eval(&g, &TB, &x).unwrap(), vec![]);
    let vk = keygen_vk(&srs, &shape.without_witnesses()).unwrap();
    let pk = keygen_pk(&srs, vk.clone(), &shape.without_witnesses()).unwrap();
    let prove_and_verify = |trace: Trace| {
        let instances = ModelCircuit::instances(&g, &trace);
        real_proof_verifies(&srs, &pk, circuit(&g, p, trace, vec![]), &instances)
    };
    assert!(prove_and_verify(eval(&g, &TB, &x).unwrap()));
    assert!(!prove_and_verify(forged(&g, &x, Some(41), &[1])));
}

#[test]
fn the_row_breakdown_accounts_for_every_cell_and_row() {
    let (g, _) = product(WeightSide::Right);
    for p in [
        params(&g),
        CircuitParams {
            freivalds: false,
            weight_lanes: 0,
            ..params(&g)
        },
    ] {
        let parts = crate::row_breakdown(&g, &TB, p).unwrap();
        let run = crate::dry_run(&g, &TB, p).unwrap();
        let cells: usize = parts.iter().map(|p| p.cells).sum();
        let rows: usize = parts.iter().map(|p| p.rows).sum();
        assert_eq!(cells, run.advice_cells);
        assert!(rows <= run.rows && rows > 0, "{rows} of {}", run.rows);
        // Sorted, and the product is there under its own name.
        assert!(parts.windows(2).all(|w| w[0].rows >= w[1].rows));
        let dense: usize = parts
            .iter()
            .filter(|p| p.op == "Dense")
            .map(|p| p.cells)
            .sum();
        assert!(dense > 0, "{parts:?}");
    }
}
