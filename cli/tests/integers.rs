//! Integer and boolean tensors end to end through the binary: exact ONNX semantics proven and
//! checked against onnxruntime, typed input files, typed printing, and a reference that never
//! blocks a proof. The models are built in memory with ONNX's own operators.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{fails, ok, s};
use zkinfer_onnx::proto::build::{attr_int, attr_str, model, node, tensor_f32, value_info};
use zkinfer_onnx::proto::{data_type, TensorProto};

fn tmp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("integers")
        .join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn typed_const(name: &str, data_type: i32, dims: &[i64], data: &[i32]) -> TensorProto {
    TensorProto {
        dims: dims.to_vec(),
        data_type,
        int32_data: data.to_vec(),
        name: name.into(),
        ..Default::default()
    }
}

/// compile (calibrated on `input`) → setup → prove with the onnxruntime reference, plus
/// `prove_extra`; returns (keys, proof path, prove's output).
fn prove(dir: &Path, onnx: &[u8], input: &str, prove_extra: &[&str]) -> (PathBuf, PathBuf, String) {
    let (path, zkc, keys, proof, inp) = (
        dir.join("model.onnx"),
        dir.join("model.zkc"),
        dir.join("keys"),
        dir.join("proof.json"),
        dir.join("input.json"),
    );
    std::fs::write(&path, onnx).unwrap();
    std::fs::write(&inp, input).unwrap();
    ok(&["compile", s(&path), "-o", s(&zkc), "--input", s(&inp)]);
    ok(&["setup", s(&zkc), "-o", s(&keys)]);
    let mut args = vec!["prove", s(&zkc), "--keys", s(&keys), "--input", s(&inp)];
    args.extend(["-o", s(&proof)]);
    args.extend(prove_extra);
    let text = ok(&args);
    (keys, proof, text)
}

fn proof_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn lists(v: &serde_json::Value) -> Vec<Vec<f64>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|l| {
            l.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        })
        .collect()
}

/// a, b: int32[4], u: uint8[4] → Div, Mod (fmod 0 and 1), a shift right exported as
/// `Div(a, Cast(Pow(2, 3)))`, BitShift right and left, and `Where(a < b, a, b)`.
fn int_model() -> Vec<u8> {
    let i32v = |n: &str| value_info(n, data_type::INT32, &[Some(4)]);
    let u8v = |n: &str| value_info(n, data_type::UINT8, &[Some(4)]);
    model(
        vec![
            node("Div", "div", &["a", "b"], &["q"], vec![]),
            node("Mod", "mod0", &["a", "b"], &["m0"], vec![]),
            node(
                "Mod",
                "mod1",
                &["a", "b"],
                &["m1"],
                vec![attr_int("fmod", 1)],
            ),
            node("Pow", "pow", &["two", "three"], &["p"], vec![]),
            node("Cast", "cast", &["p"], &["p_i"], vec![attr_int("to", 6)]),
            node("Div", "shift", &["a", "p_i"], &["s"], vec![]),
            node(
                "BitShift",
                "shr",
                &["u", "k2"],
                &["r"],
                vec![attr_str("direction", "RIGHT")],
            ),
            node(
                "BitShift",
                "shl",
                &["u", "k1"],
                &["l"],
                vec![attr_str("direction", "LEFT")],
            ),
            node("Less", "less", &["a", "b"], &["lt"], vec![]),
            node("Where", "min", &["lt", "a", "b"], &["mn"], vec![]),
        ],
        vec![
            tensor_f32("two", &[], &[2.0]),
            tensor_f32("three", &[], &[3.0]),
            typed_const("k2", data_type::UINT8, &[1], &[2]),
            typed_const("k1", data_type::UINT8, &[1], &[1]),
        ],
        vec![i32v("a"), i32v("b"), u8v("u")],
        vec![
            i32v("q"),
            i32v("m0"),
            i32v("m1"),
            i32v("s"),
            u8v("r"),
            u8v("l"),
            i32v("mn"),
        ],
        13,
    )
}

