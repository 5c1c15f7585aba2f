//! Whether a proof is of the caller's input. A valid proof shows that the model maps *some*
//! input to its outputs; a prover handed input A can prove input B, and the outputs still
//! look like answers to A. [`check_inputs`] closes that: the caller's floats, quantized as
//! the prover quantizes them, must be the proven input, element for element, or give the
//! proven Poseidon commitment when the input is public only as one.

use zkinfer_circuits::poseidon;
use zkinfer_ir::{quantize_inputs, IrError, Settings};

use crate::{fr_to_hex, VerifiedOutput, VerifyError};

/// Checks that `inputs` (floats, one flat list per model input, as in an input file) are the
/// input `verified` proves. `settings` are the verified bundle's (a chain's: its first
/// shard's). The floats are quantized at the inputs' scales exactly as the prover quantizes
/// them ([`zkinfer_ir::quantize_inputs`]); then each value must equal the proven one (the
/// first that differs is named, [`VerifyError::InputMismatch`]), or, where the input is
/// committed (`split --hash-input`, or an inner shard), their commitment must equal the
/// proven one ([`VerifyError::InputCommitment`]).
pub fn check_inputs(
    settings: &Settings,
    verified: &VerifiedOutput,
    inputs: &[Vec<f32>],
) -> Result<(), VerifyError> {
    let given = quantize_inputs(&settings.inputs, inputs)?;
    if settings.commits_inputs() {
        return check_commitment(settings, verified, &given);
    }
    if verified.input_commitment.is_some() || verified.quantized_inputs.len() != given.len() {
        return Err(IrError::InputCount {
            expected: verified.quantized_inputs.len(),
            got: given.len(),
        }
        .into());
    }
    for (input, ((info, proven), given)) in settings
        .inputs
        .iter()
        .zip(&verified.quantized_inputs)
        .zip(&given)
        .enumerate()
    {
        if proven.len() != given.len() {
            return Err(IrError::InputShape {
                index: input,
                name: info.name.clone(),
                shape: info.shape.clone(),
                expected: proven.len(),
                got: given.len(),
            }
            .into());
        }
        if let Some(element) = proven.iter().zip(given).position(|(p, g)| p != g) {
            return Err(VerifyError::InputMismatch {
                input,
                name: info.name.clone(),
                element,
                proven: proven[element],
                given: given[element],
                scale: info.scale,
            });
        }
    }
    Ok(())
}

/// The committed case: the quantized `given` values hashed as the circuit hashes them.
fn check_commitment(
    settings: &Settings,
    verified: &VerifiedOutput,
    given: &[Vec<i64>],
) -> Result<(), VerifyError> {
    let Some(proven) = &verified.input_commitment else {
        return Err(VerifyError::InputCommitment {
            proven: "none (the proof's input is public, not committed)".into(),
            given: "a commitment".into(),
        });
    };
    let values: Vec<i64> = given.iter().flatten().copied().collect();
    let packing = settings.commitment_packing(true);
    // A value outside the packing's domain cannot have been proven: no commitment matches.
    let given = poseidon::commit_boundary(&values, packing).map_or_else(
        || "none (a value is outside the table's domain)".into(),
        |c| fr_to_hex(&c),
    );
    if &given != proven {
        return Err(VerifyError::InputCommitment {
            proven: proven.clone(),
            given,
        });
    }
    Ok(())
}
