//! The transformer blocks and their chips: every held-out sample of every block within the
//! README's error bound of onnxruntime, and corrupted witnesses of the attention and
//! LayerNorm chips (softmax sum, LayerNorm variance, square root and division) rejected.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use halo2_axiom::dev::MockProver;
use zkinfer_circuits::{lay_out, Adv, DryRun, ModelCircuit, TableSet, Tamper};
use zkinfer_ir::{CompiledModel, MapFn, Op, TableFn, Trace};
use zkinfer_onnx::QuantConfig;
use zkinfer_prover::{circuit_for, compile_finest, outputs, read_inputs, read_samples, witness};
use zkinfer_tests::{compile_example, corpus, tolerance};

const BLOCKS: [&str; 4] = [
    "tiny_block_op17",
    "tiny_block_dynamo_op18",
    "tiny_block_dynamo_op20",
    "tiny_block_causal_op17",
];

/// Compiled as `zkinfer compile --input input.json` does (the finest scale at no cost in k; one
/// calibration sample, so two bits
/// of table headroom), the proven output of every held-out sample (the integer reference the
/// circuit proves) against onnxruntime's, per element within `8·2^-s + |y|/64` (README,
/// "Accuracy").
#[test]
fn every_block_is_within_the_stated_bound_on_every_held_out_sample() {
    for entry in BLOCKS {
        let dir = corpus().join("transformer").join(entry);
        let batch = dir.join("inputs_batch.json");
        let samples = read_samples(&batch).unwrap();
        let calibration = [read_inputs(&dir.join("input.json")).unwrap()];
        let cfg = QuantConfig {
            margin_bits: QuantConfig::margin_for_samples(1),
            ..QuantConfig::default()
        };
        let (model, _, _) = compile_finest(&dir.join("model.onnx"), &calibration, &cfg).unwrap();
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&batch).unwrap()).unwrap();
        let scale = model.graph.nodes[model.graph.outputs[0]].scale;
        let mut worst = 0.0f32;
        for (i, sample) in samples.iter().enumerate() {
            let got = outputs(&model, &witness(&model, sample).unwrap());
            let want: Vec<f32> = json["expected_outputs"][i]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect();
            assert_eq!(got[0].len(), want.len());
            for (j, (a, b)) in got[0].iter().zip(&want).enumerate() {
                let err = (a - b).abs();
                assert!(
                    err <= tolerance(scale, *b),
                    "{entry} sample {i}[{j}]: {a} vs onnxruntime {b}"
                );
                worst = worst.max(err);
            }
        }
        println!(
            "{entry}: k = {}, {} samples, max |proven − onnxruntime| = {worst:.4} (output scale 2^-{scale})",
            model.settings.k,
            samples.len()
        );
    }
}

/// An onnx-node case compiled on its own input, with its trace.
fn case(name: &str) -> (CompiledModel, Trace) {
    let dir = corpus().join("onnx-node").join(name);
    let (model, _) = compile_example(&dir).unwrap();
    let input = read_inputs(&dir.join("input.json")).unwrap();
    let trace = witness(&model, &input).unwrap();
    (model, trace)
}

/// The first node whose op satisfies `pick`, after `skip` earlier matches.
fn node_where(model: &CompiledModel, skip: usize, pick: impl Fn(&Op) -> bool) -> usize {
    (0..model.graph.nodes.len())
        .filter(|&i| pick(&model.graph.nodes[i].op))
        .nth(skip)
        .expect("node")
}

/// The row of the first placement `what` of node `node`.
fn row(model: &CompiledModel, node: usize, what: &str) -> usize {
    let tables = TableSet::for_graph(&model.graph, &model.settings.table);
    let report = lay_out(
        &mut DryRun::default(),
        &model.graph,
        model.settings.lanes,
        &tables,
        None,
    )
    .unwrap();
    report
        .placements
        .iter()
        .find(|p| p.node == node && p.what == what)
        .map(|p| p.row)
        .expect("placement")
}

/// MockProver on the model with one corrupted cell; the error text.
fn corrupted(model: &CompiledModel, trace: &Trace, tamper: Tamper) -> String {
    let circuit = circuit_for(model).with_trace(Arc::new(trace.clone()));
    let instances = ModelCircuit::instances(&model.graph, trace);
    let honest = MockProver::run(model.settings.k, &circuit, vec![instances.clone()]).unwrap();
    honest.verify().expect("the honest witness verifies");
    let circuit = circuit.tampered(vec![tamper]);
    let prover = MockProver::run(model.settings.k, &circuit, vec![instances]).unwrap();
    format!(
        "{:?}",
        prover.verify().expect_err("a corrupted witness must fail")
    )
}

#[test]
fn a_forged_softmax_sum_fails_the_dot_gate() {
    let (model, trace) = case("node/test_softmax_example");
    let sm = node_where(&model, 0, |op| matches!(op, Op::Softmax(_)));
    let start = row(&model, sm, "dot");
    // The sum of three exponentials lands in `acc` of the row after its dot chain.
    let end = start + 3usize.div_ceil(model.settings.lanes);
    let err = corrupted(
        &model,
        &trace,
        Tamper {
            col: Adv::Acc,
            row: end,
            value: 1,
        },
    );
    assert!(err.contains("\"dot\""), "{err}");
}

#[test]
fn layer_norm_rejects_a_forged_variance_square_root_or_quotient() {
    let (model, trace) = case("node/test_layer_normalization_2d_axis1");
    let value = |node: usize| trace.values[node].data()[0];
    // The variance: the second mean (of the centred squares), a rounded division.
    let var = node_where(&model, 1, |op| matches!(op, Op::Mean(_)));
    let err = corrupted(
        &model,
        &trace,
        Tamper {
            col: Adv::X(2),
            row: row(&model, var, "div"),
            value: value(var) + 1,
        },
    );
    assert!(err.contains("\"div\""), "variance: {err}");
    // The standard deviation: a row of the `sqrt(var + eps)` table.
    let sqrt = node_where(
        &model,
        0,
        |op| matches!(op, Op::Rescale(rs) if matches!(rs.table, TableFn::Map { g: MapFn::StdDev { .. }, .. })),
    );
    let err = corrupted(
        &model,
        &trace,
        Tamper {
            col: Adv::F,
            row: row(&model, sqrt, "rescale"),
            value: value(sqrt) + 1,
        },
    );
    assert!(err.contains("table A"), "square root: {err}");
    // The normalized value: (x − mean) / std, a rounded division.
    let div = node_where(&model, 0, |op| matches!(op, Op::Div(_)));
    let err = corrupted(
        &model,
        &trace,
        Tamper {
            col: Adv::X(2),
            row: row(&model, div, "div"),
            value: value(div) - 1,
        },
    );
    assert!(err.contains("\"div\""), "normalization: {err}");
}