#[test]
fn int32_division_modulo_and_shifts_prove_exactly_onnxruntimes_integers() {
    let dir = tmp("int");
    let input = r#"{"input_data": [[21, -15, 12, -7], [2, 4, -5, -3], [100, 17, 5, 127]]}"#;
    let (keys, proof, text) = prove(&dir, &int_model(), input, &[]);
    let want: Vec<Vec<f64>> = vec![
        vec![10.0, -3.0, -2.0, 2.0],
        vec![1.0, 1.0, -3.0, -1.0],
        vec![1.0, -3.0, 2.0, -1.0],
        vec![2.0, -1.0, 1.0, 0.0],
        vec![25.0, 4.0, 1.0, 31.0],
        vec![200.0, 34.0, 10.0, 254.0],
        vec![2.0, -15.0, -5.0, -7.0],
    ];
    let p = proof_json(&proof);
    assert_eq!(lists(&p["outputs"]), want, "{text}");
    assert_eq!(
        lists(&p["reference"]["outputs"]),
        want,
        "onnxruntime: {text}"
    );
    assert!(
        text.contains("proven output 0:      [10, -3, -2, 2]"),
        "{text}"
    );
    assert!(
        text.contains("max |proven - onnxruntime| = 0.000000"),
        "{text}"
    );
    let verified = ok(&["verify", "--keys", s(&keys), "--proof", s(&proof)]);
    assert!(
        verified.contains("verified output 3: [2, -1, 1, 0]"),
        "{verified}"
    );
    assert!(
        verified.contains("verified output 5: [200, 34, 10, 254]"),
        "{verified}"
    );
}

#[test]
fn integer_inputs_refuse_fractions_and_overflow_is_refused_not_wrapped() {
    let dir = tmp("refusals");
    let input = r#"{"input_data": [[21, -15, 12, -7], [2, 4, -5, -3], [100, 17, 5, 127]]}"#;
    let (keys, _, _) = prove(&dir, &int_model(), input, &["--no-reference"]);
    let zkc = dir.join("model.zkc");
    let run = |name: &str, json: &str, needle: &str| {
        let f = dir.join(name);
        std::fs::write(&f, json).unwrap();
        let out = dir.join(format!("{name}.proof"));
        fails(
            &[
                "prove",
                s(&zkc),
                "--keys",
                s(&keys),
                "--input",
                s(&f),
                "-o",
                s(&out),
            ],
            needle,
        );
    };
    run(
        "fraction.json",
        r#"{"input_data": [[21, -15, 12.5, -7], [2, 4, -5, -3], [100, 17, 5, 127]]}"#,
        "graph input 0 (`a`), element 2: 12.5 is not an integer",
    );
    run(
        "negative_u8.json",
        r#"{"input_data": [[21, -15, 12, -7], [2, 4, -5, -3], [100, -17, 5, 127]]}"#,
        "graph input 2 (`u`), element 1: -17 is outside the range of uint8",
    );
    run(
        "zero.json",
        r#"{"input_data": [[21, -15, 12, -7], [2, 0, -5, -3], [100, 17, 5, 127]]}"#,
        "integer division by zero",
    );
    // 130 << 1 = 260 does not fit uint8: refused, where onnxruntime would wrap it to 4.
    run(
        "overflow.json",
        r#"{"input_data": [[21, -15, 12, -7], [2, 4, -5, -3], [130, 17, 5, 127]]}"#,
        "overflows uint8",
    );
}

