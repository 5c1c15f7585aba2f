//! Sharded proving through the CLI, as three kinds of node would run it: `split` a compiled
//! MLP and CNN from the corpus into 2 and 3 shards, `setup` and `prove` each shard with only
//! the previous node's activations file, and `verify-chain`. The chain's output equals the
//! unsharded proof's exactly; altered activations, a swapped proof, shards out of order and a
//! missing shard are each rejected with their own error.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{compile_setup_prove, corpus, fails, ok, s};
use zkinfer_verifier::{verify_chain, Bundle, ChainVerifier, ProofFile, VerifyError};

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// compile → setup → prove of the whole model in `dir`; returns the compiled model and proof.
fn unsharded(dir: &Path, entry: &str) -> (PathBuf, PathBuf) {
    compile_setup_prove(dir, entry, &[]);
    (dir.join("model.zkc"), dir.join("proof.json"))
}

/// One node of the pipeline: `prove` shard `i` from the input or the previous activations.
fn prove_shard(dir: &Path, i: usize, n: usize, input: &Path, acts_in: Option<&Path>) -> PathBuf {
    let zkc = dir.join(format!("shard-{i}.zkc"));
    let keys = dir.join(format!("keys-{i}"));
    let proof = dir.join(format!("proof-{i}.json"));
    let acts_out = dir.join(format!("acts-{i}.json"));
    let mut args = vec!["prove", s(&zkc), "--keys", s(&keys), "-o", s(&proof)];
    match acts_in {
        Some(a) => args.extend(["--input-activations", s(a)]),
        None => args.extend(["--input", s(input)]),
    }
    if i + 1 < n {
        args.extend(["--output-activations", s(&acts_out)]);
    }
    let text = ok(&args);
    if i > 0 {
        assert!(text.contains("input commitment:"), "{text}");
    }
    proof
}

/// Splits the model in `dir` into `n` shards and runs the chain; returns the proofs.
fn chain(dir: &Path, zkc: &Path, entry: &str, n: usize) -> Vec<PathBuf> {
    chain_split(dir, zkc, entry, n, &["--shards", &n.to_string()])
}

/// Splits the model with the `split` options `how` into `n` shards and runs the chain.
fn chain_split(dir: &Path, zkc: &Path, entry: &str, n: usize, how: &[&str]) -> Vec<PathBuf> {
    let mut args = vec!["split", s(zkc), "-o", s(dir)];
    args.extend(how);
    let text = ok(&args);
    assert!(
        text.contains("unsharded:") && text.contains("est. prove"),
        "{text}"
    );
    let input = corpus().join(entry).join("input.json");
    let mut proofs = Vec::new();
    for i in 0..n {
        let shard = dir.join(format!("shard-{i}.zkc"));
        ok(&["setup", s(&shard), "-o", s(&dir.join(format!("keys-{i}")))]);
        let prev = (i > 0).then(|| dir.join(format!("acts-{}.json", i - 1)));
        proofs.push(prove_shard(dir, i, n, &input, prev.as_deref()));
    }
    proofs
}

fn chain_args<'a>(keys: &'a [PathBuf], proofs: &'a [PathBuf]) -> Vec<&'a str> {
    let mut args = vec!["verify-chain"];
    for (k, p) in keys.iter().zip(proofs) {
        args.extend(["--keys", s(k), "--proof", s(p)]);
    }
    args
}

fn check_chain(dir: &Path, whole_proof: &Path, proofs: &[PathBuf]) {
    let keys: Vec<PathBuf> = (0..proofs.len())
        .map(|i| dir.join(format!("keys-{i}")))
        .collect();
    let text = ok(&chain_args(&keys, proofs));
    assert!(text.contains("is VALID"), "{text}");
    // The chain's output is the unsharded proof's, exactly: same public output instances.
    let (last, whole) = (json(proofs.last().unwrap()), json(whole_proof));
    assert_eq!(last["outputs"], whole["outputs"]);
    let tail = |v: &serde_json::Value, k: usize| {
        let col = v["instances"][0].as_array().unwrap().clone();
        col[col.len() - k..].to_vec()
    };
    let k = whole["outputs"][0].as_array().unwrap().len();
    assert_eq!(tail(&last, k), tail(&whole, k));
}

