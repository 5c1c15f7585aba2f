//! The zkinfer verifier: small and strict. It checks a proof's shape — format, version,
//! digests, instance count and encoding, declared bounds — with typed errors before any
//! cryptography, then runs the KZG (SHPLONK) verifier. It never panics on hostile bytes and
//! depends on no ONNX, onnxruntime or prover code.
//!
//! ```no_run
//! let bundle = zkinfer_verifier::Bundle::read("keys/bundle.bin".as_ref())?;
//! let proof = zkinfer_verifier::ProofFile::read("proof.json".as_ref())?;
//! let out = zkinfer_verifier::verify(&bundle, &proof)?;
//! println!("{:?}", out.outputs);
//! # Ok::<(), zkinfer_verifier::VerifyError>(())
//! ```

mod bundle;
mod chain;
mod error;
#[cfg(feature = "evm")]
pub mod evm;
mod inputs;
mod optimistic;
mod proof;
mod transcript;

use std::io::Cursor;

use halo2_axiom::halo2curves::bn256::{Bn256, Fr};
use halo2_axiom::halo2curves::ff::PrimeField;
use halo2_axiom::plonk::verify_proof;
use halo2_axiom::poly::kzg::commitment::KZGCommitmentScheme;
use halo2_axiom::poly::kzg::multiopen::VerifierSHPLONK;
use halo2_axiom::poly::kzg::strategy::SingleStrategy;
use halo2_axiom::transcript::TranscriptReadBuffer;
use zkinfer_ir::Settings;

pub use bundle::{Bundle, BundleHeader, SrsInfo};
pub use chain::{verify_chain, ChainVerifier, ComputedFrom};
pub use error::VerifyError;
pub use inputs::check_inputs;
pub use optimistic::{
    compare_claims, verify_dispute, Agreement, Boundary, Claim, FraudProof, Refutation, Segment,
    CLAIM_FORMAT, CLAIM_VERSION, FRAUD_PROOF_FORMAT, FRAUD_PROOF_VERSION,
};
pub use proof::{ProofFile, Reference, PROOF_FORMAT, PROOF_VERSION};
pub use transcript::{KeccakChallenge, KeccakRead, KeccakWrite};

/// What a valid proof establishes.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedOutput {
    /// Dequantized inputs and outputs, read from the proven public instances.
    pub inputs: Vec<Vec<f32>>,
    /// The quantized inputs as proven (none when they are a commitment): what
    /// [`check_inputs`] compares a caller's input with.
    pub quantized_inputs: Vec<Vec<i64>>,
    /// What names the proven input: [`zkinfer_ir::inputs_digest`] of the quantized inputs
    /// (`sha256:…`), or the Poseidon commitment (`0x…`) when the input is public only as one.
    pub inputs_digest: String,
    pub outputs: Vec<Vec<f32>>,
    /// The quantized outputs as proven.
    pub quantized_outputs: Vec<Vec<i64>>,
    /// Each output's element type: integer and boolean outputs are exact integers.
    pub dtypes: Vec<zkinfer_ir::ElemType>,
    /// A shard's Poseidon commitment to its inputs (`0x…`), in place of `inputs`.
    pub input_commitment: Option<String>,
    /// A shard's Poseidon commitment to its outputs (`0x…`), in place of `outputs`.
    pub output_commitment: Option<String>,
}

impl VerifiedOutput {
    /// What a model with `settings` states by these public values: the quantized inputs and
    /// outputs (empty on a side that is public only as its commitment) and the commitments.
    pub(crate) fn from_public(
        settings: &zkinfer_ir::Settings,
        quantized_inputs: Vec<Vec<i64>>,
        quantized_outputs: Vec<Vec<i64>>,
        input_commitment: Option<String>,
        output_commitment: Option<String>,
    ) -> Self {
        let dq = |vals: &[Vec<i64>], infos: &[zkinfer_ir::TensorInfo]| -> Vec<Vec<f32>> {
            vals.iter()
                .zip(infos)
                .map(|(v, t)| zkinfer_ir::dequantize(v, t.scale))
                .collect()
        };
        Self {
            inputs: dq(&quantized_inputs, &settings.inputs),
            inputs_digest: input_commitment
                .clone()
                .unwrap_or_else(|| zkinfer_ir::inputs_digest(&quantized_inputs)),
            quantized_inputs,
            outputs: dq(&quantized_outputs, &settings.outputs),
            quantized_outputs,
            dtypes: settings.outputs.iter().map(|t| t.dtype).collect(),
            input_commitment,
            output_commitment,
        }
    }
}

