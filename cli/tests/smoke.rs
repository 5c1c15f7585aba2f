//! A few smoke tests of the `zkinfer` binary: the documented command shapes work end to end,
//! and `zkinfer verify` exits non-zero with a typed message for every kind of bad proof.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{corpus, fails, ok, root, s, zkinfer};

/// `zkinfer prove` arguments, without the float reference.
fn prove_args(zkc: &Path, keys: &Path, input: &Path, out: &Path) -> Vec<String> {
    let args = [
        "prove",
        s(zkc),
        "--keys",
        s(keys),
        "--input",
        s(input),
        "-o",
        s(out),
        "--no-reference",
    ];
    args.map(String::from).to_vec()
}

fn refs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// compile → setup → prove for `onnx` into `dir`; returns (keys dir, proof path).
fn pipeline(dir: &Path, onnx: &Path, input: &Path) -> (PathBuf, PathBuf) {
    std::fs::create_dir_all(dir).unwrap();
    let zkc = dir.join("model.zkc");
    let keys = dir.join("keys");
    let proof = dir.join("proof.json");
    ok(&["compile", s(onnx), "-o", s(&zkc), "--input", s(input)]);
    ok(&["setup", s(&zkc), "-o", s(&keys)]);
    let text = ok(&refs(&prove_args(&zkc, &keys, input, &proof)));
    assert!(text.contains("proven output 0"), "{text}");
    (keys, proof)
}

