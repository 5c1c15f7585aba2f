//! The verifier rejects, with a typed error and no panic: altered proof bytes, altered public
//! instances, another model's keys, truncated files, artifacts of another version.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;

use zkinfer_tests::{round_trip, RoundTrip};
use zkinfer_verifier::{fr_to_hex, verify, Bundle, ProofFile, VerifyError};

fn iris() -> &'static RoundTrip {
    static RT: OnceLock<RoundTrip> = OnceLock::new();
    RT.get_or_init(|| round_trip("sklearn/logreg_iris_stdops").unwrap())
}

fn mlp() -> &'static RoundTrip {
    static RT: OnceLock<RoundTrip> = OnceLock::new();
    RT.get_or_init(|| round_trip("sklearn/mlp1_relu_digits_stdops").unwrap())
}

fn proof_bytes(p: &ProofFile) -> Vec<u8> {
    hex::decode(p.proof.trim_start_matches("0x")).unwrap()
}

fn with_bytes(p: &ProofFile, bytes: &[u8]) -> ProofFile {
    ProofFile {
        proof: format!("0x{}", hex::encode(bytes)),
        ..p.clone()
    }
}

#[test]
fn the_honest_proof_verifies() {
    let rt = iris();
    let out = verify(&rt.keys.bundle, &rt.proof).unwrap();
    assert_eq!(out.outputs, rt.proof.outputs);
}

#[test]
fn a_flipped_proof_byte_is_rejected() {
    let rt = iris();
    let bytes = proof_bytes(&rt.proof);
    for at in [
        0,
        1,
        31,
        32,
        100,
        bytes.len() / 2,
        bytes.len() - 33,
        bytes.len() - 1,
    ] {
        let mut b = bytes.clone();
        b[at] ^= 0x01;
        let err = verify(&rt.keys.bundle, &with_bytes(&rt.proof, &b)).unwrap_err();
        assert!(matches!(err, VerifyError::InvalidProof), "byte {at}: {err}");
    }
}

#[test]
fn a_changed_output_instance_is_rejected() {
    let rt = iris();
    let mut p = rt.proof.clone();
    let last = p.instances[0].len() - 1;
    let v = zkinfer_verifier::fr_from_hex(&p.instances[0][last]).unwrap();
    p.instances[0][last] = fr_to_hex(&(v + zkinfer_circuits::Fr::one()));
    // The claimed outputs no longer match the instances…
    let err = verify(&rt.keys.bundle, &p).unwrap_err();
    assert!(matches!(err, VerifyError::OutputsMismatch { .. }), "{err}");
    // …and made consistent, the proof itself fails.
    let scale = rt.keys.bundle.header.settings.outputs[0].scale;
    let n = p.outputs[0].len();
    p.outputs[0][n - 1] += 1.0 / (1u64 << scale) as f32;
    p.outputs[0][n - 1] = zkinfer_ir::dequantize(
        &[(p.outputs[0][n - 1] * (1u64 << scale) as f32).round() as i64],
        scale,
    )[0];
    let err = verify(&rt.keys.bundle, &p).unwrap_err();
    assert!(matches!(err, VerifyError::InvalidProof), "{err}");
}

#[test]
fn another_models_keys_are_rejected() {
    let err = verify(&mlp().keys.bundle, &iris().proof).unwrap_err();
    assert!(matches!(err, VerifyError::WrongModel { .. }), "{err}");
    // Digests forged to match: the instance count gives it away before any cryptography.
    let mut p = iris().proof.clone();
    p.model_digest = mlp().proof.model_digest.clone();
    p.vk_digest = mlp().proof.vk_digest.clone();
    p.statement_digest = mlp().proof.statement_digest.clone();
    let err = verify(&mlp().keys.bundle, &p).unwrap_err();
    assert!(matches!(err, VerifyError::InstanceCount { .. }), "{err}");
}

#[test]
fn truncated_files_are_rejected() {
    let rt = iris();
    let json = rt.proof.to_json();
    let err = ProofFile::from_slice(&json.as_bytes()[..json.len() / 2], "proof.json").unwrap_err();
    assert!(matches!(err, VerifyError::ProofFormat { .. }), "{err}");
    let bytes = proof_bytes(&rt.proof);
    let err = verify(
        &rt.keys.bundle,
        &with_bytes(&rt.proof, &bytes[..bytes.len() - 32]),
    )
    .unwrap_err();
    assert!(matches!(err, VerifyError::InvalidProof), "{err}");
    let mut longer = bytes.clone();
    longer.extend_from_slice(&[0; 32]);
    let err = verify(&rt.keys.bundle, &with_bytes(&rt.proof, &longer)).unwrap_err();
    assert!(
        matches!(err, VerifyError::InvalidProof),
        "trailing bytes: {err}"
    );
    let bundle = rt.keys.bundle.to_bytes();
    for cut in [10, 100, bundle.len() / 2, bundle.len() - 1] {
        assert!(
            Bundle::from_bytes(&bundle[..cut], "bundle.bin").is_err(),
            "cut at {cut}"
        );
    }
}

