//! The optimistic-inference contract (`ZkinferOptimistic`) in an in-process EVM (revm), on
//! LeNet split into 3 shards:
//!
//! - an honest claim finalizes after the window and its bond goes back to the node; finalize
//!   before the window ends is refused, and so is a challenge whose proof confirms the claim;
//! - a claim with one activation changed in the middle segment is slashed by the proof of that
//!   one segment, the bond going to the challenger; the same fraud proof replayed is refused;
//! - a proof of another model's segment, a proof of the wrong segment, a claim's words changed
//!   in the challenge, a challenge after the window, a wrong bond and a wrong entry at
//!   construction are refused, each with the custom error naming the failed check;
//! - the contract cannot be generated for a model compiled with `--evm` (packed public values).
//!
//! Run with `--nocapture` for the gas of submit, challenge and finalize.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, OnceLock};

use halo2_axiom::halo2curves::bn256::Bn256;
use halo2_axiom::poly::kzg::commitment::ParamsKZG;
use zkinfer_prover::{
    compile_with, dispute, evaluate, load_srs, prove_trace, read_inputs, setup, split_model,
    witness_quantized, Alteration, Backend, CompileOptions, Cuts, Evaluation, Keys, Segments,
};
use zkinfer_tests::corpus;
use zkinfer_verifier::evm::entry::selector;
use zkinfer_verifier::evm::optimistic::{
    challenge_calldata, claim_id, finalize_calldata, is_final_output_calldata, optimistic,
    submit_calldata, ClaimWords, Deployment, Optimistic,
};
use zkinfer_verifier::evm::{is_success, Address, Chain, EvmError, U256};
use zkinfer_verifier::{FraudProof, ProofFile};

const WINDOW: u64 = 3600;
const NODE: Address = Address::repeat_byte(0x11);
const CHEATER: Address = Address::repeat_byte(0x22);
const WATCHER: Address = Address::repeat_byte(0x33);

fn bond() -> U256 {
    U256::from(10u64).pow(U256::from(18u64))
}

struct Fixture {
    contract: Optimistic,
    honest: ClaimWords,
    cheat: ClaimWords,
    /// The proof of segment 1 from the boundary both claims share: it refutes the cheat.
    fraud: FraudProof,
    /// A valid proof of segment 1 of another model (LeNet at another scale, split alike).
    other: ProofFile,
}

fn segments(scale: Option<u32>) -> (Segments, Vec<Vec<f32>>) {
    let dir = corpus().join("cnn/lenet_digits");
    let input = read_inputs(&dir.join("input.json")).unwrap();
    let opts = CompileOptions {
        scale,
        ..CompileOptions::default()
    };
    let compiled = compile_with(&dir.join("model.onnx"), std::slice::from_ref(&input), &opts)
        .unwrap()
        .model;
    let shards = split_model(&compiled, &Cuts::Balanced(3), false).unwrap();
    let models = shards.into_iter().map(|s| s.model).collect();
    (Segments::new(models).unwrap(), input)
}

fn keys(m: &zkinfer_ir::CompiledModel) -> (Keys, ParamsKZG<Bn256>) {
    let (params, srs) = load_srs(m.settings.k, None).unwrap();
    (setup(m, &params, srs).unwrap(), params)
}

/// The proof of segment `i` from an evaluation's inputs to it.
fn prove_segment(segments: &Segments, e: &Evaluation, i: usize) -> ProofFile {
    let m = &segments.models()[i];
    let (k, params) = keys(m);
    let trace = witness_quantized(m, &e.segment_inputs[i]).unwrap();
    prove_trace(Backend::Cpu, m, &k, &params, Arc::new(trace), None).unwrap()
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let (segs, input) = segments(None);
        let keyed: Vec<_> = segs.models().iter().map(keys).collect();
        let bundles: Vec<_> = keyed.iter().map(|(k, _)| &k.bundle).collect();
        // solcjs (one Node process) compiles the contracts while the proofs are made.
        std::thread::scope(|scope| {
            let contract = scope.spawn(|| optimistic(&bundles, true).unwrap());
            let honest = evaluate(&segs, &input, None).unwrap();
            let alteration = Alteration {
                segment: 1,
                index: 5,
                delta: 1,
            };
            let cheat = evaluate(&segs, &input, Some(alteration)).unwrap();
            let (k1, p1) = &keyed[1];
            let fraud = dispute(&segs, &honest, &cheat.claim, k1, p1, Backend::Cpu).unwrap();
            assert_eq!(fraud.segment, 1);

            let scale = segs.models()[0].settings.inputs[0].scale;
            let (other_segs, other_input) = segments(Some(scale.saturating_sub(1).max(1)));
            let other_eval = evaluate(&other_segs, &other_input, None).unwrap();
            assert_ne!(other_segs.digests()[1], segs.digests()[1]);
            let other = prove_segment(&other_segs, &other_eval, 1);
            let contract = contract.join().unwrap();
            Fixture {
                honest: contract.words(&honest.claim).unwrap(),
                cheat: contract.words(&cheat.claim).unwrap(),
                contract,
                fraud,
                other,
            }
        })
    })
}