/// `0x…` big-endian hex of a field element.
pub fn fr_to_hex(v: &Fr) -> String {
    let mut bytes = v.to_repr();
    bytes.as_mut().reverse();
    format!("0x{}", hex::encode(bytes.as_ref()))
}

/// Parses `0x…` big-endian hex into a canonical field element.
pub fn fr_from_hex(s: &str) -> Option<Fr> {
    let h = s.strip_prefix("0x")?;
    if h.len() != 64 {
        return None;
    }
    let mut bytes = hex::decode(h).ok()?;
    bytes.reverse();
    let mut repr = <Fr as PrimeField>::Repr::default();
    repr.as_mut().copy_from_slice(&bytes);
    Option::from(Fr::from_repr(repr))
}

/// A field element as a signed integer, when `|v| < 2^63`.
pub fn fr_to_i64(v: &Fr) -> Option<i64> {
    let small = |x: &Fr| {
        let r = x.to_repr();
        let b = r.as_ref();
        if b[8..].iter().all(|&z| z == 0) {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[..8]);
            let u = u64::from_le_bytes(w);
            (u < 1 << 63).then_some(u as i64)
        } else {
            None
        }
    };
    small(v).or_else(|| small(&-*v).map(|n| -n))
}

/// The public instances of `proof`: one column of `expected` canonical field elements.
pub fn proof_instances(proof: &ProofFile, expected: usize) -> Result<Vec<Fr>, VerifyError> {
    let column = match proof.instances.as_slice() {
        [one] if one.len() == expected => one,
        cols => {
            return Err(VerifyError::InstanceCount {
                expected,
                got: cols.iter().map(Vec::len).sum(),
            })
        }
    };
    column
        .iter()
        .enumerate()
        .map(|(index, s)| {
            fr_from_hex(s).ok_or_else(|| VerifyError::InstanceEncoding {
                index,
                value: s.clone(),
            })
        })
        .collect()
}

/// The proof bytes of `proof`.
pub fn proof_bytes(proof: &ProofFile) -> Result<Vec<u8>, VerifyError> {
    let bytes = proof
        .proof
        .strip_prefix("0x")
        .and_then(|h| hex::decode(h).ok())
        .ok_or_else(|| VerifyError::ProofEncoding {
            reason: "not 0x-prefixed hex".into(),
        })?;
    if bytes.is_empty() {
        return Err(VerifyError::ProofEncoding {
            reason: "empty".into(),
        });
    }
    Ok(bytes)
}

/// The public values an instance column encodes: one per instance, or unpacked from packed
/// instances (`None` for a value that is not a small integer).
fn public_values(instances: &[Fr], settings: &Settings) -> Result<Vec<Option<i64>>, VerifyError> {
    let Some(packing) = settings.packing() else {
        return Ok(instances.iter().map(fr_to_i64).collect());
    };
    let total = settings.value_len();
    let mut out = Vec::with_capacity(total);
    for (index, v) in instances.iter().enumerate() {
        let mut limbs = [0u64; 4];
        for (l, chunk) in limbs.iter_mut().zip(v.to_repr().as_ref().chunks(8)) {
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            *l = u64::from_le_bytes(w);
        }
        let here = packing.per.min(total - index * packing.per);
        let digits = packing
            .unpack(&[limbs], here)
            .ok_or(VerifyError::InstancePacking { index, count: here })?;
        out.extend(digits.into_iter().map(Some));
    }
    Ok(out)
}

/// [`verify`] against the bundle whose statement digest the caller pinned (the model
/// publisher's, or an entry contract's `STATEMENT_DIGEST`): a bundle whose key, settings
/// (scales, bounds, shapes, shard place) or SRS points were changed is refused before the
/// proof is read.
pub fn verify_pinned(
    bundle: &Bundle,
    proof: &ProofFile,
    statement_digest: &str,
) -> Result<VerifiedOutput, VerifyError> {
    check_statement(bundle, statement_digest)?;
    verify(bundle, proof)
}

