use std::sync::Arc;

use halo2_axiom::dev::MockProver;
use zkinfer_ir::{
    eval, Affine, Binary, BinaryKind, Dense, Graph, Input, Node, Op, Rescale, Softmax, TableBounds,
    TableFn, Tensor, WeightSide,
};

use crate::grid::{Adv, DryRun, Tamper};
use crate::layout::lay_out;
use crate::{plan, CircuitParams, ModelCircuit, TableSet};

/// Activations in [-512, 512) (9 magnitude bits: two limbs of 8), exp over [0, 256); the
/// range holds the softmax remainders.
pub(super) const TB: TableBounds = TableBounds {
    neg: 128,
    pos: 512,
    exp: 256,
    limb_bits: 8,
};

pub(super) fn node(name: &str, op: Op, inputs: Vec<usize>, shape: Vec<usize>, bound: u32) -> Node {
    Node {
        name: name.into(),
        op,
        inputs,
        shape,
        scale: 0,
        bound,
        dtype: Default::default(),
    }
}

pub(super) fn graph(nodes: Vec<Node>, inputs: Vec<usize>, output: usize) -> Graph {
    let g = Graph {
        input_names: inputs.iter().map(|i| format!("in{i}")).collect(),
        output_names: vec!["out".into()],
        nodes,
        inputs,
        outputs: vec![output],
    };
    g.check().unwrap();
    g
}

/// x[1,5] → Dense(5→3) → Rescale(shift 2, Relu).
pub(super) fn dense_relu() -> (Graph, Vec<Tensor<i64>>) {
    let w = Tensor::new(
        vec![5, 3],
        vec![1, -2, 3, 0, 4, -1, 2, 2, 2, -3, 1, 0, 1, 1, -1],
    )
    .unwrap();
    let b = Tensor::new(vec![1, 3], vec![5, -7, 2]).unwrap();
    let g = graph(
        vec![
            node("x", Op::Input(Input { index: 0 }), vec![], vec![1, 5], 5),
            node(
                "fc",
                Op::Dense(Dense {
                    weight: w,
                    side: WeightSide::Right,
                    bias: Some(b),
                }),
                vec![0],
                vec![1, 3],
                12,
            ),
            node(
                "act",
                Op::Rescale(Rescale::uniform(2, TableFn::Relu)),
                vec![1],
                vec![1, 3],
                8,
            ),
        ],
        vec![0],
        2,
    );
    (
        g,
        vec![Tensor::new(vec![1, 5], vec![3, -1, 4, 1, -5]).unwrap()],
    )
}

/// a, b [2,2] → a·b → Rescale(shift 1) ; and (a + b) then Affine.
fn arith_graph() -> (Graph, Vec<Tensor<i64>>) {
    let s = vec![2, 2];
    let g = graph(
        vec![
            node("a", Op::Input(Input { index: 0 }), vec![], s.clone(), 4),
            node("b", Op::Input(Input { index: 1 }), vec![], s.clone(), 4),
            node(
                "mul",
                Op::Binary(Binary {
                    kind: BinaryKind::Mul,
                    lhs_shift: 0,
                    rhs_shift: 0,
                }),
                vec![0, 1],
                s.clone(),
                8,
            ),
            node(
                "sub",
                Op::Binary(Binary {
                    kind: BinaryKind::Sub,
                    lhs_shift: 1,
                    rhs_shift: 0,
                }),
                vec![2, 1],
                s.clone(),
                10,
            ),
            node(
                "aff",
                Op::Affine(Affine {
                    mul: Tensor::new(s.clone(), vec![3, -1, 2, 1]).unwrap(),
                    add: Tensor::new(s.clone(), vec![1, 2, 3, 4]).unwrap(),
                }),
                vec![3],
                s.clone(),
                13,
            ),
            node(
                "rs",
                Op::Rescale(Rescale::uniform(3, TableFn::Identity)),
                vec![4],
                s.clone(),
                8,
            ),
        ],
        vec![0, 1],
        5,
    );
    let a = Tensor::new(s.clone(), vec![3, -2, 5, 7]).unwrap();
    let b = Tensor::new(s, vec![-4, 6, 1, 2]).unwrap();
    (g, vec![a, b])
}

fn softmax_graph() -> (Graph, Vec<Tensor<i64>>) {
    let s = vec![1, 4];
    let sm = Softmax {
        exp: TableFn::ExpNeg {
            in_scale: 4,
            out_scale: 6,
        },
        out_scale: 6,
        mask: Vec::new(),
    };
    let g = graph(
        vec![
            node("z", Op::Input(Input { index: 0 }), vec![], s.clone(), 8),
            node("softmax", Op::Softmax(sm), vec![0], s.clone(), 7),
        ],
        vec![0],
        1,
    );
    (g, vec![Tensor::new(s, vec![20, -70, 33, 0]).unwrap()])
}

