//! ONNX's own backend node tests (`../shared/corpus/onnx-node`).
//!
//! Every case in `tests/onnx_node_allowlist.txt` (a list that only grows) is imported,
//! quantized (calibrated on its own input), evaluated with `ir::eval`, compared with
//! onnxruntime's `expected_output.json` within `zkinfer_tests::tolerance` (eight units in the
//! last place of the output scale plus 1/64 relative; integer outputs exactly), and its whole
//! circuit is checked with MockProver. Every other corpus case is listed in
//! `tests/onnx_node_excluded.txt` with the reason it cannot pass, so none is skipped silently.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;

use zkinfer_tests::{conformance, corpus};

/// `name  # comment` lines: name → comment.
fn listed(file: &str) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file))
        .unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let (name, why) = l.split_once('#').unwrap_or((l, ""));
            let name = name.trim();
            (!name.is_empty()).then(|| (name.to_string(), why.trim().to_string()))
        })
        .collect()
}

/// Every onnx-node case in the corpus manifest.
fn corpus_cases() -> Vec<String> {
    let manifest = std::fs::read_to_string(corpus().join("onnx-node/manifest.csv")).unwrap();
    manifest
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .filter(|n| !n.is_empty())
        .map(String::from)
        .collect()
}

#[test]
fn onnx_node_conformance() {
    let allow = listed("onnx_node_allowlist.txt");
    let excluded = listed("onnx_node_excluded.txt");
    let cases = corpus_cases();
    assert!(allow.len() >= 96, "the allowlist only grows");
    let unaccounted: Vec<&String> = cases
        .iter()
        .filter(|c| !allow.contains_key(*c) && !excluded.contains_key(*c))
        .collect();
    assert!(
        unaccounted.is_empty(),
        "corpus cases neither allowlisted nor excluded with a reason: {unaccounted:?}"
    );
    let mut failures = Vec::new();
    let mut passed = 0;
    for entry in allow.keys() {
        match conformance(entry) {
            Ok(c) => {
                passed += 1;
                eprintln!(
                    "ok   {entry} (k = {}, max abs error {:.4})",
                    c.k, c.max_abs_error
                );
            }
            Err(e) => failures.push(format!("{entry}: {e:#}")),
        }
    }
    println!("onnx-node: {passed} passed of {} in corpus", cases.len());
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Runs every corpus case and prints `PASS name` or `FAIL name # reason` (run with
/// `--ignored --nocapture` to grow the allowlist and refresh the exclusion reasons).
#[test]
#[ignore]
fn report_candidates() {
    let only = std::env::var("ONNX_NODE_ONLY").unwrap_or_default();
    for name in corpus_cases().into_iter().filter(|n| n.contains(&only)) {
        match conformance(&name) {
            Ok(c) => println!("PASS {name} {:.4}", c.max_abs_error),
            Err(e) => {
                let why = format!("{e:#}").replace('\n', " ");
                println!(
                    "FAIL {name}  # {}",
                    why.chars().take(240).collect::<String>()
                )
            }
        }
    }
}
