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
    /// Write the Solidity verifier of a model's keys; with --abi and --bytecode, also its ABI
    /// and creation bytecode (compiled with solc 0.8.19). Fails if the contract would exceed
    /// the EVM's 24,576-byte code limit.
    ExportVerifier {
        #[arg(long)]
        keys: PathBuf,
        #[arg(short, long)]
        output: PathBuf,
        #[arg(long)]
        abi: Option<PathBuf>,
        #[arg(long)]
        bytecode: Option<PathBuf>,
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
    /// Encode a proof as the verifier contract's calldata (hex): the public instances, 32
    /// big-endian bytes each, then the proof bytes.
    EncodeCalldata {
        #[arg(long)]
        proof: PathBuf,
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Compile the verifier with solc, deploy it in an in-process EVM (revm) and call it with
    /// the proof; prints the gas used and the runtime code size. Exits 0 only when the
    /// contract accepts.
    VerifyEvm {
        #[arg(long)]
        keys: PathBuf,
        #[arg(long)]
        proof: PathBuf,
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

pub fn run(cmd: EvmCommand) -> Result<()> {
    match cmd {
        EvmCommand::ExportVerifier {
            keys,
            output,
            abi,
            bytecode,
        } => {
            let t = Instant::now();
            let (source, compiled) = evm::verifier(&bundle(&keys)?)?;
            write(&output, &source)?;
            println!(
                "verifier written to {} ({} bytes of runtime code of {EVM_CODE_LIMIT} allowed, {} of creation code); compiled in {:.1}s",
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
                write(&path, format!("0x{}", hex::encode(&compiled.deployment)))?;
                println!("creation bytecode written to {}", path.display());
            }
            Ok(())
        }
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
        EvmCommand::EncodeCalldata { proof, output } => {
            let p = ProofFile::read(&proof)?;
            let data = evm::calldata(&p)?;
            write(&output, format!("0x{}", hex::encode(&data)))?;
            println!(
                "calldata written to {} ({} bytes)",
                output.display(),
                data.len()
            );
            Ok(())
        }
        EvmCommand::VerifyEvm { keys, proof } => {
            let b = bundle(&keys)?;
            let p = ProofFile::read(&proof)?;
            let (_, compiled) = evm::verifier(&b)?;
            let data = evm::calldata(&p)?;
            let gas = evm::deploy_and_call(compiled.deployment, data)?;
            println!(
                "proof ACCEPTED by the verifier contract: {gas} gas used; runtime code {} bytes (limit {EVM_CODE_LIMIT})",
                compiled.runtime.len()
            );
            Ok(())
        }
    }
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
