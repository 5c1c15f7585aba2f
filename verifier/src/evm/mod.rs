//! On-chain verification (feature `evm`).
//!
//! **zkinfer's verifier** ([`VERIFIER_SOURCE`]): one contract for every model, with each
//! model's verifying key in its own data contract ([`key`]). Its code does not grow with the
//! model: it loops over instances, evaluations, commitments and query sets, and interprets the
//! constraint expression that the key holds. Calldata: `key address ‖ instances ‖ proof`.
//!
//! **snark-verifier's** ([`snark`]): the fully unrolled contract of snark-verifier 0.2.7, kept
//! as the reference the tests compare with. Calldata: `instances ‖ proof`.
//!
//! Both read the same proof bytes as [`crate::verify`] (Keccak-256 transcript,
//! [`crate::KeccakRead`]); solc 0.8.19 (the npm `solc` package, solcjs) compiles them and an
//! in-process EVM (revm) runs them.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use std::sync::Mutex;

use thiserror::Error;

use crate::{Bundle, ProofFile, VerifyError};

pub mod entry;
pub mod key;
pub mod optimistic;
mod revm;
pub mod snark;

pub use self::revm::{Call, Chain, DEFAULT_ACCOUNT};
pub use ::revm::primitives::{Address, U256};
pub use entry::{entry, Entry};
pub use key::Key;

/// The Solidity source of zkinfer's verifier (the same for every model).
pub const VERIFIER_SOURCE: &str = include_str!("Halo2Verifier.sol");

/// EIP-170: the largest runtime code a contract may have.
pub const EVM_CODE_LIMIT: usize = 24_576;

/// Why an on-chain step failed.
#[derive(Debug, Error)]
pub enum EvmError {
    #[error("solcjs (solc 0.8.19) not found: run `bash scripts/ensure-solc.sh` (npm install solc@0.8.19 into .tools/), put `solcjs` on PATH, or set ZKINFER_SOLCJS to it")]
    SolcMissing,
    #[error("solc failed: {0}")]
    Solc(String),
    #[error("the {what} has {size} bytes of runtime code, over the EVM limit of {limit} (EIP-170): it cannot be deployed. {hint}")]
    TooLarge {
        what: &'static str,
        size: usize,
        limit: usize,
        hint: &'static str,
    },
    #[error("the verifier contract did not deploy: {0}")]
    Deploy(String),
    #[error("the verifier contract rejected the proof: {0}")]
    Rejected(String),
    #[error(transparent)]
    Proof(#[from] VerifyError),
    #[error(transparent)]
    Key(#[from] key::KeyError),
    #[error("entry contract: {0}")]
    Entry(String),
    #[error("optimistic contract: {0}")]
    Optimistic(String),
}

/// A compiled verifier.
#[derive(Clone, Debug)]
pub struct Compiled {
    /// Creation code: what a deployment transaction carries.
    pub deployment: Vec<u8>,
    /// Runtime code: what the chain stores (EIP-170 limits its size).
    pub runtime: Vec<u8>,
    pub abi: serde_json::Value,
    /// Where the runtime code holds each immutable: per immutable (in declaration order),
    /// the byte offsets of its 32-byte copies (solc's `immutableReferences`).
    pub immutables: Vec<Vec<usize>>,
}

/// The solcjs executable: `ZKINFER_SOLCJS`, else `.tools/node_modules/.bin/solcjs` in the
/// current directory, the executable's directory or one of their parents, else `solcjs` on PATH.
pub fn find_solcjs() -> Result<PathBuf, EvmError> {
    if let Some(p) = std::env::var_os("ZKINFER_SOLCJS") {
        return Ok(PathBuf::from(p));
    }
    let rel = Path::new(".tools/node_modules/.bin/solcjs");
    let starts = [
        std::env::current_dir().ok(),
        std::env::current_exe()
            .ok()
            .and_then(|e| e.parent().map(Path::to_path_buf)),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR"))),
    ];
    for start in starts.into_iter().flatten() {
        if let Some(found) = start.ancestors().map(|d| d.join(rel)).find(|p| p.is_file()) {
            return Ok(found);
        }
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("solcjs"))
            .find(|p| p.is_file())
    });
    on_path.ok_or(EvmError::SolcMissing)
}

