//! Optimistic mode: claims made at inference cost, checked by re-execution or against
//! another node's claim, and disputed with the proof of the one segment a wrong claim gets
//! wrong.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use zkinfer_ir::CompiledModel;
use zkinfer_prover::{
    evaluate, load_srs, name_keys, read_inputs, Alteration, Backend, Keys, Segments,
};
use zkinfer_verifier::{compare_claims, verify_dispute, Agreement, Bundle, Claim, FraudProof};

use crate::exit::Rejected;

#[derive(clap::Subcommand)]
pub enum OptimisticCommand {
    /// Claim what a model computes on an input, at the cost of its integer evaluation (no
    /// keys, no proving): each segment's digest and the Poseidon commitment of every boundary
    /// between segments. MODEL is a compiled model or a directory of shards from `split`
    /// (each shard a segment: a finer split makes a dispute cheaper).
    Claim {
        model: PathBuf,
        #[arg(long)]
        input: PathBuf,
        #[arg(short, long)]
        output: PathBuf,
        /// Each segment's key directory, in order: the claim then names their statement
        /// digests, and a fraud proof must be verified with exactly these keys.
        #[arg(long)]
        keys: Vec<PathBuf>,
        /// Who makes the claim (recorded, not checked).
        #[arg(long)]
        node: Option<String>,
        /// FOR TESTS AND DEMONSTRATIONS: make a dishonest claim, with DELTA added to value
        /// INDEX of segment SEGMENT's output (`SEGMENT:INDEX:DELTA`) and the later segments
        /// evaluated from the altered values.
        #[arg(long, value_name = "SEGMENT:INDEX:DELTA")]
        alter_activation: Option<String>,
        /// Evaluate this many times and print the median (benchmarks: a node holds the
        /// models in memory between requests).
        #[arg(long, default_value_t = 1)]
        repeat: usize,
    },
    /// Re-execute a claim's model on the input and compare: prints AGREE and exits 0, or
    /// names the first segment whose output differs and exits 1.
    CheckClaim {
        claim: PathBuf,
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        input: PathBuf,
    },
    /// Compare two nodes' claims of the same model and input without re-executing: exits 0
    /// when they agree at every boundary, 1 naming the first segment where they differ.
    CompareClaims { a: PathBuf, b: PathBuf },
    /// Prove the first segment a claim gets wrong, from the boundary where it is still right:
    /// a fraud proof anyone holding the input can make (the activations are recomputed).
    Dispute {
        claim: PathBuf,
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        input: PathBuf,
        /// The key directories: one per segment in order, or only the disputed segment's.
        #[arg(long, required = true)]
        keys: Vec<PathBuf>,
        #[arg(short, long)]
        output: PathBuf,
        #[arg(long)]
        srs: Option<PathBuf>,
        #[arg(long, default_value = "cpu")]
        backend: Backend,
    },
    /// Check a fraud proof against a claim with the disputed segment's keys: exits 0 when it
    /// shows the claim wrong, 1 (saying why) when it does not.
    VerifyDispute {
        claim: PathBuf,
        fraud_proof: PathBuf,
        /// The disputed segment's key directory (or its bundle.bin).
        #[arg(long)]
        keys: PathBuf,
    },
}

pub fn run(cmd: OptimisticCommand) -> Result<()> {
    match cmd {
        OptimisticCommand::Claim {
            model,
            input,
            output,
            keys,
            node,
            alter_activation,
            repeat,
        } => cmd_claim(
            &model,
            &input,
            &output,
            &keys,
            node,
            (alter_activation.as_deref(), repeat),
        ),
        OptimisticCommand::CheckClaim {
            claim,
            model,
            input,
        } => cmd_check(&claim, &model, &input),
        OptimisticCommand::CompareClaims { a, b } => {
            let (a, b) = (Claim::read(&a)?, Claim::read(&b)?);
            report(compare_claims(&a, &b)?, "the claims")
        }
        OptimisticCommand::Dispute {
            claim,
            model,
            input,
            keys,
            output,
            srs,
            backend,
        } => cmd_dispute(
            &claim,
            &model,
            &input,
            &keys,
            &output,
            srs.as_deref(),
            backend,
        ),
        OptimisticCommand::VerifyDispute {
            claim,
            fraud_proof,
            keys,
        } => {
            let claim = Claim::read(&claim)?;
            let fraud = FraudProof::read(&fraud_proof)?;
            let bundle = read_bundle(&keys)?;
            let t = Instant::now();
            let r = verify_dispute(&claim, &fraud, &bundle)?;
            println!(
                "FRAUD PROVEN: segment {} of the claim is wrong: it claims {}, the proof shows {} \
                 (verified in {:.0} ms)",
                r.segment,
                r.claimed.describe(),
                r.proven.describe(),
                t.elapsed().as_secs_f64() * 1e3
            );
            Ok(())
        }
    }
}

fn read_bundle(keys: &Path) -> Result<Bundle> {
    let file = match keys.is_dir() {
        true => keys.join(zkinfer_prover::BUNDLE_FILE),
        false => keys.to_path_buf(),
    };
    Ok(Bundle::read(&file)?)
}

