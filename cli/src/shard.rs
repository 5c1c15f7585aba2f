//! The decentralized network's commands: split a compiled model into shards for several
//! nodes, and verify the chain of their proofs. Proving a shard is `zkinfer prove` with
//! `--input-activations` / `--output-activations`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use zkinfer_ir::{CompiledModel, Trace};
use zkinfer_prover::{cut_points, read_inputs, split_model, witness_quantized, Activations, Cuts};
use zkinfer_verifier::{Bundle, ChainVerifier, ComputedFrom, ProofFile, VerifiedOutput};

use crate::ProveArgs;

#[derive(clap::Subcommand)]
pub enum ShardCommand {
    /// Split a compiled model into shards of consecutive nodes, each an ordinary compiled
    /// model (`zkinfer setup` and `zkinfer prove` per shard). Between shards the activations
    /// stay off-chain: each inner boundary is one public Poseidon commitment.
    Split {
        model: PathBuf,
        /// Shards of about equal estimated proving cost.
        #[arg(long, conflicts_with = "at", required_unless_present_any = ["at", "list"])]
        shards: Option<usize>,
        /// Cut after each of these nodes: names as `--list` prints them (after the last node
        /// of that name), or `#N` (after node N).
        #[arg(long, value_delimiter = ',')]
        at: Vec<String>,
        /// Print the nodes and their layout rows, and where a cut may fall; writes nothing.
        #[arg(long)]
        list: bool,
        /// Directory for `shard-0.zkc`, `shard-1.zkc`, …
        #[arg(short, long, required_unless_present = "list")]
        output: Option<PathBuf>,
        /// Keep the model's input private: the first shard exposes only its Poseidon
        /// commitment (`verify-chain --input FILE` checks it against an input).
        #[arg(long)]
        hash_input: bool,
    },
    /// Verify a chain of shard proofs: each proof with its shard's keys, in order, and every
    /// hand-off (the commitment out of shard i equals the one into shard i + 1). Exits 0 only
    /// when the whole chain holds.
    VerifyChain {
        /// Keys of each shard, in order (repeat once per shard).
        #[arg(long)]
        keys: Vec<PathBuf>,
        /// Proof of each shard, in the same order.
        #[arg(long)]
        proof: Vec<PathBuf>,
        /// A JSON manifest `{"chain": [{"keys": DIR, "proof": FILE}, ...]}` instead (paths
        /// relative to the manifest).
        #[arg(long, conflicts_with_all = ["keys", "proof"])]
        manifest: Option<PathBuf>,
        /// The input (EZKL's JSON) the chain must have proven: quantized as the prover
        /// quantizes it, it must equal the first proof's public input (the first differing
        /// element is named), or give its commitment when split with `--hash-input`.
        #[arg(long)]
        input: Option<PathBuf>,
        /// A shard this verifier computes itself instead of checking its proof: its compiled
        /// model (`shard-N.zkc`, from the model's publisher; repeatable). The first shard is
        /// computed from --input, a later one from the activations handed into it
        /// (--activations), whose commitment must be the one the previous proof made. The
        /// chain proves the same outputs; this verifier does the shard's arithmetic (for a
        /// language model's embedding and head: milliseconds here, minutes to prove).
        #[arg(long)]
        compute: Vec<PathBuf>,
        /// The activations handed into a computed shard: the previous node's
        /// `--output-activations` file (repeatable; matched by the shard that wrote it).
        #[arg(long)]
        activations: Vec<PathBuf>,
    },
    /// Evaluate a shard without proving it and write the activations the next node takes:
    /// for a shard every verifier computes itself (`verify-chain --compute`).
    Evaluate {
        model: PathBuf,
        /// The model's input (the first shard).
        #[arg(long, required_unless_present = "input_activations")]
        input: Option<PathBuf>,
        /// The activations the previous shard's node wrote (a later shard).
        #[arg(long, conflicts_with = "input")]
        input_activations: Option<PathBuf>,
        /// Where to write this shard's activations for the next node.
        #[arg(long)]
        output_activations: PathBuf,
    },
}

