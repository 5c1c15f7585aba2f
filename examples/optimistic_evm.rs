//! The optimistic-inference contract end to end in an in-process EVM (revm): deploys zkinfer's
//! verifier, each segment's key and entry contracts and `ZkinferOptimistic`, submits an honest
//! node's claim and a cheating node's claim with their bonds, slashes the cheat with a fraud
//! proof from `zkinfer dispute`, and finalizes the honest claim after the window; prints each
//! step's time and gas. `examples/optimistic.sh` runs it.
//!
//! ```text
//! cargo run --release -p zkinfer-examples --example optimistic_evm -- \
//!     --keys keys-0 --keys keys-1 --keys keys-2 \
//!     --honest honest.json --cheat cheat.json --fraud-proof fraud.json
//! ```

use std::time::Instant;

use anyhow::{bail, ensure, Context, Result};
use zkinfer_verifier::evm::optimistic::{
    challenge_calldata, claim_id, finalize_calldata, is_final_output_calldata, optimistic,
    submit_calldata,
};
use zkinfer_verifier::evm::{is_success, Address, Chain, U256};
use zkinfer_verifier::{Bundle, Claim, FraudProof};

const WINDOW: u64 = 24 * 3600;

fn ether(x: U256) -> String {
    let wei = U256::from(10u64).pow(U256::from(15u64));
    format!(
        "{:.3} ETH",
        (x / wei).saturating_to::<u64>() as f64 / 1000.0
    )
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut keys, mut honest, mut cheat, mut fraud) = (Vec::new(), None, None, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().context("a value after each flag");
        match a.as_str() {
            "--keys" => keys.push(value()?.clone()),
            "--honest" => honest = Some(value()?.clone()),
            "--cheat" => cheat = Some(value()?.clone()),
            "--fraud-proof" => fraud = Some(value()?.clone()),
            other => bail!("unknown argument {other}"),
        }
    }
    let bundles = keys
        .iter()
        .map(|k| Bundle::read(&std::path::Path::new(k).join("bundle.bin")))
        .collect::<Result<Vec<_>, _>>()?;
    let honest = Claim::read(honest.context("--honest CLAIM")?.as_ref())?;
    let cheat = Claim::read(cheat.context("--cheat CLAIM")?.as_ref())?;
    let fraud = FraudProof::read(fraud.context("--fraud-proof FILE")?.as_ref())?;

    let t = Instant::now();
    let refs: Vec<&Bundle> = bundles.iter().collect();
    let contract = optimistic(&refs, true)?;
    println!(
        "generated and compiled ZkinferOptimistic for {} segment(s): {} bytes of runtime code ({:.1}s)",
        contract.segments.len(),
        contract.compiled.runtime.len(),
        t.elapsed().as_secs_f64()
    );
    let bond = U256::from(10u64).pow(U256::from(18u64));
    let mut chain = Chain::new();
    let t = Instant::now();
    let d = contract.deploy(&mut chain, bond, WINDOW)?;
    println!(
        "deployed the verifier, {} key contract(s), {} entry contract(s) and ZkinferOptimistic at {} (bond {}, window {WINDOW} s) ({} ms)",
        d.keys.len(),
        d.entries.len(),
        d.contract,
        ether(bond),
        t.elapsed().as_millis()
    );
    let (node, cheater, watcher) = (
        Address::repeat_byte(0x11),
        Address::repeat_byte(0x22),
        Address::repeat_byte(0x33),
    );
    for a in [node, cheater, watcher] {
        chain.fund(a, bond * U256::from(10u64));
    }
    let balances = |chain: &mut Chain| {
        format!(
            "node {}, cheater {}, watcher {}",
            ether(chain.balance(node)),
            ether(chain.balance(cheater)),
            ether(chain.balance(watcher))
        )
    };
    println!("balances: {}", balances(&mut chain));

    let honest_words = contract.words(&honest)?;
    let cheat_words = contract.words(&cheat)?;
    let to = d.contract;
    let step = |chain: &mut Chain, what: &str, from: Address, data: Vec<u8>, value: U256| {
        let t = Instant::now();
        let call = chain.call_from(from, to, data, value)?;
        println!(
            "{what}: {} gas ({:.1} ms in revm)",
            call.gas,
            t.elapsed().as_secs_f64() * 1e3
        );
        Ok::<_, anyhow::Error>(call.output)
    };
    let honest_id = claim_id(&step(
        &mut chain,
        "honest node submits its claim",
        node,
        submit_calldata(&honest_words),
        bond,
    )?)?;
    let cheat_id = claim_id(&step(
        &mut chain,
        "cheating node submits its claim",
        cheater,
        submit_calldata(&cheat_words),
        bond,
    )?)?;
    step(
        &mut chain,
        &format!(
            "watcher challenges claim {cheat_id} with the proof of segment {}",
            fraud.segment
        ),
        watcher,
        challenge_calldata(cheat_id, &cheat_words, &fraud)?,
        U256::ZERO,
    )?;
    let refused = step(
        &mut chain,
        "watcher challenges the honest claim with the same proof",
        watcher,
        challenge_calldata(honest_id, &honest_words, &fraud)?,
        U256::ZERO,
    );
    ensure!(refused.is_err(), "the honest claim was slashed");
    println!("  refused, as it must be: the proof ends where the honest claim does");
    chain.advance_time(WINDOW);
    println!("{WINDOW} s later (the challenge window):");
    step(
        &mut chain,
        "anyone finalizes the honest claim",
        watcher,
        finalize_calldata(honest_id),
        U256::ZERO,
    )?;
    let output = chain.call(
        d.contract,
        is_final_output_calldata(honest_id, &honest_words),
    )?;
    ensure!(is_success(&output.output), "the honest claim is not final");
    println!(
        "isFinalOutput(claim {honest_id}, input, output) = true: other contracts may use the output"
    );
    println!("balances: {}", balances(&mut chain));
    Ok(())
}