#[test]
fn an_mlp_and_a_cnn_chain_into_two_and_three_shards_with_the_unsharded_output() {
    let base = common::root().join("target/tmp/shard");
    for entry in ["sklearn/mlp2_relu_digits_stdops", "cnn/lenet_digits"] {
        let dir = base.join(entry);
        let (zkc, whole) = unsharded(&dir, entry);
        for n in [2, 3] {
            let sub = dir.join(format!("split{n}"));
            let proofs = chain(&sub, &zkc, entry, n);
            check_chain(&sub, &whole, &proofs);
        }
    }
    // A cut after a product, before its rescale: the accumulators handed on lie outside the
    // table's domain, so they are hashed one element per value instead of packed.
    let entry = "sklearn/mlp2_relu_digits_stdops";
    let dir = base.join(entry);
    let sub = dir.join("split-at");
    let proofs = chain_split(&sub, &dir.join("model.zkc"), entry, 2, &["--at", "#1"]);
    let shard: serde_json::Value = json(&sub.join("shard-1.zkc"));
    assert_eq!(shard["settings"]["shard"]["packed_inputs"], false);
    check_chain(&sub, &dir.join("proof.json"), &proofs);
}

#[test]
fn a_residual_connection_across_a_cut_is_handed_on_with_the_other_tensor() {
    // Cut after the first block's conv: its output and the skip connection's both cross.
    let entry = "cnn/cnn_bn_residual_digits";
    let dir = common::root().join("target/tmp/shard").join(entry);
    let (zkc, whole) = unsharded(&dir, entry);
    let sub = dir.join("split-residual");
    let proofs = chain_split(&sub, &zkc, entry, 2, &["--at", "/c1/Conv"]);
    let shard: serde_json::Value = json(&sub.join("shard-1.zkc"));
    assert_eq!(shard["settings"]["inputs"].as_array().unwrap().len(), 2);
    assert_eq!(shard["settings"]["shard"]["packed_inputs"], true);
    check_chain(&sub, &whole, &proofs);
}

#[test]
fn a_chain_with_a_hashed_input_hides_it_and_checks_it_against_the_clients() {
    let entry = "sklearn/mlp2_relu_digits_stdops";
    let dir = common::root().join("target/tmp/shard-hashed");
    let (zkc, whole) = unsharded(&dir, entry);
    let how = ["--shards", "2", "--hash-input"];
    let proofs = chain_split(&dir, &zkc, entry, 2, &how);
    check_chain(&dir, &whole, &proofs);
    // The first proof's public values: the input's commitment and the hand-off's, no input.
    let first = json(&proofs[0]);
    assert_eq!(first["instances"][0].as_array().unwrap().len(), 2);
    let keys: Vec<PathBuf> = (0..2).map(|i| dir.join(format!("keys-{i}"))).collect();
    let input = corpus().join(entry).join("input.json");
    let mut args = chain_args(&keys, &proofs);
    args.extend(["--input", s(&input)]);
    let text = ok(&args);
    assert!(text.contains("the proven input is the one in"), "{text}");
    // Another input (one pixel changed) is not the one the chain proved.
    let mut other = json(&input);
    let v = other["input_data"][0][20].as_f64().unwrap();
    other["input_data"][0][20] = serde_json::json!(v + 4.0);
    let other_path = dir.join("other-input.json");
    std::fs::write(&other_path, serde_json::to_vec(&other).unwrap()).unwrap();
    let mut args = chain_args(&keys, &proofs);
    args.extend(["--input", s(&other_path)]);
    fails(&args, "not the input the proof proved");
}

