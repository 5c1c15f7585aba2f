//! The entry contract: what an integrator deploys per model, and the only documented way to
//! verify a zkinfer proof on chain.
//!
//! zkinfer's verifier (`Halo2Verifier.sol`) is shared by every model and reads the model's
//! verifying key from the key contract whose address is the first calldata word: called
//! directly, it believes whatever key contract the caller names, and a key contract whose
//! program returns zero scalars accepts a proof of all-zero points for any instances. The entry
//! contract closes that door and the others a caller could leave open:
//!
//! - it fixes the verifier's and the key contract's addresses at construction, refuses to be
//!   constructed unless their code hashes (`EXTCODEHASH`) are the ones compiled into it, and
//!   checks them again on every call;
//! - it takes only the instances and the proof (`verifyProof(uint256[], bytes)`);
//! - it bounds every public value exactly as [`crate::verify`] does (`|v| < 2^bits` per
//!   tensor, packed digits unpacked and bounded, a packing that leaves a remainder refused), so
//!   that the Rust, WASM and EVM verifiers accept the same proofs;
//! - it exposes the digests it is bound to: `MODEL_DIGEST`, `VK_DIGEST` and
//!   `STATEMENT_DIGEST` ([`crate::Bundle::statement_digest`], the one a caller pins).
//!
//! Every refusal is a custom error naming the failed check.

use halo2_axiom::halo2curves::bn256::Fr;
use halo2_axiom::halo2curves::ff::PrimeField;
use revm::primitives::keccak256;

use super::{compile_solidity, key, verifier, Compiled, EvmError, EVM_CODE_LIMIT};
use crate::Bundle;

/// The entry contract's name in its source.
pub const ENTRY_CONTRACT: &str = "ZkinferEntry";

/// The bound byte of an instance that is a Poseidon commitment (any field element).
const COMMITMENT: u8 = 0xff;

/// An entry contract generated for one model.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The Solidity source (`ZkinferEntry`).
    pub source: String,
    pub compiled: Compiled,
    /// `keccak256` of the verifier's and of the key contract's runtime code: what the entry
    /// requires `EXTCODEHASH` to be.
    pub verifier_codehash: [u8; 32],
    pub key_codehash: [u8; 32],
}

impl Entry {
    /// The creation code with its constructor's arguments: the verifier's and the key
    /// contract's addresses.
    pub fn deployment_code(&self, verifier: &[u8; 20], key: &[u8; 20]) -> Vec<u8> {
        let mut code = self.compiled.deployment.clone();
        for address in [verifier, key] {
            code.extend([0u8; 12]);
            code.extend(address);
        }
        code
    }
}

/// `sha256:<hex>` as a Solidity `bytes32` literal.
fn digest_word(digest: &str) -> Result<String, EvmError> {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    if hex.len() != 64 || hex::decode(hex).is_err() {
        return Err(EvmError::Entry(format!(
            "`{digest}` is not a SHA-256 digest"
        )));
    }
    Ok(format!("0x{hex}"))
}

/// One byte per public value: its bound in bits, capped at 63 as [`crate::verify`] caps it;
/// [`COMMITMENT`] for an instance that is a commitment (unpacked layouts only).
fn bounds(bundle: &Bundle) -> Result<Vec<u8>, EvmError> {
    let s = &bundle.header.settings;
    let bits = |t: &zkinfer_ir::TensorInfo| {
        let b = t.bound.min(63) as u8;
        std::iter::repeat_n(b, t.len())
    };
    let mut out = Vec::new();
    for (infos, committed) in [
        (&s.inputs, s.commits_inputs()),
        (&s.outputs, s.commits_outputs()),
    ] {
        if committed {
            if s.packing().is_some() {
                return Err(EvmError::Entry(
                    "packed public values with a committed side: no such layout is made".into(),
                ));
            }
            out.push(COMMITMENT);
        } else {
            out.extend(infos.iter().flat_map(bits));
        }
    }
    let expected = match s.packing() {
        Some(_) => s.value_len(),
        None => s.instance_len(),
    };
    if out.len() != expected {
        return Err(EvmError::Entry(format!(
            "{} bounds for {expected} public values",
            out.len()
        )));
    }
    Ok(out)
}

