//! Deploys contracts in an in-process EVM (revm, the rules zkinfer's `verify-evm` uses) and
//! calls one of them: the benchmark's way to measure any verifier contract, EZKL's included.
//!
//! ```text
//! cargo run --release -p zkinfer-examples --example evm_run -- \
//!     --deploy verifier.hex [--deploy key.hex ...] --call 0 --calldata calldata.hex \
//!     [--address-of 1]
//! ```
//!
//! Each `--deploy` file holds creation bytecode as hex; `--call` picks the contract to call;
//! `--address-of N` puts contract N's address, as a 32-byte word, before the calldata. Prints
//! one JSON line: `{"ok", "gas", "output", "calldata_bytes", "error"}`; exits 1 on a revert.

use anyhow::{bail, Context, Result};
use zkinfer_verifier::evm::Chain;

fn hex_file(path: &str) -> Result<Vec<u8>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    hex::decode(text.trim().trim_start_matches("0x")).with_context(|| format!("{path}: not hex"))
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut deploy, mut call, mut calldata, mut address_of) = (Vec::new(), 0, None, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().context("a value after each flag");
        match a.as_str() {
            "--deploy" => deploy.push(hex_file(value()?)?),
            "--call" => call = value()?.parse()?,
            "--calldata" => calldata = Some(hex_file(value()?)?),
            "--address-of" => address_of = Some(value()?.parse::<usize>()?),
            other => bail!("unknown argument {other}"),
        }
    }
    let mut data = calldata.context("--calldata FILE")?;
    let mut chain = Chain::new();
    let addresses = deploy
        .into_iter()
        .map(|code| chain.deploy(code))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(i) = address_of {
        let a = addresses.get(i).context("--address-of: no such contract")?;
        let mut word = vec![0u8; 12];
        word.extend_from_slice(a.as_ref());
        word.extend(data);
        data = word;
    }
    let to = *addresses.get(call).context("--call: no such contract")?;
    let len = data.len();
    match chain.call(to, data) {
        Ok(c) => {
            println!(
                "{}",
                serde_json::json!({"ok": true, "gas": c.gas, "output": hex::encode(&c.output), "calldata_bytes": len})
            );
            Ok(())
        }
        Err(e) => {
            println!(
                "{}",
                serde_json::json!({"ok": false, "calldata_bytes": len, "error": e.to_string()})
            );
            std::process::exit(1)
        }
    }
}
