//! zkinfer's Solidity verifier in an in-process EVM (revm), compiled by solc 0.8.19:
//!
//! - every kind of model deploys (verifier and key contract under EIP-170's 24,576 bytes),
//!   accepts its proof, and rejects a flipped proof byte, a changed instance and another
//!   model's proof: the corpus MLPs, LeNet, the residual CNN, the four transformer blocks,
//!   each shard of a 3-shard LeNet and a 28×28 MNIST-sized CNN;
//! - snark-verifier's contract, the reference, gives the same verdicts wherever it deploys;
//! - every part of the proof layout and of the key contract is checked: each tampering fails.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;

use halo2_axiom::halo2curves::bn256::Fr;
use halo2_axiom::halo2curves::ff::Field;

use zkinfer_tests::evm::{corpus_case, mnist_case, shard_cases, Case, Onchain};
use zkinfer_verifier::evm::key::{header, Key, Op, HEADER_WORDS};
use zkinfer_verifier::evm::{self, snark, EVM_CODE_LIMIT};
use zkinfer_verifier::verify;

fn lenet() -> &'static Case {
    static C: OnceLock<Case> = OnceLock::new();
    C.get_or_init(|| corpus_case("cnn/lenet_digits").unwrap())
}

/// A transformer block: Freivalds' check, so a second phase with its challenge.
fn block() -> &'static Case {
    static C: OnceLock<Case> = OnceLock::new();
    C.get_or_init(|| corpus_case("transformer/tiny_block_op17").unwrap())
}

fn others() -> &'static [Case] {
    static C: OnceLock<Vec<Case>> = OnceLock::new();
    C.get_or_init(|| {
        let mut cases: Vec<Case> = [
            "sklearn/mlp1_relu_digits_stdops",
            "sklearn/mlp2_relu_digits_stdops",
            "cnn/cnn_bn_residual_digits",
            "transformer/tiny_block_causal_op17",
            "transformer/tiny_block_dynamo_op18",
            "transformer/tiny_block_dynamo_op20",
        ]
        .iter()
        .map(|e| corpus_case(e).unwrap())
        .collect();
        cases.extend(shard_cases("cnn/lenet_digits", 3).unwrap());
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("evm-mnist");
        cases.push(mnist_case(&dir).unwrap());
        cases
    })
}

fn all_cases() -> Vec<&'static Case> {
    let mut v = vec![lenet(), block()];
    v.extend(others().iter());
    v
}

fn key_of(case: &Case) -> Key {
    evm::key(&case.bundle).unwrap()
}

/// The calldata of `case`'s proof for the key at `address`.
fn calldata(address: &evm::Address, case: &Case) -> Vec<u8> {
    evm::calldata(address.as_ref(), &case.proof).unwrap()
}

/// Byte ranges of the calldata's parts: instances, then each proof point and evaluation.
struct Layout {
    instances: Vec<usize>,
    /// Witness and quotient points, then W and W'.
    points: Vec<usize>,
    evals: Vec<usize>,
}

fn layout(key: &Key) -> Layout {
    let instances = (0..key.num_instance).map(|i| 32 + 32 * i).collect();
    let proof = 32 + 32 * key.num_instance;
    let n = key.num_witness + key.num_chunks;
    let evals_at = proof + 64 * n;
    let w = evals_at + 32 * key.num_evals;
    Layout {
        instances,
        points: (0..n).map(|i| proof + 64 * i).chain([w, w + 64]).collect(),
        evals: (0..key.num_evals).map(|i| evals_at + 32 * i).collect(),
    }
}

/// Every single-part forgery of valid calldata, with its name: each point replaced by the next
/// point (still on the curve) and pushed off the curve, each evaluation and each instance
/// changed in its lowest bit, an evaluation made non-canonical (+ the field's modulus), the
/// calldata cut short or extended.
fn forgeries(key: &Key, valid: &[u8]) -> Vec<(String, Vec<u8>)> {
    let l = layout(key);
    let mut out = Vec::new();
    for (i, &p) in l.points.iter().enumerate() {
        let next = l.points[(i + 1) % l.points.len()];
        let mut swapped = valid.to_vec();
        swapped[p..p + 64].copy_from_slice(&valid[next..next + 64]);
        out.push((format!("point {i} replaced by point {}", i + 1), swapped));
        let mut off = valid.to_vec();
        off[p + 63] ^= 1;
        out.push((format!("point {i} off the curve"), off));
    }
    for (i, &e) in l.evals.iter().enumerate() {
        let mut v = valid.to_vec();
        v[e + 31] ^= 1;
        out.push((format!("evaluation {i} changed"), v));
    }
    for (i, &e) in l.instances.iter().enumerate() {
        let mut v = valid.to_vec();
        v[e + 31] ^= 1;
        out.push((format!("instance {i} changed"), v));
    }
    // x + r for the first evaluation (still below 2^256): the same field element, not canonical.
    let r =
        hex::decode("30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001").unwrap();
    let e = l.evals[0];
    let mut carry = 0u16;
    let mut v = valid.to_vec();
    for j in (0..32).rev() {
        let s = v[e + j] as u16 + r[j] as u16 + carry;
        v[e + j] = s as u8;
        carry = s >> 8;
    }
    if carry == 0 {
        out.push(("evaluation 0 plus the modulus".into(), v));
    }
    out.push(("one byte short".into(), valid[..valid.len() - 1].to_vec()));
    out.push(("one byte more".into(), [valid, &[0]].concat()));
    out
}

