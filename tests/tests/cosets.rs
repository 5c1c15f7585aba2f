//! `pk.cosets`, the proving key's precomputed cosets: the file holds exactly what the prover
//! computes, proofs made from it verify, a wrong value in it makes a proof the verifier
//! rejects, and a damaged or foreign file is a typed error naming it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::result_large_err)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use halo2_axiom::plonk::KeyCosetSource;
use zkinfer_ir::CompiledModel;
use zkinfer_prover::{
    load_srs, prove, write_cosets, CosetsFile, CosetsHeader, Keys, ProveError, COSETS_FILE,
};
use zkinfer_tests::{compile_example, corpus};
use zkinfer_verifier::{verify, VerifyError};

struct Setup {
    model: CompiledModel,
    input: Vec<Vec<f32>>,
    /// Keys written with their cosets; tests copy this directory before changing it.
    dir: PathBuf,
}

fn iris() -> &'static Setup {
    static S: OnceLock<Setup> = OnceLock::new();
    S.get_or_init(|| {
        let (model, input) = compile_example(&corpus().join("sklearn/logreg_iris_stdops")).unwrap();
        let (params, srs) = load_srs(model.settings.k, None).unwrap();
        let keys = zkinfer_prover::setup(&model, &params, srs).unwrap();
        let dir = tmp("cosets-iris");
        keys.write(&dir).unwrap();
        write_cosets(&keys.pk, &keys.header.vk_digest, &dir.join(COSETS_FILE)).unwrap();
        Setup { model, input, dir }
    })
}

/// A fresh directory of this process (nextest runs each test in a process of its own).
fn tmp(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A copy of the iris keys' directory, to change.
fn copy_keys(name: &str) -> PathBuf {
    let dir = tmp(name);
    for entry in std::fs::read_dir(&iris().dir).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
    }
    dir
}

fn prove_with(dir: &Path) -> Result<zkinfer_verifier::ProofFile, ProveError> {
    let s = iris();
    let keys = Keys::read(dir, &s.model)?;
    assert!(
        keys.pk.has_key_cosets(),
        "Keys::read attaches {COSETS_FILE}"
    );
    let (params, _) = load_srs(s.model.settings.k, None).unwrap();
    prove(&s.model, &keys, &params, &s.input, None)
}

/// The JSON header at the end of a coset file, and where it starts.
fn read_header(bytes: &[u8]) -> (CosetsHeader, usize) {
    let n = bytes.len();
    let len = u64::from_le_bytes(bytes[n - 16..n - 8].try_into().unwrap()) as usize;
    let start = n - 16 - len;
    (
        serde_json::from_slice(&bytes[start..n - 16]).unwrap(),
        start,
    )
}

fn with_header(bytes: &[u8], header: &CosetsHeader) -> Vec<u8> {
    let (_, start) = read_header(bytes);
    let json = serde_json::to_vec(header).unwrap();
    let mut out = bytes[..start].to_vec();
    out.extend_from_slice(&json);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(b"ZKCOSETS");
    out
}

#[test]
fn the_file_holds_what_the_prover_computes() {
    let s = iris();
    let keys = Keys::read(&s.dir, &s.model).unwrap();
    let file =
        CosetsFile::open(&s.dir.join(COSETS_FILE), &keys.pk, &keys.header.vk_digest).unwrap();
    let parts = keys.pk.num_extended_parts();
    assert_eq!(parts, 4);
    // `zkinfer inspect`'s prediction of the file, from the constraint system alone.
    let shape = zkinfer_circuits::circuit_shape((&s.model.settings).into());
    let header = file.header();
    assert_eq!(shape.quotient_parts, header.parts);
    assert_eq!(
        shape.key_polys_per_part(),
        header.fixed + 3 + header.permutation
    );
    let size = std::fs::metadata(s.dir.join(COSETS_FILE)).unwrap().len();
    let values = shape.key_cosets_bytes(s.model.settings.k);
    assert!(
        size > values && size < values + 100_000,
        "{size} bytes, {values} of values"
    );
    for part in 0..parts {
        let read = file.part(part).unwrap();
        let computed = keys.pk.compute_key_cosets(part);
        assert_eq!(read.fixed.len(), keys.pk.fixed_polys().len());
        assert_eq!(read.polys().count(), computed.polys().count());
        for (i, (a, b)) in read.polys().zip(computed.polys()).enumerate() {
            assert!(a.iter().eq(b.iter()), "part {part}, polynomial {i}");
        }
    }
}

