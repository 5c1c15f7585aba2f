//! The smart-contract integrator's commands: export the Solidity verifier and the verifying
//! key, encode a proof as calldata, and check a proof in an in-process EVM.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use halo2_axiom::halo2curves::bn256::G1Affine;
use halo2_axiom::halo2curves::CurveAffine;
use zkinfer_verifier::evm::{self, EVM_CODE_LIMIT};
use zkinfer_verifier::{Bundle, ProofFile};

#[derive(clap::Subcommand)]
pub enum EvmCommand {
    /// Write what an integrator deploys: zkinfer's Solidity verifier (one contract for every
    /// model, to --output), the model's verifying-key contract, and the model's entry contract
    /// (to --entry, by default ZkinferEntry.sol beside --output), which pins both by address
    /// and code hash, bounds every public value and is the only contract to call. With
    /// --bytecode, the verifier's creation bytecode; with --key-bytecode, the key contract's;
    /// with --entry-bytecode, the entry's (its constructor takes the verifier's and the key
    /// contract's addresses). With --snark-verifier, snark-verifier's unrolled verifier of
    /// this model instead. Fails if a contract would exceed the EVM's 24,576-byte code limit.
    ExportVerifier {
        #[arg(long)]
        keys: PathBuf,
        #[arg(short, long)]
        output: PathBuf,
        #[arg(long)]
        entry: Option<PathBuf>,
        #[arg(long)]
        entry_bytecode: Option<PathBuf>,
        #[arg(long)]
        abi: Option<PathBuf>,
        #[arg(long)]
        bytecode: Option<PathBuf>,
        #[arg(long)]
        key_bytecode: Option<PathBuf>,
        /// Compile zkinfer's verifier without solc's optimizer (it is on by default).
        #[arg(long)]
        no_optimize: bool,
        #[arg(long)]
        snark_verifier: bool,
    },
    /// Write the verifying key for integrators who keep it apart from the contract: `json`
    /// (digests, k, instance count, commitments as hex, and the raw key) or `bin` (the raw
    /// halo2 key bytes).
    ExportVk {
        #[arg(long)]
        keys: PathBuf,
        #[arg(long, value_enum, default_value = "json")]
        format: VkFormat,
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Encode a proof as calldata (hex) of the entry contract's
    /// `verifyProof(uint256[] instances, bytes proof)`. With --key-address, the shared
    /// verifier's raw calldata instead (the key contract's address as a 32-byte word, the
    /// instances, the proof): that call trusts whatever key contract it names, so only the
    /// entry contract may make it. With --snark-verifier, snark-verifier's calldata.
    EncodeCalldata {
        #[arg(long)]
        proof: PathBuf,
        #[arg(short, long)]
        output: PathBuf,
        #[arg(long)]
        key_address: Option<String>,
        #[arg(long)]
        snark_verifier: bool,
    },
    /// Deploy the verifier, the model's key contract and its entry contract in an in-process
    /// EVM (revm), call the entry with the proof; prints the gas used (and the entry's
    /// overhead over a direct call of the verifier), the code sizes and the calldata size.
    /// Exits 0 only when the entry accepts.
    VerifyEvm {
        #[arg(long)]
        keys: PathBuf,
        #[arg(long)]
        proof: PathBuf,
        /// Compile zkinfer's verifier without solc's optimizer.
        #[arg(long)]
        no_optimize: bool,
        /// Check with snark-verifier's unrolled contract instead.
        #[arg(long)]
        snark_verifier: bool,
    },
    /// Write the optimistic-inference contract (ZkinferOptimistic.sol) for a split's shard
    /// keys in order (or one model's keys) to DIR, with zkinfer's verifier, each segment's
    /// entry contract (ZkinferEntry-<i>.sol), the contract's ABI and creation bytecode. Deploy
    /// the verifier, each key contract and entry as `export-verifier` says, then this contract
    /// with the entries' addresses, the bond (wei) and the challenge window (seconds). Refused
    /// for a model compiled with --evm (compile without it).
    ExportOptimistic {
        /// Each segment's key directory, in chain order.
        #[arg(long, required = true)]
        keys: Vec<PathBuf>,
        #[arg(short, long)]
        output: PathBuf,
        /// Compile zkinfer's verifier without solc's optimizer (its code hash is pinned).
        #[arg(long)]
        no_optimize: bool,
    },
    /// Encode a call of the optimistic contract as calldata (hex).
    EncodeOptimistic {
        #[command(subcommand)]
        call: OptimisticCall,
    },
}

/// The optimistic contract's calls.
#[derive(clap::Subcommand)]
pub enum OptimisticCall {
    /// `submit(input, inner, output)` of a claim file (send the bond with it).
    Submit {
        claim: PathBuf,
        #[arg(short, long)]
        output: PathBuf,
    },
    /// `challenge(id, input, inner, output, segment, instances, proof)`: claim ID (the claim
    /// file it was submitted from) refuted by a fraud proof from `zkinfer dispute`.
    Challenge {
        claim: PathBuf,
        #[arg(long)]
        id: u64,
        #[arg(long)]
        fraud_proof: PathBuf,
        #[arg(short, long)]
        output: PathBuf,
    },
    /// `finalize(id)`.
    Finalize {
        #[arg(long)]
        id: u64,
        #[arg(short, long)]
        output: PathBuf,
    },
    /// `isFinalOutput(id, input, output)` of a claim file (a view call).
    IsFinalOutput {
        claim: PathBuf,
        #[arg(long)]
        id: u64,
        #[arg(short, long)]
        output: PathBuf,
    },
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum VkFormat {
    Json,
    Bin,
}

fn bundle(keys: &Path) -> Result<Bundle> {
    Ok(Bundle::read(&keys.join(zkinfer_prover::BUNDLE_FILE))?)
}

fn write(path: &Path, bytes: impl AsRef<[u8]>) -> Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

fn write_hex(path: &Path, what: &str, bytes: &[u8]) -> Result<()> {
    write(path, format!("0x{}", hex::encode(bytes)))?;
    println!("{what} written to {}", path.display());
    Ok(())
}

fn export_snark(
    keys: &Path,
    output: &Path,
    abi: Option<PathBuf>,
    bytecode: Option<PathBuf>,
) -> Result<()> {
    let t = Instant::now();
    let (source, compiled) = evm::snark::verifier(&bundle(keys)?)?;
    write(output, &source)?;
    println!(
        "snark-verifier's verifier written to {} ({} bytes of runtime code of {EVM_CODE_LIMIT} allowed, {} of creation code); compiled in {:.1}s",
        output.display(),
        compiled.runtime.len(),
        compiled.deployment.len(),
        t.elapsed().as_secs_f64()
    );
    if let Some(path) = abi {
        write(&path, serde_json::to_vec_pretty(&compiled.abi)?)?;
        println!("ABI written to {}", path.display());
    }
    if let Some(path) = bytecode {
        write_hex(&path, "creation bytecode", &compiled.deployment)?;
    }
    Ok(())
}

fn parse_address(text: &str) -> Result<[u8; 20]> {
    let bytes = hex::decode(text.trim().trim_start_matches("0x"))
        .ok()
        .and_then(|b| <[u8; 20]>::try_from(b).ok());
    bytes.with_context(|| format!("--key-address {text}: expected 20 bytes of hex (0x…)"))
}

pub fn run(cmd: EvmCommand) -> Result<()> {
    match cmd {
        EvmCommand::ExportVerifier {
            keys,
            output,
            entry,
            entry_bytecode,
            abi,
            bytecode,
            key_bytecode,
            no_optimize,
            snark_verifier,
        } => {
            if snark_verifier {
                return export_snark(&keys, &output, abi, bytecode);
            }
            let t = Instant::now();
            let b = bundle(&keys)?;
            let key = evm::key(&b)?;
            let compiled = evm::verifier(!no_optimize)?;
            let pinned = evm::entry(&b, !no_optimize)?;
            write(&output, evm::VERIFIER_SOURCE)?;
            let entry = entry.unwrap_or_else(|| output.with_file_name("ZkinferEntry.sol"));
            write(&entry, &pinned.source)?;
            println!(
                "verifier written to {} ({} bytes of runtime code of {EVM_CODE_LIMIT} allowed, the same for every model); verifying-key contract: {} bytes; compiled in {:.1}s",
                output.display(),
                compiled.runtime.len(),
                key.runtime_code().len(),
                t.elapsed().as_secs_f64()
            );
            println!(
                "entry contract written to {} ({} bytes of runtime code): deploy it with the verifier's and the key contract's addresses and call only it (verifyProof(uint256[],bytes))",
                entry.display(),
                pinned.compiled.runtime.len()
            );
            println!(
                "  pinned code hashes: verifier 0x{}, key contract 0x{}",
                hex::encode(pinned.verifier_codehash),
                hex::encode(pinned.key_codehash)
            );
            println!(
                "  model {}\n  verifying key {}\n  statement digest {} (pin this)",
                b.header.model_digest,
                b.header.vk_digest,
                b.statement_digest()
            );
            if let Some(path) = entry_bytecode {
                write_hex(
                    &path,
                    "entry creation bytecode (append the two constructor arguments)",
                    &pinned.compiled.deployment,
                )?;
            }
            if let Some(path) = abi {
                write(&path, serde_json::to_vec_pretty(&compiled.abi)?)?;
                println!("ABI written to {}", path.display());
            }
            if let Some(path) = bytecode {
                write_hex(&path, "verifier creation bytecode", &compiled.deployment)?;
            }
            if let Some(path) = key_bytecode {
                write_hex(
                    &path,
                    "key contract creation bytecode",
                    &key.deployment_code(),
                )?;
            }
            Ok(())
        }
        EvmCommand::ExportOptimistic {
            keys,
            output,
            no_optimize,
        } => export_optimistic(&keys, &output, !no_optimize),
        EvmCommand::EncodeOptimistic { call } => encode_optimistic(call),
        EvmCommand::ExportVk {
            keys,
            format,
            output,
        } => {
            let b = bundle(&keys)?;
            match format {
                VkFormat::Bin => write(&output, b.vk_bytes())?,
                VkFormat::Json => write(&output, serde_json::to_vec_pretty(&vk_json(&b))?)?,
            }
            println!("verifying key written to {}", output.display());
            Ok(())
        }
        EvmCommand::EncodeCalldata {
            proof,
            output,
            key_address,
            snark_verifier,
        } => {
            let p = ProofFile::read(&proof)?;
            let data = match key_address {
                _ if snark_verifier => evm::snark::calldata(&p)?,
                Some(a) => evm::calldata(&parse_address(&a)?, &p)?,
                None => evm::entry::calldata(&p)?,
            };
            write(&output, format!("0x{}", hex::encode(&data)))?;
            println!(
                "calldata written to {} ({} bytes)",
                output.display(),
                data.len()
            );
            Ok(())
        }
        EvmCommand::VerifyEvm {
            keys,
            proof,
            no_optimize,
            snark_verifier,
        } => {
            let b = bundle(&keys)?;
            let p = ProofFile::read(&proof)?;
            if snark_verifier {
                let (_, compiled) = evm::snark::verifier(&b)?;
                let data = evm::snark::calldata(&p)?;
                let size = data.len();
                let gas = evm::snark::deploy_and_call(compiled.deployment, data)?;
                println!(
                    "proof ACCEPTED by snark-verifier's contract: {gas} gas used; runtime code {} bytes (limit {EVM_CODE_LIMIT}); calldata {size} bytes",
                    compiled.runtime.len()
                );
                return Ok(());
            }
            let r = evm::verify(&b, &p, !no_optimize)?;
            println!(
                "proof ACCEPTED by the entry contract: {} gas used ({} of them the entry's pins and bounds over a direct call of the verifier); runtime code {} bytes (verifier) + {} bytes (key contract) + {} bytes (entry), limit {EVM_CODE_LIMIT} each; calldata {} bytes",
                r.gas,
                r.gas.saturating_sub(r.direct_gas),
                r.verifier_code,
                r.key_code,
                r.entry_code,
                r.calldata
            );
            println!("statement digest {}", b.statement_digest());
            Ok(())
        }
    }
}

fn export_optimistic(keys: &[PathBuf], dir: &Path, optimize: bool) -> Result<()> {
    let t = Instant::now();
    let bundles = keys.iter().map(|k| bundle(k)).collect::<Result<Vec<_>>>()?;
    let refs: Vec<&Bundle> = bundles.iter().collect();
    let c = evm::optimistic::optimistic(&refs, optimize)?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    write(&dir.join("Halo2Verifier.sol"), evm::VERIFIER_SOURCE)?;
    for (i, s) in c.segments.iter().enumerate() {
        write(&dir.join(format!("ZkinferEntry-{i}.sol")), &s.entry.source)?;
    }
    write(&dir.join("ZkinferOptimistic.sol"), &c.source)?;
    write(
        &dir.join("ZkinferOptimistic.abi.json"),
        serde_json::to_vec_pretty(&c.compiled.abi)?,
    )?;
    write(
        &dir.join("ZkinferOptimistic.bin"),
        format!("0x{}", hex::encode(&c.compiled.deployment)),
    )?;
    println!(
        "optimistic contract for model {} ({} segment(s)) written to {} ({} bytes of runtime \
         code); compiled in {:.1}s",
        c.model_digest,
        c.segments.len(),
        dir.join("ZkinferOptimistic.sol").display(),
        c.compiled.runtime.len(),
        t.elapsed().as_secs_f64()
    );
    for (i, s) in c.segments.iter().enumerate() {
        println!(
            "  segment {i}: {} input word(s), {} output word(s), statement {}",
            s.input_words, s.output_words, s.statement_digest
        );
    }
    println!(
        "deploy: Halo2Verifier, each key contract and ZkinferEntry-<i> (export-verifier \
         --keys KEYDIR --key-bytecode/--entry-bytecode), then ZkinferOptimistic.bin with \
         constructor(address[] entries, uint256 bond, uint256 window)"
    );
    Ok(())
}

fn encode_optimistic(call: OptimisticCall) -> Result<()> {
    use evm::optimistic::{
        challenge_calldata, claim_words, finalize_calldata, is_final_output_calldata,
        submit_calldata,
    };
    use zkinfer_verifier::{Claim, FraudProof};
    let (data, output) = match call {
        OptimisticCall::Submit { claim, output } => (
            submit_calldata(&claim_words(&Claim::read(&claim)?)?),
            output,
        ),
        OptimisticCall::Challenge {
            claim,
            id,
            fraud_proof,
            output,
        } => {
            let words = claim_words(&Claim::read(&claim)?)?;
            let fraud = FraudProof::read(&fraud_proof)?;
            (challenge_calldata(id, &words, &fraud)?, output)
        }
        OptimisticCall::Finalize { id, output } => (finalize_calldata(id), output),
        OptimisticCall::IsFinalOutput { claim, id, output } => {
            let words = claim_words(&Claim::read(&claim)?)?;
            (is_final_output_calldata(id, &words), output)
        }
    };
    write(&output, format!("0x{}", hex::encode(&data)))?;
    println!(
        "calldata written to {} ({} bytes)",
        output.display(),
        data.len()
    );
    Ok(())
}

fn point(p: &G1Affine) -> serde_json::Value {
    let c: Option<_> = p.coordinates().into();
    match c {
        Some(c) => {
            let c: halo2_axiom::halo2curves::Coordinates<G1Affine> = c;
            let be = |f: &halo2_axiom::halo2curves::bn256::Fq| {
                use halo2_axiom::halo2curves::ff::PrimeField;
                let mut r = f.to_repr();
                r.reverse();
                format!("0x{}", hex::encode(r))
            };
            serde_json::json!([be(c.x()), be(c.y())])
        }
        None => serde_json::Value::Null,
    }
}

fn vk_json(b: &Bundle) -> serde_json::Value {
    let h = &b.header;
    serde_json::json!({
        "format": "zkinfer-vk",
        "model_digest": h.model_digest,
        "vk_digest": h.vk_digest,
        "k": h.settings.k,
        "num_instance": h.settings.instance_len(),
        "transcript": "keccak256",
        "fixed_commitments": b.vk.fixed_commitments().iter().map(point).collect::<Vec<_>>(),
        "permutation_commitments": b.vk.permutation().commitments().iter().map(point).collect::<Vec<_>>(),
        "halo2_vk": format!("0x{}", hex::encode(b.vk_bytes())),
    })
}