#[test]
fn every_model_deploys_accepts_its_proof_and_rejects_forgeries() {
    let cases = all_cases();
    let mut chain = Onchain::new().unwrap();
    assert!(chain.verifier_code <= EVM_CODE_LIMIT);
    let keys: Vec<Key> = cases.iter().map(|c| key_of(c)).collect();
    let addresses: Vec<_> = keys.iter().map(|k| chain.deploy_key(k).unwrap()).collect();
    println!("| model | k | instances | key contract (B) | gas | calldata (B) |");
    for (i, case) in cases.iter().enumerate() {
        let (key, at) = (&keys[i], &addresses[i]);
        let name = &case.name;
        assert!(key.runtime_code().len() <= EVM_CODE_LIMIT, "{name}");
        // The Rust verifier and the contract accept the same proof.
        verify(&case.bundle, &case.proof).unwrap();
        let valid = calldata(at, case);
        let gas = chain.call(valid.clone()).unwrap();
        println!(
            "| {name} | {} | {} | {} | {gas} | {} |",
            key.k,
            key.num_instance,
            key.runtime_code().len(),
            valid.len()
        );
        let l = layout(key);
        let mut flipped = valid.clone();
        flipped[l.points[0] + 40] ^= 0x10;
        assert!(chain.call(flipped).is_err(), "{name}: a flipped byte");
        let mut flipped = valid.clone();
        flipped[l.evals[0] + 20] ^= 0x10;
        assert!(
            chain.call(flipped).is_err(),
            "{name}: a flipped evaluation byte"
        );
        let mut changed = valid.clone();
        changed[l.instances[0] + 31] ^= 1;
        assert!(chain.call(changed).is_err(), "{name}: a changed instance");
        // Another model's proof: the next one with a different key (the dynamo block's
        // decomposed GELU is fused into the same table as the native Gelu's, so those two
        // blocks are one circuit and share their key).
        let code = key.runtime_code();
        let Some(j) = (1..cases.len())
            .map(|d| (i + d) % cases.len())
            .find(|&j| keys[j].runtime_code() != code)
        else {
            continue;
        };
        let other = cases[j];
        let foreign = calldata(at, other);
        assert!(
            chain.call(foreign).is_err(),
            "{name}: {}'s proof",
            other.name
        );
    }
    println!("verifier: {} bytes of runtime code", chain.verifier_code);
}

/// snark-verifier's verdict on `data` (its calldata: no key address).
fn snark_accepts(deployment: &[u8], data: &[u8]) -> bool {
    snark::deploy_and_call(deployment.to_vec(), data[32..].to_vec()).is_ok()
}

#[test]
fn snark_verifier_and_zkinfers_verifier_agree_wherever_both_deploy() {
    let mut chain = Onchain::new().unwrap();
    let mut compared = 0;
    for case in all_cases() {
        let name = &case.name;
        let deployment = match snark::verifier(&case.bundle) {
            Ok((_, compiled)) => compiled.deployment,
            Err(evm::EvmError::TooLarge { size, .. }) => {
                println!("{name}: snark-verifier's contract ({size} B) cannot deploy");
                continue;
            }
            Err(e) => panic!("{name}: {e}"),
        };
        let key = key_of(case);
        let at = chain.deploy_key(&key).unwrap();
        let valid = calldata(&at, case);
        assert!(chain.call(valid.clone()).is_ok(), "{name}");
        assert!(snark_accepts(&deployment, &valid), "{name}");
        // Exhaustively on LeNet, a sample elsewhere.
        let all = forgeries(&key, &valid);
        let step = if case.name.contains("lenet_digits") && !case.name.contains("shard") {
            1
        } else {
            7
        };
        for (what, data) in all.iter().step_by(step) {
            if what.contains("modulus") || what.contains("byte") {
                // snark-verifier reduces scalars and ignores trailing calldata; ours refuses.
                assert!(chain.call(data.clone()).is_err(), "{name}: {what}");
                continue;
            }
            let ours = chain.call(data.clone()).is_ok();
            let theirs = snark_accepts(&deployment, data);
            assert_eq!(ours, theirs, "{name}: {what}");
            assert!(!ours, "{name}: {what} accepted");
        }
        compared += 1;
    }
    assert!(compared >= 4, "only {compared} models compared");
}