#[test]
fn artifacts_of_another_version_are_rejected() {
    let rt = iris();
    // An older format (version 1: the Blake2b transcript) and a newer one.
    let current = format!("\"version\": {}", zkinfer_verifier::PROOF_VERSION);
    for other in [1, zkinfer_verifier::PROOF_VERSION + 1] {
        let json = rt
            .proof
            .to_json()
            .replacen(&current, &format!("\"version\": {other}"), 1);
        let err = ProofFile::from_slice(json.as_bytes(), "proof.json").unwrap_err();
        assert!(
            matches!(err, VerifyError::ProofVersion { got, .. } if got == other),
            "{err}"
        );
    }
    let json = rt
        .proof
        .to_json()
        .replacen("zkinfer-proof", "ezkl-proof", 1);
    assert!(matches!(
        ProofFile::from_slice(json.as_bytes(), "p").unwrap_err(),
        VerifyError::ProofFormat { .. }
    ));
    let mut bundle = rt.keys.bundle.to_bytes();
    bundle[9] = 7; // binary format version
    let err = Bundle::from_bytes(&bundle, "bundle.bin").unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Artifact(zkinfer_ir::IrError::ArtifactVersion { got: 7, .. })
        ),
        "{err}"
    );
}

#[test]
fn instances_out_of_bounds_or_non_canonical_are_rejected() {
    let rt = iris();
    let mut p = rt.proof.clone();
    p.instances[0][0] = fr_to_hex(&zkinfer_circuits::Fr::from(1u64 << 40));
    assert!(matches!(
        verify(&rt.keys.bundle, &p).unwrap_err(),
        VerifyError::InstanceOutOfRange { index: 0, .. }
    ));
    p.instances[0][0] = format!("0x{}", "ff".repeat(32));
    assert!(matches!(
        verify(&rt.keys.bundle, &p).unwrap_err(),
        VerifyError::InstanceEncoding { index: 0, .. }
    ));
    p.instances[0].pop();
    assert!(matches!(
        verify(&rt.keys.bundle, &p).unwrap_err(),
        VerifyError::InstanceCount { .. }
    ));
}

#[test]
fn hostile_bundle_bytes_never_panic() {
    let rt = iris();
    let bundle = rt.keys.bundle.to_bytes();
    let mut rejected = 0;
    for i in (0..bundle.len()).step_by(bundle.len() / 97 + 1) {
        let mut b = bundle.clone();
        b[i] ^= 0xa5;
        match Bundle::from_bytes(&b, "bundle.bin") {
            Err(_) => rejected += 1,
            // A flip inside the SRS points or settings may still parse; the proof must not verify.
            Ok(other) => assert!(
                verify(&other, &rt.proof).is_err() || b == bundle,
                "flip at {i} accepted"
            ),
        }
    }
    assert!(rejected > 0);
}

/// The same verifying key under other settings (an output read at another scale): the
/// verifying-key digest does not cover the settings, the statement digest does.
#[test]
fn a_bundle_with_altered_settings_is_refused_by_its_statement_digest() {
    use halo2_axiom::poly::commitment::ParamsProver;
    let rt = iris();
    let honest = &rt.keys.bundle;
    let pinned = honest.statement_digest();
    let mut header = honest.header.clone();
    header.settings.outputs[0].scale += 1;
    let p = &honest.params;
    let altered = Bundle::new(header, honest.vk.clone(), p.get_g()[0], p.g2(), p.s_g2()).unwrap();
    let altered = Bundle::from_bytes(&altered.to_bytes(), "bundle.bin").unwrap();
    assert_eq!(altered.header.vk_digest, honest.header.vk_digest);
    assert_ne!(altered.statement_digest(), pinned);
    // A proof file of an earlier release (no statement digest), its outputs read at the
    // altered scale: `verify` alone accepts it, with every output halved…
    let mut old = rt.proof.clone();
    old.statement_digest = None;
    let q = verify(honest, &rt.proof).unwrap().quantized_outputs;
    old.outputs = vec![zkinfer_ir::dequantize(
        &q[0],
        altered.header.settings.outputs[0].scale,
    )];
    let misread = verify(&altered, &old).unwrap();
    assert_eq!(misread.outputs[0][0] * 2.0, rt.proof.outputs[0][0]);
    // …pinned, it is refused; and a proof that names its statement is refused by `verify`.
    let err = zkinfer_verifier::verify_pinned(&altered, &old, &pinned).unwrap_err();
    assert!(matches!(err, VerifyError::WrongStatement { .. }), "{err}");
    let err = verify(&altered, &rt.proof).unwrap_err();
    assert!(matches!(err, VerifyError::WrongStatement { .. }), "{err}");
    assert_eq!(rt.proof.statement_digest.as_deref(), Some(pinned.as_str()));
    zkinfer_verifier::verify_pinned(honest, &rt.proof, &pinned).unwrap();
    // Scales no model has: refused, never a panic (a shift by 64 or more would be one).
    for scale in [63, 64, 200, u32::MAX] {
        let mut header = honest.header.clone();
        header.settings.outputs[0].scale = scale;
        header.settings.inputs[0].scale = scale;
        let hostile =
            Bundle::new(header, honest.vk.clone(), p.get_g()[0], p.g2(), p.s_g2()).unwrap();
        assert!(verify(&hostile, &old).is_err(), "scale {scale}");
        let input = vec![vec![0.5f32; 4]];
        let _ = zkinfer_verifier::check_inputs(&hostile.header.settings, &misread, &input);
    }
    // An activation range no circuit has: the bundle is refused as it is read.
    let mut header = honest.header.clone();
    header.settings.table.pos = i64::MAX;
    let hostile = Bundle::new(header, honest.vk.clone(), p.get_g()[0], p.g2(), p.s_g2()).unwrap();
    let err = Bundle::from_bytes(&hostile.to_bytes(), "bundle.bin").unwrap_err();
    assert!(matches!(err, VerifyError::Bundle { .. }), "{err}");
}
