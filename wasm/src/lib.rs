//! zkinfer's verifier in WebAssembly: `verify(bundle, proof)` and `verifyChain(bundles,
//! proofs)` for web pages and Node, over `zkinfer-verifier` alone (no prover, ONNX or
//! onnxruntime code). Built by `scripts/build-wasm.sh` into `wasm/pkg` (web) and
//! `wasm/pkg-node` (Node).

use serde::Serialize;
use wasm_bindgen::prelude::*;
use zkinfer_verifier::{Bundle, ProofFile, VerifiedOutput, VerifyError};

/// What a verified proof states, as the JavaScript object `verify` returns.
#[derive(Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verified {
    /// Dequantized outputs, as proven.
    pub outputs: Vec<Vec<f32>>,
    /// The quantized outputs, as proven.
    pub quantized_outputs: Vec<Vec<i64>>,
    /// Digest of the compiled model the bundle's key was made for.
    pub model_digest: String,
    /// Digest of the verifying key.
    pub vk_digest: String,
    /// A shard's commitments to its inputs and outputs, when the proof is a shard's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_commitment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_commitment: Option<String>,
}

impl Verified {
    fn new(out: VerifiedOutput, model_digest: String, vk_digest: String) -> Self {
        Self {
            outputs: out.outputs,
            quantized_outputs: out.quantized_outputs,
            model_digest,
            vk_digest,
            input_commitment: out.input_commitment,
            output_commitment: out.output_commitment,
        }
    }
}

/// Verifies `proof` (the proof JSON `zkinfer prove` writes) against `bundle` (the bytes of
/// `keys/bundle.bin`). The Rust side of [`verify`], for tests on the host.
pub fn verify_bytes(bundle: &[u8], proof: &str) -> Result<Verified, VerifyError> {
    let bundle = Bundle::from_bytes(bundle, "bundle")?;
    let proof = ProofFile::from_slice(proof.as_bytes(), "proof")?;
    let out = zkinfer_verifier::verify(&bundle, &proof)?;
    Ok(Verified::new(
        out,
        bundle.header.model_digest.clone(),
        bundle.header.vk_digest.clone(),
    ))
}

/// [`verify_bytes`] for a shard chain: bundles and proofs in chain order.
pub fn verify_chain_bytes(bundles: &[Vec<u8>], proofs: &[String]) -> Result<Verified, VerifyError> {
    if bundles.len() != proofs.len() {
        return Err(VerifyError::ChainLength {
            expected: bundles.len(),
            got: proofs.len(),
        });
    }
    let parsed: Vec<(Bundle, ProofFile)> = bundles
        .iter()
        .zip(proofs)
        .enumerate()
        .map(|(i, (b, p))| {
            Ok((
                Bundle::from_bytes(b, &format!("bundle {i}"))?,
                ProofFile::from_slice(p.as_bytes(), &format!("proof {i}"))?,
            ))
        })
        .collect::<Result<_, VerifyError>>()?;
    let links: Vec<(&Bundle, &ProofFile)> = parsed.iter().map(|(b, p)| (b, p)).collect();
    let out = zkinfer_verifier::verify_chain(&links)?;
    let last = &parsed[parsed.len() - 1].0.header;
    Ok(Verified::new(
        out,
        last.model_digest.clone(),
        last.vk_digest.clone(),
    ))
}

fn to_js(v: &Verified) -> Result<JsValue, JsError> {
    let json = serde_json::to_string(v).map_err(|e| JsError::new(&e.to_string()))?;
    js_sys::JSON::parse(&json).map_err(|_| JsError::new("internal: result is not JSON"))
}

/// `verify(bundle: Uint8Array, proof: string)`: `{ outputs, quantizedOutputs, modelDigest,
/// vkDigest }`, or throws an `Error` whose message is the typed reason.
#[wasm_bindgen]
pub fn verify(bundle: &[u8], proof: &str) -> Result<JsValue, JsError> {
    let v = verify_bytes(bundle, proof).map_err(|e| JsError::new(&e.to_string()))?;
    to_js(&v)
}

/// `verifyChain(bundles: Uint8Array[], proofs: string[])`: the chain's final outputs, or
/// throws with the reason (which link, which hand-off).
#[wasm_bindgen(js_name = verifyChain)]
pub fn verify_chain(
    bundles: Vec<js_sys::Uint8Array>,
    proofs: Vec<String>,
) -> Result<JsValue, JsError> {
    let bundles: Vec<Vec<u8>> = bundles.iter().map(|b| b.to_vec()).collect();
    let v = verify_chain_bytes(&bundles, &proofs).map_err(|e| JsError::new(&e.to_string()))?;
    to_js(&v)
}

/// The version of this build (the crate's).
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").into()
}