#[test]
fn verify_accepts_the_proof_and_rejects_every_tampering() {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("smoke");
    let ex = root().join("examples/models");
    let (keys, proof) = pipeline(
        &tmp.join("tiny"),
        &ex.join("tiny_mlp.onnx"),
        &ex.join("tiny_mlp.input.json"),
    );
    let text = ok(&["verify", "--keys", s(&keys), "--proof", s(&proof)]);
    assert!(
        text.contains("VALID") && text.contains("verified output 0"),
        "{text}"
    );
    // The proven input is shown: its digest, and its 4 values.
    assert!(
        text.contains("proven input digest: sha256:") && text.contains("proven input 0: ["),
        "{text}"
    );
    // `--input`: the input the proof is of is accepted; another one (the prover proved A,
    // the client asked about B) is refused, naming the first element that differs.
    let input = ex.join("tiny_mlp.input.json");
    let text = ok(&[
        "verify",
        "--keys",
        s(&keys),
        "--proof",
        s(&proof),
        "--input",
        s(&input),
    ]);
    assert!(text.contains("the proven input is the one in"), "{text}");
    let mut other: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&input).unwrap()).unwrap();
    let v = other["input_data"][0][1].as_f64().unwrap();
    other["input_data"][0][1] = serde_json::json!(v + 1.0);
    let other_path = tmp.join("other_input.json");
    std::fs::write(&other_path, serde_json::to_vec(&other).unwrap()).unwrap();
    let out = zkinfer(&[
        "verify",
        "--keys",
        s(&keys),
        "--proof",
        s(&proof),
        "--input",
        s(&other_path),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("input 0 (`x`), element 1") && err.contains("not the input the proof proved"),
        "{err}"
    );
    let inspect = ok(&["inspect", s(&tmp.join("tiny/model.zkc"))]);
    assert!(
        inspect.contains("k = ") && inspect.contains("proving time"),
        "{inspect}"
    );

    let original = std::fs::read_to_string(&proof).unwrap();
    let json: serde_json::Value = serde_json::from_str(&original).unwrap();
    let write = |name: &str, v: &serde_json::Value| {
        let p = tmp.join(name);
        std::fs::write(&p, serde_json::to_string(v).unwrap()).unwrap();
        p
    };

    // A flipped proof byte.
    let mut v = json.clone();
    let hex = v["proof"].as_str().unwrap().to_string();
    let flipped = format!(
        "{}{}{}",
        &hex[..40],
        if &hex[40..41] == "0" { "1" } else { "0" },
        &hex[41..]
    );
    v["proof"] = flipped.into();
    fails(
        &[
            "verify",
            "--keys",
            s(&keys),
            "--proof",
            s(&write("flipped.json", &v)),
        ],
        "proof is invalid",
    );

    // A changed output instance (with `outputs` left as is, and made consistent).
    let mut v = json.clone();
    let inst = v["instances"][0].as_array_mut().unwrap();
    let last = inst.len() - 1;
    inst[last] = format!("0x{:064x}", 1).into();
    fails(
        &[
            "verify",
            "--keys",
            s(&keys),
            "--proof",
            s(&write("instance.json", &v)),
        ],
        "do not match the proven public outputs",
    );
    // The instance 1 dequantizes to 2^-scale; the scale is read off an untouched output.
    let n = v["outputs"][0].as_array().unwrap().len();
    let scale = (0..n - 1)
        .find_map(|i| {
            let out = json["outputs"][0][i].as_f64()?;
            let hex = json["instances"][0][last - (n - 1) + i].as_str()?;
            let q = i64::from_str_radix(hex.trim_start_matches("0x").trim_start_matches('0'), 16)
                .ok()?;
            (q > 0 && out > 0.0).then(|| (q as f64 / out).log2().round() as i32)
        })
        .expect("a positive output to read the scale from");
    v["outputs"][0][n - 1] = serde_json::json!(2f64.powi(-scale));
    fails(
        &[
            "verify",
            "--keys",
            s(&keys),
            "--proof",
            s(&write("instance2.json", &v)),
        ],
        "proof is invalid",
    );

    // A truncated file.
    let p = tmp.join("truncated.json");
    std::fs::write(&p, &original[..original.len() / 3]).unwrap();
    fails(
        &["verify", "--keys", s(&keys), "--proof", s(&p)],
        "not a zkinfer proof file",
    );

    // A wrong format version.
    let mut v = json.clone();
    v["version"] = 99.into();
    fails(
        &[
            "verify",
            "--keys",
            s(&keys),
            "--proof",
            s(&write("version.json", &v)),
        ],
        "format version 99 is not supported",
    );

    // Another model's keys.
    let corpus = root().join("../shared/corpus/sklearn/logreg_iris_stdops");
    let (other_keys, _) = pipeline(
        &tmp.join("iris"),
        &corpus.join("model.onnx"),
        &corpus.join("input.json"),
    );
    fails(
        &["verify", "--keys", s(&other_keys), "--proof", s(&proof)],
        "keys are for model",
    );

    // An input of the wrong shape is refused before proving, naming the input.
    let zkc = tmp.join("tiny/model.zkc");
    let out = tmp.join("p.json");
    let wrong = tmp.join("wrong_input.json");
    std::fs::write(&wrong, r#"{"input_data": [[1.0, 2.0]]}"#).unwrap();
    fails(
        &refs(&prove_args(&zkc, &keys, &wrong, &out)),
        "input 0 (`x`): expected 4 elements",
    );
    // A corrupted proving key is a typed error, not a panic.
    let pk = keys.join("pk.bin");
    let bytes = std::fs::read(&pk).unwrap();
    std::fs::write(&pk, &bytes[..bytes.len() / 2]).unwrap();
    let good = ex.join("tiny_mlp.input.json");
    fails(
        &refs(&prove_args(&zkc, &keys, &good, &out)),
        "proving key digest mismatch",
    );
    std::fs::write(&pk, &bytes).unwrap();

    // Calibration from a batch file.
    let mlp = root().join("../shared/corpus/sklearn/mlp2_relu_digits_stdops");
    let text = ok(&[
        "compile",
        s(&mlp.join("model.onnx")),
        "-o",
        s(&tmp.join("mlp.zkc")),
        "--calibrate",
        s(&mlp.join("inputs_batch.json")),
    ]);
    assert!(text.contains("360 calibration sample(s)"), "{text}");

    // A malformed ONNX model is a clear error naming the file.
    let bad = tmp.join("bad.onnx");
    std::fs::write(&bad, b"not an onnx model").unwrap();
    fails(
        &["compile", s(&bad), "-o", s(&tmp.join("bad.zkc"))],
        "not a valid ONNX model",
    );
}

#[test]
fn unsupported_operators_are_all_listed_at_once() {
    let m = root().join("../shared/corpus/sklearn/logreg_iris/model.onnx");
    let out = zkinfer(&["inspect", s(&m)]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("unsupported operator(s)") && err.contains("ai.onnx.ml:"),
        "{err}"
    );
}

/// The corpus, resolved from the workspace root.
/// Writes sample `i` of `inputs_batch.json` as an input file.
fn held_out_input(batch: &serde_json::Value, i: usize, path: &Path) {
    let input = serde_json::json!({ "input_data": [batch["samples"][i].clone()] });
    std::fs::write(path, serde_json::to_vec(&input).unwrap()).unwrap();
}

fn argmax(v: &[f64]) -> usize {
    (0..v.len()).fold(0, |b, i| if v[i] > v[b] { i } else { b })
}

#[test]
fn cnns_prove_and_verify_five_held_out_digits_each() {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cnn");
    for entry in [
        "lenet_digits",
        "lenet_tanh_avgpool_digits",
        "cnn_bn_residual_digits",
    ] {
        let dir = corpus().join("cnn").join(entry);
        let work = tmp.join(entry);
        let (keys, _) = pipeline(&work, &dir.join("model.onnx"), &dir.join("input.json"));
        let batch: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("inputs_batch.json")).unwrap()).unwrap();
        for i in 0..5 {
            let input = work.join(format!("sample{i}.json"));
            let proof = work.join(format!("sample{i}.proof.json"));
            held_out_input(&batch, i, &input);
            ok(&refs(&prove_args(
                &work.join("model.zkc"),
                &keys,
                &input,
                &proof,
            )));
            let text = ok(&["verify", "--keys", s(&keys), "--proof", s(&proof)]);
            assert!(text.contains("VALID"), "{text}");
            // The verified scores pick the same digit as onnxruntime's.
            let p: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&proof).unwrap()).unwrap();
            let got: Vec<f64> = p["outputs"][0]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            let want: Vec<f64> = batch["expected_scores"][i]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            assert_eq!(argmax(&got), argmax(&want), "{entry} sample {i}");
            println!("{entry} sample {i}: verified, digit {}", argmax(&got));
        }
    }
}