#[test]
fn a_broken_chain_is_rejected_with_the_reason() {
    let entry = "sklearn/mlp2_relu_digits_stdops";
    let dir = common::root().join("target/tmp/shard-broken");
    let (zkc, whole) = unsharded(&dir, entry);
    let proofs = chain(&dir, &zkc, entry, 3);
    // The boundary between nodes 1 and 2 follows a ReLU: its values are packed before hashing.
    let shard: serde_json::Value = json(&dir.join("shard-2.zkc"));
    assert_eq!(shard["settings"]["shard"]["packed_inputs"], true);
    let keys: Vec<PathBuf> = (0..3).map(|i| dir.join(format!("keys-{i}"))).collect();
    ok(&chain_args(&keys, &proofs));
    // The chain's public input is checked against the client's, element by element.
    let input = corpus().join(entry).join("input.json");
    let mut args = chain_args(&keys, &proofs);
    args.extend(["--input", s(&input)]);
    let text = ok(&args);
    assert!(
        text.contains("the proven input is the one in")
            && text.contains("proven input digest: sha256:"),
        "{text}"
    );
    let mut other = json(&input);
    let v = other["input_data"][0][20].as_f64().unwrap();
    other["input_data"][0][20] = serde_json::json!(v + 4.0);
    let other_path = dir.join("other-input.json");
    std::fs::write(&other_path, serde_json::to_vec(&other).unwrap()).unwrap();
    let mut args = chain_args(&keys, &proofs);
    args.extend(["--input", s(&other_path)]);
    fails(&args, "element 20");

    // Node 1 hands on altered activations: node 2's proof of them is valid on its own, but
    // its input commitment is not node 1's output commitment.
    let mut acts = json(&dir.join("acts-1.json"));
    let v = acts["tensors"][0]["values"][0].as_i64().unwrap();
    acts["tensors"][0]["values"][0] = serde_json::json!(v + 1);
    let altered = dir.join("acts-1-altered.json");
    std::fs::write(&altered, serde_json::to_vec(&acts).unwrap()).unwrap();
    let forged_dir = dir.join("forged");
    std::fs::create_dir_all(&forged_dir).unwrap();
    let zkc2 = dir.join("shard-2.zkc");
    let forged = forged_dir.join("proof-2.json");
    ok(&[
        "prove",
        s(&zkc2),
        "--keys",
        s(&keys[2]),
        "--input-activations",
        s(&altered),
        "-o",
        s(&forged),
    ]);
    ok(&["verify", "--keys", s(&keys[2]), "--proof", s(&forged)]);
    let p = [proofs[0].clone(), proofs[1].clone(), forged];
    fails(&chain_args(&keys, &p), "altered activations");

    // Shard 1's proof replaced by shard 2's, or by the unsharded model's.
    let p = [proofs[0].clone(), proofs[2].clone(), proofs[2].clone()];
    fails(&chain_args(&keys, &p), "shard 1: the proof is for model");
    let p = [proofs[0].clone(), whole.clone(), proofs[2].clone()];
    fails(&chain_args(&keys, &p), "shard 1: the proof is for model");

    // Out of order, missing a shard, an unsharded model's keys in the chain.
    let (k, p) = (
        [keys[0].clone(), keys[2].clone(), keys[1].clone()],
        [proofs[0].clone(), proofs[2].clone(), proofs[1].clone()],
    );
    fails(&chain_args(&k, &p), "must be given in order");
    fails(&chain_args(&keys[..2], &proofs[..2]), "a shard is missing");
    let k = [keys[0].clone(), keys[1].clone(), dir.join("keys")];
    fails(&chain_args(&k, &proofs), "unsharded model");

    // The library's verifier link by link (the CLI's, holding one shard's keys at a time):
    // the whole chain gives `verify_chain`'s output; a chain that stops early, or skips a
    // shard, is refused.
    let links: Vec<(Bundle, ProofFile)> = (0..3)
        .map(|i| {
            let bundle = Bundle::read(&keys[i].join("bundle.bin")).unwrap();
            (bundle, ProofFile::read(&proofs[i]).unwrap())
        })
        .collect();
    let mut whole_chain = ChainVerifier::new(3);
    for (bundle, proof) in &links {
        whole_chain.push(bundle, proof).unwrap();
    }
    let refs: Vec<(&Bundle, &ProofFile)> = links.iter().map(|(b, p)| (b, p)).collect();
    assert_eq!(whole_chain.finish().unwrap(), verify_chain(&refs).unwrap());
    let mut early = ChainVerifier::new(3);
    for (bundle, proof) in &links[..2] {
        early.push(bundle, proof).unwrap();
    }
    let err = early.finish().unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::ChainLength {
                expected: 3,
                got: 2
            }
        ),
        "{err}"
    );
    let mut skipping = ChainVerifier::new(3);
    skipping.push(&links[0].0, &links[0].1).unwrap();
    let err = skipping.push(&links[2].0, &links[2].1).unwrap_err();
    assert!(
        matches!(err, VerifyError::ChainOrder { position: 1, .. }),
        "{err}"
    );

    // A middle node without the previous activations, and activations of the wrong shard.
    fails(
        &[
            "prove",
            s(&zkc2),
            "--keys",
            s(&keys[2]),
            "--input",
            "x.json",
            "-o",
            "p.json",
        ],
        "--input-activations",
    );
    fails(
        &[
            "prove",
            s(&zkc2),
            "--keys",
            s(&keys[2]),
            "--input-activations",
            s(&dir.join("acts-0.json")),
            "-o",
            s(&forged_dir.join("p.json")),
        ],
        "is this the output of the shard before it?",
    );
    // The first node takes the model's input, not activations.
    fails(
        &[
            "prove",
            s(&dir.join("shard-0.zkc")),
            "--keys",
            s(&keys[0]),
            "--input-activations",
            s(&dir.join("acts-0.json")),
            "--output-activations",
            s(&forged_dir.join("a.json")),
            "-o",
            s(&forged_dir.join("p.json")),
        ],
        "is the first shard",
    );
}

