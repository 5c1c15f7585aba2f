//! Helpers shared by the CLI tests: run the binary, expect success or a typed failure.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn zkinfer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zkinfer"))
        .args(args)
        .output()
        .expect("run zkinfer")
}

pub fn ok(args: &[&str]) -> String {
    let out = zkinfer(args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "zkinfer {args:?} failed:\n{text}");
    text
}

pub fn fails(args: &[&str], needle: &str) {
    let out = zkinfer(args);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "zkinfer {args:?} should fail");
    assert!(err.contains(needle), "expected `{needle}` in: {err}");
}

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `../shared/corpus`, resolved from the workspace root.
pub fn corpus() -> PathBuf {
    root().join("../shared/corpus")
}

/// compile (with `extra` compile options) → setup → prove of the corpus `entry` on its
/// `input.json`, into `dir`: `model.zkc`, `keys/`, `proof.json`. Returns `compile`'s output.
pub fn compile_setup_prove(dir: &Path, entry: &str, extra: &[&str]) -> String {
    std::fs::create_dir_all(dir).unwrap();
    let src = corpus().join(entry);
    let (zkc, keys, proof) = (
        dir.join("model.zkc"),
        dir.join("keys"),
        dir.join("proof.json"),
    );
    let (input, onnx) = (src.join("input.json"), src.join("model.onnx"));
    let mut args = vec!["compile", s(&onnx), "-o", s(&zkc), "--input", s(&input)];
    args.extend(extra);
    let text = ok(&args);
    ok(&["setup", s(&zkc), "-o", s(&keys)]);
    ok(&[
        "prove",
        s(&zkc),
        "--keys",
        s(&keys),
        "--input",
        s(&input),
        "-o",
        s(&proof),
        "--no-reference",
    ]);
    text
}
