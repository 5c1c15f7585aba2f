//! `zkinfer`: compile an ONNX model to a circuit, set up keys, prove inferences, verify proofs.

mod audit;
#[cfg(feature = "evm")]
mod evm;
mod exit;
mod optimistic;
mod shard;
mod verify;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use zkinfer_circuits::WeightProducts;
use zkinfer_ir::{CompiledModel, ElemType};
use zkinfer_prover::{
    compile_with, load_srs, prove_trace, read_inputs, read_samples, reference_run, setup, Backend,
    Choice, CompileOptions, Keys, ReferenceRun, Target, DEFAULT_SCALES, INSECURE_WARNING,
};

#[derive(Parser)]
#[command(
    name = "zkinfer",
    version,
    about = "Verifiable neural-network inference with halo2 (KZG on BN254)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct ProveArgs {
    model: PathBuf,
    #[arg(long)]
    keys: PathBuf,
    /// The input (EZKL shape `{"input_data": [[...]]}`).
    #[arg(long, required_unless_present = "input_activations")]
    input: Option<PathBuf>,
    /// A shard's input: the activations file the previous shard's node wrote.
    #[arg(long, conflicts_with = "input")]
    input_activations: Option<PathBuf>,
    /// A shard's output for the next node: its quantized activations and their commitment.
    #[arg(long)]
    output_activations: Option<PathBuf>,
    #[arg(short, long)]
    output: PathBuf,
    #[arg(long)]
    srs: Option<PathBuf>,
    /// The ONNX file for the float reference (default: the one the model was compiled from).
    #[arg(long)]
    onnx: Option<PathBuf>,
    /// Skip the onnxruntime float reference.
    #[arg(long)]
    no_reference: bool,
    /// Where to prove: `cpu`, or `cuda` (an NVIDIA GPU; needs a build with the `cuda`
    /// feature). The proof is the same kind either way.
    #[arg(long, default_value = "cpu")]
    backend: Backend,
    /// Print where the proving time went (witness generation, MSM, NTT, quotient) and the GPU
    /// memory peak, from the CUDA prover's sections (the CPU prover reports none).
    #[arg(long)]
    profile: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Quantize an ONNX model and lay out its circuit.
    Compile {
        model: PathBuf,
        #[arg(short, long)]
        output: PathBuf,
        /// An input (EZKL shape `{"input_data": [[...]]}`) used for calibration.
        #[arg(long)]
        input: Option<PathBuf>,
        /// Calibration inputs: an input file, or `{"samples": [[...], ...]}`.
        #[arg(long)]
        calibrate: Vec<PathBuf>,
        /// Fractional bits of activations (default: the finest of 7 to 13 whose circuit is no
        /// larger, in k, than at 7).
        #[arg(long)]
        scale: Option<u32>,
        /// Headroom of the tables over the calibrated ranges, in bits (default: 2 with fewer
        /// than 16 calibration samples, else 1).
        #[arg(long)]
        margin_bits: Option<u32>,
        /// The largest rescale shift, in bits (default 24): weights are quantized no finer than
        /// this many bits below the activations. At the range table's limb width or under it,
        /// no remainder splits in two: a GPT-2 block at 19 keeps a 2^19-row range table.
        #[arg(long)]
        max_shift: Option<u32>,
        /// Choose the scale and headroom from the calibration samples: `accuracy` (smallest
        /// error against the float model) or `resources` (smallest circuit that keeps its
        /// predictions). Prints every candidate; overrides --scale and --margin-bits.
        #[arg(long, value_enum)]
        target: Option<TargetArg>,
        /// Lay the circuit out for a Solidity verifier: the public values are range-checked
        /// and packed several to an instance, since the contract grows by about 160 bytes per
        /// instance and must stay under the EVM's 24,576-byte limit.
        #[arg(long)]
        evm: bool,
        /// How products with constant matrices are proven: `auto` (Freivalds' check over the
        /// fixed weights where it saves rows, the direct map elsewhere) or `direct` (always the
        /// direct map; for measuring the check against it, `benches/freivalds_crossover.sh`).
        #[arg(long, value_enum, default_value = "auto")]
        products: ProductsArg,
        /// The shape of an input with symbolic dimensions (`dynamic_axes`), as
        /// `NAME=1x16`; repeatable. Dimensions it leaves open are fixed by --input's value
        /// counts (an input's last open dimension takes what its count leaves, the ones
        /// before it 1), the rest are 1. Compile prints what each became.
        #[arg(long, value_name = "NAME=DIMS", value_parser = parse_shape)]
        shape: Vec<NamedShape>,
    },
    /// Generate the proving key, verifying key and verifier bundle.
    Setup {
        model: PathBuf,
        #[arg(short, long)]
        output: PathBuf,
        /// A halo2-format KZG SRS file; without it a local, insecure SRS is used.
        #[arg(long)]
        srs: Option<PathBuf>,
        /// Also write `pk.cosets`: the proving key's polynomials on the quotient's cosets,
        /// which every proof otherwise recomputes (about a third of a large circuit's
        /// proving time). Large: 32 bytes × 4 × 2^k per fixed column and copy-enabled column
        /// (`zkinfer inspect` prints its size); `prove` reads it when it is there.
        #[arg(long)]
        precompute_cosets: bool,
    },
    /// Prove one inference.
    Prove(ProveArgs),
    /// Verify a proof; exits 0 only when it is valid for these keys (and, with --input, of
    /// that input). Prints the proven input's digest, and its values when small.
    Verify {
        #[arg(long)]
        keys: PathBuf,
        #[arg(long)]
        proof: PathBuf,
        /// The input (EZKL shape `{"input_data": [[...]]}`) the proof must be of: quantized
        /// as the prover quantizes it, it must equal the proven input (or give its commitment),
        /// else the first differing element is named.
        #[arg(long)]
        input: Option<PathBuf>,
        /// The statement digest to pin (`sha256:…`, from the model publisher, `inspect` on
        /// the keys or the entry contract's STATEMENT_DIGEST): keys whose verifying key,
        /// settings or SRS points differ are refused before the proof is read.
        #[arg(long)]
        digest: Option<String>,
    },
    /// Describe a model: ops, parameters, rows, k, columns, estimated proving cost. Given a
    /// key directory (or its bundle.bin): what a verifier reads and its statement digest.
    Inspect {
        model: PathBuf,
        /// Also where the rows go: per operator and part of its layout (a dry run of the
        /// layout; seconds for a large circuit)
        #[arg(long)]
        rows: bool,
    },
    #[cfg(feature = "evm")]
    #[command(flatten)]
    Evm(evm::EvmCommand),
    #[command(flatten)]
    Shard(shard::ShardCommand),
    #[command(flatten)]
    Optimistic(optimistic::OptimisticCommand),
    #[command(flatten)]
    Audit(audit::AuditCommand),
}

