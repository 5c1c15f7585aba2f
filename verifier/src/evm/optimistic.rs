//! The optimistic-inference contract (`ZkinferOptimistic`): a node posts a claim
//! ([`crate::Claim`]'s boundaries as words) with a bond; during a challenge window anyone may
//! refute it with the ZK proof of one segment ([`crate::FraudProof`]), checked by that
//! segment's entry contract ([`super::entry`]), and take the bond; after the window the claim
//! is final, its bond goes back to the node, and other contracts can read its output.
//!
//! **Words.** A claim's boundary `b` is, on chain, the public words a segment proof exposes
//! there: one word (the Poseidon commitment) where the segments commit to it, else one word per
//! quantized value (`v` as a field element: `p − |v|` for a negative `v`). A claim is three
//! arrays: the input (boundary 0), the inner boundaries 1…n−1 in order, the output (boundary
//! n). The contract stores the keccak256 of each and emits the words in an event.
//!
//! **Pinning.** An entry contract holds its verifier's and key contract's addresses as
//! immutables, so its code hash depends on where they were deployed. The generated contract
//! pins each entry by its code with those immutables zeroed (the code solc compiled), its
//! length, and the places of the immutables in it: at construction it reads every copy of each
//! immutable (they must agree), zeroes them, and compares the hash; then it requires
//! `EXTCODEHASH` of the verifier and of the segment's key contract to be the pinned ones (the
//! entry checks them again on every call) and records the entry's full code hash, which it
//! checks before each call.
//!
//! **Refutation.** `challenge(id, input, inner, output, segment, instances, proof)` slashes
//! claim `id` when the words are the claim's, the proof's input side is the claim's boundary
//! `segment` word for word, its output side differs from boundary `segment + 1` in at least one
//! word, and the segment's entry accepts the proof: a segment's circuit fixes its output given
//! its input, so the claim's boundary `segment + 1` is not what the segment computes.
//!
//! **Front-running.** The reward goes to `msg.sender`, and a fraud proof is not bound to its
//! sender: whoever copies a pending challenge from the mempool with a higher fee takes the
//! bond, and so can the cheating node itself, which then loses only gas. Send challenges
//! through a private transaction relay; a deployment that must deter cheaters whatever the
//! mempool does would burn part of the bond or add a commit–reveal step (not done here).

use halo2_axiom::halo2curves::bn256::Fr;
use halo2_axiom::halo2curves::ff::PrimeField;
use revm::primitives::{keccak256, Address, U256};

use super::entry::{selector, Entry};
use super::{compile_solidity, entry, key, verifier, Chain, Compiled, EvmError, EVM_CODE_LIMIT};
use crate::{Bundle, Claim, FraudProof};

/// The contract's name in its source.
pub const OPTIMISTIC_CONTRACT: &str = "ZkinferOptimistic";

/// A 32-byte big-endian word.
pub type Word = [u8; 32];

/// What the contract pins of one segment.
#[derive(Clone, Debug)]
pub struct SegmentPin {
    pub model_digest: String,
    pub statement_digest: String,
    /// Words of the segment's input side (boundary `i`) and output side (boundary `i + 1`).
    pub input_words: usize,
    pub output_words: usize,
    /// The segment's entry contract (compiled, with its pinned code hashes).
    pub entry: Entry,
    /// The runtime code of the segment's key contract.
    pub key_runtime: Vec<u8>,
}

/// The optimistic contract generated for a chain of segments.
#[derive(Clone, Debug)]
pub struct Optimistic {
    /// The Solidity source (`ZkinferOptimistic`).
    pub source: String,
    pub compiled: Compiled,
    /// Digest of the model the segments come from (the split's parent, or the model).
    pub model_digest: String,
    pub segments: Vec<SegmentPin>,
    /// Whether zkinfer's verifier is compiled with solc's optimizer (its code hash is pinned).
    pub optimize: bool,
}

/// A claim as the contract takes it: the input words, the inner boundaries' words in order,
/// the output words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimWords {
    pub input: Vec<Word>,
    pub inner: Vec<Word>,
    pub output: Vec<Word>,
}

fn error(reason: impl Into<String>) -> EvmError {
    EvmError::Optimistic(reason.into())
}