#[test]
fn a_proof_from_the_file_verifies() {
    let proof = prove_with(&iris().dir).unwrap();
    let keys = Keys::read(&iris().dir, &iris().model).unwrap();
    verify(&keys.bundle, &proof).unwrap();
}

#[test]
fn a_wrong_value_in_the_file_makes_a_proof_that_fails_verification() {
    // One value of the first fixed column on the first coset changed, its digest updated so
    // that the file passes its own check: the prover trusts it, the verifier does not.
    let dir = copy_keys("cosets-wrong-value");
    let path = dir.join(COSETS_FILE);
    let mut bytes = std::fs::read(&path).unwrap();
    let (mut header, _) = read_header(&bytes);
    let size = 32usize << header.k;
    bytes[12 + 5 * 32] ^= 0x01;
    header.digests[0] = hex::encode(sha256(&bytes[12..12 + size]));
    std::fs::write(&path, with_header(&bytes, &header)).unwrap();
    let proof = prove_with(&dir).unwrap();
    let keys = Keys::read(&dir, &iris().model).unwrap();
    let err = verify(&keys.bundle, &proof).unwrap_err();
    assert!(matches!(err, VerifyError::InvalidProof), "{err}");
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).to_vec()
}

fn key_error(result: Result<impl std::fmt::Debug, ProveError>) -> (String, String) {
    match result.unwrap_err() {
        ProveError::Key { path, reason } => (path, reason),
        e => panic!("expected a key error, got {e}"),
    }
}

#[test]
fn a_flipped_byte_fails_the_proof_with_an_error_naming_the_file() {
    let dir = copy_keys("cosets-flipped");
    let path = dir.join(COSETS_FILE);
    let mut bytes = std::fs::read(&path).unwrap();
    let (header, _) = read_header(&bytes);
    // A byte of the last polynomial of the last part.
    let last = 12 + (header.digests.len() << header.k) * 32 - 7;
    bytes[last] ^= 0x80;
    std::fs::write(&path, &bytes).unwrap();
    let (p, reason) = key_error(prove_with(&dir));
    assert_eq!(p, path.display().to_string());
    assert!(reason.contains("does not match its digest"), "{reason}");
    assert!(
        reason.contains(&format!("polynomial {}", header.digests.len() - 1)),
        "{reason}"
    );
}

#[test]
fn damaged_or_foreign_files_are_refused_when_the_keys_are_read() {
    let s = iris();
    let original = std::fs::read(s.dir.join(COSETS_FILE)).unwrap();
    let (header, _) = read_header(&original);
    let mut other_key = header.clone();
    other_key.vk_digest = "0".repeat(64);
    let mut other_version = original.clone();
    other_version[8] = 9;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "truncated",
            original[..original.len() / 2].to_vec(),
            "truncated",
        ),
        (
            "header cut",
            original[..original.len() - 3].to_vec(),
            "truncated",
        ),
        ("empty", Vec::new(), "too short"),
        (
            "not ours",
            b"PK\x03\x04 something else entirely".to_vec(),
            "no ZKCOSETS magic",
        ),
        ("version", other_version, "version 9"),
        (
            "other keys",
            with_header(&original, &other_key),
            "belong to other keys",
        ),
    ];
    for (name, bytes, needle) in cases {
        let dir = copy_keys(&format!("cosets-{}", name.replace(' ', "-")));
        let path = dir.join(COSETS_FILE);
        std::fs::write(&path, bytes).unwrap();
        let (p, reason) = key_error(Keys::read(&dir, &s.model).map(|_| ()));
        assert_eq!(p, path.display().to_string(), "{name}");
        assert!(reason.contains(needle), "{name}: {reason}");
    }
}
