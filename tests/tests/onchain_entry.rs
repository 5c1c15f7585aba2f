//! The entry contract, attacked in an in-process EVM (revm):
//!
//! - a hand-made key contract whose program returns zero scalars makes zkinfer's shared
//!   verifier accept a proof of all-zero points for any instances when a caller names it;
//!   through the entry contract it is refused (the entry cannot be built on it, and the entry
//!   built on the honest key rejects the forged proof), as is another model's key contract;
//! - a proof of inputs outside their declared bounds (the first Dense layer's null space
//!   added to an honest input: the same accumulators, so every later value is the honest one)
//!   is valid for the circuit, which does not range-check unpacked inputs; the shared
//!   verifier accepts it, and the Rust verifier and the entry contract both refuse it (the
//!   WASM and Python verifiers run the Rust one on the fixture this test writes);
//! - packed public values whose packing leaves a remainder, or whose digit is past its
//!   bound, are refused by the entry before any cryptography, as the Rust verifier refuses
//!   them;
//! - the honest proofs are accepted, and the entry's gas overhead is printed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;

use halo2_axiom::halo2curves::bn256::Fr;
use halo2_axiom::halo2curves::ff::PrimeField;
use zkinfer_ir::{Op, Tensor};
use zkinfer_prover::{load_srs, prove, prove_trace, setup, witness, Backend, Keys};
use zkinfer_tests::corpus;
use zkinfer_tests::evm::{corpus_case, Case};
use zkinfer_verifier::evm::entry::{self, selector};
use zkinfer_verifier::evm::{self, key, Address, Chain, EvmError};
use zkinfer_verifier::{fr_from_hex, fr_to_hex, verify, ProofFile, VerifyError};

/// The iris logistic regression compiled without `--evm`: unpacked public values, inputs
/// loaded into the circuit without a range check.
struct Unpacked {
    model: zkinfer_ir::CompiledModel,
    keys: Keys,
    params: halo2_axiom::poly::kzg::commitment::ParamsKZG<halo2_axiom::halo2curves::bn256::Bn256>,
    proof: ProofFile,
}

fn iris() -> &'static Unpacked {
    static U: OnceLock<Unpacked> = OnceLock::new();
    U.get_or_init(|| {
        let dir = corpus().join("sklearn/logreg_iris_stdops");
        let (model, input) = zkinfer_tests::compile_example(&dir).unwrap();
        assert!(model.settings.packing().is_none());
        let (params, srs) = load_srs(model.settings.k, None).unwrap();
        let keys = setup(&model, &params, srs).unwrap();
        let proof = prove(&model, &keys, &params, &input, None).unwrap();
        Unpacked {
            model,
            keys,
            params,
            proof,
        }
    })
}

/// Another model, packed for the EVM.
fn lenet() -> &'static Case {
    static C: OnceLock<Case> = OnceLock::new();
    C.get_or_init(|| corpus_case("cnn/lenet_digits").unwrap())
}

/// The shared verifier, a model's key contract and its entry, deployed.
struct Deployed {
    chain: Chain,
    verifier: Address,
    key: Address,
    entry: Address,
    compiled: evm::Entry,
}

fn deploy(bundle: &zkinfer_verifier::Bundle) -> Deployed {
    let (d, compiled) = evm::deploy(bundle, true).unwrap();
    Deployed {
        chain: d.chain,
        verifier: d.verifier,
        key: d.key,
        entry: d.entry,
        compiled,
    }
}

/// Whether the error is a revert carrying the custom error `signature`.
fn reverted_with(err: &EvmError, signature: &str) -> bool {
    err.to_string()
        .contains(&format!("0x{}", hex::encode(selector(signature))))
}

fn accepted(chain: &mut Chain, to: Address, data: Vec<u8>) -> Result<u64, EvmError> {
    let call = chain.call(to, data)?;
    if evm::is_success(&call.output) {
        Ok(call.gas)
    } else {
        Err(EvmError::Rejected(format!("returned {:?}", call.output)))
    }
}

/// A key contract made by hand from `honest`: the same data (so every layout check of the
/// verifier passes), its program replaced by one that returns only zeros: every commitment's
/// scalar and the generator's are 0, so with W = W' = the point at infinity both sides of the
/// pairing are the identity.
fn accept_anything_key(honest: &key::Key) -> Vec<u8> {
    let mut runtime = honest.runtime_code();
    let program_len = u16::from_be_bytes([runtime[1], runtime[2]]) as usize;
    let out = (32 * (honest.num_commitments() + 1)) as u16;
    // PUSH2 out PUSH1 0 RETURN: `out` bytes of fresh (zero) memory; STOP to the data.
    let code = [0x61, (out >> 8) as u8, out as u8, 0x60, 0x00, 0xf3];
    runtime[4..4 + code.len()].copy_from_slice(&code);
    for b in &mut runtime[4 + code.len()..program_len] {
        *b = 0x00;
    }
    runtime
}

