//! Freivalds' check of a witnessed product: an honest `C` passes; a `C` with one wrong entry,
//! with every other cell (the Horner sums included) recomputed to agree with it, fails in the
//! MockProver and its real proof fails verification.

use std::sync::Arc;

use halo2_axiom::dev::MockProver;
use halo2_axiom::halo2curves::bn256::Bn256;
use halo2_axiom::plonk::{keygen_pk, keygen_vk, Circuit};
use halo2_axiom::poly::kzg::commitment::ParamsKZG;
use rand::rngs::OsRng;
use zkinfer_ir::{eval, rescale, Graph, Input, Op, Rescale, TableFn, Tensor, Trace};

use super::tests::{graph, node, real_proof_verifies, t, TB};
use crate::grid::{Adv, Tamper};
use crate::{plan, CircuitParams, ModelCircuit};

/// a[2,2,3] · b[3,4] (b broadcast over the batch) → C[2,2,4] → rescale by 2^1.
fn product() -> (Graph, Vec<Tensor<i64>>) {
    let g = graph(
        vec![
            node("a", Op::Input(Input { index: 0 }), vec![], vec![2, 2, 3], 5),
            node("b", Op::Input(Input { index: 1 }), vec![], vec![3, 4], 5),
            node("mm", Op::MatMul, vec![0, 1], vec![2, 2, 4], 12),
            node(
                "rs",
                Op::Rescale(Rescale::uniform(1, TableFn::Identity)),
                vec![2],
                vec![2, 2, 4],
                8,
            ),
        ],
        vec![0, 1],
        3,
    );
    let a = Tensor::new(vec![2, 2, 3], vec![3, -2, 5, 7, 1, 0, -4, 6, 2, 1, -1, 3]).unwrap();
    let b = Tensor::new(vec![3, 4], vec![2, 1, -3, 4, 0, 5, 1, -2, 6, -1, 2, 3]).unwrap();
    (g, vec![a, b])
}

/// The honest trace with `C[idx]` one larger and the rescaled output recomputed from it: a
/// prover claiming a wrong product, consistent everywhere except in the product itself.
fn forged(g: &Graph, x: &[Tensor<i64>], idx: usize) -> Trace {
    let mut trace = eval(g, &TB, x).unwrap();
    let mut c = trace.values[2].data().to_vec();
    c[idx] += 1;
    let Op::Rescale(rs) = &g.nodes[3].op else {
        panic!("node 3 is the rescale");
    };
    let out = c
        .iter()
        .enumerate()
        .map(|(i, &v)| rescale(v, i, rs, &TB, "rs").unwrap().f)
        .collect();
    let shape = g.nodes[2].shape.clone();
    trace.values[2] = Tensor::new(shape.clone(), c).unwrap();
    trace.values[3] = Tensor::new(shape, out).unwrap();
    trace
}

fn circuit(g: &Graph, trace: Trace, tamper: Vec<Tamper>) -> (u32, ModelCircuit, Vec<crate::Fr>) {
    let p = plan(g, &TB).unwrap();
    let instances = ModelCircuit::instances(g, &trace);
    let mut c = ModelCircuit::new(
        Arc::new(g.clone()),
        &TB,
        CircuitParams::for_graph(g, p.lanes),
    )
    .with_trace(Arc::new(trace));
    c.tamper = tamper;
    (p.k, c, instances)
}

fn mock(g: &Graph, trace: Trace, tamper: Vec<Tamper>) -> Result<(), String> {
    let (k, c, instances) = circuit(g, trace, tamper);
    let prover = MockProver::run(k, &c, vec![instances]).map_err(|e| format!("{e:?}"))?;
    prover.verify().map_err(|e| format!("{e:?}"))
}

#[test]
fn an_honest_product_passes() {
    let (g, x) = product();
    assert!(CircuitParams::for_graph(&g, 4).freivalds);
    mock(&g, eval(&g, &TB, &x).unwrap(), vec![]).unwrap();
}

#[test]
fn one_wrong_entry_of_c_fails_only_the_freivalds_equality() {
    let (g, x) = product();
    for idx in [0, 5, 15] {
        let err =
            mock(&g, forged(&g, &x, idx), vec![]).expect_err("a wrong product must not verify");
        // Every gate and lookup holds (the Horner sums agree with the forged C); only the
        // equality of A·(B·r) and C·r fails: a copy constraint on the second-phase column.
        let failures = err.matches("Equality constraint not satisfied").count();
        assert!(failures > 0, "{err}");
        assert_eq!(err.matches("phase: Phase(1)").count(), failures, "{err}");
        assert!(!err.contains("gate") && !err.contains("ookup"), "{err}");
    }
}

#[test]
fn a_forged_horner_or_dot_accumulator_fails_its_gate() {
    let (g, x) = product();
    let honest = eval(&g, &TB, &x).unwrap();
    let rows = |what: &str| super::tests::row_of(&g, 2, what, 0);
    for (what, gate) in [
        ("freivalds.b", "freivalds horner"),
        ("freivalds.c", "freivalds horner acc"),
        ("freivalds.a", "freivalds dot"),
    ] {
        let err = mock(&g, honest.clone(), vec![t(Adv::H, rows(what) + 1, 7)])
            .expect_err("a forged accumulator must not verify");
        assert!(err.contains(&format!("\"{gate}\"")), "{what}: {err}");
    }
}

#[test]
fn a_real_proof_of_a_wrong_product_fails_verification() {
    let (g, x) = product();
    let p = plan(&g, &TB).unwrap();
    let params = ParamsKZG::<Bn256>::setup(p.k, OsRng);
    let (_, shape, _) = circuit(&g, eval(&g, &TB, &x).unwrap(), vec![]);
    let vk = keygen_vk(&params, &shape.without_witnesses()).unwrap();
    let pk = keygen_pk(&params, vk.clone(), &shape.without_witnesses()).unwrap();
    let prove_and_verify = |trace: Trace| {
        let (_, c, instances) = circuit(&g, trace, vec![]);
        real_proof_verifies(&params, &pk, c, &instances)
    };
    assert!(prove_and_verify(eval(&g, &TB, &x).unwrap()));
    assert!(!prove_and_verify(forged(&g, &x, 6)));
}