/// `x · m` for a 256-bit `x` (little-endian limbs) that stays below 2^256.
fn mul_small(x: [u64; 4], m: u64) -> [u64; 4] {
    let mut out = [0u64; 4];
    let mut carry = 0u128;
    for (o, &l) in out.iter_mut().zip(&x) {
        let t = l as u128 * m as u128 + carry;
        *o = t as u64;
        carry = t >> 64;
    }
    out
}

/// A 256-bit integer (little-endian limbs) as a Solidity hex literal.
fn limbs_literal(x: &[u64; 4]) -> String {
    let hex: String = x.iter().rev().map(|l| format!("{l:016x}")).collect();
    format!("0x{hex}")
}

/// The modulus of BN254's scalar field as a Solidity literal.
fn modulus() -> String {
    let mut r = (-Fr::one()).to_repr();
    r.as_mut().reverse();
    let mut bytes = r.as_ref().to_vec();
    // r - 1 ends in 0x00: add 1 to its lowest byte.
    if let Some(last) = bytes.last_mut() {
        *last += 1;
    }
    format!("0x{}", hex::encode(bytes))
}

/// The entry contract's source for `bundle`'s model, pinned to the given code hashes.
pub fn source(
    bundle: &Bundle,
    verifier_codehash: &[u8; 32],
    key_codehash: &[u8; 32],
) -> Result<String, EvmError> {
    let h = &bundle.header;
    let s = &h.settings;
    let bounds = bounds(bundle)?;
    let check = match s.packing() {
        None => UNPACKED_CHECK.to_string(),
        Some(p) => {
            let total = s.value_len();
            let power = |count: usize| {
                let mut x = [0u64; 4];
                x[0] = 1;
                for _ in 0..count {
                    x = mul_small(x, p.base);
                }
                limbs_literal(&x)
            };
            let last = total - (s.instance_len().max(1) - 1) * p.per;
            // A digit below BASE holds a value in [−2^m, 2^m): a bound above m needs no digit
            // check; a bound of m refuses −2^m, as the Rust verifier does.
            let range_bits = p.offset.trailing_zeros() as u8;
            let tight: Vec<u8> = bounds
                .chunks(p.per)
                .map(|c| u8::from(c.iter().any(|&b| b <= range_bits)))
                .collect();
            PACKED_CHECK
                .replace("{base}", &p.base.to_string())
                .replace("{offset}", &p.offset.to_string())
                .replace("{per}", &p.per.to_string())
                .replace("{values}", &total.to_string())
                .replace("{full}", &power(p.per))
                .replace("{last}", &power(last))
                .replace("{tight}", &hex::encode(tight))
        }
    };
    let src = TEMPLATE
        .replace("{model_digest_text}", &h.model_digest)
        .replace("{statement_digest_text}", &bundle.statement_digest())
        .replace(
            "{verifier_codehash}",
            &format!("0x{}", hex::encode(verifier_codehash)),
        )
        .replace(
            "{key_codehash}",
            &format!("0x{}", hex::encode(key_codehash)),
        )
        .replace("{model_digest}", &digest_word(&h.model_digest)?)
        .replace("{vk_digest}", &digest_word(&h.vk_digest)?)
        .replace(
            "{statement_digest}",
            &digest_word(&bundle.statement_digest())?,
        )
        .replace("{instances}", &s.instance_len().to_string())
        .replace("{bounds}", &hex::encode(&bounds))
        .replace("{r}", &modulus())
        .replace("{check}", &check);
    Ok(src)
}