/// A "proof" of zero points and zero evaluations, as long as the key's proofs are.
fn zero_proof(honest: &key::Key, like: &ProofFile) -> ProofFile {
    let len = honest.proof_len();
    ProofFile {
        proof: format!("0x{}", "00".repeat(len)),
        ..like.clone()
    }
}

#[test]
fn a_forged_key_contract_is_refused_through_the_entry() {
    let u = iris();
    let bundle = &u.keys.bundle;
    let mut d = deploy(bundle);
    let honest_key = evm::key(bundle).unwrap();

    // The honest proof, through the entry and directly.
    let gas = accepted(&mut d.chain, d.entry, entry::calldata(&u.proof).unwrap()).unwrap();
    let direct = accepted(
        &mut d.chain,
        d.verifier,
        evm::calldata(d.key.as_ref(), &u.proof).unwrap(),
    )
    .unwrap();
    println!(
        "iris (7 unpacked instances): {gas} gas through the entry, {direct} direct: the entry costs {} gas",
        gas - direct
    );

    // The attack on the bare verifier: a key contract of the caller's making accepts a proof
    // of nothing, for outputs of the attacker's choice (class 0 with probability 1).
    let forged_key = d
        .chain
        .deploy(key::deployment_of(&accept_anything_key(&honest_key)))
        .unwrap();
    let mut forged = zero_proof(&honest_key, &u.proof);
    let n = forged.instances[0].len();
    for (i, v) in forged.instances[0][n - 3..].iter_mut().enumerate() {
        *v = fr_to_hex(&Fr::from(if i == 0 { 512u64 } else { 0 }));
    }
    accepted(
        &mut d.chain,
        d.verifier,
        evm::calldata(forged_key.as_ref(), &forged).unwrap(),
    )
    .expect("the bare verifier trusts the key contract it is told to use");
    // The same proof with the honest key: rejected.
    assert!(accepted(
        &mut d.chain,
        d.verifier,
        evm::calldata(d.key.as_ref(), &forged).unwrap()
    )
    .is_err());

    // Through the entry: it takes no key address, and its pinned key rejects the proof.
    let err = accepted(&mut d.chain, d.entry, entry::calldata(&forged).unwrap()).unwrap_err();
    assert!(reverted_with(&err, "ProofRejected()"), "{err}");
    // An entry cannot be made to point at the forged key contract, nor at another model's.
    let other_key = d
        .chain
        .deploy(key::deployment_of(
            &evm::key(&lenet().bundle).unwrap().runtime_code(),
        ))
        .unwrap();
    for (what, at) in [("forged", forged_key), ("another model's", other_key)] {
        let err = d
            .chain
            .deploy(d.compiled.deployment_code(d.verifier.as_ref(), at.as_ref()))
            .unwrap_err();
        assert!(
            format!("{err}").contains(&hex::encode(selector("KeyCodeMismatch(address,bytes32)"))),
            "{what} key contract: {err}"
        );
    }
    // Nor at a verifier other than zkinfer's: the key contract in the verifier's place.
    let err = d
        .chain
        .deploy(
            d.compiled
                .deployment_code(forged_key.as_ref(), d.key.as_ref()),
        )
        .unwrap_err();
    assert!(
        format!("{err}").contains(&hex::encode(selector(
            "VerifierCodeMismatch(address,bytes32)"
        ))),
        "{err}"
    );
    // Another model's proof through this model's entry (both have 7 instances: LeNet's are
    // packed, far outside the iris model's bounds).
    let err = accepted(
        &mut d.chain,
        d.entry,
        entry::calldata(&lenet().proof).unwrap(),
    )
    .unwrap_err();
    assert!(
        reverted_with(&err, "PublicValueOutOfBound(uint256,uint256)"),
        "{err}"
    );
}

