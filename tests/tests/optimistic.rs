//! Optimistic mode off chain: claims by evaluation alone, their comparison, and fraud proofs.
//! LeNet split into three shards; a dishonest node changes one activation of the middle
//! shard's output (and evaluates on honestly from it). Every way of presenting a proof that
//! does not refute the claim (of an honest claim, of the wrong segment, of another model's
//! shard, against another claim, with a broken proof) is refused, each for its reason.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use halo2_axiom::halo2curves::bn256::Bn256;
use halo2_axiom::poly::kzg::commitment::ParamsKZG;
use zkinfer_ir::CompiledModel;
use zkinfer_prover::{
    check_claim, claim, dispute, evaluate, load_srs, name_keys, setup, split_model, Alteration,
    Backend, Cuts, Keys, Segments,
};
use zkinfer_tests::{compile_example, corpus};
use zkinfer_verifier::{compare_claims, verify_dispute, Agreement, Claim, FraudProof, VerifyError};

fn keys_for(model: &CompiledModel) -> (Keys, ParamsKZG<Bn256>) {
    let (params, srs) = load_srs(model.settings.k, None).unwrap();
    (setup(model, &params, srs).unwrap(), params)
}

fn shards(model: &CompiledModel, n: usize) -> Segments {
    let split = split_model(model, &Cuts::Balanced(n), false).unwrap();
    Segments::new(split.into_iter().map(|s| s.model).collect()).unwrap()
}

fn dispute_kind(r: Result<zkinfer_verifier::Refutation, VerifyError>) -> String {
    match r {
        Ok(r) => panic!(
            "refuted segment {}: the fraud proof was accepted",
            r.segment
        ),
        Err(e) => format!("{}: {e}", e.kind()),
    }
}