/// x: float[4], p, q: bool[4], t: int64[4] → Less(x, 0.5), And, Or, Xor, Not (bools);
/// ArgMax(x) and 3·t (int64); Cast(10·x) to int32 (truncation) and back to float plus 0.5.
fn bool_model() -> Vec<u8> {
    let b = |n: &str| value_info(n, data_type::BOOL, &[Some(4)]);
    let i64v = |n: &str, len: i64| value_info(n, data_type::INT64, &[Some(len)]);
    model(
        vec![
            node("Less", "less", &["x", "half"], &["lt"], vec![]),
            node("And", "and", &["p", "q"], &["a"], vec![]),
            node("Or", "or", &["p", "q"], &["o"], vec![]),
            node("Xor", "xor", &["p", "q"], &["xo"], vec![]),
            node("Not", "not", &["p"], &["n"], vec![]),
            node(
                "ArgMax",
                "argmax",
                &["x"],
                &["am"],
                vec![attr_int("axis", 0)],
            ),
            node("Mul", "triple", &["t", "three"], &["t3"], vec![]),
            node("Mul", "tenfold", &["x", "ten"], &["x10"], vec![]),
            node("Cast", "to_int", &["x10"], &["ci"], vec![attr_int("to", 6)]),
            node(
                "Cast",
                "to_float",
                &["ci"],
                &["cf"],
                vec![attr_int("to", 1)],
            ),
            node("Add", "plus_half", &["cf", "half"], &["back"], vec![]),
        ],
        vec![
            tensor_f32("half", &[], &[0.5]),
            tensor_f32("ten", &[], &[10.0]),
            zkinfer_onnx::proto::build::tensor_i64("three", &[], &[3]),
        ],
        vec![
            value_info("x", data_type::FLOAT, &[Some(4)]),
            b("p"),
            b("q"),
            i64v("t", 4),
        ],
        vec![
            b("lt"),
            b("a"),
            b("o"),
            b("xo"),
            b("n"),
            i64v("am", 1),
            i64v("t3", 4),
            value_info("ci", data_type::INT32, &[Some(4)]),
            value_info("back", data_type::FLOAT, &[Some(4)]),
        ],
        13,
    )
}

#[test]
fn boolean_inputs_and_outputs_prove_with_the_reference_and_a_failed_reference_only_warns() {
    let dir = tmp("bool");
    // Booleans as EZKL writes them.
    let input = r#"{"input_data": [[0.25, 1.0, -3.0, 0.75], [true, false, true, false], [true, true, false, false], [7, 0, -2, 50]]}"#;
    let (keys, proof, text) = prove(&dir, &bool_model(), input, &[]);
    let want: Vec<Vec<f64>> = vec![
        vec![1.0, 0.0, 1.0, 0.0],
        vec![1.0, 0.0, 0.0, 0.0],
        vec![1.0, 1.0, 1.0, 0.0],
        vec![0.0, 1.0, 1.0, 0.0],
        vec![0.0, 1.0, 0.0, 1.0],
        vec![1.0],
        vec![21.0, 0.0, -6.0, 150.0],
        vec![2.0, 10.0, -30.0, 7.0],
        vec![2.5, 10.5, -29.5, 7.5],
    ];
    let p = proof_json(&proof);
    assert_eq!(lists(&p["outputs"]), want, "{text}");
    assert_eq!(
        lists(&p["reference"]["outputs"]),
        want,
        "onnxruntime: {text}"
    );
    let verified = ok(&["verify", "--keys", s(&keys), "--proof", s(&proof)]);
    assert!(
        verified.contains("verified output 0: [true, false, true, false]"),
        "{verified}"
    );
    assert!(
        verified.contains("verified output 3: [false, true, true, false]"),
        "{verified}"
    );

    // A reference that cannot run (here: --onnx names a file that is not ONNX) is a warning
    // recorded in the proof file; the proof is made and verifies.
    let (zkc, inp, broken) = (
        dir.join("model.zkc"),
        dir.join("input.json"),
        dir.join("p2.json"),
    );
    let text = ok(&[
        "prove",
        s(&zkc),
        "--keys",
        s(&keys),
        "--input",
        s(&inp),
        "-o",
        s(&broken),
        "--onnx",
        s(&inp),
    ]);
    assert!(text.contains("warning: no onnxruntime reference"), "{text}");
    let p = proof_json(&broken);
    assert!(
        p["reference"]["error"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "{p}"
    );
    assert_eq!(lists(&p["outputs"]), want);
    ok(&["verify", "--keys", s(&keys), "--proof", s(&broken)]);
}