/// A fresh chain with the contracts deployed and three funded accounts.
fn deployed() -> (Chain, Deployment) {
    let mut chain = Chain::new();
    let d = fixture()
        .contract
        .deploy(&mut chain, bond(), WINDOW)
        .unwrap();
    for a in [NODE, CHEATER, WATCHER] {
        chain.fund(a, bond() * U256::from(10u64));
    }
    (chain, d)
}

/// Whether the error is a revert carrying the custom error `signature`.
fn reverted_with(result: Result<impl std::fmt::Debug, EvmError>, signature: &str) -> bool {
    match result {
        Err(e) => e
            .to_string()
            .contains(&format!("0x{}", hex::encode(selector(signature)))),
        Ok(v) => panic!("expected a revert with {signature}, the call succeeded: {v:?}"),
    }
}

fn submit(chain: &mut Chain, d: &Deployment, from: Address, words: &ClaimWords) -> (u64, u64) {
    let call = chain
        .call_from(from, d.contract, submit_calldata(words), bond())
        .unwrap();
    (claim_id(&call.output).unwrap(), call.gas)
}

fn challenge(
    chain: &mut Chain,
    d: &Deployment,
    id: u64,
    words: &ClaimWords,
    fraud: &FraudProof,
) -> Result<u64, EvmError> {
    let data = challenge_calldata(id, words, fraud).unwrap();
    chain
        .call_from(WATCHER, d.contract, data, U256::ZERO)
        .map(|c| c.gas)
}

fn is_final_output(chain: &mut Chain, d: &Deployment, id: u64, words: &ClaimWords) -> bool {
    let call = chain
        .call(d.contract, is_final_output_calldata(id, words))
        .unwrap();
    is_success(&call.output)
}

/// `fraud` with its proof's instances replaced.
fn with_instances(fraud: &FraudProof, segment: usize, instances: Vec<String>) -> FraudProof {
    let mut f = fraud.clone();
    f.segment = segment;
    f.proof.instances = vec![instances];
    f
}

fn word_hex(w: &[u8; 32]) -> String {
    format!("0x{}", hex::encode(w))
}

#[test]
fn an_honest_claim_finalizes_after_the_window_and_the_bond_returns() {
    let f = fixture();
    let (mut chain, d) = deployed();
    let before = chain.balance(NODE);
    let (id, submit_gas) = submit(&mut chain, &d, NODE, &f.honest);
    assert_eq!(chain.balance(NODE), before - bond());
    assert!(reverted_with(
        chain.call(d.contract, finalize_calldata(id)),
        "WindowOpen(uint256,uint256,uint256)"
    ));
    // The proof of segment 1 from the shared boundary ends where the honest claim does.
    assert!(reverted_with(
        challenge(&mut chain, &d, id, &f.honest, &f.fraud),
        "ProofConfirmsClaim(uint256,uint256)"
    ));
    assert!(!is_final_output(&mut chain, &d, id, &f.honest));
    chain.advance_time(WINDOW);
    let finalize_gas = chain.call(d.contract, finalize_calldata(id)).unwrap().gas;
    assert_eq!(chain.balance(NODE), before);
    assert!(is_final_output(&mut chain, &d, id, &f.honest));
    assert!(!is_final_output(&mut chain, &d, id, &f.cheat));
    assert!(reverted_with(
        chain.call(d.contract, finalize_calldata(id)),
        "ClaimNotPending(uint256,uint8)"
    ));
    println!("gas: submit {submit_gas} (an honest claim), finalize {finalize_gas}");
}

#[test]
fn a_claim_with_one_altered_activation_is_slashed_by_the_proof_of_that_segment() {
    let f = fixture();
    let (mut chain, d) = deployed();
    let cheater = chain.balance(CHEATER);
    let watcher = chain.balance(WATCHER);
    let (id, submit_gas) = submit(&mut chain, &d, CHEATER, &f.cheat);
    let gas = challenge(&mut chain, &d, id, &f.cheat, &f.fraud).unwrap();
    assert_eq!(chain.balance(CHEATER), cheater - bond());
    assert_eq!(chain.balance(WATCHER), watcher + bond());
    // Replayed: the claim is slashed already.
    assert!(reverted_with(
        challenge(&mut chain, &d, id, &f.cheat, &f.fraud),
        "ClaimNotPending(uint256,uint8)"
    ));
    chain.advance_time(WINDOW);
    assert!(reverted_with(
        chain.call(d.contract, finalize_calldata(id)),
        "ClaimNotPending(uint256,uint8)"
    ));
    assert!(!is_final_output(&mut chain, &d, id, &f.cheat));
    println!(
        "gas: submit {submit_gas} (the cheat's claim), challenge {gas} (the proof of segment 1, \
         {} bytes)",
        zkinfer_verifier::proof_bytes(&f.fraud.proof).unwrap().len()
    );
}