/// The entry contract of `bundle`'s model, pinned to zkinfer's verifier (compiled with
/// `optimize`) and to the model's key contract; refused when it could not be deployed.
pub fn entry(bundle: &Bundle, optimize: bool) -> Result<Entry, EvmError> {
    let verifier_runtime = verifier(optimize)?.runtime;
    let key_runtime = key(bundle)?.runtime_code();
    let verifier_codehash = keccak256(&verifier_runtime).0;
    let key_codehash = keccak256(&key_runtime).0;
    let source = source(bundle, &verifier_codehash, &key_codehash)?;
    let compiled = compile_solidity(&source, ENTRY_CONTRACT, true)?;
    if compiled.runtime.len() > EVM_CODE_LIMIT {
        return Err(EvmError::TooLarge {
            what: "entry contract",
            size: compiled.runtime.len(),
            limit: EVM_CODE_LIMIT,
            hint: "It holds one byte per public value: `zkinfer compile --evm` packs them",
        });
    }
    Ok(Entry {
        source,
        compiled,
        verifier_codehash,
        key_codehash,
    })
}

/// The 4-byte selector of a function or custom error signature (`"ProofRejected()"`).
pub fn selector(signature: &str) -> [u8; 4] {
    let h = keccak256(signature.as_bytes()).0;
    [h[0], h[1], h[2], h[3]]
}

/// The calldata of `verifyProof(uint256[] instances, bytes proof)`.
pub fn calldata(proof: &crate::ProofFile) -> Result<Vec<u8>, crate::VerifyError> {
    let instances = crate::proof_instances(proof, proof.instances.first().map_or(0, Vec::len))?;
    let bytes = crate::proof_bytes(proof)?;
    let word = |v: usize| {
        let mut w = [0u8; 32];
        w[24..].copy_from_slice(&(v as u64).to_be_bytes());
        w
    };
    let mut data = selector("verifyProof(uint256[],bytes)").to_vec();
    // Head: the offsets of the two dynamic arguments; then each one's length and contents.
    let array_len = 32 + 32 * instances.len();
    data.extend(word(64));
    data.extend(word(64 + array_len));
    data.extend(word(instances.len()));
    for x in &instances {
        let mut be = x.to_repr();
        be.as_mut().reverse();
        data.extend(be.as_ref());
    }
    data.extend(word(bytes.len()));
    data.extend(&bytes);
    data.extend(std::iter::repeat_n(
        0u8,
        bytes.len().div_ceil(32) * 32 - bytes.len(),
    ));
    Ok(data)
}

/// Unpacked public values: each one signed, `|v| < 2^bits` (as a field element: `v + m` taken
/// modulo r lies in `[0, 2m]` with `m = 2^bits − 1`); a commitment is any canonical element.
const UNPACKED_CHECK: &str = r#"    function checkBounds(uint256[] calldata instances) private pure {
        bytes memory bounds = BOUNDS;
        for (uint256 i = 0; i < instances.length; ++i) {
            uint256 x = instances[i];
            bool bad;
            assembly {
                let bits := byte(0, mload(add(add(bounds, 0x20), i)))
                let m := sub(shl(bits, 1), 1)
                bad := or(iszero(lt(x, R)), and(lt(bits, 0xff), gt(addmod(x, m, R), shl(1, m))))
            }
            if (bad) revert PublicValueOutOfBound(i, i);
        }
    }
"#;

/// Packed public values: each instance holds up to `PER` digits `v + OFFSET` in base `BASE`,
/// little-endian, and nothing above them (`x < BASE^here`); each digit's value is bounded like an
/// unpacked one, digit by digit where an instance holds a value whose bound is tighter than
/// the packing's range (`TIGHT`, one byte per instance), since a digit below `BASE` already
/// holds a value in `[−OFFSET, OFFSET)`. An error names the instance and its first value.
const PACKED_CHECK: &str = r#"    uint256 private constant BASE = {base};
    uint256 private constant OFFSET = {offset};
    uint256 private constant PER = {per};
    uint256 private constant VALUES = {values};
    /// BASE^PER, and BASE^(the last instance's count).
    uint256 private constant FULL = {full};
    uint256 private constant LAST = {last};
    bytes private constant TIGHT = hex"{tight}";

    function checkBounds(uint256[] calldata instances) private pure {
        bytes memory bounds = BOUNDS;
        bytes memory tight = TIGHT;
        uint256 n = instances.length;
        for (uint256 i = 0; i < n; ++i) {
            uint256 x = instances[i];
            uint256 v = i * PER;
            bool bad;
            assembly {
                bad := iszero(lt(x, FULL))
                if eq(i, sub(n, 1)) { bad := iszero(lt(x, LAST)) }
                if byte(0, mload(add(add(tight, 0x20), i))) {
                    let here := sub(VALUES, v)
                    if gt(here, PER) { here := PER }
                    let p := add(add(bounds, 0x20), v)
                    for { let j := 0 } lt(j, here) { j := add(j, 1) } {
                        let m := sub(shl(byte(0, mload(add(p, j))), 1), 1)
                        // |d − OFFSET| ≤ m: d − (OFFSET − m) < 2m + 1, unsigned.
                        bad := or(bad, iszero(lt(sub(mod(x, BASE), sub(OFFSET, m)), add(shl(1, m), 1))))
                        x := div(x, BASE)
                    }
                }
            }
            if (bad) revert PublicValueOutOfBound(i, v);
        }
    }