fn main() -> ExitCode {
    exit::default_sigpipe();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit::code(&e))
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Compile {
            model,
            output,
            input,
            calibrate,
            scale,
            margin_bits,
            max_shift,
            target,
            evm,
            products,
            shape,
        } => cmd_compile(
            &model,
            &output,
            (input.as_deref(), &calibrate, shape),
            (scale, margin_bits, max_shift),
            target,
            (evm, products),
        ),
        Command::Setup {
            model,
            output,
            srs,
            precompute_cosets,
        } => cmd_setup(&model, &output, srs.as_deref(), precompute_cosets),
        Command::Prove(args) => cmd_prove(&args),
        Command::Verify {
            keys,
            proof,
            input,
            digest,
        } => verify::cmd_verify(&keys, &proof, input.as_deref(), digest.as_deref()),
        Command::Inspect { model, rows } => cmd_inspect(&model, rows),
        #[cfg(feature = "evm")]
        Command::Evm(cmd) => evm::run(cmd),
        Command::Shard(cmd) => shard::run(cmd),
        Command::Optimistic(cmd) => optimistic::run(cmd),
        Command::Audit(cmd) => audit::run(cmd),
    }
}

fn secs(t: Instant) -> String {
    format!("{:.2}s", t.elapsed().as_secs_f64())
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum TargetArg {
    Accuracy,
    Resources,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum ProductsArg {
    Auto,
    Direct,
}

/// Prints every candidate quantization, marking the picked one.
fn print_choices(choices: &[Choice], picked: usize) {
    println!("candidates (calibrated on 3/4 of the samples, measured on the rest):");
    println!(
        "  scale  input  margin  shift   k     rows  est. prove  outside  max |err|  argmax agree"
    );
    for (i, c) in choices.iter().enumerate() {
        let mark = if i == picked { "  <- picked" } else { "" };
        match &c.failed {
            Some(why) => println!(
                "  {:>5}  {:>5}  {:>6}  {:>5}   unusable: {}",
                c.cfg.scale,
                c.cfg.input_scale.unwrap_or(c.cfg.scale),
                c.cfg.margin_bits,
                c.cfg.max_shift,
                why.lines().next().unwrap_or("")
            ),
            None => println!(
                "  {:>5}  {:>5}  {:>6}  {:>5}  {:>2}  {:>7}  {:>9.1}s  {:>7}  {:>9.5}  {:>11.1}%{mark}",
                c.cfg.scale,
                c.cfg.input_scale.unwrap_or(c.cfg.scale),
                c.cfg.margin_bits,
                c.cfg.max_shift,
                c.k,
                c.rows,
                c.estimated_prove_seconds,
                c.outside,
                c.max_abs_error,
                c.agreement
            ),
        }
    }
}

/// An input's name and its dimensions (`--shape NAME=1x16`).
type NamedShape = (String, Vec<usize>);

/// `NAME=1x16` (`--shape`): an input's name and its dimensions.
fn parse_shape(s: &str) -> std::result::Result<NamedShape, String> {
    let (name, dims) = s
        .rsplit_once('=')
        .ok_or_else(|| format!("`{s}`: expected NAME=DIMS, as input_ids=1x16"))?;
    let dims = dims
        .split(['x', 'X', ','])
        .map(|d| match d.trim().parse::<usize>() {
            Ok(v) if v > 0 => Ok(v),
            _ => Err(format!(
                "`{s}`: `{d}` is not a dimension (a positive integer; dimensions are joined by x)"
            )),
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    if name.is_empty() {
        return Err(format!("`{s}`: no input name before ="));
    }
    Ok((name.to_string(), dims))
}

fn cmd_compile(
    model: &Path,
    output: &Path,
    (input, calibrate, shapes): (Option<&Path>, &[PathBuf], Vec<NamedShape>),
    (scale, margin_bits, max_shift): (Option<u32>, Option<u32>, Option<u32>),
    target: Option<TargetArg>,
    (evm, products): (bool, ProductsArg),
) -> Result<()> {
    let t = Instant::now();
    let mut samples = Vec::new();
    if let Some(i) = input {
        samples.push(read_inputs(i)?);
    }
    for c in calibrate {
        samples.extend(read_samples(c)?);
    }
    let opts = CompileOptions {
        scale,
        margin_bits,
        max_shift,
        target: target.map(|t| match t {
            TargetArg::Accuracy => Target::Accuracy,
            TargetArg::Resources => Target::Resources,
        }),
        evm,
        products: match products {
            ProductsArg::Auto => WeightProducts::Auto,
            ProductsArg::Direct => WeightProducts::Direct,
        },
        shapes,
    };
    let c = compile_with(model, &samples, &opts)?;
    if let Some(picked) = c.picked {
        print_choices(&c.choices, picked);
    }
    c.model.write(output)?;
    let (cfg, plan) = (&c.cfg, &c.plan);
    println!(
        "compiled {} -> {} in {} ({} calibration sample(s){})",
        model.display(),
        output.display(),
        secs(t),
        samples.len(),
        if samples.is_empty() {
            ": none given, used uniform [-1, 1] inputs"
        } else {
            ""
        }
    );
    println!(
        "  scale 2^-{} (inputs 2^-{}{}), table headroom {} bit(s), k = {}, rows = {}, table rows = {}, lanes = {}, limbs of {} bits",
        cfg.scale,
        cfg.input_scale.unwrap_or(cfg.scale),
        match c.finest {
            true => format!(
                "; the finest of 2^-{}..2^-{} at this k",
                DEFAULT_SCALES.start(),
                DEFAULT_SCALES.end()
            ),
            false => String::new(),
        },
        cfg.margin_bits, plan.k, plan.rows, plan.table_rows, plan.lanes, plan.limb_bits
    );
    if !c.fixed.is_empty() {
        let fixed: Vec<String> = c.fixed.iter().map(ToString::to_string).collect();
        println!("  symbolic input dimensions fixed: {}", fixed.join(", "));
    }
    if plan.weight_lanes > 0 {
        println!(
            "  products with constant matrices: Freivalds' check where it saves rows, W·r over {} weights per row",
            plan.weight_lanes
        );
    }
    if evm {
        println!(
            "  public values packed for a Solidity verifier: {} instances for {} values",
            c.model.settings.instance_len(),
            c.model.settings.value_len()
        );
    }
    Ok(())
}

pub(crate) fn srs_note(insecure: bool) {
    if insecure {
        eprintln!("{INSECURE_WARNING}");
    }
}

fn cmd_setup(model: &Path, output: &Path, srs: Option<&Path>, cosets: bool) -> Result<()> {
    let compiled = CompiledModel::read(model)?;
    let t = Instant::now();
    let bar = spinner(&format!("loading the SRS (k = {})", compiled.settings.k));
    let (params, info) = load_srs(compiled.settings.k, srs)?;
    bar.finish_and_clear();
    srs_note(info.insecure);
    let t_srs = secs(t);
    let t = Instant::now();
    let bar = spinner("generating keys");
    let keys = setup(&compiled, &params, info)?;
    keys.write(output)?;
    bar.finish_and_clear();
    println!(
        "keys written to {} (SRS {t_srs}, keygen {})",
        output.display(),
        secs(t)
    );
    let cosets_path = output.join(zkinfer_prover::COSETS_FILE);
    if cosets {
        let t = Instant::now();
        let bar = spinner("computing the proving key's cosets");
        zkinfer_prover::write_cosets(&keys.pk, &keys.header.vk_digest, &cosets_path)?;
        bar.finish_and_clear();
        let size = std::fs::metadata(&cosets_path)
            .map(|m| m.len())
            .unwrap_or(0);
        println!(
            "  the proving key's cosets: {} ({:.1} MB, {})",
            cosets_path.display(),
            size as f64 / 1e6,
            secs(t)
        );
    } else if cosets_path.exists() {
        std::fs::remove_file(&cosets_path)
            .with_context(|| format!("removing the previous keys' {}", cosets_path.display()))?;
        println!("  removed the previous keys' {}", cosets_path.display());
    }
    println!(
        "  verifier bundle: {}",
        output.join(zkinfer_prover::BUNDLE_FILE).display()
    );
    Ok(())
}

fn spinner(msg: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(msg.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// Values as their element type: integers and booleans exactly, floats to 4 places.
pub(crate) fn fmt_typed(v: &[f32], t: ElemType) -> String {
    let items: Vec<String> = v
        .iter()
        .map(|&x| match t {
            ElemType::Bool => (x != 0.0).to_string(),
            t if t.is_exact() => format!("{}", x as i64),
            _ => format!("{x:.4}"),
        })
        .collect();
    format!("[{}]", items.join(", "))
}

fn cmd_prove(a: &ProveArgs) -> Result<()> {
    let (model, backend) = (a.model.as_path(), a.backend);
    if backend == Backend::Cuda && !zkinfer_prover::CUDA_BUILT {
        return Err(zkinfer_prover::built_without_cuda().into());
    }
    let compiled = CompiledModel::read(model)?;
    zkinfer_prover::check_backend(backend, &compiled.settings)?;
    shard::check_prove_args(&compiled, a)?;
    let (trace, reference) = match (&a.input, &a.input_activations) {
        (_, Some(acts)) => (shard::trace_from_activations(&compiled, acts)?, None),
        (Some(input), None) => {
            let inputs = read_inputs(input)?;
            let reference = match compiled.settings.shard.is_some() || a.no_reference {
                true => None,
                false => Some(float_reference(&compiled, a, &inputs)),
            };
            (zkinfer_prover::witness(&compiled, &inputs)?, reference)
        }
        (None, None) => bail!("pass --input (or a shard's --input-activations)"),
    };
    let trace = std::sync::Arc::new(trace);
    // The next node can start as soon as it has the activations: they go out before the proof.
    let handed_on = shard::hand_on(&compiled, &trace, a.output_activations.as_deref())?;
    let keys = Keys::read(&a.keys, &compiled)?;
    if keys.pk.has_key_cosets() {
        println!(
            "using the proving key's precomputed cosets ({})",
            a.keys.join(zkinfer_prover::COSETS_FILE).display()
        );
    }
    let t = Instant::now();
    let (params, info) = load_srs(compiled.settings.k, keys.srs_path(a.srs.as_deref()))?;
    srs_note(info.insecure);
    let bar = spinner(&format!(
        "proving (k = {}, {} rows)",
        compiled.settings.k, compiled.settings.rows
    ));
    let profiler = a.profile.then(zkinfer_prover::SectionProfiler::default);
    if let Some(p) = &profiler {
        p.install().map_err(|e| anyhow::anyhow!("--profile: {e}"))?;
    }
    let proof = prove_trace(backend, &compiled, &keys, &params, trace.clone(), reference)?;
    bar.finish_and_clear();
    if let Some(p) = &profiler {
        print!("prover sections ({backend}):\n{}", p.sections().report());
    }
    let prove_ms = t.elapsed().as_secs_f64() * 1e3;
    std::fs::write(&a.output, proof.to_json())
        .with_context(|| format!("writing {}", a.output.display()))?;
    let types: Vec<ElemType> = compiled.settings.outputs.iter().map(|o| o.dtype).collect();
    for (i, o) in proof.outputs.iter().enumerate() {
        let t = types.get(i).copied().unwrap_or_default();
        println!("proven output {i}:      {}", fmt_typed(o, t));
    }
    if let Some(r) = &proof.reference {
        for (i, o) in r.outputs.iter().enumerate() {
            let t = types.get(i).copied().unwrap_or_default();
            println!("onnxruntime output {i}: {} (unverified)", fmt_typed(o, t));
        }
        match &r.error {
            Some(reason) => println!("onnxruntime reference: not computed ({reason})"),
            None => println!("max |proven - onnxruntime| = {:.6}", r.max_abs_error),
        }
    }
    shard::report_prove(&compiled, &proof, handed_on.as_ref());
    if !compiled.settings.commits_inputs() {
        // What `verify` prints as the proven input's digest.
        let q: Vec<Vec<i64>> = compiled
            .graph
            .inputs
            .iter()
            .map(|&i| trace.values[i].data().to_vec())
            .collect();
        println!("proven input digest: {}", zkinfer_ir::inputs_digest(&q));
    }
    println!(
        "proof written to {} ({} bytes); proved in {prove_ms:.1} ms on {backend} (SRS load included)",
        a.output.display(),
        proof.proof.len() / 2 - 1
    );
    Ok(())
}

/// The onnxruntime reference beside the proof (unverified): when it fails, a warning says
/// why, the proof file records it, and the proof is made anyway.
fn float_reference(compiled: &CompiledModel, a: &ProveArgs, inputs: &[Vec<f32>]) -> ReferenceRun {
    let t = Instant::now();
    let run = reference_run(compiled, &a.model, a.onnx.as_deref(), inputs);
    match &run.1 {
        Ok(_) => println!("onnxruntime reference in {}", secs(t)),
        Err(reason) => eprintln!("warning: no onnxruntime reference: {reason}; proving anyway"),
    }
    run
}

fn cmd_inspect(path: &Path, rows: bool) -> Result<()> {
    if path.is_dir()
        || path
            .file_name()
            .is_some_and(|n| n == zkinfer_prover::BUNDLE_FILE)
    {
        return verify::inspect_keys(path);
    }
    print!("{}", zkinfer_prover::inspect(path)?);
    if rows {
        let compiled = match path.extension().is_some_and(|e| e == "onnx") {
            true => zkinfer_prover::compile(path, &[], &zkinfer_onnx::QuantConfig::default())?.0,
            false => zkinfer_ir::CompiledModel::read(path)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
        };
        print!(
            "{}",
            zkinfer_prover::format_row_parts(&zkinfer_prover::row_parts(&compiled)?, 16)
        );
    }
    Ok(())
}