#[test]
fn proofs_of_another_model_or_of_the_wrong_segment_are_refused() {
    let f = fixture();
    let (mut chain, d) = deployed();
    let (id, _) = submit(&mut chain, &d, CHEATER, &f.cheat);
    let b1 = word_hex(&f.cheat.inner[0]);
    let b2 = word_hex(&f.cheat.inner[1]);

    // Another model's segment 1: it starts from another commitment; made to start from the
    // claim's, its entry (this model's segment 1) refuses it.
    let other = with_instances(&f.fraud, 1, f.other.instances[0].clone());
    let other = FraudProof {
        proof: ProofFile {
            proof: f.other.proof.clone(),
            ..other.proof
        },
        ..other
    };
    assert!(reverted_with(
        challenge(&mut chain, &d, id, &f.cheat, &other),
        "ProofStartsElsewhere(uint256,uint256,uint256)"
    ));
    let mut forged = other.proof.instances[0].clone();
    forged[0] = b1.clone();
    let other = with_instances(&other, 1, forged);
    assert!(reverted_with(
        challenge(&mut chain, &d, id, &f.cheat, &other),
        "ProofRejected(uint256,bytes)"
    ));

    // The fraud proof of segment 1 presented as another segment's.
    for s in [0, 2] {
        let wrong = with_instances(&f.fraud, s, f.fraud.proof.instances[0].clone());
        assert!(reverted_with(
            challenge(&mut chain, &d, id, &f.cheat, &wrong),
            "InstanceCount(uint256,uint256,uint256)"
        ));
    }
    // … with instances shaped for segment 2 (from the claim's boundary 2, to another output):
    // segment 2's entry refuses segment 1's proof.
    let mut shaped = vec![b2];
    shaped.extend(std::iter::repeat_n(
        word_hex(&[0u8; 32]),
        f.cheat.output.len(),
    ));
    let wrong = with_instances(&f.fraud, 2, shaped);
    assert!(reverted_with(
        challenge(&mut chain, &d, id, &f.cheat, &wrong),
        "ProofRejected(uint256,bytes)"
    ));
    let wrong = with_instances(&f.fraud, 3, f.fraud.proof.instances[0].clone());
    assert!(reverted_with(
        challenge(&mut chain, &d, id, &f.cheat, &wrong),
        "NoSuchSegment(uint256,uint256)"
    ));

    // The claim's words changed in the challenge.
    let mut words = f.cheat.clone();
    words.inner[0][31] ^= 1;
    assert!(reverted_with(
        challenge(&mut chain, &d, id, &words, &f.fraud),
        "ClaimMismatch(uint256)"
    ));
    // An honest claim cannot be slashed with the cheat's fraud proof.
    let (honest_id, _) = submit(&mut chain, &d, NODE, &f.honest);
    assert!(reverted_with(
        challenge(&mut chain, &d, honest_id, &f.honest, &f.fraud),
        "ProofConfirmsClaim(uint256,uint256)"
    ));

    // After the window, the valid fraud proof comes too late.
    chain.advance_time(WINDOW);
    assert!(reverted_with(
        challenge(&mut chain, &d, id, &f.cheat, &f.fraud),
        "WindowClosed(uint256,uint256,uint256)"
    ));
}

#[test]
fn a_wrong_bond_claim_shape_or_entry_is_refused() {
    let f = fixture();
    let (mut chain, d) = deployed();
    let data = submit_calldata(&f.honest);
    assert!(reverted_with(
        chain.call_from(NODE, d.contract, data.clone(), bond() - U256::from(1u64)),
        "BondMismatch(uint256,uint256)"
    ));
    let mut short = f.honest.clone();
    short.output.pop();
    assert!(reverted_with(
        chain.call_from(NODE, d.contract, submit_calldata(&short), bond()),
        "WordCount(uint256,uint256,uint256)"
    ));
    let mut big = f.honest.clone();
    big.inner[0] = [0xff; 32];
    assert!(reverted_with(
        chain.call_from(NODE, d.contract, submit_calldata(&big), bond()),
        "NotAFieldElement(uint256,uint256)"
    ));
    // Entries in the wrong order, or the segment's key contract in place of its entry.
    let c = &f.contract;
    let swapped = [d.entries[1], d.entries[0], d.entries[2]];
    let code = c.deployment_code(&swapped, bond(), WINDOW);
    assert!(reverted_with(
        chain.deploy(code).map(|_| ()),
        "EntryCodeMismatch(uint256,address,bytes32)"
    ));
    let keys = [d.entries[0], d.keys[1], d.entries[2]];
    assert!(reverted_with(
        chain
            .deploy(c.deployment_code(&keys, bond(), WINDOW))
            .map(|_| ()),
        "EntryCodeMismatch(uint256,address,bytes32)"
    ));
}

#[test]
fn a_model_compiled_for_the_evm_is_refused_with_a_clear_error() {
    let dir = corpus().join("cnn/lenet_digits");
    let input = read_inputs(&dir.join("input.json")).unwrap();
    let opts = CompileOptions {
        evm: true,
        ..CompileOptions::default()
    };
    let m = compile_with(&dir.join("model.onnx"), &[input], &opts)
        .unwrap()
        .model;
    let (k, _) = keys(&m);
    let err = optimistic(&[&k.bundle], true).unwrap_err().to_string();
    assert!(err.contains("compile without --evm"), "{err}");
}