/// Runs solcjs's `compile` on a standard-JSON input in Node and writes the output to a file:
/// solcjs on a pipe exits before its stdout is flushed (output cut at 64 KiB).
const COMPILE_JS: &str = "const fs = require('fs'); \
    const solc = require(process.argv[1]); \
    fs.writeFileSync(process.argv[2], solc.compile(fs.readFileSync(0, 'utf8')));";

/// Compiles the contract named `contract` of `source` with solcjs through its standard-JSON
/// interface (snark-verifier's contract needs the optimizer off: with it on, "stack too deep").
pub fn compile_solidity(
    source: &str,
    contract: &str,
    optimize: bool,
) -> Result<Compiled, EvmError> {
    // `solcjs` is the package's `solc.js`; the package directory is the module.
    let solcjs = find_solcjs()?;
    let package = std::fs::canonicalize(&solcjs)
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .ok_or(EvmError::SolcMissing)?;
    let input = serde_json::json!({
        "language": "Solidity",
        "sources": { "Verifier.sol": { "content": source } },
        "settings": {
            "optimizer": { "enabled": optimize, "runs": 200 },
            "viaIR": optimize,
            "outputSelection": { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "evm.deployedBytecode.immutableReferences"] } }
        }
    });
    let out_file = std::env::temp_dir().join(format!(
        "zkinfer-solc-{}-{}.json",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    let mut child = Command::new("node")
        .arg("-e")
        .arg(COMPILE_JS)
        .arg(&package)
        .arg(&out_file)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| EvmError::Solc(format!("node (to run {}): {e}", solcjs.display())))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input.to_string().as_bytes())
            .map_err(|e| EvmError::Solc(e.to_string()))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| EvmError::Solc(e.to_string()))?;
    let text = std::fs::read_to_string(&out_file);
    let _ = std::fs::remove_file(&out_file);
    let text = text.map_err(|_| {
        EvmError::Solc(format!(
            "no output; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    })?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| EvmError::Solc(format!("bad JSON output: {e}")))?;
    if let Some(errors) = v["errors"].as_array() {
        let fatal: Vec<&str> = errors
            .iter()
            .filter(|e| e["severity"] == "error")
            .filter_map(|e| e["formattedMessage"].as_str())
            .collect();
        if !fatal.is_empty() {
            return Err(EvmError::Solc(fatal.join("\n")));
        }
    }
    let out = &v["contracts"]["Verifier.sol"][contract];
    let code = |field: &str| -> Result<Vec<u8>, EvmError> {
        out["evm"][field]["object"]
            .as_str()
            .and_then(|h| hex::decode(h).ok())
            .filter(|b| !b.is_empty())
            .ok_or_else(|| EvmError::Solc(format!("no {field} for {contract}")))
    };
    Ok(Compiled {
        deployment: code("bytecode")?,
        runtime: code("deployedBytecode")?,
        abi: out["abi"].clone(),
        immutables: immutable_references(&out["evm"]["deployedBytecode"]["immutableReferences"]),
    })
}

/// solc's `immutableReferences` (`{"<AST id>": [{"start", "length"}, …]}`) as the offsets of
/// each immutable's 32-byte copies, immutables in AST order (their declaration order).
fn immutable_references(refs: &serde_json::Value) -> Vec<Vec<usize>> {
    let mut ids: Vec<(u64, Vec<usize>)> = refs
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(id, places)| {
                    let starts = places
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|p| p["start"].as_u64().map(|s| s as usize))
                                .collect()
                        })
                        .unwrap_or_default();
                    (id.parse().unwrap_or(u64::MAX), starts)
                })
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids.into_iter().map(|(_, starts)| starts).collect()
}

/// zkinfer's verifier compiled (once per process and optimizer setting).
pub fn verifier(optimize: bool) -> Result<Compiled, EvmError> {
    static CACHE: Mutex<Vec<(bool, Compiled)>> = Mutex::new(Vec::new());
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, c)) = cache.iter().find(|(o, _)| *o == optimize) {
        return Ok(c.clone());
    }
    let compiled = compile_solidity(VERIFIER_SOURCE, "Halo2Verifier", optimize)?;
    cache.push((optimize, compiled.clone()));
    Ok(compiled)
}

