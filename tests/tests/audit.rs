//! Automatic witness mutation (`zkinfer audit`) over a sample of the corpus that covers every
//! op kind: one onnx-node case per ONNX operator of the allowlist, and a model of each other
//! suite (MLP, CNN, transformer block with Freivalds' second phase, a tree ensemble, an LSTM).
//! Every tried mutation of every circuit must break a constraint (or, for a public value moved
//! out of its bound, the verifier's bound check): an escape is an under-constrained cell, and
//! fails the test with its node, op, part, mutation kind and column. Single cells, coordinated
//! pairs (quotient and remainder, adjacent limbs) and public instances are all tried, and the
//! sample of a large circuit touches every (gate kind, layout part) pair.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;

use zkinfer_circuits::audit::{AuditConfig, Outcome, Tally};
use zkinfer_tests::{compile_example, corpus};

/// One allowlisted onnx-node case per base operator (the first in the list's order).
fn one_case_per_operator() -> Vec<String> {
    let allow = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("onnx_node_allowlist.txt"),
    )
    .unwrap();
    let mut by_op: BTreeMap<String, String> = BTreeMap::new();
    for name in allow
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
    {
        let meta = corpus().join("onnx-node").join(name).join("meta.json");
        let Ok(text) = std::fs::read_to_string(&meta) else {
            continue;
        };
        let meta: serde_json::Value = serde_json::from_str(&text).unwrap();
        let op = meta["base_op"].as_str().unwrap_or("?").to_string();
        by_op
            .entry(op)
            .or_insert_with(|| format!("onnx-node/{name}"));
    }
    by_op.into_values().collect()
}

#[test]
fn no_mutation_of_a_corpus_circuit_escapes() {
    let mut entries = one_case_per_operator();
    entries.extend(
        [
            "sklearn/mlp2_relu_digits_stdops",
            "cnn/lenet_digits",
            "transformer/tiny_block_op17",
            "exports/xgb_wine_hb_perf_tree_trav",
            "exports/lstm_seq_op17",
        ]
        .map(String::from),
    );
    // Exhaustive up to 600 copy classes (most single-op circuits), else 2 cells of every
    // node, part and column: about 3 minutes on 2 cores (each mutation is checked in place on
    // the honest MockProver, and laid out again in full only when that does not catch it).
    // `zkinfer audit` defaults to more.
    let cfg = AuditConfig {
        exhaustive_below: 600,
        per_group: 2,
        // One coordinated mutation per (kind, node, part) and one public value per tensor,
        // even on circuits whose cells are all tried: all of them would add 140% to the run.
        linked_per_group: Some(1),
        ..AuditConfig::default()
    };
    let start = std::time::Instant::now();
    let mut by_op: BTreeMap<&'static str, Tally> = BTreeMap::new();
    let mut by_kind: BTreeMap<&'static str, Tally> = BTreeMap::new();
    let mut uncovered = Vec::new();
    let mut escapes = Vec::new();
    let (mut models, mut tried) = (0, 0);
    let mut times: Vec<(f64, &str)> = Vec::new();
    for entry in &entries {
        let (model, input) = compile_example(&corpus().join(entry)).unwrap();
        let t = std::time::Instant::now();
        let report =
            zkinfer_prover::audit(&model, &input, cfg).unwrap_or_else(|e| panic!("{entry}: {e:#}"));
        let cells = report.by_kind().get("cell").map_or(0, |t| t.tried);
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{entry}: {} mutations ({cells} single cells; {} caught in place, {} fully re-checked), {secs:.1}s",
            report.mutations.len(),
            report.checks.in_place,
            report.checks.full,
        );
        times.push((secs, entry.as_str()));
        models += 1;
        tried += report.mutations.len();
        let add = |s: &mut Tally, t: Tally| {
            s.tried += t.tried;
            s.caught += t.caught;
            s.free += t.free;
            s.refused += t.refused;
            s.escaped += t.escaped;
        };
        for (op, t) in report.by_op() {
            add(by_op.entry(op).or_default(), t);
        }
        for (kind, t) in report.by_kind() {
            add(by_kind.entry(kind).or_default(), t);
        }
        let c = &report.coverage;
        if c.pairs_covered < c.pairs {
            uncovered.push(format!("{entry}: {:?}", c.missed));
        }
        for m in report
            .mutations
            .iter()
            .filter(|m| m.outcome == Outcome::Escaped)
        {
            escapes.push(format!(
                "{entry}: node `{}` ({}, {}), {} at column {:?}, row {} ({} cells)",
                m.node_name,
                m.op,
                m.part,
                m.kind.name(),
                m.col,
                m.row,
                m.cells
            ));
        }
    }
    println!(
        "audit: {models} circuits, {tried} mutations, {:.1}s",
        start.elapsed().as_secs_f64()
    );
    times.sort_by(|a, b| b.0.total_cmp(&a.0));
    println!("slowest circuits:");
    for (secs, entry) in times.iter().take(10) {
        println!("  {secs:7.1}s  {entry}");
    }
    for (what, table) in [("op", &by_op), ("mutation", &by_kind)] {
        println!(
            "| {what} | tried | caught | free | refused | escaped |\n|---|---|---|---|---|---|"
        );
        for (name, t) in table {
            println!(
                "| {name} | {} | {} | {} | {} | {} |",
                t.tried, t.caught, t.free, t.refused, t.escaped
            );
        }
    }
    for kind in [
        "cell",
        "rescale (q+1, r-2^s)",
        "range (r0+2^l, r1-1)",
        "instance +1",
    ] {
        assert!(
            by_kind.get(kind).is_some_and(|t| t.tried > 0),
            "no `{kind}` mutation tried"
        );
    }
    assert!(
        uncovered.is_empty(),
        "gate kinds the sample missed:\n{}",
        uncovered.join("\n")
    );
    assert!(
        escapes.is_empty(),
        "{} under-constrained cells:\n{}",
        escapes.len(),
        escapes
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
