//! `zkinfer audit`: automatic witness mutation of a model's circuit (see
//! `zkinfer_circuits::audit`). Exits 0 only when no mutation escaped.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use zkinfer_circuits::audit::{AuditConfig, Outcome};
use zkinfer_ir::CompiledModel;
use zkinfer_prover::read_inputs;

#[derive(clap::Subcommand)]
pub enum AuditCommand {
    /// Look for under-constrained cells: change each advice cell of the model's circuit
    /// (with its copies) and run the MockProver; a change every constraint accepts is an
    /// escape. Small circuits are tried exhaustively, larger ones by a seeded sample of every
    /// node's and gate kind's cells. Prints a summary per op kind; exits 0 only when nothing
    /// escaped, 1 otherwise.
    Audit {
        model: PathBuf,
        /// The input whose witness is mutated (EZKL's JSON).
        #[arg(long)]
        input: PathBuf,
        /// Try every cell when the circuit has at most this many copy classes.
        #[arg(long, default_value_t = AuditConfig::default().exhaustive_below)]
        exhaustive_below: usize,
        /// Otherwise, cells tried per (node, layout part, column) group.
        #[arg(long, default_value_t = AuditConfig::default().per_group)]
        per_group: usize,
        /// Seed of the sample.
        #[arg(long, default_value_t = AuditConfig::default().seed)]
        seed: u64,
    },
}

pub fn run(cmd: AuditCommand) -> Result<()> {
    let AuditCommand::Audit {
        model,
        input,
        exhaustive_below,
        per_group,
        seed,
    } = cmd;
    let t = Instant::now();
    let compiled = CompiledModel::read(&model)?;
    let inputs = read_inputs(&input)?;
    let cfg = AuditConfig {
        exhaustive_below,
        per_group,
        seed,
    };
    let report = zkinfer_prover::audit(&compiled, &inputs, cfg)?;
    println!(
        "{}: k = {}, {} advice cells in {} copy classes; {} ({} mutations, {:.1}s)",
        model.display(),
        compiled.settings.k,
        report.cells,
        report.classes,
        match report.exhaustive {
            true => "every class tried".to_string(),
            false => format!("sample of {per_group} per node, part and column (seed {seed})"),
        },
        report.mutations.len(),
        t.elapsed().as_secs_f64()
    );
    println!(
        "{:<10} {:>8} {:>8} {:>6} {:>8}",
        "op", "tried", "caught", "free", "escaped"
    );
    for (op, t) in report.by_op() {
        println!(
            "{op:<10} {:>8} {:>8} {:>6} {:>8}",
            t.tried, t.caught, t.free, t.escaped
        );
    }
    let escaped = report.escaped();
    for m in &escaped {
        println!(
            "ESCAPED: node `{}` ({}, {}), column {:?}, row {}: changing it ({} cell(s) with its copies) satisfies every constraint",
            m.node_name, m.op, m.part, m.col, m.row, m.cells
        );
    }
    debug_assert!(escaped.iter().all(|m| m.outcome == Outcome::Escaped));
    if !escaped.is_empty() {
        return Err(
            crate::exit::Rejected(format!("{} under-constrained cell(s)", escaped.len())).into(),
        );
    }
    println!("no mutation escaped");
    Ok(())
}