fn parse_alteration(s: &str) -> Result<Alteration> {
    let parts: Vec<&str> = s.split(':').collect();
    let [seg, index, delta] = parts[..] else {
        bail!("--alter-activation takes SEGMENT:INDEX:DELTA, not `{s}`");
    };
    let num = |what: &str, v: &str| -> Result<i64> {
        v.trim()
            .parse::<i64>()
            .with_context(|| format!("--alter-activation: {what} `{v}` is not an integer"))
    };
    Ok(Alteration {
        segment: usize::try_from(num("SEGMENT", seg)?).context("--alter-activation: SEGMENT")?,
        index: usize::try_from(num("INDEX", index)?).context("--alter-activation: INDEX")?,
        delta: num("DELTA", delta)?,
    })
}

fn cmd_claim(
    model: &Path,
    input: &Path,
    output: &Path,
    keys: &[PathBuf],
    node: Option<String>,
    (alteration, repeat): (Option<&str>, usize),
) -> Result<()> {
    let alteration = alteration.map(parse_alteration).transpose()?;
    let t = Instant::now();
    let models = Segments::read(model)?;
    let inputs = read_inputs(input)?;
    let loaded = t.elapsed();
    let mut times = Vec::with_capacity(repeat.max(1));
    let mut claim = None;
    for _ in 0..repeat.max(1) {
        let t = Instant::now();
        claim = Some(evaluate(&models, &inputs, alteration)?.claim);
        times.push(t.elapsed());
    }
    times.sort();
    let evaluated = times[times.len() / 2];
    let mut claim = claim.context("no evaluation")?;
    if !keys.is_empty() {
        let bundles = keys
            .iter()
            .map(|k| read_bundle(k))
            .collect::<Result<Vec<_>>>()?;
        name_keys(&mut claim, &bundles.iter().collect::<Vec<_>>())?;
    }
    claim.node = node;
    std::fs::write(output, claim.to_json())
        .with_context(|| format!("writing {}", output.display()))?;
    if let Some(a) = alteration {
        eprintln!(
            "warning: a DISHONEST claim: value {} of segment {}'s output altered by {}",
            a.index, a.segment, a.delta
        );
    }
    let runs = match times.len() {
        1 => String::new(),
        n => format!(" (median of {n})"),
    };
    println!(
        "claimed {} segment(s) in {:.2} ms{runs} (models read in {:.1} ms): {}",
        models.len(),
        evaluated.as_secs_f64() * 1e3,
        loaded.as_secs_f64() * 1e3,
        output.display()
    );
    println!("claim digest: {}", claim.digest());
    if claim.outputs.iter().map(Vec::len).sum::<usize>() <= 16 {
        println!("output: {:?}", claim.outputs);
    }
    Ok(())
}

fn report(agreement: Agreement, what: &str) -> Result<()> {
    match agreement {
        Agreement::Agree => {
            println!("AGREE: {what} are the same at every boundary");
            Ok(())
        }
        Agreement::Differ { segment } => Err(Rejected(format!(
            "DISAGREE: {what} start from the same input and first differ at the output of \
             segment {segment} (boundary {}): a fraud proof of segment {segment} settles it",
            segment + 1
        ))
        .into()),
    }
}

fn cmd_check(claim: &Path, model: &Path, input: &Path) -> Result<()> {
    let claim = Claim::read(claim)?;
    let models = Segments::read(model)?;
    let inputs = read_inputs(input)?;
    let t = Instant::now();
    let honest = evaluate(&models, &inputs, None)?;
    let ms = t.elapsed().as_secs_f64() * 1e3;
    println!("re-executed {} segment(s) in {ms:.1} ms", models.len());
    report(
        compare_claims(&honest.claim, &claim)?,
        "the claim and this re-execution",
    )
}

fn cmd_dispute(
    claim_path: &Path,
    model: &Path,
    input: &Path,
    keys: &[PathBuf],
    output: &Path,
    srs: Option<&Path>,
    backend: Backend,
) -> Result<()> {
    if backend == Backend::Cuda && !zkinfer_prover::CUDA_BUILT {
        return Err(zkinfer_prover::built_without_cuda().into());
    }
    let claim = Claim::read(claim_path)?;
    let models = Segments::read(model)?;
    let inputs = read_inputs(input)?;
    let honest = evaluate(&models, &inputs, None)?;
    let Some(segment) = zkinfer_prover::disputed_segment(&honest, &claim)? else {
        return Err(Rejected(
            "the claim agrees with this re-execution at every boundary: nothing to dispute".into(),
        )
        .into());
    };
    let dir = match keys.len() {
        1 => &keys[0],
        n if n == models.len() => &keys[segment],
        n => bail!(
            "{n} --keys for {} segments: give one per segment, or only the disputed segment's",
            models.len()
        ),
    };
    let model: &CompiledModel = &models.models()[segment];
    println!(
        "the claim is first wrong at segment {segment}; proving it (k = {}, {} rows) with {}",
        model.settings.k,
        model.settings.rows,
        dir.display()
    );
    let keys = Keys::read(dir, model)?;
    let (params, info) = load_srs(model.settings.k, keys.srs_path(srs))?;
    crate::srs_note(info.insecure);
    let t = Instant::now();
    let fraud = zkinfer_prover::dispute(&models, &honest, &claim, &keys, &params, backend)?;
    std::fs::write(output, fraud.to_json())
        .with_context(|| format!("writing {}", output.display()))?;
    println!(
        "fraud proof of segment {segment} in {:.1} s: {}",
        t.elapsed().as_secs_f64(),
        output.display()
    );
    Ok(())
}
