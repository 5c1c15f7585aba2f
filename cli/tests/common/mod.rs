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