/// One corrupted advice cell.
pub(super) fn t(col: Adv, row: usize, value: i64) -> Tamper {
    Tamper { col, row, value }
}

pub(super) fn check(g: &Graph, inputs: &[Tensor<i64>], tamper: Vec<Tamper>) -> Result<(), String> {
    check_with(g, inputs, TB, tamper)
}

/// Runs the MockProver on `g` with table extents `tb` and the given corrupted cells.
pub(super) fn check_with(
    g: &Graph,
    inputs: &[Tensor<i64>],
    tb: TableBounds,
    tamper: Vec<Tamper>,
) -> Result<(), String> {
    check_claiming(g, inputs, tb, tamper, None)
}

/// [`check_with`], with element `i` of the first output replaced by `v` in the public
/// instance (a forger claims the output its forged witness computes).
pub(super) fn check_claiming(
    g: &Graph,
    inputs: &[Tensor<i64>],
    tb: TableBounds,
    tamper: Vec<Tamper>,
    output: Option<(usize, i64)>,
) -> Result<(), String> {
    check_claims(g, inputs, tb, tamper, output.as_slice())
}

/// [`check_claiming`] with every element `i` of the first output in `claims` replaced by its
/// `v`.
pub(super) fn check_claims(
    g: &Graph,
    inputs: &[Tensor<i64>],
    tb: TableBounds,
    tamper: Vec<Tamper>,
    claims: &[(usize, i64)],
) -> Result<(), String> {
    let trace = eval(g, &tb, inputs).unwrap();
    let p = plan(g, &tb).unwrap();
    let mut c = ModelCircuit::new(
        Arc::new(g.clone()),
        &tb,
        CircuitParams::for_graph(g, p.lanes),
    )
    .with_trace(Arc::new(trace.clone()));
    c.tamper = tamper;
    let mut claimed = trace;
    if !claims.is_empty() {
        let out = &mut claimed.values[g.outputs[0]];
        let mut data = out.data().to_vec();
        for &(i, v) in claims {
            data[i] = v;
        }
        *out = Tensor::new(out.shape().to_vec(), data).unwrap();
    }
    let instances = ModelCircuit::instances(g, &claimed);
    let prover = MockProver::run(p.k, &c, vec![instances]).map_err(|e| format!("{e:?}"))?;
    prover.verify().map_err(|e| format!("{e:?}"))
}

/// The row of the `n`-th placement `what` of node `node`.
pub(super) fn row_of(g: &Graph, node: usize, what: &str, n: usize) -> usize {
    rows_of(g, node, what)[n]
}

/// The copy classes of a layout: forging a value means forging every copy of it too, so that
/// only the constraint under test can notice.
pub(super) fn copies(g: &Graph, tb: &TableBounds) -> Vec<(crate::AdvCell, crate::AdvCell)> {
    let p = plan(g, tb).unwrap();
    let tables = TableSet::for_graph(g, tb);
    let mut grid = DryRun {
        copies: Some(Vec::new()),
        ..DryRun::default()
    };
    lay_out(&mut grid, g, p.lanes, &tables, None).unwrap();
    grid.copies.unwrap()
}

/// Tampers `(col, row)` and every cell copy-constrained to it.
pub(super) fn forge(g: &Graph, cells: &[(Adv, usize, i64)]) -> Vec<Tamper> {
    forge_with(g, &TB, cells)
}

/// [`forge`] in the layout with table extents `tb`.
pub(super) fn forge_with(g: &Graph, tb: &TableBounds, cells: &[(Adv, usize, i64)]) -> Vec<Tamper> {
    forge_classes(&copies(g, tb), cells)
}

/// Tampers `(col, row)` and every cell that the copy constraints `pairs` tie to it.
pub(super) fn forge_classes(
    pairs: &[(crate::AdvCell, crate::AdvCell)],
    cells: &[(Adv, usize, i64)],
) -> Vec<Tamper> {
    let mut out = Vec::new();
    for &(col, row, value) in cells {
        let mut class = vec![(col, row)];
        let mut i = 0;
        while i < class.len() {
            let c = class[i];
            for &(a, b) in pairs {
                for (x, y) in [(a, b), (b, a)] {
                    if x == c && !class.contains(&y) {
                        class.push(y);
                    }
                }
            }
            i += 1;
        }
        out.extend(class.into_iter().map(|(col, row)| t(col, row, value)));
    }
    out
}