#[test]
fn every_part_of_the_proof_layout_is_checked() {
    let case = block();
    let key = key_of(case);
    assert!(
        key.segments.len() >= 7,
        "a second phase: {:?}",
        key.segments
    );
    let mut chain = Onchain::new().unwrap();
    let at = chain.deploy_key(&key).unwrap();
    let valid = calldata(&at, case);
    chain.call(valid.clone()).unwrap();
    let all = forgeries(&key, &valid);
    assert!(all.len() > 100, "{}", all.len());
    for (what, data) in all {
        assert!(chain.call(data).is_err(), "{what} accepted");
    }
    // The key's address: none, an account without code, an address over 160 bits.
    for (what, word) in [
        ("no address", [0u8; 32]),
        ("an account without code", {
            let mut w = [0u8; 32];
            w[31] = 0x42;
            w
        }),
        ("an address over 160 bits", {
            let mut w = [0u8; 32];
            w[..32].copy_from_slice(&valid[..32]);
            w[0] = 1;
            w
        }),
    ] {
        let mut data = valid.clone();
        data[..32].copy_from_slice(&word);
        assert!(chain.call(data).is_err(), "{what} accepted");
    }
    // Another model's key with this proof.
    let other = key_of(lenet());
    let other_at = chain.deploy_key(&other).unwrap();
    let data = calldata(&other_at, case);
    assert!(chain.call(data).is_err(), "lenet's key accepted");
}

/// The program's bytes that address a slot holding the opening of a zero fixed column.
fn zero_eval_reads(key: &Key) -> std::collections::HashSet<usize> {
    use halo2_axiom::halo2curves::group::prime::PrimeCurveAffine;
    let zero: Vec<u16> = key
        .sets
        .iter()
        .flat_map(|s| &s.polys)
        .filter(|(c, _)| {
            key.preprocessed
                .get(*c as usize)
                .is_some_and(|p| bool::from(p.is_identity()))
        })
        .flat_map(|(_, evals)| evals.iter().copied())
        .collect();
    let push = |s: u16| if 32 * s as u32 <= 0xffff { 3 } else { 4 };
    let mut out = std::collections::HashSet::new();
    let mut at = 11 + 32; // the header and the modulus
    let mark = |start: usize, slot: u16, out: &mut std::collections::HashSet<usize>| {
        if zero.contains(&slot) {
            out.extend(start + 1..start + push(slot));
        }
    };
    for i in key.instructions.iter().chain(&key.shplonk_instructions()) {
        if i.op == Op::Neg {
            mark(at, i.a, &mut out);
            at += push(i.a) + 3 + push(i.dst) + 1;
            continue;
        }
        mark(at + 1, i.b, &mut out);
        let a_at = at + 1 + push(i.b) + 1 + if i.op == Op::Sub { 2 } else { 0 };
        mark(a_at, i.a, &mut out);
        let dst_at = a_at + push(i.a) + 2;
        // `x += 0` in place: where it stores makes no difference either.
        let in_place_zero = i.op == Op::Add
            && ((i.dst == i.a && zero.contains(&i.b)) || (i.dst == i.b && zero.contains(&i.a)));
        if in_place_zero {
            out.extend(dst_at + 1..dst_at + push(i.dst));
        }
        at = dst_at + push(i.dst) + 1;
    }
    out
}

/// Deploys `runtime` as a key contract and checks the valid proof against it.
fn accepted_with(chain: &mut Onchain, runtime: &[u8], case: &Case) -> bool {
    match chain.deploy_key_code(runtime) {
        Ok(at) => chain.call(calldata(&at, case)).is_ok(),
        Err(_) => false,
    }
}

fn accepted_with_key(chain: &mut Onchain, key: &Key, case: &Case) -> bool {
    accepted_with(chain, &key.runtime_code(), case)
}