/// Checks that `bundle`'s statement digest is `expected`.
pub fn check_statement(bundle: &Bundle, expected: &str) -> Result<(), VerifyError> {
    let got = bundle.statement_digest();
    if got != expected {
        return Err(VerifyError::WrongStatement {
            expected: expected.into(),
            got,
        });
    }
    Ok(())
}

/// Verifies `proof` against `bundle`.
pub fn verify(bundle: &Bundle, proof: &ProofFile) -> Result<VerifiedOutput, VerifyError> {
    let h = &bundle.header;
    if proof.format != PROOF_FORMAT || proof.version != PROOF_VERSION {
        return Err(VerifyError::ProofVersion {
            path: "<proof>".into(),
            got: proof.version,
            supported: PROOF_VERSION,
        });
    }
    if proof.model_digest != h.model_digest {
        return Err(VerifyError::WrongModel {
            proof: proof.model_digest.clone(),
            keys: h.model_digest.clone(),
        });
    }
    if proof.vk_digest != h.vk_digest {
        return Err(VerifyError::WrongKey {
            proof: proof.vk_digest.clone(),
            keys: h.vk_digest.clone(),
        });
    }
    if let Some(pinned) = &proof.statement_digest {
        check_statement(bundle, pinned)?;
    }
    let instances = proof_instances(proof, h.settings.instance_len())?;
    let values = public_values(&instances, &h.settings)?;

    // Every public value as a bounded signed integer, per tensor; a committed side is one
    // instance, the commitment.
    let mut at = 0;
    let mut commitments = [None, None];
    let mut read = |infos: &[zkinfer_ir::TensorInfo],
                    committed: Option<usize>|
     -> Result<Vec<Vec<i64>>, VerifyError> {
        if let Some(side) = committed {
            commitments[side] = Some(fr_to_hex(&instances[at]));
            at += 1;
            return Ok(Vec::new());
        }
        let mut out = Vec::with_capacity(infos.len());
        for t in infos {
            let mut vals = Vec::with_capacity(t.len());
            for _ in 0..t.len() {
                let v = values[at]
                    .filter(|v| v.unsigned_abs() < 1u64 << t.bound.min(63))
                    .ok_or_else(|| VerifyError::InstanceOutOfRange {
                        index: at,
                        tensor: t.name.clone(),
                        bits: t.bound,
                    })?;
                vals.push(v);
                at += 1;
            }
            out.push(vals);
        }
        Ok(out)
    };
    let q_inputs = read(&h.settings.inputs, h.settings.commits_inputs().then_some(0))?;
    let q_outputs = read(
        &h.settings.outputs,
        h.settings.commits_outputs().then_some(1),
    )?;
    let [input_commitment, output_commitment] = commitments;
    let out = VerifiedOutput::from_public(
        &h.settings,
        q_inputs,
        q_outputs,
        input_commitment,
        output_commitment,
    );
    let outputs = &out.outputs;
    // A committed side has no dequantized values in the file either.
    if proof.outputs.len() != outputs.len() {
        return Err(VerifyError::OutputsMismatch {
            output: proof.outputs.len().min(outputs.len()),
            element: 0,
        });
    }
    for (o, (claimed, proven)) in proof.outputs.iter().zip(outputs).enumerate() {
        if claimed.len() != proven.len() {
            return Err(VerifyError::OutputsMismatch {
                output: o,
                element: claimed.len().min(proven.len()),
            });
        }
        if let Some(e) = claimed
            .iter()
            .zip(proven)
            .position(|(a, b)| a.to_bits() != b.to_bits())
        {
            return Err(VerifyError::OutputsMismatch {
                output: o,
                element: e,
            });
        }
    }

    let bytes = proof_bytes(proof)?;
    let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut cursor = Cursor::new(&bytes[..]);
        let result = {
            let mut transcript = KeccakRead::init(&mut cursor);
            verify_proof::<
                KZGCommitmentScheme<Bn256>,
                VerifierSHPLONK<'_, Bn256>,
                KeccakChallenge,
                _,
                SingleStrategy<'_, Bn256>,
            >(
                &bundle.params,
                &bundle.vk,
                SingleStrategy::new(&bundle.params),
                &[&[&instances]],
                &mut transcript,
            )
        };
        result.is_ok() && cursor.position() as usize == bytes.len()
    }));
    if !matches!(ok, Ok(true)) {
        return Err(VerifyError::InvalidProof);
    }
    Ok(out)
}