/// A field element as a big-endian word.
pub fn fr_word(x: &Fr) -> Word {
    let mut w = [0u8; 32];
    w.copy_from_slice(x.to_repr().as_ref());
    w.reverse();
    w
}

/// A quantized value as the word a proof exposes: `v`, or `p − |v|` when negative.
pub fn value_word(v: i64) -> Word {
    let x = Fr::from(v.unsigned_abs());
    fr_word(&if v < 0 { -x } else { x })
}

/// A `0x…` field element (a boundary commitment) as a word.
fn commitment_word(hex: &str) -> Result<Word, EvmError> {
    crate::fr_from_hex(hex)
        .map(|x| fr_word(&x))
        .ok_or_else(|| error(format!("`{hex}` is not a field element")))
}

/// A claim's boundaries as words ([`crate::Boundary::values`] where it has them, else its
/// commitment).
pub fn claim_words(claim: &Claim) -> Result<ClaimWords, EvmError> {
    claim.check_shape()?;
    let mut sides = claim
        .boundaries
        .iter()
        .map(|b| match &b.values {
            Some(v) => Ok(v.iter().map(|&x| value_word(x)).collect()),
            None => Ok(vec![commitment_word(
                b.commitment.as_deref().unwrap_or_default(),
            )?]),
        })
        .collect::<Result<Vec<Vec<Word>>, EvmError>>()?;
    let output = sides.pop().unwrap_or_default();
    let input = sides.first().cloned().unwrap_or_default();
    let inner = sides.into_iter().skip(1).flatten().collect();
    Ok(ClaimWords {
        input,
        inner,
        output,
    })
}

/// Words of one side of a segment's proof: 1 where it is a commitment, else one per value.
fn side_words(infos: &[zkinfer_ir::TensorInfo], committed: bool) -> usize {
    match committed {
        true => 1,
        false => infos.iter().map(zkinfer_ir::TensorInfo::len).sum(),
    }
}

/// What the contract pins of each of `bundles` (a split's shard keys in order, or one
/// model's), checked to be one chain; the parent's digest.
fn pins(bundles: &[&Bundle], optimize: bool) -> Result<(String, Vec<SegmentPin>), EvmError> {
    let Some(first) = bundles.first() else {
        return Err(error(
            "no segments: give a split's shard keys in order, or one model's",
        ));
    };
    let parent = first
        .header
        .settings
        .shard
        .as_ref()
        .map_or_else(|| first.header.model_digest.clone(), |s| s.parent.clone());
    let n = bundles.len();
    let mut out: Vec<SegmentPin> = Vec::with_capacity(n);
    for (i, b) in bundles.iter().enumerate() {
        let s = &b.header.settings;
        match &s.shard {
            None if n == 1 => {}
            None => {
                return Err(error(format!(
                    "segment {i} ({}) is an unsharded model: several segments are the shards \
                     of one split",
                    b.header.model_digest
                )))
            }
            Some(sh) if sh.index == i && sh.count == n && sh.parent == parent => {}
            Some(sh) => {
                return Err(error(format!(
                    "segment {i} is shard {} of {} of model {}; expected shard {i} of {n} of \
                     {parent} (give every shard's keys, in order)",
                    sh.index, sh.count, sh.parent
                )))
            }
        }
        if s.packing().is_some() {
            return Err(error(format!(
                "segment {i} ({}) was compiled with --evm: it packs public values across its \
                 input and output, so a proof's sides cannot be compared with the claim's \
                 boundaries word for word; compile without --evm to use the optimistic contract",
                b.header.model_digest
            )));
        }
        let input_words = side_words(&s.inputs, s.commits_inputs());
        let output_words = side_words(&s.outputs, s.commits_outputs());
        if let Some(prev) = out.last() {
            if prev.output_words != input_words {
                return Err(error(format!(
                    "segment {} hands on {} words, segment {i} takes {input_words}",
                    i - 1,
                    prev.output_words
                )));
            }
        }
        let entry = entry(b, optimize)?;
        if entry.compiled.immutables.len() != 2 {
            return Err(error(format!(
                "the entry contract has {} immutables; expected 2 (verifier, key contract)",
                entry.compiled.immutables.len()
            )));
        }
        out.push(SegmentPin {
            model_digest: b.header.model_digest.clone(),
            statement_digest: b.statement_digest(),
            input_words,
            output_words,
            entry,
            key_runtime: super::key(b)?.runtime_code(),
        });
    }
    Ok((parent, out))
}