fn strs(a: &[String]) -> Vec<&str> {
    a.iter().map(String::as_str).collect()
}

/// The two ends computed by the verifier: shard 0 from the client's input and the last shard
/// from the activations handed into it, only the middle shard proven. The chain's outputs are
/// the unsharded proof's; altered activations, another input, and missing files are refused.
#[test]
fn a_verifier_computes_the_ends_of_a_chain_itself_from_the_proven_boundaries() {
    let entry = "sklearn/mlp2_relu_digits_stdops";
    let dir = common::root().join("target/tmp/shard-computed");
    let (zkc, whole) = unsharded(&dir, entry);
    ok(&["split", s(&zkc), "--shards", "3", "-o", s(&dir)]);
    let input = corpus().join(entry).join("input.json");
    let (shard0, shard2) = (dir.join("shard-0.zkc"), dir.join("shard-2.zkc"));
    let (acts0, acts1) = (dir.join("acts-0.json"), dir.join("acts-1.json"));
    // Node 0 only evaluates: nobody proves the first shard.
    let text = ok(&[
        "evaluate",
        s(&shard0),
        "--input",
        s(&input),
        "--output-activations",
        s(&acts0),
    ]);
    assert!(
        text.contains("activations for the next node written"),
        "{text}"
    );
    ok(&[
        "setup",
        s(&dir.join("shard-1.zkc")),
        "-o",
        s(&dir.join("keys-1")),
    ]);
    let proof1 = prove_shard(&dir, 1, 3, &input, Some(&acts0));
    let (keys1, proof1) = (dir.join("keys-1"), proof1);
    let args = |acts: &Path, input: &Path| -> Vec<String> {
        [
            "verify-chain",
            "--compute",
            s(&shard0),
            "--input",
            s(input),
            "--keys",
            s(&keys1),
            "--proof",
            s(&proof1),
            "--compute",
            s(&shard2),
            "--activations",
            s(acts),
        ]
        .map(String::from)
        .to_vec()
    };
    let text = ok(&strs(&args(&acts1, &input)));
    assert!(
        text.contains("chain of 3 shards is VALID: 1 proofs verified and 2 shard(s) computed here"),
        "{text}"
    );
    // The verified outputs are the unsharded proof's.
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("verified output 0: ["))
        .expect("verified output line");
    let got: Vec<f64> = line
        .trim_end_matches(']')
        .split(", ")
        .map(|v| v.parse().unwrap())
        .collect();
    let want: Vec<f64> = json(&whole)["outputs"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < 1e-4, "{got:?} vs {want:?}");
    }

    // The node hands the last shard altered activations: their commitment is not the one
    // shard 1 proved it handed on.
    let mut acts = json(&acts1);
    let v = acts["tensors"][0]["values"][0].as_i64().unwrap();
    acts["tensors"][0]["values"][0] = serde_json::json!(v + 1);
    let altered = dir.join("acts-1-altered.json");
    std::fs::write(&altered, serde_json::to_vec(&acts).unwrap()).unwrap();
    fails(&strs(&args(&altered, &input)), "altered activations");
    // A value past its declared bound is refused before any hashing (a packing could alias).
    acts["tensors"][0]["values"][0] = serde_json::json!(1i64 << 50);
    std::fs::write(&altered, serde_json::to_vec(&acts).unwrap()).unwrap();
    fails(&strs(&args(&altered, &input)), "bound");
    // Another input than the one shard 1 was proven on: shard 0 computed from it hands on
    // other activations than the proof took in.
    let mut other = json(&input);
    let v = other["input_data"][0][20].as_f64().unwrap();
    other["input_data"][0][20] = serde_json::json!(v + 4.0);
    let other_path = dir.join("other-input.json");
    std::fs::write(&other_path, serde_json::to_vec(&other).unwrap()).unwrap();
    fails(&strs(&args(&acts1, &other_path)), "altered activations");
    // Without the files a computed shard needs.
    let mut no_input = args(&acts1, &input);
    no_input.drain(3..5);
    fails(&strs(&no_input), "pass --input FILE");
    let mut no_acts = args(&acts1, &input);
    no_acts.truncate(no_acts.len() - 2);
    fails(&strs(&no_acts), "--activations FILE");
}