#[test]
fn every_part_of_the_key_contract_is_checked() {
    let case = block();
    let key = key_of(case);
    let mut chain = Onchain::new().unwrap();
    assert!(accepted_with_key(&mut chain, &key, case));
    let code = key.runtime_code();

    // Every header word, one at a time (+1 in its last byte, or in the magic's first).
    let data = key.program().len();
    for w in 0..HEADER_WORDS {
        let mut c = code.clone();
        let at = data + 32 * w + if w == header::MAGIC { 0 } else { 31 };
        c[at] = c[at].wrapping_add(1);
        assert!(!accepted_with(&mut chain, &c, case), "header word {w}");
    }
    // The program: any byte changed fails (every fifth byte, and the first four: its length).
    // Except an address byte of an opening of a zero fixed column (committed to the identity):
    // that word is 0 in every valid proof, and a misaligned read starting inside it may read
    // 0 too; and where `h += 0` stores its sum. A changed evaluation is rejected (`every_model_deploys_accepts_its_proof_and_rejects_forgeries`).
    let zero_reads = zero_eval_reads(&key);
    for at in (0..4).chain((4..key.program().len()).step_by(5)) {
        if zero_reads.contains(&at) {
            continue;
        }
        let mut c = code.clone();
        c[at] ^= 0x01;
        assert!(!accepted_with(&mut chain, &c, case), "code byte {at}");
    }
    // The data cut short.
    assert!(
        !accepted_with(&mut chain, &code[..code.len() - 1], case),
        "short"
    );

    let z = (key.challenge_base() + key.num_protocol_challenges) as u16;
    let mut failures = Vec::new();
    let mut check = |what: String, k: Key| {
        if accepted_with_key(&mut chain, &k, case) {
            failures.push(what);
        }
    };
    for s in 0..key.segments.len() {
        for f in 0..3 {
            let mut k = key.clone();
            let seg = &mut k.segments[s];
            *match f {
                0 => &mut seg.points,
                1 => &mut seg.scalars,
                _ => &mut seg.squeezes,
            } += 1;
            check(format!("segment {s} field {f}"), k);
        }
    }
    for i in 0..key.preprocessed.len() {
        let mut k = key.clone();
        k.preprocessed[i] = key.preprocessed[(i + 1) % key.preprocessed.len()];
        check(format!("preprocessed point {i}"), k);
    }
    let mut k = key.clone();
    k.g1 = key.preprocessed[0];
    check("SRS g1".into(), k);
    let mut k = key.clone();
    k.g2 = key.s_g2;
    check("SRS g2".into(), k);
    let mut k = key.clone();
    k.s_g2 = key.g2;
    check("SRS s·g2".into(), k);
    for i in 0..key.constants.len() {
        let mut k = key.clone();
        k.constants[i] += Fr::ONE;
        check(format!("constant {i}"), k);
    }
    for i in 0..key.lagranges.len() {
        let mut k = key.clone();
        k.lagranges[i] = z;
        check(format!("Lagrange {i}"), k);
    }
    for i in 0..key.rotations.len() {
        let mut k = key.clone();
        k.rotations[i] = z;
        check(format!("rotation {i}"), k);
    }
    for i in 0..key.instructions.len() {
        let mut k = key.clone();
        let ins = &mut k.instructions[i];
        ins.op = match ins.op {
            Op::Add => Op::Mul,
            Op::Mul => Op::Sub,
            Op::Sub => Op::Neg,
            Op::Neg => Op::Add,
        };
        check(format!("instruction {i} op"), k);
        // A negation has no second operand in the code.
        let operands = if key.instructions[i].op == Op::Neg {
            2
        } else {
            3
        };
        for f in 0..operands {
            let mut k = key.clone();
            let ins = &mut k.instructions[i];
            let field = match f {
                0 => &mut ins.dst,
                1 => &mut ins.a,
                _ => &mut ins.b,
            };
            *field = if *field == z { z + 1 } else { z };
            check(format!("instruction {i} operand {f}"), k);
        }
    }
    let mut k = key.clone();
    k.result = z;
    check("result slot".into(), k);
    for s in 0..key.sets.len() {
        let set = &key.sets[s];
        for j in 0..set.shifts.len() {
            let mut k = key.clone();
            let r = &mut k.sets[s].shifts[j];
            *r = (*r + 1) % key.rotations.len() as u16;
            check(format!("set {s} shift {j}"), k);
            // A set of one rotation has no interpolation: its weight cancels out.
            if set.shifts.len() > 1 {
                let mut k = key.clone();
                k.sets[s].ell[j] = z;
                check(format!("set {s} ell {j}"), k);
            }
        }
        for p in 0..set.polys.len() {
            let mut k = key.clone();
            let c = &mut k.sets[s].polys[p].0;
            *c = if *c == 0 { 1 } else { *c - 1 };
            check(format!("set {s} poly {p} commitment"), k);
            for j in 0..set.shifts.len() {
                let mut k = key.clone();
                k.sets[s].polys[p].1[j] = z;
                check(format!("set {s} poly {p} evaluation {j}"), k);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "accepted after tampering: {failures:?}"
    );
}