/// The integer null vector of a 3×4 matrix: `δ_j = (−1)^j · det(W without column j)`.
fn null_vector(w: &[[i64; 4]; 3]) -> [i64; 4] {
    let det3 = |c: [usize; 3]| -> i64 {
        let m = |r: usize, i: usize| w[r][c[i]];
        m(0, 0) * (m(1, 1) * m(2, 2) - m(1, 2) * m(2, 1))
            - m(0, 1) * (m(1, 0) * m(2, 2) - m(1, 2) * m(2, 0))
            + m(0, 2) * (m(1, 0) * m(2, 1) - m(1, 1) * m(2, 0))
    };
    let cols = [[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]];
    let mut d = [0i64; 4];
    for (j, c) in cols.iter().enumerate() {
        d[j] = if j % 2 == 0 { det3(*c) } else { -det3(*c) };
    }
    d
}

/// Where the attack proof is written for the WASM and Python verifiers' tests.
fn attack_fixture_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/attack-fixtures/input-out-of-bound")
}

#[test]
fn inputs_outside_their_bounds_are_rejected_by_every_verifier() {
    let u = iris();
    let (model, keys) = (&u.model, &u.keys);
    let g = &model.graph;
    // The first layer: the Dense node that reads the input.
    let input = g.inputs[0];
    let dense = g
        .nodes
        .iter()
        .find_map(|n| match &n.op {
            Op::Dense(d) if n.inputs == [input] => Some(d),
            _ => None,
        })
        .expect("the iris model starts with a Dense layer");
    let x_shape = g.nodes[input].shape.clone();
    let terms = dense.terms(&x_shape);
    assert_eq!(terms.len(), 3, "3 classes");
    let mut w = [[0i64; 4]; 3];
    for (o, row) in terms.iter().enumerate() {
        for &(xi, wi) in row {
            w[o][xi] += wi;
        }
    }
    let delta = null_vector(&w);
    for row in &w {
        assert_eq!(row.iter().zip(&delta).map(|(a, b)| a * b).sum::<i64>(), 0);
    }
    assert!(delta.iter().any(|&d| d != 0), "the weights have rank 3");

    // The honest input plus t·δ: the first layer's accumulators are the honest ones, so is
    // every later value; only the public inputs differ, outside their declared bound.
    let dir = corpus().join("sklearn/logreg_iris_stdops");
    let honest_input = zkinfer_prover::read_inputs(&dir.join("input.json")).unwrap();
    let honest = witness(model, &honest_input).unwrap();
    let bound = model.settings.inputs[0].bound;
    let max = delta.iter().map(|d| d.unsigned_abs()).max().unwrap_or(1);
    let t = ((1u64 << bound) / max + 1) as i64;
    let x = honest.values[input].data().to_vec();
    let attacked: Vec<i64> = x.iter().zip(&delta).map(|(a, d)| a + t * d).collect();
    assert!(attacked.iter().any(|v| v.unsigned_abs() >= 1 << bound));
    // The prover's evaluator refuses such an input; a dishonest prover skips it: the trace is
    // the honest one with the input replaced.
    assert!(zkinfer_prover::witness_quantized(
        model,
        &[Tensor::new(x_shape.clone(), attacked.clone()).unwrap()],
    )
    .is_err());
    let mut trace = honest.clone();
    trace.values[input] = Tensor::new(x_shape.clone(), attacked.clone()).unwrap();
    let proof = prove_trace(
        Backend::Cpu,
        model,
        keys,
        &u.params,
        std::sync::Arc::new(trace),
        None,
    )
    .expect("the circuit does not range-check unpacked inputs: the proof is valid");

    // Rust (and so WASM and Python): refused by the declared bound.
    let err = verify(&keys.bundle, &proof).unwrap_err();
    assert!(
        matches!(err, VerifyError::InstanceOutOfRange { index, .. } if attacked[index].unsigned_abs() >= 1 << bound),
        "{err}"
    );
    // The shared verifier alone accepts it; the entry refuses it before any cryptography.
    let mut d = deploy(&keys.bundle);
    accepted(
        &mut d.chain,
        d.verifier,
        evm::calldata(d.key.as_ref(), &proof).unwrap(),
    )
    .expect("a valid proof for the circuit: the bare verifier accepts it");
    let err = accepted(&mut d.chain, d.entry, entry::calldata(&proof).unwrap()).unwrap_err();
    assert!(
        reverted_with(&err, "PublicValueOutOfBound(uint256,uint256)"),
        "{err}"
    );
    // A value exactly at the bound's edge: 2^b − 1 passes the bound checks of both, −2^b
    // fails both (the proof itself is then invalid, which is checked after the bounds).
    let mut edge = u.proof.clone();
    edge.instances[0][0] = fr_to_hex(&-Fr::from(1u64 << bound));
    assert!(matches!(
        verify(&keys.bundle, &edge).unwrap_err(),
        VerifyError::InstanceOutOfRange { index: 0, .. }
    ));
    let err = accepted(&mut d.chain, d.entry, entry::calldata(&edge).unwrap()).unwrap_err();
    assert!(
        reverted_with(&err, "PublicValueOutOfBound(uint256,uint256)"),
        "{err}"
    );
    edge.instances[0][0] = fr_to_hex(&-Fr::from((1u64 << bound) - 1));
    assert!(matches!(
        verify(&keys.bundle, &edge).unwrap_err(),
        VerifyError::InvalidProof
    ));
    let err = accepted(&mut d.chain, d.entry, entry::calldata(&edge).unwrap()).unwrap_err();
    assert!(reverted_with(&err, "ProofRejected()"), "{err}");

    // The fixture for the WASM and Python verifiers' tests.
    let fx = attack_fixture_dir();
    std::fs::create_dir_all(&fx).unwrap();
    std::fs::write(fx.join("bundle.bin"), keys.bundle.to_bytes()).unwrap();
    std::fs::write(fx.join("proof.json"), proof.to_json()).unwrap();
}

