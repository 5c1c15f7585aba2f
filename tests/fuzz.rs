//! Fuzz targets: every parser of files from strangers, each fed arbitrary bytes. A target
//! returns normally whatever the bytes are (a typed error is fine); a panic, an abort, a hang
//! or an allocation past the harness's limit is a bug. The same functions serve the stable
//! mutational driver (`tests/tests/fuzz.rs`, run by CI for a short campaign) and cargo-fuzz
//! (`fuzz/`, nightly, for long ones: `scripts/fuzz.sh`).

use std::sync::OnceLock;

use zkinfer_ir::{ArtifactKind, CompiledModel, Envelope};
use zkinfer_onnx::QuantConfig;
use zkinfer_prover::{Activations, KeyHeader, Keys};
use zkinfer_verifier::{Bundle, ProofFile};

/// The artifacts of one small model (mlp2), made once: the reference every target reads
/// beside its fuzzed file, and the seeds of the campaign.
pub struct Artifacts {
    pub model: CompiledModel,
    pub zkc: Vec<u8>,
    pub bundle: Vec<u8>,
    pub pk: Vec<u8>,
    pub proof: Vec<u8>,
    pub input: Vec<u8>,
    pub activations: Vec<u8>,
    pub onnx: Vec<Vec<u8>>,
}

/// The seed artifacts, made under `target/fuzz-seeds` (compile, setup, prove of mlp2).
pub fn artifacts() -> &'static Artifacts {
    static A: OnceLock<Artifacts> = OnceLock::new();
    A.get_or_init(|| make_artifacts().unwrap_or_else(|e| panic!("fuzz seeds: {e:#}")))
}

fn make_artifacts() -> anyhow::Result<Artifacts> {
    let entry = crate::corpus().join("sklearn/mlp2_relu_digits_stdops");
    let (model, input) = crate::compile_example(&entry)?;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/fuzz-seeds");
    std::fs::create_dir_all(&dir)?;
    let (params, srs) = zkinfer_prover::load_srs(model.settings.k, None)?;
    let keys = zkinfer_prover::setup(&model, &params, srs)?;
    keys.write(&dir.join("keys"))?;
    let proof = zkinfer_prover::prove(&model, &keys, &params, &input, None)?;
    let trace = zkinfer_prover::witness(&model, &input)?;
    let activations = serde_json::to_vec(&Activations::from_trace(&model, &trace))?;
    let onnx = [
        "sklearn/mlp2_relu_digits_stdops",
        "cnn/lenet_digits",
        "transformer/tiny_block_op17",
        "onnx-node/node/test_gather_0",
        "onnx-node/node/test_lstm_defaults",
    ]
    .iter()
    .filter_map(|e| std::fs::read(crate::corpus().join(e).join("model.onnx")).ok())
    .collect();
    Ok(Artifacts {
        zkc: model.to_json()?.into_bytes(),
        bundle: std::fs::read(dir.join("keys").join(zkinfer_prover::BUNDLE_FILE))?,
        pk: std::fs::read(dir.join("keys").join(zkinfer_prover::PK_FILE))?,
        proof: proof.to_json().into_bytes(),
        input: std::fs::read(entry.join("input.json"))?,
        activations,
        onnx,
        model,
    })
}

/// Largest model the ONNX target quantizes (elements over all nodes): past it the bytes are
/// only imported, so that one input cannot take the campaign's whole time.
const QUANTIZE_LIMIT: usize = 200_000;

/// A refused file's error must name it (panics otherwise, which the campaign reports).
fn names_file(e: &dyn std::fmt::Display, name: &str) {
    let text = e.to_string();
    assert!(
        text.contains(name),
        "the error does not name {name}: {text}"
    );
}

/// ONNX import, then quantization of what imports.
pub fn onnx(bytes: &[u8]) {
    let fg = match zkinfer_onnx::import_onnx(bytes, "fuzz.onnx") {
        Ok(fg) => fg,
        Err(e) => return names_file(&e, "fuzz.onnx"),
    };
    let size: usize = fg.nodes.iter().map(|n| n.len()).sum();
    if size > QUANTIZE_LIMIT {
        return;
    }
    let calibration = zkinfer_prover::default_calibration(&fg, 1);
    let _ = zkinfer_onnx::quantize(&fg, &calibration, &QuantConfig::default());
}

/// `.zkc` reading, and the checks run on what reads.
pub fn zkc(bytes: &[u8]) {
    match CompiledModel::from_slice(bytes, "fuzz.zkc") {
        Ok(m) => {
            let _ = m.graph.check();
            let _ = m.digest();
        }
        Err(e) => names_file(&e, "fuzz.zkc"),
    }
}

/// Verifier bundle and proving key reading.
pub fn keys(bytes: &[u8]) {
    let a = artifacts();
    if let Err(e) = Bundle::from_bytes(bytes, "fuzz/bundle.bin") {
        names_file(&e, "fuzz/bundle.bin");
    }
    if let Ok(bundle) = Bundle::from_bytes(&a.bundle, "bundle.bin") {
        if let Err(e) = Keys::from_bytes(bytes, bundle, &a.model, "fuzz/pk.bin") {
            names_file(&e, "fuzz/pk.bin");
        }
    }
}

