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