/// The four transformer blocks through the CLI: compile on the example input, setup, prove,
/// verify; the verified output within the README's bound (`8·2^-7 + |y|/64` per element at
/// the default scale) of onnxruntime's recorded output.
#[test]
fn transformer_blocks_prove_and_verify_within_the_stated_bound() {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("transformer");
    for entry in [
        "tiny_block_op17",
        "tiny_block_dynamo_op18",
        "tiny_block_dynamo_op20",
        "tiny_block_causal_op17",
    ] {
        let dir = corpus().join("transformer").join(entry);
        let work = tmp.join(entry);
        let (keys, proof) = pipeline(&work, &dir.join("model.onnx"), &dir.join("input.json"));
        let text = ok(&["verify", "--keys", s(&keys), "--proof", s(&proof)]);
        assert!(text.contains("VALID"), "{text}");
        let p: serde_json::Value = serde_json::from_slice(&std::fs::read(&proof).unwrap()).unwrap();
        let want: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("expected_output.json")).unwrap())
                .unwrap();
        let values = |v: &serde_json::Value| -> Vec<f64> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        };
        let (got, want) = (values(&p["outputs"][0]), values(&want["output_data"][0]));
        assert_eq!(got.len(), want.len());
        let mut worst = 0.0f64;
        for (a, b) in got.iter().zip(&want) {
            let bound = 8.0 / 128.0 + b.abs() / 64.0;
            assert!((a - b).abs() <= bound, "{entry}: {a} vs onnxruntime {b}");
            worst = worst.max((a - b).abs());
        }
        println!("{entry}: verified, max |proven − onnxruntime| = {worst:.4}");
    }
}

/// `--backend cuda` on a build without the `cuda` feature is a clear error before any work,
/// never a silent fallback to the CPU.
#[cfg(not(feature = "cuda"))]
#[test]
fn cuda_backend_without_the_feature_is_refused() {
    fails(
        &[
            "prove",
            "m.zkc",
            "--keys",
            "k",
            "--input",
            "i.json",
            "-o",
            "p.json",
            "--backend",
            "cuda",
        ],
        "built without CUDA",
    );
    fails(
        &[
            "prove",
            "m.zkc",
            "--keys",
            "k",
            "--input",
            "i.json",
            "-o",
            "p.json",
            "--backend",
            "tpu",
        ],
        "unknown backend",
    );
}

/// `setup --precompute-cosets` writes `pk.cosets`, `prove` says it reads it and the proof
/// verifies; `inspect` predicts its size; `setup` without the flag removes a previous one (it
/// would belong to the keys it replaces).
#[test]
fn precomputed_cosets_round_trip_through_the_cli() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("smoke-cosets");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let ex = root().join("examples/models");
    let input = ex.join("tiny_mlp.input.json");
    let (zkc, keys, proof) = (dir.join("m.zkc"), dir.join("keys"), dir.join("p.json"));
    ok(&[
        "compile",
        s(&ex.join("tiny_mlp.onnx")),
        "-o",
        s(&zkc),
        "--input",
        s(&input),
    ]);
    let setup = ok(&["setup", s(&zkc), "-o", s(&keys), "--precompute-cosets"]);
    let cosets = keys.join("pk.cosets");
    let size = std::fs::metadata(&cosets).unwrap().len();
    assert!(setup.contains("the proving key's cosets"), "{setup}");
    let inspect = ok(&["inspect", s(&zkc)]);
    let predicted: f64 = inspect
        .split("pk.cosets of ")
        .nth(1)
        .and_then(|t| t.split(" MB").next())
        .and_then(|mb| mb.parse().ok())
        .unwrap_or_else(|| panic!("no pk.cosets size in {inspect}"));
    // The values (rounded to 0.1 MB) and a header of a few kB.
    let diff = size as f64 / 1e6 - predicted;
    assert!(
        (-0.06..0.1).contains(&diff),
        "{size} bytes, inspect: {predicted} MB"
    );
    // The time estimate with the file: no more than without it, at least half of it.
    let seconds = |after: &str| -> f64 {
        inspect
            .split(after)
            .nth(1)
            .and_then(|t| t.split('s').next())
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no estimate after {after:?} in {inspect}"))
    };
    let (without, with) = (seconds("proving time ~"), seconds("s (~"));
    assert!(with <= without && with >= without / 2.0, "{inspect}");
    let text = ok(&refs(&prove_args(&zkc, &keys, &input, &proof)));
    assert!(text.contains("precomputed cosets"), "{text}");
    let text = ok(&["verify", "--keys", s(&keys), "--proof", s(&proof)]);
    assert!(text.contains("VALID"), "{text}");
    let setup = ok(&["setup", s(&zkc), "-o", s(&keys)]);
    assert!(setup.contains("removed the previous keys'"), "{setup}");
    assert!(!cosets.exists());
    let text = ok(&refs(&prove_args(&zkc, &keys, &input, &proof)));
    assert!(!text.contains("precomputed cosets"), "{text}");
}