/// `sha256:<hex>` as a Solidity `bytes32` literal.
fn digest_word(digest: &str) -> Result<String, EvmError> {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    match hex.len() == 64 && hex::decode(hex).is_ok() {
        true => Ok(format!("0x{hex}")),
        false => Err(error(format!("`{digest}` is not a SHA-256 digest"))),
    }
}

/// Offsets as 2-byte big-endian hex (runtime code is below 2^16 bytes, EIP-170).
fn offsets_hex(offsets: &[usize]) -> String {
    offsets
        .iter()
        .map(|&o| format!("{:04x}", o as u16))
        .collect()
}

/// The contract's source for `segments`, with zkinfer's verifier's code hash.
fn source(
    model_digest: &str,
    segments: &[SegmentPin],
    verifier_codehash: &[u8; 32],
) -> Result<String, EvmError> {
    let n = segments.len();
    let mut immutables = String::new();
    let mut checks = String::new();
    let mut dispatch = String::new();
    let mut digests = String::new();
    let mut inner_offset = 0usize;
    for (i, s) in segments.iter().enumerate() {
        let code = &s.entry.compiled;
        let masked = keccak256(&code.runtime);
        immutables.push_str(&format!(
            "    address private immutable ENTRY_{i};\n    bytes32 private immutable ENTRY_CODEHASH_{i};\n"
        ));
        checks.push_str(&format!(
            "        checkEntry({i}, entries[{i}], {size}, 0x{masked}, 0x{key}, hex\"{v}\", hex\"{k}\");\n        ENTRY_{i} = entries[{i}];\n        ENTRY_CODEHASH_{i} = entries[{i}].codehash;\n",
            size = code.runtime.len(),
            masked = hex::encode(masked),
            key = hex::encode(s.entry.key_codehash),
            v = offsets_hex(&code.immutables[0]),
            k = offsets_hex(&code.immutables[1]),
        ));
        // Where boundary i starts in the inner words (i ≥ 1), and boundary i + 1.
        let in_at = inner_offset;
        if i > 0 {
            inner_offset += s.input_words;
        }
        let out_at = inner_offset;
        dispatch.push_str(&format!(
            "        if (s == {i}) return Seg(ENTRY_{i}, ENTRY_CODEHASH_{i}, {}, {}, {in_at}, {out_at});\n",
            s.input_words, s.output_words
        ));
        digests.push_str(&format!(
            "        if (s == {i}) return ({}, {});\n",
            digest_word(&s.model_digest)?,
            digest_word(&s.statement_digest)?
        ));
    }
    let inner_words: usize = segments.iter().skip(1).map(|s| s.input_words).sum();
    let statements: Vec<&str> = segments
        .iter()
        .map(|s| s.statement_digest.as_str())
        .collect();
    Ok(TEMPLATE
        .replace("{model_digest_text}", model_digest)
        .replace("{statements_text}", &statements.join(", "))
        .replace("{segments}", &n.to_string())
        .replace(
            "{input_words}",
            &segments.first().map_or(0, |s| s.input_words).to_string(),
        )
        .replace("{inner_words}", &inner_words.to_string())
        .replace(
            "{output_words}",
            &segments.last().map_or(0, |s| s.output_words).to_string(),
        )
        .replace("{model_digest}", &digest_word(model_digest)?)
        .replace(
            "{verifier_codehash}",
            &format!("0x{}", hex::encode(verifier_codehash)),
        )
        .replace("{r}", &modulus())
        .replace("{immutables}", &immutables)
        .replace("{checks}", &checks)
        .replace("{dispatch}", &dispatch)
        .replace("{digests}", &digests))
}

/// BN254's scalar field modulus as a Solidity literal.
fn modulus() -> String {
    let minus_one = fr_word(&(-Fr::one()));
    let mut r = U256::from_be_bytes(minus_one);
    r += U256::from(1u8);
    format!("0x{}", hex::encode(r.to_be_bytes::<32>()))
}