#[test]
fn a_wrong_activation_is_caught_and_refuted_by_one_segment_and_nothing_else_refutes() {
    let (model, input) = compile_example(&corpus().join("cnn/lenet_digits")).unwrap();
    let segments = shards(&model, 3);
    let honest = evaluate(&segments, &input, None).unwrap();

    // Honest claims agree, whatever the thread count (the semantics are integers).
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| claim(&segments, &input).unwrap());
    assert_eq!(one_thread, honest.claim);
    assert_eq!(
        compare_claims(&honest.claim, &one_thread).unwrap(),
        Agreement::Agree
    );
    assert_eq!(
        check_claim(&segments, &input, &honest.claim).unwrap(),
        Agreement::Agree
    );
    // The whole model's output, claimed in one segment, is the chain's.
    let whole = claim(&Segments::new(vec![model.clone()]).unwrap(), &input).unwrap();
    assert_eq!(whole.boundaries[1], honest.claim.boundaries[3]);

    // One activation of the middle shard's output changed by one unit.
    let alteration = Alteration {
        segment: 1,
        index: 5,
        delta: 1,
    };
    let cheat = evaluate(&segments, &input, Some(alteration)).unwrap().claim;
    assert_eq!(
        check_claim(&segments, &input, &cheat).unwrap(),
        Agreement::Differ { segment: 1 }
    );
    assert_eq!(
        compare_claims(&honest.claim, &cheat).unwrap(),
        Agreement::Differ { segment: 1 }
    );

    // Claims of different inputs are not a disagreement about the model.
    let mut other_input = input.clone();
    other_input[0][3] += 0.5;
    let other = claim(&segments, &other_input).unwrap();
    let e = compare_claims(&honest.claim, &other).unwrap_err();
    assert_eq!(e.kind(), "Claim", "{e}");

    let (keys0, params0) = keys_for(&segments.models()[0]);
    let (keys1, params1) = keys_for(&segments.models()[1]);
    let (keys2, params2) = keys_for(&segments.models()[2]);

    // An honest claim gives nothing to dispute.
    let nothing = dispute(
        &segments,
        &honest,
        &honest.claim,
        &keys1,
        &params1,
        Backend::Cpu,
    );
    assert!(nothing.is_err(), "an honest claim was disputed");

    // The dishonest claim is refuted by a proof of its middle segment alone.
    let mut cheat = cheat;
    name_keys(&mut cheat, &[&keys0.bundle, &keys1.bundle, &keys2.bundle]).unwrap();
    let fraud = dispute(&segments, &honest, &cheat, &keys1, &params1, Backend::Cpu).unwrap();
    assert_eq!(fraud.segment, 1);
    let refuted = verify_dispute(&cheat, &fraud, &keys1.bundle).unwrap();
    assert_eq!(refuted.segment, 1);
    assert_ne!(refuted.proven, refuted.claimed);
    assert_eq!(refuted.proven, honest.claim.boundaries[2]);
    // The file round-trips.
    let read = FraudProof::from_slice(fraud.to_json().as_bytes(), "fraud.json").unwrap();
    verify_dispute(&cheat, &read, &keys1.bundle).unwrap();
    let cheat_read = Claim::from_slice(cheat.to_json().as_bytes(), "claim.json").unwrap();
    assert_eq!(cheat_read.digest(), cheat.digest());

    // The same proof against the honest claim: it confirms it.
    let mut against_honest = fraud.clone();
    against_honest.claim_digest = honest.claim.digest();
    let why = dispute_kind(verify_dispute(
        &honest.claim,
        &against_honest,
        &keys1.bundle,
    ));
    assert!(why.contains("ends where the claim does"), "{why}");

    // Replayed against another claim (another dishonest change): refused by its digest.
    let cheat2 = evaluate(
        &segments,
        &input,
        Some(Alteration {
            delta: 2,
            ..alteration
        }),
    )
    .unwrap()
    .claim;
    let why = dispute_kind(verify_dispute(&cheat2, &fraud, &keys1.bundle));
    assert!(why.starts_with("Dispute"), "{why}");

    // The right proof named as another segment, or checked with another segment's keys.
    let mut renamed = fraud.clone();
    renamed.segment = 2;
    let why = dispute_kind(verify_dispute(&cheat, &renamed, &keys1.bundle));
    assert!(why.contains("segment 2 is"), "{why}");
    let why = dispute_kind(verify_dispute(&cheat, &fraud, &keys2.bundle));
    assert!(why.contains("segment 1 is"), "{why}");

    // An honest proof of the wrong segment: segment 2 from the honest boundary 2, which is
    // not the dishonest claim's boundary 2.
    let mut honest2 = honest.clone();
    honest2.claim.boundaries[3].values = Some(vec![0; 10]);
    let seg2 = dispute(
        &segments,
        &honest,
        &honest2.claim,
        &keys2,
        &params2,
        Backend::Cpu,
    )
    .unwrap();
    assert_eq!(seg2.segment, 2);
    let mut wrong_segment = seg2.clone();
    wrong_segment.claim_digest = cheat.digest();
    let why = dispute_kind(verify_dispute(&cheat, &wrong_segment, &keys2.bundle));
    assert!(why.contains("starts from"), "{why}");
    // And an honest proof of segment 0, which the dishonest claim gets right.
    let mut bad0 = honest.claim.clone();
    bad0.boundaries[1].commitment = cheat.boundaries[2].commitment.clone();
    let seg0 = dispute(&segments, &honest, &bad0, &keys0, &params0, Backend::Cpu).unwrap();
    let mut right_segment = seg0.clone();
    right_segment.claim_digest = cheat.digest();
    let why = dispute_kind(verify_dispute(&cheat, &right_segment, &keys0.bundle));
    assert!(why.contains("ends where the claim does"), "{why}");

    // Keys other than the ones the claim names: refused by the claim's statement digest.
    let mut pinned = cheat.clone();
    pinned.segments[1].statement_digest = Some(keys0.bundle.statement_digest());
    let mut for_pinned = fraud.clone();
    for_pinned.claim_digest = pinned.digest();
    let why = dispute_kind(verify_dispute(&pinned, &for_pinned, &keys1.bundle));
    assert!(why.starts_with("WrongStatement"), "{why}");

    // A proof of another model's shard (the same LeNet cut in two): refused by its digest.
    let two = shards(&model, 2);
    let other_claim = evaluate(
        &two,
        &input,
        Some(Alteration {
            segment: 0,
            index: 0,
            delta: 1,
        }),
    )
    .unwrap()
    .claim;
    let other_honest = evaluate(&two, &input, None).unwrap();
    let (keys_b, params_b) = keys_for(&two.models()[0]);
    let foreign = dispute(
        &two,
        &other_honest,
        &other_claim,
        &keys_b,
        &params_b,
        Backend::Cpu,
    )
    .unwrap();
    let mut foreign = foreign;
    foreign.claim_digest = cheat.digest();
    for segment in 0..3 {
        foreign.segment = segment;
        let why = dispute_kind(verify_dispute(&cheat, &foreign, &keys_b.bundle));
        assert!(why.starts_with("Dispute"), "{why}");
    }

    // A broken proof of the right segment: invalid.
    let mut broken = fraud.clone();
    let mut bytes = hex::decode(broken.proof.proof.trim_start_matches("0x")).unwrap();
    bytes[40] ^= 1;
    broken.proof.proof = format!("0x{}", hex::encode(bytes));
    let why = dispute_kind(verify_dispute(&cheat, &broken, &keys1.bundle));
    assert!(!why.starts_with("Dispute"), "{why}");

    // A dishonest output (the last segment): refuted by values, not a commitment.
    let cheat_out = evaluate(
        &segments,
        &input,
        Some(Alteration {
            segment: 2,
            index: 7,
            delta: -3,
        }),
    )
    .unwrap()
    .claim;
    let fraud_out = dispute(
        &segments,
        &honest,
        &cheat_out,
        &keys2,
        &params2,
        Backend::Cpu,
    )
    .unwrap();
    let r = verify_dispute(&cheat_out, &fraud_out, &keys2.bundle).unwrap();
    assert_eq!(r.segment, 2);
    assert!(r.proven.values.is_some());
}
