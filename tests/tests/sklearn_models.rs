//! The sklearn models proven and verified in-process, outputs compared with
//! onnxruntime's recorded outputs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use zkinfer_tests::round_trip;

fn check(entry: &str, tolerance: f32) {
    let rt = round_trip(entry).unwrap_or_else(|e| panic!("{entry}: {e:#}"));
    let err = rt.max_abs_error();
    eprintln!(
        "{entry}: k = {}, lanes = {}, max |proven - onnxruntime| = {err}",
        rt.model.settings.k, rt.model.settings.lanes
    );
    assert_eq!(rt.verified.outputs.len(), rt.expected.len());
    assert!(
        err <= tolerance,
        "{entry}: max abs error {err} > {tolerance}"
    );
}

#[test]
fn logreg_iris_stdops() {
    check("sklearn/logreg_iris_stdops", 0.02);
}

#[test]
fn mlp1_relu_digits_stdops() {
    check("sklearn/mlp1_relu_digits_stdops", 0.02);
}

#[test]
fn mlp2_relu_digits_stdops() {
    check("sklearn/mlp2_relu_digits_stdops", 0.02);
}

#[test]
fn mlp2_relu_scaled_breast_cancer_stdops() {
    check("sklearn/mlp2_relu_scaled_breast_cancer_stdops", 0.02);
}

/// The tree ensembles (hummingbird GEMM form) and every standard-ops sklearn model: the label
/// that a proof would show (from `ir::eval`, quantized as `--target accuracy` picks from the
/// held-out samples) equals onnxruntime's on every held-out sample, and a proof of the
/// example verifies.
#[test]
fn tree_ensembles_and_stdops_models_predict_onnxruntimes_labels() {
    use zkinfer_prover::{choose_quantization, compile, outputs, witness, Target};
    let entries = [
        "dtree_d4_iris_hb_gemm",
        "rf10_d4_breast_cancer_hb_gemm",
        "rf10_d6_digits_hb_gemm",
        "linearsvc_scaled_wine_stdops",
        "logreg_digits_stdops",
        "logreg_iris_stdops",
        "logreg_scaled_breast_cancer_stdops",
        "mlp1_relu_digits_stdops",
        "mlp2_relu_digits_stdops",
        "mlp2_relu_scaled_breast_cancer_stdops",
        "pca16_logreg_digits_stdops",
    ];
    let mut failures = Vec::new();
    for name in entries {
        let dir = zkinfer_tests::corpus().join("sklearn").join(name);
        let batch: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("inputs_batch.json")).unwrap()).unwrap();
        // `zkinfer compile --calibrate inputs_batch.json --target accuracy`.
        let calib = zkinfer_prover::read_samples(&dir.join("inputs_batch.json")).unwrap();
        let onnx = dir.join("model.onnx");
        let (choices, picked) = choose_quantization(&onnx, &calib, Target::Accuracy).unwrap();
        let cfg = choices[picked].cfg.clone();
        let (model, _) = compile(&onnx, &calib, &cfg).unwrap();
        // Trees expose the label as output 0; the others give scores whose argmax is the label.
        let label_output = model.graph.output_names.iter().position(|n| n == "label");
        let samples = batch["samples"].as_array().unwrap();
        let (mut same, mut outside) = (0, 0);
        for (i, s) in samples.iter().enumerate() {
            let x: Vec<f32> = s
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect();
            let want = batch["expected_label"][i].as_u64().unwrap() as usize;
            let Ok(trace) = witness(&model, &[x]) else {
                outside += 1;
                continue;
            };
            let outs = outputs(&model, &trace);
            let got = match label_output {
                Some(o) => outs[o][0] as usize,
                None => {
                    let p = &outs[0];
                    (0..p.len()).fold(0, |b, j| if p[j] > p[b] { j } else { b })
                }
            };
            same += usize::from(got == want);
        }
        // The example input is proven with this very model up to k = 16; the larger choices
        // (k = 17 to 20) would need big SRS files generated in CI, so their example is proven
        // at the default quantization instead.
        let proven_k = if model.settings.k <= 16 {
            zkinfer_tests::prove_and_verify(&model, &dir.join("input.json"))
                .unwrap_or_else(|e| panic!("{name}: {e:#}"));
            model.settings.k
        } else {
            let rt =
                round_trip(&format!("sklearn/{name}")).unwrap_or_else(|e| panic!("{name}: {e:#}"));
            rt.model.settings.k
        };
        println!(
            "{name}: labels equal onnxruntime's on {same} of {} held-out samples ({outside} outside the tables); scale 2^-{}, inputs 2^-{}, k = {}; example proof verified at k = {proven_k}",
            samples.len(),
            cfg.scale,
            cfg.input_scale.unwrap_or(cfg.scale),
            model.settings.k,
        );
        if same != samples.len() {
            failures.push(format!("{name}: {same} of {}", samples.len()));
        }
    }
    assert!(failures.is_empty(), "labels differ: {failures:?}");
}
