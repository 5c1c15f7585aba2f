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
    /// (with its copies), cells one gate links together (a quotient with its remainder, two
    /// limbs) and the public instances, and run the MockProver; a change every constraint
    /// accepts (and, for a public value, the verifier's bound check too) is an escape. Small
    /// circuits are tried exhaustively, larger ones by a seeded sample that touches every
    /// (gate kind, layout part) pair. Prints a summary per op and mutation kind and the
    /// gate coverage; exits 0 only when nothing escaped, 1 otherwise.
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
        /// Only single-cell mutations, as the audit did before coordinated and instance ones
        /// and the gate coverage of the sample.
        #[arg(long)]
        cells_only: bool,
    },
}

pub fn run(cmd: AuditCommand) -> Result<()> {
    let AuditCommand::Audit {
        model,
        input,
        exhaustive_below,
        per_group,
        seed,
        cells_only,
    } = cmd;
    let t = Instant::now();
    let compiled = CompiledModel::read(&model)?;
    let inputs = read_inputs(&input)?;
    let cfg = AuditConfig {
        exhaustive_below,
        per_group,
        seed,
        coordinated: !cells_only,
        instances: !cells_only,
        cover: !cells_only,
        linked_per_group: None,
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
            false => format!(
                "sample of {per_group} per node, part and column{} (seed {seed})",
                match cells_only {
                    true => "",
                    false => ", and one per missed gate and part",
                }
            ),
        },
        report.mutations.len(),
        t.elapsed().as_secs_f64()
    );
    let c = &report.coverage;
    println!(
        "coverage: {}/{} gate kinds, {}/{} (gate kind, layout part) pairs",
        c.gates_covered, c.gates, c.pairs_covered, c.pairs
    );
    for (gate, part) in &c.missed {
        println!("  not touched: gate {gate} in part `{part}`");
    }
    let header = |what: &str| {
        println!(
            "{what:<24} {:>8} {:>8} {:>6} {:>8} {:>8}",
            "tried", "caught", "free", "refused", "escaped"
        )
    };
    let line = |name: &str, t: &zkinfer_circuits::audit::Tally| {
        println!(
            "{name:<24} {:>8} {:>8} {:>6} {:>8} {:>8}",
            t.tried, t.caught, t.free, t.refused, t.escaped
        )
    };
    header("op");
    for (op, t) in report.by_op() {
        line(op, &t);
    }
    header("mutation");
    for (kind, t) in report.by_kind() {
        line(kind, &t);
    }
    let escaped = report.escaped();
    for m in &escaped {
        println!(
            "ESCAPED: node `{}` ({}, {}), {} mutation at column {:?}, row {}: changing {} cell(s) with their copies satisfies every constraint",
            m.node_name, m.op, m.part, m.kind.name(), m.col, m.row, m.cells
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
