//! The CLI in pipes and scripts: distinct exit codes (1: the check failed, 2: bad input),
//! quiet output into a closed pipe, and `zkinfer audit`'s verdict.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::{compile_setup_prove, corpus, s, zkinfer};

fn code(args: &[&str]) -> (i32, String) {
    let out = zkinfer(args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn exit_codes_tell_an_invalid_proof_from_bad_input() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("hostile-codes");
    compile_setup_prove(&dir, "sklearn/mlp2_relu_digits_stdops", &[]);
    let (keys, proof) = (dir.join("keys"), dir.join("proof.json"));
    assert_eq!(
        code(&["verify", "--keys", s(&keys), "--proof", s(&proof)]).0,
        0
    );

    // A well-formed proof whose bytes were changed: the check fails, 1.
    let mut p: serde_json::Value = serde_json::from_slice(&std::fs::read(&proof).unwrap()).unwrap();
    let hex = p["proof"].as_str().unwrap().to_string();
    let flipped = if &hex[10..11] == "0" { "1" } else { "0" };
    p["proof"] = format!("{}{flipped}{}", &hex[..10], &hex[11..]).into();
    let bad = dir.join("flipped.json");
    std::fs::write(&bad, serde_json::to_vec(&p).unwrap()).unwrap();
    let (c, text) = code(&["verify", "--keys", s(&keys), "--proof", s(&bad)]);
    assert_eq!(c, 1, "{text}");

    // Files that are missing, not a proof, or of another version: 2, naming the file.
    let missing = dir.join("missing.json");
    let (c, text) = code(&["verify", "--keys", s(&keys), "--proof", s(&missing)]);
    assert!(c == 2 && text.contains("missing.json"), "{c}: {text}");
    let junk = dir.join("junk.json");
    std::fs::write(&junk, b"{\"not\": \"a proof\"}").unwrap();
    let (c, text) = code(&["verify", "--keys", s(&keys), "--proof", s(&junk)]);
    assert!(c == 2 && text.contains("junk.json"), "{c}: {text}");
    p["version"] = 999.into();
    let future = dir.join("future.json");
    std::fs::write(&future, serde_json::to_vec(&p).unwrap()).unwrap();
    let (c, text) = code(&["verify", "--keys", s(&keys), "--proof", s(&future)]);
    assert!(c == 2 && text.contains("version"), "{c}: {text}");

    // An input of the wrong shape: 2.
    let short = dir.join("short.json");
    std::fs::write(&short, b"{\"input_data\": [[1.0, 2.0]]}").unwrap();
    let (c, text) = code(&[
        "prove",
        s(&dir.join("model.zkc")),
        "--keys",
        s(&keys),
        "--input",
        s(&short),
        "-o",
        s(&dir.join("p2.json")),
        "--no-reference",
    ]);
    assert_eq!(c, 2, "{text}");
    // A bad argument (clap): 2 as well.
    assert_eq!(code(&["verify", "--nonsense"]).0, 2);
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let model = corpus().join("sklearn/mlp2_relu_digits_stdops/model.onnx");
    let mut child = Command::new(env!("CARGO_BIN_EXE_zkinfer"))
        .args(["inspect", s(&model)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // `| head -1`: read one line, close the pipe.
    let stdout = child.stdout.take().unwrap();
    let mut first = String::new();
    BufReader::new(stdout).read_line(&mut first).unwrap();
    assert!(first.starts_with("model:"), "{first}");
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{err}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        // Killed by SIGPIPE (13), as Unix tools are, or done before the pipe closed.
        assert!(
            out.status.signal() == Some(13) || out.status.success(),
            "{:?}",
            out.status
        );
    }
}

#[test]
fn audit_reports_every_op_kind_and_exits_zero_when_nothing_escapes() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("hostile-audit");
    std::fs::create_dir_all(&dir).unwrap();
    let src = corpus().join("sklearn/mlp2_relu_digits_stdops");
    let zkc = dir.join("m.zkc");
    let input = src.join("input.json");
    let (c, _) = code(&[
        "compile",
        s(&src.join("model.onnx")),
        "-o",
        s(&zkc),
        "--input",
        s(&input),
    ]);
    assert_eq!(c, 0);
    let (c, text) = code(&["audit", s(&zkc), "--input", s(&input)]);
    assert_eq!(c, 0, "{text}");
    for op in ["Dense", "Rescale", "Softmax", "Input"] {
        assert!(text.contains(op), "{text}");
    }
    assert!(text.contains("no mutation escaped"), "{text}");
    // Exhaustive on request: every copy class of the circuit.
    let (c, text) = code(&[
        "audit",
        s(&zkc),
        "--input",
        s(&input),
        "--exhaustive-below",
        "100000",
    ]);
    assert!(c == 0 && text.contains("every class tried"), "{text}");
}
