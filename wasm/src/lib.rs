//! zkinfer's verifier in WebAssembly: `verify(bundle, proof, input?)` and
//! `verifyChain(bundles, proofs, input?)` for web pages and Node, over `zkinfer-verifier`
//! alone (no prover, ONNX or onnxruntime code). Built by `scripts/build-wasm.sh` into
//! `wasm/pkg` (web) and `wasm/pkg-node` (Node). A rejection throws an `Error` whose message
//! says why and whose `reason` names the typed reason (`"InvalidProof"`, `"InputMismatch"`, …).

use serde::Serialize;
use wasm_bindgen::prelude::*;
use zkinfer_verifier::{check_inputs, Bundle, ProofFile, VerifiedOutput, VerifyError};

/// What a verified proof states, as the JavaScript object `verify` returns.
#[derive(Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verified {
    /// Dequantized outputs, as proven.
    pub outputs: Vec<Vec<f32>>,
    /// The quantized outputs, as proven.
    pub quantized_outputs: Vec<Vec<i64>>,
    /// Dequantized and quantized inputs, as proven (empty when they are a commitment).
    pub inputs: Vec<Vec<f32>>,
    pub quantized_inputs: Vec<Vec<i64>>,
    /// What names the proven input: `sha256:…` of the quantized inputs, or the commitment.
    pub inputs_digest: String,
    /// Digest of the compiled model the bundle's key was made for.
    pub model_digest: String,
    /// Digest of the verifying key.
    pub vk_digest: String,
    /// The statement digest of the bundle (verifying key, settings, SRS points): what to pin.
    pub statement_digest: String,
    /// A shard's commitments to its inputs and outputs, when the proof is a shard's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_commitment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_commitment: Option<String>,
}

impl Verified {
    fn new(out: VerifiedOutput, bundle: &Bundle) -> Self {
        let h = &bundle.header;
        Self {
            outputs: out.outputs,
            quantized_outputs: out.quantized_outputs,
            inputs: out.inputs,
            quantized_inputs: out.quantized_inputs,
            inputs_digest: out.inputs_digest,
            model_digest: h.model_digest.clone(),
            vk_digest: h.vk_digest.clone(),
            statement_digest: bundle.statement_digest(),
            input_commitment: out.input_commitment,
            output_commitment: out.output_commitment,
        }
    }
}

/// Verifies `proof` (the proof JSON `zkinfer prove` writes) against `bundle` (the bytes of
/// `keys/bundle.bin`); with `input` (floats, one list per model input), checks that the proof
/// is of that input ([`check_inputs`]); with `digest`, that the bundle is the pinned
/// statement's ([`zkinfer_verifier::verify_pinned`]). The Rust side of [`verify`], for tests
/// on the host.
pub fn verify_bytes(
    bundle: &[u8],
    proof: &str,
    input: Option<&[Vec<f32>]>,
    digest: Option<&str>,
) -> Result<Verified, VerifyError> {
    let bundle = Bundle::from_bytes(bundle, "bundle")?;
    let proof = ProofFile::from_slice(proof.as_bytes(), "proof")?;
    let out = match digest {
        Some(d) => zkinfer_verifier::verify_pinned(&bundle, &proof, d)?,
        None => zkinfer_verifier::verify(&bundle, &proof)?,
    };
    if let Some(values) = input {
        check_inputs(&bundle.header.settings, &out, values)?;
    }
    Ok(Verified::new(out, &bundle))
}

/// [`verify_bytes`] for a shard chain: bundles and proofs in chain order; `input` is checked
/// against the chain's input (the first shard's).
pub fn verify_chain_bytes(
    bundles: &[Vec<u8>],
    proofs: &[String],
    input: Option<&[Vec<f32>]>,
) -> Result<Verified, VerifyError> {
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
    if let (Some(values), Some((first, _))) = (input, parsed.first()) {
        check_inputs(&first.header.settings, &out, values)?;
    }
    Ok(Verified::new(out, &parsed[parsed.len() - 1].0))
}

/// Flat float lists, one per model input, from the JSON of an input as JavaScript gives it:
/// `{input_data: [...]}` (an input file's object) or the list itself, whose items are one
/// (possibly nested) array per input; a list of numbers is the values of a one-input model.
/// Booleans read as 0 and 1.
pub fn inputs_from_json(v: &serde_json::Value) -> Result<Vec<Vec<f32>>, String> {
    use zkinfer_ir::flatten_json_values as flatten;
    let list = v.get("input_data").unwrap_or(v);
    let items = list
        .as_array()
        .ok_or("input: expected an array with one array per model input, or {input_data}")?;
    if items.iter().all(|i| !i.is_array()) {
        let mut one = Vec::with_capacity(items.len());
        flatten(list, &mut one).map_err(|e| format!("input: {e}"))?;
        return Ok(vec![one]);
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let mut out = Vec::new();
            flatten(item, &mut out).map_err(|e| format!("input {i}: {e}"))?;
            Ok(out)
        })
        .collect()
}

