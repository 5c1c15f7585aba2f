//! A valid proof is of *some* input. A prover asked about input B can prove input A and hand
//! back outputs that look like answers to B; `check_inputs` (what `verify --input`, Python's
//! and JavaScript's `input` argument run) must refuse that proof for B, naming the first
//! element that differs, and accept it for A. The proven input's digest names it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;

use zkinfer_tests::{corpus, round_trip, RoundTrip};
use zkinfer_verifier::{check_inputs, verify, VerifyError};

fn iris() -> &'static RoundTrip {
    static RT: OnceLock<RoundTrip> = OnceLock::new();
    RT.get_or_init(|| round_trip("sklearn/logreg_iris_stdops").unwrap())
}

/// The input the proof is of (the corpus entry's `input.json`).
fn proven_input() -> Vec<Vec<f32>> {
    zkinfer_prover::read_inputs(&corpus().join("sklearn/logreg_iris_stdops/input.json")).unwrap()
}

#[test]
fn a_proof_of_another_input_is_rejected_naming_the_first_differing_element() {
    let rt = iris();
    let settings = &rt.keys.bundle.header.settings;
    let out = verify(&rt.keys.bundle, &rt.proof).unwrap();
    // The client's input B: the proven input A with element 2 changed by a whole unit.
    let a = proven_input();
    let mut b = a.clone();
    b[0][2] += 1.0;
    let err = check_inputs(settings, &out, &b).unwrap_err();
    let scale = settings.inputs[0].scale;
    match &err {
        VerifyError::InputMismatch {
            input: 0,
            element: 2,
            proven,
            given,
            ..
        } => assert_eq!(given - proven, 1 << scale, "{err}"),
        other => panic!("expected InputMismatch at input 0, element 2: {other}"),
    }
    assert_eq!(err.kind(), "InputMismatch");
    assert!(err.to_string().contains("element 2"), "{err}");
    // The proven values themselves, as floats, quantize to the proven input: accepted.
    check_inputs(settings, &out, &out.inputs).unwrap();
    // The honest input is accepted.
    check_inputs(settings, &out, &a).unwrap();
}

#[test]
fn an_input_of_the_wrong_count_or_size_is_refused_before_comparing() {
    let rt = iris();
    let settings = &rt.keys.bundle.header.settings;
    let a = proven_input();
    let short = vec![a[0][..2].to_vec()];
    let err = check_inputs(settings, &rt.verified, &short).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Artifact(zkinfer_ir::IrError::InputShape { index: 0, .. })
        ),
        "{err}"
    );
    let two = vec![a[0].clone(), a[0].clone()];
    let err = check_inputs(settings, &rt.verified, &two).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Artifact(zkinfer_ir::IrError::InputCount { .. })
        ),
        "{err}"
    );
}

#[test]
fn the_inputs_digest_is_that_of_the_proven_quantized_input() {
    let rt = iris();
    let out = &rt.verified;
    let q = zkinfer_ir::quantize_inputs(&rt.keys.bundle.header.settings.inputs, &proven_input())
        .unwrap();
    assert_eq!(out.quantized_inputs, q);
    assert_eq!(out.inputs_digest, zkinfer_ir::inputs_digest(&q));
    let mut other = q.clone();
    other[0][0] += 1;
    assert_ne!(out.inputs_digest, zkinfer_ir::inputs_digest(&other));
}