"#;

const TEMPLATE: &str = r#"// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.19;

/// The entry point of one zkinfer model ({model_digest_text}): deploy zkinfer's verifier
/// (Halo2Verifier.sol, shared by every model) and this model's key contract, then this
/// contract with their addresses; call `verifyProof` and nothing else.
///
/// It pins the verifier and the key contract by address and code hash, takes only the public
/// instances and the proof, bounds every public value as zkinfer's Rust verifier does, and
/// is bound to the statement digest {statement_digest_text}.
contract ZkinferEntry {
    /// zkinfer's verifier and this model's verifying-key contract, fixed at construction.
    address public immutable verifier;
    address public immutable keyContract;

    /// keccak256 of their runtime code: EXTCODEHASH must equal these.
    bytes32 public constant VERIFIER_CODEHASH = {verifier_codehash};
    bytes32 public constant KEY_CODEHASH = {key_codehash};

    /// SHA-256 digests: the compiled model, the verifying key, and everything a verifier reads
    /// (key, settings, SRS points): the one to pin.
    bytes32 public constant MODEL_DIGEST = {model_digest};
    bytes32 public constant VK_DIGEST = {vk_digest};
    bytes32 public constant STATEMENT_DIGEST = {statement_digest};

    uint256 public constant NUM_INSTANCES = {instances};

    /// The scalar field's modulus.
    uint256 private constant R = {r};

    /// One byte per public value: `|v| < 2^bits`; 0xff for an instance that is a commitment.
    bytes private constant BOUNDS = hex"{bounds}";

    error VerifierCodeMismatch(address verifier, bytes32 codehash);
    error KeyCodeMismatch(address key, bytes32 codehash);
    error InstanceCount(uint256 expected, uint256 got);
    error PublicValueOutOfBound(uint256 instance, uint256 value);
    error ProofRejected();

    constructor(address verifier_, address key_) {
        if (verifier_.codehash != VERIFIER_CODEHASH) revert VerifierCodeMismatch(verifier_, verifier_.codehash);
        if (key_.codehash != KEY_CODEHASH) revert KeyCodeMismatch(key_, key_.codehash);
        verifier = verifier_;
        keyContract = key_;
    }

    /// Returns true when `proof` is valid for `instances`; reverts with the failed check
    /// otherwise.
    function verifyProof(uint256[] calldata instances, bytes calldata proof) external view returns (bool) {
        if (instances.length != NUM_INSTANCES) revert InstanceCount(NUM_INSTANCES, instances.length);
        // Code at an address cannot change after EIP-6780; checked again for chains without it.
        if (verifier.codehash != VERIFIER_CODEHASH) revert VerifierCodeMismatch(verifier, verifier.codehash);
        if (keyContract.codehash != KEY_CODEHASH) revert KeyCodeMismatch(keyContract, keyContract.codehash);
        checkBounds(instances);
        (bool ok, bytes memory ret) =
            verifier.staticcall(abi.encodePacked(uint256(uint160(keyContract)), instances, proof));
        if (!ok || ret.length != 32 || abi.decode(ret, (uint256)) != 1) revert ProofRejected();
        return true;
    }

{check}}
"#;