/// Proving key reading as `zkinfer prove` reads it: from a file, parsed while it is digested
/// (so the parser meets the mutated bytes before the digest mismatch is known), and from
/// memory with the payload's digest recomputed (so that the parser's result is used, as with
/// a hostile file whose header matches its payload). Either is refused with an error naming
/// the file, or (the digest recomputed over changed values) read.
pub fn pk(bytes: &[u8]) {
    let a = artifacts();
    let Ok(bundle) = Bundle::from_bytes(&a.bundle, "bundle.bin") else {
        return;
    };
    if let Some(dir) = pk_dir() {
        let path = dir.join(zkinfer_prover::PK_FILE);
        if std::fs::write(&path, bytes).is_ok() {
            if let Err(e) = Keys::read(dir, &a.model) {
                names_file(&e, &path.display().to_string());
            }
        }
    }
    let name = "fuzz/pk.bin";
    if let Ok(mut env) = Envelope::<KeyHeader>::decode(bytes, ArtifactKind::ProvingKey, name) {
        env.header.payload_digest = zkinfer_ir::digest(&env.payload);
        if let Err(e) = Keys::from_bytes(&env.encode(), bundle, &a.model, name) {
            names_file(&e, name);
        }
    }
}

/// A directory of this process holding the seed keys' `bundle.bin`, where [`pk`] writes each
/// mutated `pk.bin` (`None` if it cannot be made: the target then reads from memory only).
fn pk_dir() -> Option<&'static std::path::Path> {
    static DIR: OnceLock<Option<std::path::PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("../target/fuzz-seeds/pk-{}", std::process::id()));
        std::fs::create_dir_all(&dir).ok()?;
        std::fs::write(dir.join(zkinfer_prover::BUNDLE_FILE), &artifacts().bundle).ok()?;
        Some(dir)
    })
    .as_deref()
}

/// Proof JSON, verified against the seed model's bundle.
pub fn proof(bytes: &[u8]) {
    let a = artifacts();
    let Ok(bundle) = Bundle::from_bytes(&a.bundle, "bundle.bin") else {
        return;
    };
    match ProofFile::from_slice(bytes, "fuzz/proof.json") {
        // A readable proof that does not verify is refused with its reason (no file to name).
        Ok(p) => drop(zkinfer_verifier::verify(&bundle, &p)),
        Err(e) => names_file(&e, "fuzz/proof.json"),
    }
}

/// A shard's activations file, and its use as the model's input.
pub fn activations(bytes: &[u8]) {
    let name = "fuzz/activations.json";
    match Activations::from_slice(bytes, name) {
        Ok(acts) => {
            if let Err(e) = acts.inputs_for(&artifacts().model, name) {
                names_file(&e, name);
            }
        }
        Err(e) => names_file(&e, name),
    }
}

/// Input JSON, and the integer reference on what parses.
pub fn input(bytes: &[u8]) {
    match zkinfer_prover::parse_inputs(bytes, "fuzz/input.json") {
        // Parsed values of the wrong shape or range are refused by input name and element.
        Ok(inputs) => drop(zkinfer_prover::witness(&artifacts().model, &inputs)),
        Err(e) => names_file(&e, "fuzz/input.json"),
    }
}

/// A target: its name, the function, its seeds.
pub type Target = (&'static str, fn(&[u8]), Vec<Vec<u8>>);

/// The targets by name, with their seeds.
pub fn targets() -> Vec<Target> {
    let a = artifacts();
    vec![
        ("onnx", onnx as fn(&[u8]), a.onnx.clone()),
        ("zkc", zkc, vec![a.zkc.clone()]),
        ("keys", keys, vec![a.bundle.clone(), a.pk.clone()]),
        ("pk", pk, vec![a.pk.clone()]),
        ("proof", proof, vec![a.proof.clone()]),
        ("activations", activations, vec![a.activations.clone()]),
        ("input", input, vec![a.input.clone()]),
    ]
}

/// A byte-level mutator (splitmix64-seeded): bit flips, byte sets to interesting values,
/// inserted and deleted runs, truncation, splices of another seed, and digits changed inside
/// numbers (JSON's interesting part).
pub struct Mutator(u64);

impl Mutator {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub fn mutate(&mut self, seed: &[u8], other: &[u8]) -> Vec<u8> {
        let mut b = seed.to_vec();
        for _ in 0..1 + self.below(4) {
            let at = self.below(b.len() + 1);
            match self.below(8) {
                0 if !b.is_empty() => {
                    let i = at.min(b.len() - 1);
                    b[i] ^= 1 << self.below(8);
                }
                1 if !b.is_empty() => {
                    let i = at.min(b.len() - 1);
                    b[i] = [0u8, 0xff, 0x7f, 0x80, b'9', b'-', b'"', b'e'][self.below(8)];
                }
                2 => {
                    let n = 1 + self.below(16);
                    let run: Vec<u8> = (0..n).map(|_| self.next() as u8).collect();
                    b.splice(at..at, run);
                }
                3 if !b.is_empty() => {
                    let end = (at + 1 + self.below(64)).min(b.len());
                    b.drain(at.min(end)..end);
                }
                4 => b.truncate(at),
                5 if !other.is_empty() => {
                    let from = self.below(other.len());
                    let end = (from + 1 + self.below(256)).min(other.len());
                    b.splice(at..at, other[from..end].iter().copied());
                }
                6 => {
                    // A digit inside a number becomes a long one (huge counts, shapes).
                    if let Some(i) = (at..b.len()).find(|&i| b[i].is_ascii_digit()) {
                        let big = ["99999999999", "4294967296", "-1", "1e308", "0"][self.below(5)];
                        b.splice(i..i + 1, big.bytes());
                    }
                }
                _ => {
                    if let Some(i) = (at..b.len()).find(|&i| b[i].is_ascii_digit()) {
                        b[i] = b'0' + self.below(10) as u8;
                    }
                }
            }
        }
        b
    }
}