/// Generates and compiles the optimistic contract for `bundles`: a split's shard keys in
/// order, or one model's keys (the same entry contracts as `export-verifier` writes, with
/// zkinfer's verifier compiled with `optimize`). Refused for a model compiled with `--evm`.
pub fn optimistic(bundles: &[&Bundle], optimize: bool) -> Result<Optimistic, EvmError> {
    let (model_digest, segments) = pins(bundles, optimize)?;
    let verifier_codehash = keccak256(&verifier(optimize)?.runtime).0;
    let source = source(&model_digest, &segments, &verifier_codehash)?;
    let compiled = compile_solidity(&source, OPTIMISTIC_CONTRACT, true)?;
    if compiled.runtime.len() > EVM_CODE_LIMIT {
        return Err(EvmError::TooLarge {
            what: "optimistic contract",
            size: compiled.runtime.len(),
            limit: EVM_CODE_LIMIT,
            hint: "It grows with the segment count: split the model into fewer shards",
        });
    }
    Ok(Optimistic {
        source,
        compiled,
        model_digest,
        segments,
        optimize,
    })
}

/// Where [`Optimistic::deploy`] put each contract.
#[derive(Clone, Debug)]
pub struct Deployment {
    pub verifier: Address,
    /// Per segment: the key contract and the entry contract.
    pub keys: Vec<Address>,
    pub entries: Vec<Address>,
    pub contract: Address,
}