pub(super) fn rows_of(g: &Graph, node: usize, what: &str) -> Vec<usize> {
    rows_with(g, &TB, node, what)
}

/// [`rows_of`] in the layout with table extents `tb`.
pub(super) fn rows_with(g: &Graph, tb: &TableBounds, node: usize, what: &str) -> Vec<usize> {
    let p = plan(g, tb).unwrap();
    let tables = TableSet::for_graph(g, tb);
    let report = lay_out(&mut DryRun::default(), g, p.lanes, &tables, None).unwrap();
    report
        .placements
        .iter()
        .filter(|pl| pl.node == node && pl.what == what)
        .map(|pl| pl.row)
        .collect()
}

/// The cells of the range unit at row `j` holding `v` in `n` limbs of `TB`'s width: the value,
/// its sign and its limbs (the top one unmasked, so a magnitude too large shows there), for
/// forging a unit consistently.
pub(super) fn unit_cells(j: usize, v: i64, n: usize) -> Vec<(Adv, usize, i64)> {
    let l = TB.limbs() as usize;
    let mag = if v < 0 { -v - 1 } else { v };
    let mut cells = vec![(Adv::Q, j, v), (Adv::F, j, i64::from(v < 0))];
    for i in 0..n {
        let limb = mag >> (l * i);
        let limb = if i + 1 < n {
            limb & ((1 << l) - 1)
        } else {
            limb
        };
        cells.push((Adv::R, j + i, limb));
    }
    cells
}

/// The cells of an unsigned range unit at row `j` claiming `v`: sign 0 and `v` in the low limb,
/// so the recomposition holds and only the limb lookup can notice a negative `v`.
pub(super) fn unsigned_cells(j: usize, v: i64, n: usize) -> Vec<(Adv, usize, i64)> {
    let mut cells = vec![(Adv::Q, j, v), (Adv::F, j, 0), (Adv::R, j, v)];
    cells.extend((1..n).map(|i| (Adv::R, j + i, 0)));
    cells
}

pub(super) fn assert_fails(g: &Graph, inputs: &[Tensor<i64>], tamper: Tamper, constraint: &str) {
    let err = check(g, inputs, vec![tamper]).expect_err("a corrupted witness must not verify");
    assert!(
        err.contains(constraint),
        "expected `{constraint}` to fail, got: {err}"
    );
}

pub(super) fn value_at(g: &Graph, inputs: &[Tensor<i64>], node: usize, i: usize) -> i64 {
    eval(g, &TB, inputs).unwrap().values[node].data()[i]
}

#[test]
fn honest_witnesses_satisfy_every_chip() {
    for (g, x) in [dense_relu(), arith_graph(), softmax_graph()] {
        check(&g, &x, vec![]).unwrap();
    }
}

#[test]
fn dot_gate_rejects_a_wrong_partial_sum_or_lane() {
    let (g, x) = dense_relu();
    let start = row_of(&g, 1, "dot", 1);
    // The final accumulator of the second output sits in the row where the third chain starts.
    let end = row_of(&g, 1, "dot", 2);
    let honest = value_at(&g, &x, 1, 1);
    assert_fails(&g, &x, t(Adv::Acc, end, honest + 1), "\"dot\"");
    assert_fails(&g, &x, t(Adv::X(0), start, 9), "\"dot\"");
}

#[test]
fn rescale_rejects_a_wrong_quotient_or_an_out_of_range_remainder() {
    let (g, x) = dense_relu();
    let row = row_of(&g, 2, "rescale", 0);
    let acc = value_at(&g, &x, 1, 0);
    let q = (acc + 2) >> 2;
    assert_fails(&g, &x, t(Adv::Q, row, q + 1), "\"rescale\"");
    // q - 1 with r + 4 satisfies the gate, but r leaves [0, 4): lookup B catches it.
    let r = acc + 2 - (q << 2);
    let forged = vec![
        t(Adv::Q, row, q - 1),
        t(Adv::R, row, r + 4),
        t(Adv::F, row, (q - 1).max(0)),
    ];
    let err = check(&g, &x, forged).unwrap_err();
    assert!(
        err.contains("table B") && !err.contains("\"rescale\""),
        "{err}"
    );
}

#[test]
fn remainder_range_lookup_rejects_a_negative_remainder() {
    let (g, x) = dense_relu();
    let row = row_of(&g, 2, "rescale", 1);
    let err = check(&g, &x, vec![t(Adv::R, row, -1)]).unwrap_err();
    assert!(
        err.contains("table B"),
        "lookup B must reject a negative remainder: {err}"
    );
}