pub fn run(cmd: ShardCommand) -> Result<()> {
    match cmd {
        ShardCommand::Split {
            model,
            shards,
            at,
            list,
            output,
            hash_input,
        } => {
            if list {
                return cmd_list(&model);
            }
            let cuts = match shards {
                Some(n) => Cuts::Balanced(n),
                None => Cuts::At(at),
            };
            let dir = output.context("pass -o DIR")?;
            cmd_split(&model, &cuts, hash_input, &dir)
        }
        ShardCommand::VerifyChain {
            keys,
            proof,
            manifest,
            input,
            compute,
            activations,
        } => {
            let links = match manifest {
                Some(m) => read_manifest(&m)?,
                None => {
                    if keys.len() != proof.len() {
                        bail!(
                            "{} --keys but {} --proof: give one of each per shard, in order",
                            keys.len(),
                            proof.len()
                        );
                    }
                    keys.into_iter().zip(proof).collect()
                }
            };
            cmd_verify_chain(&links, &compute, &activations, input.as_deref())
        }
        ShardCommand::Evaluate {
            model,
            input,
            input_activations,
            output_activations,
        } => cmd_evaluate(
            &model,
            input.as_deref(),
            input_activations.as_deref(),
            &output_activations,
        ),
    }
}

fn cmd_evaluate(
    model: &Path,
    input: Option<&Path>,
    input_activations: Option<&Path>,
    output: &Path,
) -> Result<()> {
    let compiled = CompiledModel::read(model)?;
    let Some(s) = &compiled.settings.shard else {
        bail!(
            "{} is not a shard: `evaluate` writes a shard's activations for the next node",
            model.display()
        );
    };
    if !s.commits_outputs() {
        bail!(
            "{} is the last shard: it hands nothing on (its outputs are the chain's)",
            model.display()
        );
    }
    let trace = match (input, input_activations) {
        (_, Some(acts)) if s.index > 0 => trace_from_activations(&compiled, acts)?,
        (Some(x), None) if s.index == 0 => zkinfer_prover::witness(&compiled, &read_inputs(x)?)?,
        _ if s.index == 0 => bail!(
            "{} is the first shard: it takes the model's input (--input FILE)",
            model.display()
        ),
        _ => bail!(
            "{} is shard {} of {}: it takes the previous node's activations (--input-activations FILE)",
            model.display(),
            s.index,
            s.count
        ),
    };
    hand_on(&compiled, &trace, Some(output))?;
    Ok(())
}

