//! A chain's links are checked cut by cut. Two splits of one model into as many shards differ
//! only in where they cut; when the tensors handed on at both cuts hold the same values (a
//! cut before and after a Reshape), their hand-off commitments are equal, and shard 0 of one
//! split followed by shard 1 of the other chains up commitment for commitment. The chain
//! verifier must refuse that mix, naming the link, because the cuts (and the tensors handed
//! on: names, shapes) differ.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use zkinfer_circuits::CircuitParams;
use zkinfer_ir::{
    Affine, CompiledModel, Graph, Input, Node, Op, Settings, TableBounds, Tensor, TensorInfo,
};
use zkinfer_prover::{
    load_srs, prove_trace, setup, split_model, witness, witness_quantized, Activations, Backend,
    Cuts,
};
use zkinfer_verifier::{verify_chain, Bundle, ChainVerifier, ProofFile, VerifyError};

fn node(name: &str, op: Op, inputs: Vec<usize>, shape: Vec<usize>, bound: u32) -> Node {
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

/// `x → a = 2x + 1 → r = reshape(a) to 2×2 → y = 3r`: a cut after `a` and a cut after `r`
/// hand on the same four values.
fn model() -> CompiledModel {
    let t = |v: i64| Tensor::new(vec![4], vec![v; 4]).unwrap();
    let graph = Graph {
        nodes: vec![
            node("x", Op::Input(Input { index: 0 }), vec![], vec![4], 8),
            node(
                "a",
                Op::Affine(Affine {
                    mul: t(2),
                    add: t(1),
                }),
                vec![0],
                vec![4],
                10,
            ),
            node("r", Op::Reshape, vec![1], vec![2, 2], 10),
            node(
                "y",
                Op::Affine(Affine {
                    mul: Tensor::new(vec![2, 2], vec![3; 4]).unwrap(),
                    add: Tensor::new(vec![2, 2], vec![0; 4]).unwrap(),
                }),
                vec![2],
                vec![2, 2],
                12,
            ),
        ],
        inputs: vec![0],
        outputs: vec![3],
        input_names: vec!["x".into()],
        output_names: vec!["y".into()],
    };
    graph.check().unwrap();
    let table = TableBounds {
        neg: 1 << 10,
        pos: 1 << 10,
        exp: 0,
        limb_bits: 0,
    };
    let plan = zkinfer_circuits::plan_with(&graph, &table, CircuitParams::default()).unwrap();
    let (inputs, outputs) = Settings::io_from_graph(&graph);
    let settings = Settings {
        gelu_line: false,
        booleans: false,
        table: TableBounds {
            limb_bits: plan.limb_bits,
            ..table
        },
        lanes: plan.lanes,
        freivalds: plan.freivalds,
        weight_lanes: plan.weight_lanes,
        packed: false,
        k: plan.k,
        rows: plan.rows,
        table_rows: plan.table_rows,
        inputs,
        outputs,
        shard: None,
    };
    CompiledModel::new(graph, settings)
}

/// Splits `model` after `at` into two shards, sets each up and proves the chain on `input`;
/// returns each shard's bundle and proof.
fn prove_split(model: &CompiledModel, at: &str, input: &[Vec<f32>]) -> Vec<(Bundle, ProofFile)> {
    let shards = split_model(model, &Cuts::At(vec![at.into()]), false).unwrap();
    assert_eq!(shards.len(), 2);
    let mut links = Vec::new();
    let mut acts: Option<Activations> = None;
    for s in &shards {
        let m = &s.model;
        let (params, srs) = load_srs(m.settings.k, None).unwrap();
        let keys = setup(m, &params, srs).unwrap();
        let trace = match &acts {
            None => witness(m, input).unwrap(),
            Some(a) => witness_quantized(m, &a.inputs_for(m, "acts").unwrap()).unwrap(),
        };
        acts = Some(Activations::from_trace(m, &trace));
        let proof = prove_trace(Backend::Cpu, m, &keys, &params, Arc::new(trace), None).unwrap();
        links.push((keys.bundle, proof));
    }
    links
}

fn chain(links: &[&(Bundle, ProofFile)]) -> Result<(), VerifyError> {
    let refs: Vec<(&Bundle, &ProofFile)> = links.iter().map(|(b, p)| (b, p)).collect();
    verify_chain(&refs).map(|_| ())
}

#[test]
fn shards_of_two_splits_whose_hand_offs_line_up_do_not_chain() {
    let model = model();
    let input = vec![vec![1.0, -2.0, 3.0, 0.0]];
    let a = prove_split(&model, "a", &input);
    let b = prove_split(&model, "r", &input);
    // Each split is a valid chain on its own.
    chain(&[&a[0], &a[1]]).unwrap();
    chain(&[&b[0], &b[1]]).unwrap();
    // The hand-offs line up: split A's shard 0 commits to the same activations split B's
    // shard 1 takes in.
    let out_a = zkinfer_verifier::verify(&a[0].0, &a[0].1).unwrap();
    let in_b = zkinfer_verifier::verify(&b[1].0, &b[1].1).unwrap();
    assert_eq!(out_a.output_commitment, in_b.input_commitment);
    assert!(out_a.output_commitment.is_some());

    // Shard 0 of split A, then shard 1 of split B: refused at the link into shard 1.
    let err = chain(&[&a[0], &b[1]]).unwrap_err();
    assert!(
        matches!(&err, VerifyError::ChainCut { shard: 1, reason } if reason.contains("cut after")),
        "{err}"
    );
    assert_eq!(err.kind(), "ChainCut");
    let err = chain(&[&b[0], &a[1]]).unwrap_err();
    assert!(
        matches!(err, VerifyError::ChainCut { shard: 1, .. }),
        "{err}"
    );
}

#[test]
fn a_link_whose_tensors_differ_from_those_handed_on_is_refused() {
    // Split B's shard 1 made to claim split A's cuts: the cut lists agree, but the tensor it
    // takes (`r`, 2×2) is not the one split A's shard 0 hands on (`a`, 4).
    let model = model();
    let input = vec![vec![1.0, -2.0, 3.0, 0.0]];
    let a = prove_split(&model, "a", &input);
    let b = prove_split(&model, "r", &input);
    let mut b1 = b[1].0.clone();
    let cuts = a[1].0.header.settings.shard.as_ref().unwrap().cuts.clone();
    b1.header.settings.shard.as_mut().unwrap().cuts = cuts;
    let mut chain = ChainVerifier::new(2);
    chain.push(&a[0].0, &a[0].1).unwrap();
    let err = chain.push(&b1, &b[1].1).unwrap_err();
    match &err {
        VerifyError::ChainCut { shard: 1, reason } => {
            assert!(
                reason.contains("`a` [4]") && reason.contains("`r` [2, 2]"),
                "{err}"
            )
        }
        other => panic!("expected ChainCut at shard 1: {other}"),
    }
    // The same tensors at another scale, bound or type are refused alike.
    for edit in [
        (|t: &mut TensorInfo| t.scale += 1) as fn(&mut TensorInfo),
        |t| t.bound += 1,
        |t| t.dtype = zkinfer_ir::ElemType::Int32,
    ] {
        let mut a1 = a[1].0.clone();
        edit(&mut a1.header.settings.inputs[0]);
        let mut chain = ChainVerifier::new(2);
        chain.push(&a[0].0, &a[0].1).unwrap();
        let err = chain.push(&a1, &a[1].1).unwrap_err();
        assert!(
            matches!(err, VerifyError::ChainCut { shard: 1, .. }),
            "{err}"
        );
    }
}