#[test]
fn packed_values_are_bounded_by_the_entry_as_by_the_rust_verifier() {
    let c = lenet();
    let mut d = deploy(&c.bundle);
    let gas = accepted(&mut d.chain, d.entry, entry::calldata(&c.proof).unwrap()).unwrap();
    let direct = accepted(
        &mut d.chain,
        d.verifier,
        evm::calldata(d.key.as_ref(), &c.proof).unwrap(),
    )
    .unwrap();
    println!(
        "lenet ({} packed instances): {gas} gas through the entry, {direct} direct: the entry costs {} gas",
        c.proof.instances[0].len(),
        gas - direct
    );
    let s = &c.bundle.header.settings;
    let p = s.packing().unwrap();
    let limbs = |v: &Fr| {
        let mut l = [0u64; 4];
        for (o, chunk) in l.iter_mut().zip(v.to_repr().as_ref().chunks(8)) {
            *o = u64::from_le_bytes(chunk.try_into().unwrap());
        }
        l
    };
    let here = p.per.min(s.value_len());
    let first = fr_from_hex(&c.proof.instances[0][0]).unwrap();
    let mut values = p.unpack(&[limbs(&first)], here).unwrap();
    // A digit above the last one: a remainder the unpacking would leave.
    let mut shift = Fr::one();
    for _ in 0..here {
        shift *= Fr::from(p.base);
    }
    let mut cases = vec![("a remainder above the digits", first + shift)];
    // The first value just past its bound, still a digit of the packing (when the bound is
    // tighter than the packing's range).
    let bound = s.inputs[0].bound;
    values[0] = 1 << bound;
    if let Some(packed) = p.pack(&values) {
        cases.push(("the first value past its bound", Fr::from_raw(packed[0])));
    }
    // The packing's lowest value, −2^m (digit 0): inside the circuit's range, outside a
    // bound of m bits.
    values[0] = -p.offset;
    let lowest = Fr::from_raw(p.pack(&values).unwrap()[0]);
    println!("{} packed forgeries", cases.len());
    // Whatever the bounds say of it, both verifiers say the same.
    let mut forged = c.proof.clone();
    forged.instances[0][0] = fr_to_hex(&lowest);
    let rust = verify(&c.bundle, &forged).unwrap_err();
    let err = accepted(&mut d.chain, d.entry, entry::calldata(&forged).unwrap()).unwrap_err();
    match rust {
        VerifyError::InstanceOutOfRange { .. } => assert!(
            reverted_with(&err, "PublicValueOutOfBound(uint256,uint256)"),
            "{err}"
        ),
        VerifyError::InvalidProof => assert!(reverted_with(&err, "ProofRejected()"), "{err}"),
        other => panic!("{other}"),
    }
    for (what, v) in cases {
        let mut forged = c.proof.clone();
        forged.instances[0][0] = fr_to_hex(&v);
        let rust = verify(&c.bundle, &forged).unwrap_err();
        assert!(
            matches!(
                rust,
                VerifyError::InstancePacking { index: 0, .. }
                    | VerifyError::InstanceOutOfRange { index: 0, .. }
            ),
            "{what}: {rust}"
        );
        let err = accepted(&mut d.chain, d.entry, entry::calldata(&forged).unwrap()).unwrap_err();
        assert!(
            reverted_with(&err, "PublicValueOutOfBound(uint256,uint256)"),
            "{what}: {err}"
        );
    }
}