#[test]
fn relu_output_and_sign_come_from_the_range_unit() {
    let (g, x) = dense_relu();
    let units = rows_of(&g, 2, "range");
    for (i, &j) in units.iter().enumerate() {
        let f = value_at(&g, &x, 2, i);
        // The output is q·(1 − σ): another value fails the relu gate…
        assert_fails(&g, &x, t(Adv::Q, j + 1, f + 1), "\"relu\"");
        // …and a flipped sign fails the recomposition of the limbs.
        let sigma = i64::from(value_at(&g, &x, 1, i) + 2 < 0);
        assert_fails(&g, &x, t(Adv::F, j, 1 - sigma), "\"range\"");
    }
}

#[test]
fn arith_gate_rejects_a_wrong_product_sum_or_affine_value() {
    let (g, x) = arith_graph();
    for node in [2, 3, 4] {
        let row = row_of(&g, node, "arith", 1);
        let v = value_at(&g, &x, node, 1);
        assert_fails(&g, &x, t(Adv::Acc, row, v + 1), "\"arith\"");
    }
}

#[test]
fn public_output_must_match_the_instance() {
    let (g, x) = dense_relu();
    let j = rows_of(&g, 2, "range")[0];
    // A forged output, with its copy to the instance forged too, still breaks the relu gate
    // or the instance.
    let forged = forge(&g, &[(Adv::Q, j + 1, value_at(&g, &x, 2, 0) + 3)]);
    let err = check(&g, &x, forged).unwrap_err();
    assert!(
        err.contains("\"relu\"") || err.contains("Permutation"),
        "{err}"
    );
}

#[test]
fn softmax_rejects_a_wrong_probability_max_or_remainder() {
    let (g, x) = softmax_graph();
    let div = row_of(&g, 1, "div", 2);
    let p = value_at(&g, &x, 1, 2);
    assert_fails(&g, &x, t(Adv::X(2), div, p + 1), "\"div\"");
    // A negative remainder (with its copy in its range unit) fails the limb lookup. TB's
    // activations (9 bits) are wider than a limb (8), so r has a unit of its own: the units
    // of element 2's division follow the four exponentials' two units each (overflow, value)
    // and two divisions' three each (remainder, slack, quotient).
    let r_unit = rows_of(&g, 1, "range")[4 * 2 + 2 * 3];
    let mut cells = vec![(Adv::R, div, -1)];
    cells.extend(unsigned_cells(r_unit, -1, 2));
    let err = check(&g, &x, forge(&g, &cells)).unwrap_err();
    assert!(err.contains("table B"), "{err}");
    // A forged maximum in m's own cell no longer matches its copies in the d_i rows.
    let first = row_of(&g, 1, "softmax.max", 0);
    let err = check(&g, &x, vec![t(Adv::X(0), first, 40)]).unwrap_err();
    assert!(err.contains("Equality constraint not satisfied"), "{err}");
}

#[test]
fn identity_rescale_output_is_exact_and_bounded() {
    let (g, x) = arith_graph();
    let row = row_of(&g, 5, "rescale", 2);
    let q = value_at(&g, &x, 5, 2);
    // The output is the q cell: a wrong value breaks the rescale identity…
    assert_fails(&g, &x, t(Adv::Q, row, q + 1), "\"rescale\"");
    // …and the range unit that bounds it must recompose q from its limbs.
    let j = rows_of(&g, 5, "range")[2];
    assert_fails(&g, &x, t(Adv::R, j, (q.abs() + 1) % 256), "\"range\"");
}

