//! `zkinfer verify` and what a verifier of a key directory reads (`zkinfer inspect KEYDIR`):
//! the proof checked against the keys (pinned to a statement digest with `--digest`), the
//! proven input shown and compared with the caller's (`--input`).

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use zkinfer_prover::read_inputs;
use zkinfer_verifier::{verify, Bundle, ProofFile};

use crate::{fmt_typed, shard, srs_note};

pub(crate) fn cmd_verify(
    keys: &Path,
    proof: &Path,
    input: Option<&Path>,
    digest: Option<&str>,
) -> Result<()> {
    // Timed from reading the files, as EZKL's verify is (see benches/compare_ezkl.py).
    let t = Instant::now();
    let bundle = Bundle::read(&keys.join(zkinfer_prover::BUNDLE_FILE))?;
    let p = ProofFile::read(proof)?;
    let read_ms = t.elapsed().as_secs_f64() * 1e3;
    let out = match digest {
        Some(d) => zkinfer_verifier::verify_pinned(&bundle, &p, d)?,
        None => verify(&bundle, &p)?,
    };
    let ms = t.elapsed().as_secs_f64() * 1e3;
    srs_note(bundle.header.srs.insecure);
    check_input(&bundle.header.settings, &out, input)?;
    println!(
        "proof is VALID; verified in {ms:.2} ms (reading the bundle and proof included: {read_ms:.2} ms of it)"
    );
    for (i, o) in out.outputs.iter().enumerate() {
        let t = out.dtypes.get(i).copied().unwrap_or_default();
        println!("verified output {i}: {}", fmt_typed(o, t));
    }
    report_inputs(&bundle.header.settings, &out);
    shard::report_commitments(&out);
    match digest {
        Some(d) => println!("statement digest {d} (pinned)"),
        None => println!(
            "statement digest {} (not pinned: pass --digest to refuse any other keys)",
            bundle.statement_digest()
        ),
    }
    Ok(())
}

/// `--input F` of `verify` and `verify-chain`: the proof (or chain, with its first shard's
/// `settings`) must be of the input in F.
pub(crate) fn check_input(
    settings: &zkinfer_ir::Settings,
    out: &zkinfer_verifier::VerifiedOutput,
    input: Option<&Path>,
) -> Result<()> {
    let Some(path) = input else {
        return Ok(());
    };
    let values = read_inputs(path)?;
    zkinfer_verifier::check_inputs(settings, out, &values)
        .with_context(|| format!("--input {}", path.display()))?;
    println!("the proven input is the one in {}", path.display());
    Ok(())
}

/// Public input elements up to which `verify` prints the proven values beside their digest.
const SHOWN_INPUT_VALUES: usize = 16;

/// The proven input: its digest, and its values when there are few.
pub(crate) fn report_inputs(
    settings: &zkinfer_ir::Settings,
    out: &zkinfer_verifier::VerifiedOutput,
) {
    println!("proven input digest: {}", out.inputs_digest);
    let n: usize = out.inputs.iter().map(Vec::len).sum();
    if out.input_commitment.is_none() && n <= SHOWN_INPUT_VALUES {
        for (i, v) in out.inputs.iter().enumerate() {
            let t = settings.inputs.get(i).map(|t| t.dtype).unwrap_or_default();
            println!("proven input {i}: {}", fmt_typed(v, t));
        }
    }
}

/// `inspect KEYDIR` (or a `bundle.bin`): what a verifier of these keys reads, and the
/// statement digest that covers it.
pub(crate) fn inspect_keys(path: &Path) -> Result<()> {
    let file = match path.is_dir() {
        true => path.join(zkinfer_prover::BUNDLE_FILE),
        false => path.to_path_buf(),
    };
    let b = Bundle::read(&file)?;
    let h = &b.header;
    let s = &h.settings;
    println!("verifier bundle: {}", file.display());
    println!(
        "  statement digest: {} (covers all below: pin this)",
        b.statement_digest()
    );
    println!("  model digest: {}", h.model_digest);
    println!("  verifying key digest: {}", h.vk_digest);
    println!(
        "  k = {}, {} public instances{}; SRS of 2^{} ({}{})",
        s.k,
        s.instance_len(),
        if s.packed { " (packed)" } else { "" },
        h.srs.k,
        h.srs.source,
        if h.srs.insecure { ", INSECURE" } else { "" }
    );
    for (side, infos) in [("input", &s.inputs), ("output", &s.outputs)] {
        for t in infos {
            println!(
                "  {side} `{}` {:?}: scale 2^-{}, |q| < 2^{}",
                t.name, t.shape, t.scale, t.bound
            );
        }
    }
    if let Some(sh) = &s.shard {
        println!(
            "  shard {} of {} of model {} (cuts {:?})",
            sh.index + 1,
            sh.count,
            sh.parent,
            sh.cuts
        );
    }
    Ok(())
}
