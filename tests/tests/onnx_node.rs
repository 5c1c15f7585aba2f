//! ONNX's own backend node tests, run from an allowlist that only grows
//! (`tests/onnx-node.allowlist`): each entry is compiled (calibrated on its own input),
//! proven, verified, and its verified output compared with onnxruntime's.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use zkinfer_tests::round_trip;

fn allowlist() -> Vec<String> {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("onnx-node.allowlist"))
            .expect("tests/onnx-node.allowlist");
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

/// Tolerance: quantization at 2^-7 plus a relative term for products of inputs.
fn close(got: f32, want: f32) -> bool {
    (got - want).abs() <= 0.03 + 0.02 * want.abs()
}

fn run(entry: &str) -> Result<f32, String> {
    let rt = round_trip(&format!("onnx-node/{entry}")).map_err(|e| format!("{e:#}"))?;
    if rt.verified.outputs.len() != rt.expected.len() {
        return Err("output count differs".into());
    }
    for (o, (g, w)) in rt.verified.outputs.iter().zip(&rt.expected).enumerate() {
        if g.len() != w.len() {
            return Err(format!(
                "output {o}: {} values, expected {}",
                g.len(),
                w.len()
            ));
        }
        if let Some(i) = g.iter().zip(w).position(|(a, b)| !close(*a, *b)) {
            return Err(format!("output {o}[{i}] = {}, onnxruntime {}", g[i], w[i]));
        }
    }
    Ok(rt.max_abs_error())
}

#[test]
fn allowlisted_onnx_node_tests_prove_and_verify() {
    let list = allowlist();
    assert!(list.len() >= 60, "the allowlist only grows");
    let mut failures = Vec::new();
    for entry in &list {
        match run(entry) {
            Ok(err) => eprintln!("ok   {entry} (max abs error {err:.4})"),
            Err(e) => failures.push(format!("{entry}: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every corpus test made only of supported operators, allowlisted or not; prints a status
/// line per test (run with `--ignored --nocapture` to grow the allowlist).
#[test]
#[ignore]
fn report_candidates() {
    let manifest =
        std::fs::read_to_string(zkinfer_tests::corpus().join("onnx-node/manifest.csv")).unwrap();
    let supported = [
        "Gemm",
        "MatMul",
        "Add",
        "Sub",
        "Mul",
        "Div",
        "Relu",
        "Sigmoid",
        "Softmax",
        "Flatten",
        "Reshape",
        "Identity",
        "Constant",
        "Cast",
        "Shape",
        "Gather",
        "Unsqueeze",
        "Squeeze",
        "Concat",
        "Transpose",
    ];
    let listed = allowlist();
    for line in manifest.lines().skip(1) {
        let mut cols = line.split(',');
        let (Some(name), Some(ops)) = (cols.next(), cols.next()) else {
            continue;
        };
        if !ops.split_whitespace().all(|o| supported.contains(&o)) {
            continue;
        }
        let tag = if listed.iter().any(|l| l == name) {
            "listed"
        } else {
            "new"
        };
        match run(name) {
            Ok(e) => println!("PASS {tag} {name} {e:.4}"),
            Err(e) => println!("FAIL {tag} {name}: {}", e.lines().next().unwrap_or("")),
        }
    }
}