#[test]
fn clamped_exp_is_exact_and_cannot_be_forged() {
    let (g, x) = softmax_graph();
    let tb = TB;
    let split = zkinfer_ir::ExpSplit::new(4, 6);
    // round(64·exp(-d/16)) is 0 from d = 78 on; the split tables reach 0 at cmax = 6·16.
    let exact = TableFn::ExpNeg {
        in_scale: 4,
        out_scale: 6,
    };
    assert_eq!(exact.apply(78), 0);
    let cmax = split.cmax();
    assert_eq!((split.j, cmax), (4, 96));
    assert_eq!(split.apply(cmax), 0);
    // z = [20, -70, 33, 0]: element 1 has d = 103 past the clamp point (overflow 7).
    check_with(&g, &x, tb, vec![]).unwrap();
    let row = |i: usize| {
        let p = plan(&g, &tb).unwrap();
        let tables = TableSet::for_graph(&g, &tb);
        let report = lay_out(&mut DryRun::default(), &g, p.lanes, &tables, None).unwrap();
        report
            .placements
            .iter()
            .filter(|pl| pl.what == "softmax.exp")
            .nth(i)
            .unwrap()
            .row
    };
    // The range units of each element in order: its overflow (9-bit activations, 8-bit
    // limbs), then its exponential's rescale.
    let units = rows_of(&g, 1, "range");
    let overflow_unit = |i: usize| units[2 * i];
    // Claiming a clamp that did not happen: the max element (d = 0) as c = cmax, r = −cmax.
    let r0 = row(2);
    let mut cells = vec![(Adv::Q, r0, cmax), (Adv::R, r0, -cmax)];
    cells.extend(unsigned_cells(overflow_unit(2), -cmax, 2));
    let err = check_with(&g, &x, tb, forge(&g, &cells)).unwrap_err();
    assert!(
        err.contains("table B"),
        "a negative overflow must fail the limb lookup: {err}"
    );
    // Clamping below the clamp point: d = 103 as c = cmax − 1, r = 103 − c.
    let r1 = row(1);
    let c = cmax - 1;
    let mut cells = vec![(Adv::Q, r1, c), (Adv::R, r1, 103 - c)];
    cells.extend(unsigned_cells(overflow_unit(1), 103 - c, 2));
    let forged = forge(&g, &cells);
    let err = check_with(&g, &x, tb, forged).unwrap_err();
    assert!(err.contains("\"clamp\""), "{err}");
}

#[test]
fn split_exponential_rejects_a_forged_half_or_split() {
    let (g, x) = softmax_graph();
    let split = rows_of(&g, 1, "softmax.split");
    let low = rows_of(&g, 1, "softmax.low");
    // Element 0 (d = 13): c = 13 = 0·16 + 13. A wrong value of either half, with every copy of
    // it (the product row) forged along, is not a row of its table.
    let err = check(&g, &x, forge(&g, &[(Adv::F, split[0], 200)])).unwrap_err();
    assert!(err.contains("table A"), "{err}");
    let err = check(&g, &x, forge(&g, &[(Adv::F, low[0], 3)])).unwrap_err();
    assert!(err.contains("table A"), "{err}");
    // Splitting c = 13 as a = 1, b = −3 satisfies the split's rescale identity, but b leaves
    // [0, 16): the range lookup of the low part rejects it.
    let forged = forge(&g, &[(Adv::Q, split[0], 1), (Adv::R, split[0], -3)]);
    let err = check(&g, &x, forged).unwrap_err();
    assert!(
        err.contains("table B") && !err.contains("\"rescale\""),
        "{err}"
    );
}

/// Proves `circuit` with a real KZG proof (SHPLONK, Blake2b) and verifies it: whether the
/// verifier accepts. The prover itself must succeed, on a forged witness too.
pub(super) fn real_proof_verifies(
    srs: &halo2_axiom::poly::kzg::commitment::ParamsKZG<halo2_axiom::halo2curves::bn256::Bn256>,
    pk: &halo2_axiom::plonk::ProvingKey<halo2_axiom::halo2curves::bn256::G1Affine>,
    circuit: ModelCircuit,
    instances: &[halo2_axiom::halo2curves::bn256::Fr],
) -> bool {
    use halo2_axiom::halo2curves::bn256::{Bn256, G1Affine};
    use halo2_axiom::plonk::{create_proof, verify_proof};
    use halo2_axiom::poly::kzg::commitment::KZGCommitmentScheme;
    use halo2_axiom::poly::kzg::multiopen::{ProverSHPLONK, VerifierSHPLONK};
    use halo2_axiom::poly::kzg::strategy::SingleStrategy;
    use halo2_axiom::transcript::{
        Blake2bRead, Blake2bWrite, Challenge255, TranscriptReadBuffer, TranscriptWriterBuffer,
    };
    let mut transcript = Blake2bWrite::<_, G1Affine, Challenge255<_>>::init(Vec::new());
    create_proof::<
        KZGCommitmentScheme<Bn256>,
        ProverSHPLONK<'_, Bn256>,
        Challenge255<G1Affine>,
        _,
        _,
        _,
    >(
        srs,
        pk,
        &[circuit],
        &[&[instances]],
        rand::rngs::OsRng,
        &mut transcript,
    )
    .expect("the prover runs on any witness: only verification may fail");
    let proof = transcript.finalize();
    let mut read = Blake2bRead::<_, G1Affine, Challenge255<_>>::init(&proof[..]);
    verify_proof::<
        KZGCommitmentScheme<Bn256>,
        VerifierSHPLONK<'_, Bn256>,
        Challenge255<G1Affine>,
        _,
        SingleStrategy<'_, Bn256>,
    >(
        srs,
        pk.get_vk(),
        SingleStrategy::new(srs),
        &[&[instances]],
        &mut read,
    )
    .is_ok()
}