fn to_js(v: &Verified) -> Result<JsValue, JsValue> {
    let json = serde_json::to_string(v).map_err(|e| js_error(&e.to_string(), "Internal"))?;
    js_sys::JSON::parse(&json).map_err(|_| js_error("internal: result is not JSON", "Internal"))
}

/// An `Error` with `message` and a `reason` property.
fn js_error(message: &str, reason: &str) -> JsValue {
    let e = js_sys::Error::new(message);
    // Setting a property of a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(&e, &"reason".into(), &reason.into());
    e.into()
}

fn reject(e: &VerifyError) -> JsValue {
    js_error(&e.to_string(), e.kind())
}

/// The optional `input` argument: `undefined` or `null` for none.
fn js_inputs(input: &JsValue) -> Result<Option<Vec<Vec<f32>>>, JsValue> {
    if input.is_undefined() || input.is_null() {
        return Ok(None);
    }
    let text = js_sys::JSON::stringify(input)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| js_error("input: not JSON-serializable", "InputFormat"))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| js_error(&format!("input: {e}"), "InputFormat"))?;
    inputs_from_json(&v)
        .map(Some)
        .map_err(|e| js_error(&e, "InputFormat"))
}

/// `verify(bundle: Uint8Array, proof: string, input?, digest?)`: `{ outputs, quantizedOutputs,
/// inputs, quantizedInputs, inputsDigest, modelDigest, vkDigest, statementDigest }`, or throws an `Error` whose message
/// says why and whose `reason` is the typed reason. With `input` (arrays, one per model input,
/// or `{input_data}`), the proof must be of exactly that input (`"InputMismatch"` names the
/// first differing element; `"InputCommitment"` for a committed input). With `digest`
/// (`sha256:…`, the model publisher's statement digest or an entry contract's
/// `STATEMENT_DIGEST`), a bundle whose key, settings or SRS points differ is refused
/// (`"WrongStatement"`); the result's `statementDigest` is the bundle's.
#[wasm_bindgen]
pub fn verify(
    bundle: &[u8],
    proof: &str,
    input: JsValue,
    digest: Option<String>,
) -> Result<JsValue, JsValue> {
    let input = js_inputs(&input)?;
    let v =
        verify_bytes(bundle, proof, input.as_deref(), digest.as_deref()).map_err(|e| reject(&e))?;
    to_js(&v)
}

/// `verifyChain(bundles: Uint8Array[], proofs: string[], input?)`: the chain's final outputs
/// and its input's digest, or throws with the reason (which link, which cut, which hand-off);
/// `input` as for `verify`, checked against the chain's input.
#[wasm_bindgen(js_name = verifyChain)]
pub fn verify_chain(
    bundles: Vec<js_sys::Uint8Array>,
    proofs: Vec<String>,
    input: JsValue,
) -> Result<JsValue, JsValue> {
    let input = js_inputs(&input)?;
    let bundles: Vec<Vec<u8>> = bundles.iter().map(|b| b.to_vec()).collect();
    let v = verify_chain_bytes(&bundles, &proofs, input.as_deref()).map_err(|e| reject(&e))?;
    to_js(&v)
}

/// The version of this build (the crate's).
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").into()
}

#[cfg(test)]
mod tests {
    use super::inputs_from_json;
    use serde_json::json;

    #[test]
    fn inputs_come_from_an_input_file_object_a_list_per_input_or_one_inputs_values() {
        let two = Ok(vec![vec![1.0, 2.0, 3.0], vec![1.0]]);
        assert_eq!(inputs_from_json(&json!([[[1, 2], [3]], [true]])), two);
        assert_eq!(
            inputs_from_json(&json!({"input_data": [[1, 2, 3], [1]]})),
            two
        );
        assert_eq!(
            inputs_from_json(&json!([0.5, -1])),
            Ok(vec![vec![0.5, -1.0]])
        );
        assert!(inputs_from_json(&json!({"x": 1})).is_err());
        assert!(inputs_from_json(&json!([["a"]])).is_err());
    }
}