/// One ABI argument.
enum Arg<'a> {
    Word(Word),
    Words(&'a [Word]),
    Bytes(&'a [u8]),
}

fn usize_word(v: usize) -> Word {
    U256::from(v).to_be_bytes::<32>()
}

/// ABI-encodes a call of `signature` with `args` (heads, then the dynamic tails).
fn encode(signature: &str, args: &[Arg]) -> Vec<u8> {
    let mut head = selector(signature).to_vec();
    let mut tail = Vec::new();
    let head_len = 32 * args.len();
    for a in args {
        match a {
            Arg::Word(w) => head.extend(w),
            Arg::Words(ws) => {
                head.extend(usize_word(head_len + tail.len()));
                tail.extend(usize_word(ws.len()));
                ws.iter().for_each(|w| tail.extend(w));
            }
            Arg::Bytes(b) => {
                head.extend(usize_word(head_len + tail.len()));
                tail.extend(usize_word(b.len()));
                tail.extend(*b);
                tail.extend(std::iter::repeat_n(
                    0u8,
                    b.len().div_ceil(32) * 32 - b.len(),
                ));
            }
        }
    }
    head.extend(tail);
    head
}

impl Optimistic {
    /// The creation code with its constructor's arguments: each segment's entry address, the
    /// bond in wei, the challenge window in seconds.
    pub fn deployment_code(&self, entries: &[Address], bond: U256, window: u64) -> Vec<u8> {
        let words: Vec<Word> = entries.iter().map(|a| a.into_word().0).collect();
        let args = encode(
            "x()",
            &[
                Arg::Words(&words),
                Arg::Word(bond.to_be_bytes::<32>()),
                Arg::Word(usize_word(window as usize)),
            ],
        );
        let mut code = self.compiled.deployment.clone();
        code.extend(&args[4..]);
        code
    }

    /// Deploys zkinfer's verifier, each segment's key and entry contracts and this contract
    /// in `chain`.
    pub fn deploy(
        &self,
        chain: &mut Chain,
        bond: U256,
        window: u64,
    ) -> Result<Deployment, EvmError> {
        let verifier_at = chain.deploy(verifier(self.optimize)?.deployment)?;
        let mut keys = Vec::new();
        let mut entries = Vec::new();
        for s in &self.segments {
            let key_at = chain.deploy(key::deployment_of(&s.key_runtime))?;
            entries.push(
                chain.deploy(
                    s.entry
                        .deployment_code(verifier_at.as_ref(), key_at.as_ref()),
                )?,
            );
            keys.push(key_at);
        }
        let contract = chain.deploy(self.deployment_code(&entries, bond, window))?;
        Ok(Deployment {
            verifier: verifier_at,
            keys,
            entries,
            contract,
        })
    }

    /// Checks that `claim` is a claim of these segments (model digests, the statement digests
    /// it names, word counts); its words.
    pub fn words(&self, claim: &Claim) -> Result<ClaimWords, EvmError> {
        if claim.model_digest != self.model_digest {
            return Err(error(format!(
                "the claim is of model {}, the contract of {}",
                claim.model_digest, self.model_digest
            )));
        }
        if claim.segments.len() != self.segments.len() {
            return Err(error(format!(
                "the claim has {} segments, the contract {}",
                claim.segments.len(),
                self.segments.len()
            )));
        }
        for (i, (c, p)) in claim.segments.iter().zip(&self.segments).enumerate() {
            if c.model_digest != p.model_digest
                || c.statement_digest
                    .as_ref()
                    .is_some_and(|d| d != &p.statement_digest)
            {
                return Err(error(format!(
                    "segment {i} of the claim is not the contract's ({})",
                    p.statement_digest
                )));
            }
        }
        let words = claim_words(claim)?;
        let inner: usize = self.segments.iter().skip(1).map(|s| s.input_words).sum();
        let expected = (
            self.segments.first().map_or(0, |s| s.input_words),
            inner,
            self.segments.last().map_or(0, |s| s.output_words),
        );
        let got = (words.input.len(), words.inner.len(), words.output.len());
        if expected != got {
            return Err(error(format!(
                "the claim has {got:?} words (input, inner, output); the contract takes {expected:?}"
            )));
        }
        Ok(words)
    }
}

/// Calldata of `submit(uint256[] input, uint256[] inner, uint256[] output)` (send the bond
/// with it).
pub fn submit_calldata(words: &ClaimWords) -> Vec<u8> {
    encode(
        "submit(uint256[],uint256[],uint256[])",
        &[
            Arg::Words(&words.input),
            Arg::Words(&words.inner),
            Arg::Words(&words.output),
        ],
    )
}

/// Calldata of `challenge(id, input, inner, output, segment, instances, proof)`: claim `id`
/// (whose words are `words`) refuted by `fraud`.
pub fn challenge_calldata(
    id: u64,
    words: &ClaimWords,
    fraud: &FraudProof,
) -> Result<Vec<u8>, EvmError> {
    let p = &fraud.proof;
    let instances: Vec<Word> = crate::proof_instances(p, p.instances.first().map_or(0, Vec::len))?
        .iter()
        .map(fr_word)
        .collect();
    let proof = crate::proof_bytes(p)?;
    Ok(encode(
        "challenge(uint256,uint256[],uint256[],uint256[],uint256,uint256[],bytes)",
        &[
            Arg::Word(usize_word(id as usize)),
            Arg::Words(&words.input),
            Arg::Words(&words.inner),
            Arg::Words(&words.output),
            Arg::Word(usize_word(fraud.segment)),
            Arg::Words(&instances),
            Arg::Bytes(&proof),
        ],
    ))
}

/// Calldata of `finalize(uint256 id)`.
pub fn finalize_calldata(id: u64) -> Vec<u8> {
    encode("finalize(uint256)", &[Arg::Word(usize_word(id as usize))])
}

/// Calldata of `isFinalOutput(uint256 id, uint256[] input, uint256[] output)`.
pub fn is_final_output_calldata(id: u64, words: &ClaimWords) -> Vec<u8> {
    encode(
        "isFinalOutput(uint256,uint256[],uint256[])",
        &[
            Arg::Word(usize_word(id as usize)),
            Arg::Words(&words.input),
            Arg::Words(&words.output),
        ],
    )
}

/// The id a `submit` call returned.
pub fn claim_id(output: &[u8]) -> Result<u64, EvmError> {
    let word: Word = output.try_into().map_err(|_| {
        error(format!(
            "submit returned {} bytes, not one word",
            output.len()
        ))
    })?;
    u64::try_from(U256::from_be_bytes(word)).map_err(|_| error("the claim id is over 2^64"))
}

const TEMPLATE: &str = include_str!("Optimistic.sol.in");