fn cmd_list(model: &Path) -> Result<()> {
    let compiled = CompiledModel::read(model)?;
    let points = cut_points(&compiled)?;
    println!("node  name                                     op         shape          rows  a cut after it hands on");
    for (id, (n, p)) in compiled.graph.nodes.iter().zip(&points).enumerate() {
        let shape = format!("{:?}", n.shape);
        let hand_on = match (id + 1 == points.len(), p.packed) {
            (true, _) => "(the model's output)".to_string(),
            (false, true) => format!("{} values, packed: {} rows", p.values, p.commit_rows),
            (false, false) => format!("{} values, unpacked: {} rows", p.values, p.commit_rows),
        };
        println!(
            "#{id:<4} {:<40} {:<10} {shape:<12} {:>6}  {hand_on}",
            n.name,
            n.op.name(),
            p.rows
        );
    }
    Ok(())
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

fn cmd_split(model: &Path, cuts: &Cuts, hash_input: bool, dir: &Path) -> Result<()> {
    let compiled = CompiledModel::read(model)?;
    let shards = split_model(&compiled, cuts, hash_input)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let whole = zkinfer_circuits::plan(&compiled.graph, &compiled.settings.table)?;
    println!(
        "unsharded: k = {}, {} rows, estimated proving {:.1}s and {:.0} MiB ({cores} cores)",
        whole.k,
        whole.rows,
        whole.estimated_prove_seconds(cores),
        mib(whole.estimated_prove_bytes())
    );
    println!("shard  nodes                                  k   rows    in → out values   est. prove   est. memory  file");
    for (i, s) in shards.iter().enumerate() {
        let path = dir.join(format!("shard-{i}.zkc"));
        s.model.write(&path)?;
        let g = &compiled.graph;
        let span = format!(
            "#{}-{} ({}..{})",
            s.nodes.0,
            s.nodes.1 - 1,
            g.nodes[s.nodes.0].name,
            g.nodes[s.nodes.1 - 1].name
        );
        let count = |ts: &[zkinfer_ir::TensorInfo]| ts.iter().map(|t| t.len()).sum::<usize>();
        let (vin, vout) = (
            count(&s.model.settings.inputs),
            count(&s.model.settings.outputs),
        );
        println!(
            "{i:>5}  {span:<38} {:>2} {:>6}  {vin:>7} → {vout:<7} {:>9.1}s {:>9.0} MiB  {}",
            s.plan.k,
            s.plan.rows,
            s.plan.estimated_prove_seconds(cores),
            mib(s.plan.estimated_prove_bytes()),
            path.display()
        );
    }
    Ok(())
}

/// Refuses argument combinations that cannot make a usable shard proof, before any work.
pub fn check_prove_args(model: &CompiledModel, a: &ProveArgs) -> Result<()> {
    let Some(s) = &model.settings.shard else {
        if a.input_activations.is_some() || a.output_activations.is_some() {
            bail!(
                "{} is not a shard: --input-activations and --output-activations are for models made by `zkinfer split`",
                a.model.display()
            );
        }
        return Ok(());
    };
    if s.index == 0 && a.input_activations.is_some() {
        bail!(
            "{} is the first shard: it takes the model's input (--input FILE), not activations",
            a.model.display()
        );
    }
    if s.index > 0 && a.input_activations.is_none() {
        bail!(
            "{} is shard {} of {}: it takes the previous node's activations (--input-activations FILE)",
            a.model.display(),
            s.index,
            s.count
        );
    }
    if s.commits_outputs() && a.output_activations.is_none() {
        bail!(
            "{} is shard {} of {}: its outputs go to the next node (--output-activations FILE)",
            a.model.display(),
            s.index,
            s.count
        );
    }
    Ok(())
}

/// The integer reference of a shard on the activations in `path`.
pub fn trace_from_activations(model: &CompiledModel, path: &Path) -> Result<Trace> {
    let acts = Activations::read(path)?;
    let inputs = acts.inputs_for(model, &path.display().to_string())?;
    Ok(witness_quantized(model, &inputs)?)
}

/// Before a shard's proof: its activations, written for the next node (`--output-activations`)
/// as soon as the witness is computed, so that the next node need not wait for this proof. Its
/// output commitment is in them; `None` for an unsharded model.
pub fn hand_on(
    model: &CompiledModel,
    trace: &Trace,
    output_activations: Option<&Path>,
) -> Result<Option<Activations>> {
    if model.settings.shard.is_none() {
        return Ok(None);
    }
    let acts = Activations::from_trace(model, trace);
    if let Some(path) = output_activations {
        acts.write(path)?;
        println!(
            "activations for the next node written to {} ({} values), before proving",
            path.display(),
            acts.tensors.iter().map(|t| t.values.len()).sum::<usize>()
        );
    }
    Ok(Some(acts))
}

/// After a shard proof: the commitments it exposes.
pub fn report_prove(model: &CompiledModel, proof: &ProofFile, acts: Option<&Activations>) {
    let (Some(s), Some(acts)) = (&model.settings.shard, acts) else {
        return;
    };
    let column = proof.instances.first().map_or(&[][..], |c| c.as_slice());
    if s.commits_inputs() {
        if let Some(c) = column.first() {
            println!("input commitment:  {c}");
        }
    }
    if s.commits_outputs() {
        println!("output commitment: {}", acts.commitment);
    }
}

pub fn report_commitments(out: &VerifiedOutput) {
    if let Some(c) = &out.input_commitment {
        println!("input commitment:  {c}");
    }
    if let Some(c) = &out.output_commitment {
        println!("output commitment: {c}");
    }
}

fn read_manifest(path: &Path) -> Result<Vec<(PathBuf, PathBuf)>> {
    #[derive(Deserialize)]
    struct Link {
        keys: PathBuf,
        proof: PathBuf,
    }
    #[derive(Deserialize)]
    struct Manifest {
        chain: Vec<Link>,
    }
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let m: Manifest = serde_json::from_slice(&bytes)
        .with_context(|| format!("{}: not a chain manifest", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    Ok(m.chain
        .into_iter()
        .map(|l| (base.join(l.keys), base.join(l.proof)))
        .collect())
}

fn cmd_verify_chain(
    links: &[(PathBuf, PathBuf)],
    compute: &[PathBuf],
    activations: &[PathBuf],
    input: Option<&Path>,
) -> Result<()> {
    let t = Instant::now();
    // The shards computed here, by their place in the chain; the proven links fill the rest
    // in order.
    let mut computed: BTreeMap<usize, (&PathBuf, CompiledModel)> = BTreeMap::new();
    for path in compute {
        let m = CompiledModel::read(path)?;
        let Some(index) = m.settings.shard.as_ref().map(|s| s.index) else {
            bail!(
                "--compute {}: not a shard (a model made by `zkinfer split`)",
                path.display()
            );
        };
        if computed.insert(index, (path, m)).is_some() {
            bail!("--compute: shard {index} given twice");
        }
    }
    // Activations by the shard that wrote them.
    let mut handed: BTreeMap<usize, (&PathBuf, Activations)> = BTreeMap::new();
    for path in activations {
        let a = Activations::read(path)?;
        let Some(from) = a.shard else {
            bail!(
                "--activations {}: not a shard's activations",
                path.display()
            );
        };
        handed.insert(from, (path, a));
    }
    let total = links.len() + computed.len();
    // One shard's keys in memory at a time: each link is read, checked and dropped.
    let mut chain = ChainVerifier::new(total);
    let (mut first_settings, mut insecure) = (None, false);
    let mut proven = links.iter();
    for position in 0..total {
        if let Some((path, m)) = computed.remove(&position) {
            match position {
                0 => {
                    let Some(input) = input else {
                        bail!(
                            "--compute {}: the first shard is computed from the chain's input; pass --input FILE",
                            path.display()
                        );
                    };
                    chain.push_computed(&m, ComputedFrom::Input(&read_inputs(input)?))?;
                }
                _ => {
                    let Some((apath, a)) = handed.get(&(position - 1)) else {
                        bail!(
                            "--compute {}: shard {position} is computed from the activations shard {} handed on; pass them with --activations FILE",
                            path.display(),
                            position - 1
                        );
                    };
                    let values: Vec<Vec<i64>> = a
                        .inputs_for(&m, &apath.display().to_string())?
                        .iter()
                        .map(|t| t.data().to_vec())
                        .collect();
                    chain.push_computed(&m, ComputedFrom::Handoff(&values))?;
                }
            }
            first_settings.get_or_insert(m.settings);
            continue;
        }
        let Some((keys, proof)) = proven.next() else {
            bail!("the chain has {total} links but no proof or --compute for shard {position}");
        };
        let bundle = Bundle::read(&keys.join(zkinfer_prover::BUNDLE_FILE))?;
        let p = ProofFile::read(proof)?;
        chain.push(&bundle, &p)?;
        insecure |= bundle.header.srs.insecure;
        first_settings.get_or_insert(bundle.header.settings);
    }
    if let Some((index, (path, _))) = computed.into_iter().next() {
        bail!(
            "--compute {}: shard {index} is past the chain's {total} links",
            path.display()
        );
    }
    let out = chain.finish()?;
    if let Some(first) = &first_settings {
        crate::verify::check_input(first, &out, input)?;
    }
    let ms = t.elapsed().as_secs_f64() * 1e3;
    if insecure {
        eprintln!("{}", zkinfer_prover::INSECURE_WARNING);
    }
    match compute.len() {
        0 => println!(
            "chain of {} proofs is VALID; verified in {ms:.2} ms (reading every bundle and proof included)",
            links.len()
        ),
        c => println!(
            "chain of {total} shards is VALID: {} proofs verified and {c} shard(s) computed here, in {ms:.2} ms (reading every file included)",
            links.len()
        ),
    }
    for (i, o) in out.outputs.iter().enumerate() {
        let items: Vec<String> = o.iter().map(|x| format!("{x:.4}")).collect();
        println!("verified output {i}: [{}]", items.join(", "));
    }
    if let Some(first) = &first_settings {
        crate::verify::report_inputs(first, &out);
    }
    Ok(())
}