/// The verifying-key contract of `bundle`'s model; refused when it could not be deployed.
pub fn key(bundle: &Bundle) -> Result<Key, EvmError> {
    let key = key::build(bundle)?;
    let size = key.runtime_code().len();
    if size > EVM_CODE_LIMIT {
        return Err(EvmError::TooLarge {
            what: "verifying-key contract",
            size,
            limit: EVM_CODE_LIMIT,
            hint: "It grows with the circuit's fixed columns and constraints: `zkinfer compile --evm` keeps the narrowest layout",
        });
    }
    Ok(key)
}

/// The calldata of `proof` for zkinfer's verifier: the key contract's address as a word, the
/// instances (32 big-endian bytes each), the proof bytes.
pub fn calldata(key_address: &[u8; 20], proof: &ProofFile) -> Result<Vec<u8>, VerifyError> {
    let mut data = vec![0u8; 12];
    data.extend(key_address);
    data.extend(snark::calldata(proof)?);
    Ok(data)
}

/// Sizes and gas of one proof checked on chain through the model's entry contract.
#[derive(Clone, Debug)]
pub struct Report {
    /// Runtime code of the verifier, of the key contract and of the entry contract (bytes).
    pub verifier_code: usize,
    pub key_code: usize,
    pub entry_code: usize,
    /// Gas of the verifying transaction through the entry (21,000 and the calldata included).
    pub gas: u64,
    /// Gas of the same proof sent to the verifier directly (the entry's overhead is the
    /// difference; the direct call trusts its caller's choice of key contract).
    pub direct_gas: u64,
    /// Calldata bytes of the call to the entry.
    pub calldata: usize,
}

/// The model's contracts deployed in an in-process EVM: zkinfer's verifier, the key contract
/// and the entry contract pinned to both.
pub struct Deployed {
    pub chain: Chain,
    pub verifier: Address,
    pub key: Address,
    pub entry: Address,
}

/// Deploys zkinfer's verifier, `bundle`'s key contract and its entry contract in a fresh
/// in-process EVM.
pub fn deploy(bundle: &Bundle, optimize: bool) -> Result<(Deployed, Entry), EvmError> {
    let compiled = verifier(optimize)?;
    let runtime = key(bundle)?.runtime_code();
    let entry = entry(bundle, optimize)?;
    let mut chain = Chain::new();
    let verifier_at = chain.deploy(compiled.deployment.clone())?;
    let key_at = chain.deploy(key::deployment_of(&runtime))?;
    let entry_at = chain.deploy(entry.deployment_code(verifier_at.as_ref(), key_at.as_ref()))?;
    Ok((
        Deployed {
            chain,
            verifier: verifier_at,
            key: key_at,
            entry: entry_at,
        },
        entry,
    ))
}

/// Whether `output` is the ABI word `true` (or the verifier's success word, the same bytes).
pub fn is_success(output: &[u8]) -> bool {
    output.len() == 32 && output[..31].iter().all(|&b| b == 0) && output[31] == 1
}

/// Deploys zkinfer's verifier, `bundle`'s key contract and its entry contract in a fresh
/// in-process EVM, then calls the entry with `proof`: the report when it accepts.
pub fn verify(bundle: &Bundle, proof: &ProofFile, optimize: bool) -> Result<Report, EvmError> {
    let (mut d, entry) = deploy(bundle, optimize)?;
    let data = entry::calldata(proof)?;
    let calldata_len = data.len();
    let call = d.chain.call(d.entry, data)?;
    if !is_success(&call.output) {
        return Err(EvmError::Rejected(
            "the entry contract returned no success word".into(),
        ));
    }
    // The same proof sent to the verifier directly, for the entry's overhead.
    let direct = d.chain.call(d.verifier, calldata(d.key.as_ref(), proof)?)?;
    Ok(Report {
        verifier_code: verifier(optimize)?.runtime.len(),
        key_code: key(bundle)?.runtime_code().len(),
        entry_code: entry.compiled.runtime.len(),
        gas: call.gas,
        direct_gas: direct.gas,
        calldata: calldata_len,
    })
}
