//! snark-verifier 0.2.7's Solidity verifier: every step unrolled, the verifying key inlined.
//! zkinfer's own verifier replaced it; the tests keep it as the reference (both must accept and
//! reject the same proofs), and `zkinfer verify-evm --snark-verifier` still runs it.

use std::rc::Rc;

use halo2_axiom::halo2curves::bn256::{Fq, Fr, G1Affine};
use halo2_axiom::poly::commitment::ParamsProver;
use snark_verifier_sdk::snark_verifier::loader::evm::{self, EvmLoader};
use snark_verifier_sdk::snark_verifier::system::halo2::transcript::evm::EvmTranscript;
use snark_verifier_sdk::snark_verifier::system::halo2::{compile, Config};
use snark_verifier_sdk::snark_verifier::verifier::SnarkVerifier;
use snark_verifier_sdk::{PlonkVerifier, SHPLONK};

use super::{compile_solidity, Compiled, EvmError, EVM_CODE_LIMIT};
use crate::{proof_bytes, proof_instances, Bundle, ProofFile, VerifyError};

/// The Solidity source of the verifier of `bundle`'s model.
pub fn solidity(bundle: &Bundle) -> String {
    let num_instance = vec![bundle.header.settings.instance_len()];
    let protocol = compile(
        &bundle.params,
        &bundle.vk,
        Config::kzg().with_num_instance(num_instance.clone()),
    );
    let dk = (
        bundle.params.get_g()[0],
        bundle.params.g2(),
        bundle.params.s_g2(),
    )
        .into();
    let loader = EvmLoader::new::<Fq, Fr>();
    let protocol = protocol.loaded(&loader);
    let mut transcript = EvmTranscript::<G1Affine, Rc<EvmLoader>, _, _>::new(&loader);
    let instances = transcript.load_instances(num_instance);
    // Reading and verifying symbolically emits the contract's code; with the EVM loader they
    // cannot fail (every value is symbolic).
    let proof = PlonkVerifier::<SHPLONK>::read_proof(&dk, &protocol, &instances, &mut transcript);
    if let Ok(proof) = proof {
        let _ = PlonkVerifier::<SHPLONK>::verify(&dk, &protocol, &instances, &proof);
    }
    loader.solidity_code()
}

/// The verifier of `bundle`, compiled; refused when it could not be deployed.
pub fn verifier(bundle: &Bundle) -> Result<(String, Compiled), EvmError> {
    let source = solidity(bundle);
    let compiled = compile_solidity(&source, "Halo2Verifier", false)?;
    if compiled.runtime.len() > EVM_CODE_LIMIT {
        return Err(EvmError::TooLarge {
            what: "verifier",
            size: compiled.runtime.len(),
            limit: EVM_CODE_LIMIT,
            hint: if bundle.header.settings.packed {
                "The public values are already packed (--evm): the circuit itself is too wide for one contract"
            } else {
                "Recompile the model with `zkinfer compile --evm`: it packs the public values (160 bytes of code per instance) and keeps the narrowest layout"
            },
        });
    }
    Ok((source, compiled))
}

/// The calldata of `proof`: its instances (32 big-endian bytes each), then the proof bytes.
pub fn calldata(proof: &ProofFile) -> Result<Vec<u8>, VerifyError> {
    let n = proof.instances.first().map_or(0, Vec::len);
    let instances = proof_instances(proof, n)?;
    Ok(evm::encode_calldata(&[instances], &proof_bytes(proof)?))
}

/// Deploys `deployment` in a fresh in-process EVM and calls it with `calldata`; the gas the
/// call used when the contract accepts.
pub fn deploy_and_call(deployment: Vec<u8>, calldata: Vec<u8>) -> Result<u64, EvmError> {
    let run = std::panic::catch_unwind(|| evm::deploy_and_call(deployment, calldata));
    match run {
        Ok(Ok(gas)) => Ok(gas),
        Ok(Err(e)) if e.contains("deployment") => Err(EvmError::Deploy(e)),
        Ok(Err(e)) => Err(EvmError::Rejected(e)),
        Err(_) => Err(EvmError::Deploy("the EVM stopped unexpectedly".into())),
    }
}
