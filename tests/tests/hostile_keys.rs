//! Hostile key files: every mutation of a real `pk.bin` or `pk.cosets` (bytes flipped at
//! spread offsets and inside length prefixes and headers, truncations at many lengths,
//! appended bytes, length fields set huge, and the same structural changes with the payload's
//! digest recomputed so that the parser's result is used) is refused when the keys are read,
//! with a typed error naming the file, and never panics, aborts or allocates by a length
//! field it has not checked.
//!
//! The proving key is parsed while it is digested, so its parser sees damaged bytes before
//! the digest mismatch is reported: the parser itself must be panic-free. Panics are counted
//! by a panic hook, since a panic caught inside the library is a bug too.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::result_large_err)]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use halo2_axiom::plonk::KeyCosetSource;
use halo2_axiom::SerdeFormat;
use sha2::Digest;
use zkinfer_ir::{CompiledModel, IrError};
use zkinfer_prover::{load_srs, write_cosets, CosetsFile, Keys, ProveError, COSETS_FILE, PK_FILE};
use zkinfer_tests::{compile_example, corpus};

struct Setup {
    model: CompiledModel,
    /// Keys written with their cosets; each case writes its file into a copy.
    dir: PathBuf,
    layout: PkLayout,
}

/// Where the length fields of `pk.bin` lie (offsets in the file).
struct PkLayout {
    /// Start of the payload (the serialized proving key).
    payload: usize,
    /// The verifying key's `k` (u32, little-endian).
    k: usize,
    k_value: u32,
    /// The verifying key's `compress_selectors` byte.
    compress: usize,
    /// The number of fixed commitments (u32, little-endian).
    num_fixed: usize,
    /// The length prefixes (u32, big-endian) of `l0`, `l_last`, `l_active_row` and of the
    /// first and last polynomial of each vector: the fields a mutation targets.
    poly_lens: Vec<usize>,
    /// Each vector of polynomials' count prefix (u32, big-endian).
    vec_counts: Vec<usize>,
    /// `n`, every polynomial's length.
    n: u32,
}

fn iris() -> &'static Setup {
    static S: OnceLock<Setup> = OnceLock::new();
    S.get_or_init(|| {
        let (model, _) = compile_example(&corpus().join("sklearn/logreg_iris_stdops")).unwrap();
        let (params, srs) = load_srs(model.settings.k, None).unwrap();
        let keys = zkinfer_prover::setup(&model, &params, srs).unwrap();
        let dir = tmp("hostile-iris");
        keys.write(&dir).unwrap();
        write_cosets(&keys.pk, &keys.header.vk_digest, &dir.join(COSETS_FILE)).unwrap();
        let bytes = std::fs::read(dir.join(PK_FILE)).unwrap();
        let layout = pk_layout(&keys, &bytes);
        Setup { model, dir, layout }
    })
}

/// The offsets of `pk.bin`'s length fields, from the key it holds (halo2's layout: the
/// verifying key, `l0`, `l_last`, `l_active_row`, the fixed values, the fixed polynomials,
/// the permutations in both bases; each polynomial a u32 length and its values, each vector
/// a u32 count first).
fn pk_layout(keys: &Keys, bytes: &[u8]) -> PkLayout {
    let header_len = u32::from_le_bytes(bytes[13..17].try_into().unwrap()) as usize;
    let payload = 17 + header_len;
    let vk = keys.pk.get_vk();
    let vk_len = vk.to_bytes(SerdeFormat::RawBytes).len();
    let k_value = vk.get_domain().k();
    let n = 1u32 << k_value;
    let poly_bytes = 4 + 32 * n as usize;
    let mut at = payload + vk_len;
    let mut poly_lens = Vec::new();
    let mut vec_counts = Vec::new();
    for _ in 0..3 {
        poly_lens.push(at);
        at += poly_bytes;
    }
    let counts = [
        keys.pk.fixed_values().len(),
        keys.pk.fixed_polys().len(),
        keys.pk.permutation().permutations().len(),
        keys.pk.permutation().polys().len(),
    ];
    for count in counts {
        vec_counts.push(at);
        at += 4;
        for i in 0..count {
            if i == 0 || i + 1 == count {
                poly_lens.push(at);
            }
            at += poly_bytes;
        }
    }
    assert_eq!(at, bytes.len(), "pk.bin's layout as this test reads it");
    PkLayout {
        payload,
        k: payload + 1,
        k_value,
        compress: payload + 5,
        num_fixed: payload + 6,
        poly_lens,
        vec_counts,
        n,
    }
}

/// A fresh directory of this process (nextest runs each test in a process of its own).
fn tmp(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A copy of the iris keys' directory, to change.
fn copy_keys(name: &str) -> PathBuf {
    let dir = tmp(name);
    for entry in std::fs::read_dir(&iris().dir).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
    }
    dir
}

/// Panics anywhere in the process (caught or not), with their messages.
static PANICS: AtomicUsize = AtomicUsize::new(0);
static PANIC_MESSAGES: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// The tests of this file run one at a time, so that a panic is charged to its case.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn count_panics() {
    static HOOK: OnceLock<()> = OnceLock::new();
    HOOK.get_or_init(|| {
        std::panic::set_hook(Box::new(|info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            PANIC_MESSAGES
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(info.to_string());
        }));
    });
}

/// One mutated file.
struct Case {
    name: String,
    bytes: Vec<u8>,
    /// A structurally valid file (its digest recomputed over a flipped value) may be read.
    may_read: bool,
}

fn case(name: impl Into<String>, bytes: Vec<u8>) -> Case {
    Case {
        name: name.into(),
        bytes,
        may_read: false,
    }
}

/// The path a refused key file's error names, if the error is one of a file.
fn named_path(e: &ProveError) -> Option<&str> {
    match e {
        ProveError::Key { path, .. } => Some(path),
        ProveError::Ir(
            IrError::ArtifactFormat { path, .. }
            | IrError::ArtifactVersion { path, .. }
            | IrError::DigestMismatch { path, .. }
            | IrError::Io { path, .. }
            | IrError::Json { path, .. },
        ) => Some(path),
        _ => None,
    }
}

/// Runs `read` on each case written to `file` in a copy of the keys; returns what went wrong.
fn attack(
    cases: &[Case],
    file: &str,
    read: impl Fn(&Path) -> Result<(), ProveError>,
) -> Vec<String> {
    let dir = copy_keys(&format!("hostile-{}", file.replace('.', "-")));
    let path = dir.join(file);
    let want = path.display().to_string();
    let mut problems = Vec::new();
    for c in cases {
        std::fs::write(&path, &c.bytes).unwrap();
        let before = PANICS.load(Ordering::SeqCst);
        let outcome = catch_unwind(AssertUnwindSafe(|| read(&dir)));
        let panics = PANICS.load(Ordering::SeqCst) - before;
        let problem = match outcome {
            Err(_) => Some("panicked through the library".to_string()),
            Ok(_) if panics > 0 => Some(format!("panicked {panics} time(s) inside the library")),
            Ok(Ok(())) if !c.may_read => Some("was read as valid keys".to_string()),
            Ok(Ok(())) => None,
            Ok(Err(e)) => match named_path(&e) {
                Some(p) if p == want => None,
                _ => Some(format!("an error that does not name {want}: {e}")),
            },
        };
        if let Some(p) = problem {
            problems.push(format!("{}: {p}", c.name));
        }
    }
    problems
}

fn report(file: &str, total: usize, problems: &[String]) {
    // The panic sites (the lock released before the assertion, whose panic takes it).
    let mut sites: Vec<String> = PANIC_MESSAGES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|m| m.lines().next().unwrap_or(m).to_string())
        .collect();
    sites.sort();
    sites.dedup();
    if !problems.is_empty() {
        // Printed as well: the panic hook above replaces the default one that prints.
        let message = format!(
            "{} of {total} mutated {file} files were not refused with a typed error naming \
             the file:\n{}\npanics:\n{}",
            problems.len(),
            problems.join("\n"),
            sites.join("\n")
        );
        eprintln!("{message}");
        panic!("{message}");
    }
}

fn flip(bytes: &[u8], at: usize, mask: u8) -> Vec<u8> {
    let mut b = bytes.to_vec();
    b[at] ^= mask;
    b
}

fn set_u32(bytes: &[u8], at: usize, value: u32, big_endian: bool) -> Vec<u8> {
    let mut b = bytes.to_vec();
    let v = if big_endian {
        value.to_be_bytes()
    } else {
        value.to_le_bytes()
    };
    b[at..at + 4].copy_from_slice(&v);
    b
}

/// `bytes` with its header's payload digest replaced by the digest of its payload as it is
/// now: the file passes its own check, and the parser's result is what is used.
fn redigest(bytes: &[u8], payload: usize) -> Vec<u8> {
    let header = std::str::from_utf8(&bytes[17..payload]).unwrap();
    let start = header.find("\"payload_digest\":\"").unwrap() + "\"payload_digest\":\"".len();
    let digest = hex::encode(sha2::Sha256::digest(&bytes[payload..]));
    let mut b = bytes.to_vec();
    b[17 + start..17 + start + 64].copy_from_slice(digest.as_bytes());
    b
}

fn pk_cases(original: &[u8], l: &PkLayout) -> Vec<Case> {
    let len = original.len();
    let mut cases = Vec::new();
    // Flips at spread offsets (prefix, header, verifying key, values).
    for i in 0..48 {
        let at = i * (len - 1) / 47;
        cases.push(case(
            format!("bit 7 of byte {at} flipped"),
            flip(original, at, 0x80),
        ));
    }
    for at in (0..17).chain(l.payload..l.payload + 10) {
        cases.push(case(
            format!("bit 0 of byte {at} flipped"),
            flip(original, at, 0x01),
        ));
    }
    // Flips inside every length prefix and count, high and low bytes.
    for &at in l.poly_lens.iter().chain(&l.vec_counts) {
        cases.push(case(
            format!("high byte of the length at {at} flipped"),
            flip(original, at, 0x80),
        ));
        cases.push(case(
            format!("low byte of the length at {at} flipped"),
            flip(original, at + 3, 0x01),
        ));
    }
    // Truncations: inside the prefix and header, at and around every field's boundary, and at
    // spread lengths.
    let mut cuts: Vec<usize> = vec![0, 1, 8, 9, 13, 16, 17, 18, l.payload - 1, l.payload];
    cuts.extend([
        l.k + 2,
        l.compress,
        l.num_fixed,
        l.num_fixed + 2,
        l.num_fixed + 4,
    ]);
    for &at in l.poly_lens.iter().chain(&l.vec_counts) {
        cuts.extend([at, at + 2, at + 4, at + 5, at + 4 + 32 * 7 + 3]);
    }
    cuts.extend((1..24).map(|i| i * len / 24));
    cuts.push(len - 1);
    cuts.sort_unstable();
    cuts.dedup();
    for at in cuts.into_iter().filter(|&at| at < len) {
        cases.push(case(
            format!("truncated to {at} bytes"),
            original[..at].to_vec(),
        ));
    }
    // Appended bytes.
    for extra in [1usize, 4, 32, 5000] {
        let mut b = original.to_vec();
        b.extend((0..extra).map(|i| i as u8 ^ 0x5a));
        cases.push(case(format!("{extra} bytes appended"), b));
    }
    // The header's circuit shape changed (the payload's digest still matches it).
    let header = std::str::from_utf8(&original[17..l.payload]).unwrap();
    for (field, value) in [
        ("lanes", "1000000000"),
        ("lanes", "0"),
        ("k", "40"),
        ("k", "4"),
    ] {
        let key = format!("\"{field}\":");
        let start = header.find(&key).unwrap() + key.len();
        let end = start + header[start..].find(|c: char| !c.is_ascii_digit()).unwrap();
        let mut h = header.to_string();
        h.replace_range(start..end, value);
        let mut b = original[..13].to_vec();
        b.extend((h.len() as u32).to_le_bytes());
        b.extend(h.bytes());
        b.extend(&original[l.payload..]);
        cases.push(case(format!("the header's {field} set to {value}"), b));
    }
    // Length fields set huge (or off by one), alone and with the digest recomputed.
    let mut structural = Vec::new();
    for (i, &at) in l.poly_lens.iter().enumerate() {
        for v in [u32::MAX, 0x7fff_ffff, 1 << 27, l.n + 1, l.n - 1, 0] {
            structural.push((
                format!("polynomial {i}'s length set to {v}"),
                set_u32(original, at, v, true),
            ));
        }
    }
    for (i, &at) in l.vec_counts.iter().enumerate() {
        for v in [u32::MAX, 1 << 20, 0] {
            structural.push((
                format!("vector {i}'s count set to {v}"),
                set_u32(original, at, v, true),
            ));
        }
    }
    for v in [u32::MAX, 1 << 24, 0] {
        structural.push((
            format!("fixed commitments' count set to {v}"),
            set_u32(original, l.num_fixed, v, false),
        ));
    }
    for v in [
        u32::MAX,
        255,
        64,
        63,
        29,
        28,
        l.k_value + 1,
        l.k_value - 1,
        0,
    ] {
        structural.push((format!("k set to {v}"), set_u32(original, l.k, v, false)));
    }
    for v in [1u8, 2, 0xff] {
        let mut b = original.to_vec();
        b[l.compress] = v;
        structural.push((format!("compress_selectors set to {v}"), b));
    }
    structural.push((
        "header length set to u32::MAX".into(),
        set_u32(original, 13, u32::MAX, false),
    ));
    for (name, bytes) in structural {
        if bytes.len() > l.payload + 64 && bytes[..l.payload] == original[..l.payload] {
            cases.push(case(
                format!("{name}, digest recomputed"),
                redigest(&bytes, l.payload),
            ));
        }
        cases.push(case(name, bytes));
    }
    // Truncated payloads with the digest recomputed.
    for at in [
        l.payload + 3,
        l.poly_lens[0] + 2,
        l.poly_lens[1] + 100,
        len - 32,
    ] {
        cases.push(case(
            format!("payload truncated to {at} bytes, digest recomputed"),
            redigest(&original[..at], l.payload),
        ));
    }
    // A value past the field's modulus, digest recomputed: refused by the parser's check.
    let mut over = original.to_vec();
    over[l.poly_lens[0] + 4..l.poly_lens[0] + 36].fill(0xff);
    cases.push(case(
        "a value set past the modulus, digest recomputed",
        redigest(&over, l.payload),
    ));
    // A value flipped inside the modulus, digest recomputed: a valid key (its proofs fail).
    let mut valid = case(
        "a value's low bit flipped, digest recomputed",
        redigest(&flip(original, l.poly_lens[0] + 4, 0x01), l.payload),
    );
    valid.may_read = true;
    cases.push(valid);
    cases
}

#[test]
fn an_honest_key_reads_back_to_its_own_bytes() {
    let s = iris();
    let original = std::fs::read(s.dir.join(PK_FILE)).unwrap();
    let keys = Keys::read(&s.dir, &s.model).unwrap();
    let written = keys.pk.to_bytes(SerdeFormat::RawBytes);
    assert!(
        written == original[s.layout.payload..],
        "pk.bin read and written back differs"
    );
}

#[test]
fn every_mutated_proving_key_is_a_typed_error_naming_it() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    count_panics();
    let s = iris();
    let original = std::fs::read(s.dir.join(PK_FILE)).unwrap();
    let cases = pk_cases(&original, &s.layout);
    let problems = attack(&cases, PK_FILE, |dir| Keys::read(dir, &s.model).map(|_| ()));
    println!(
        "{} mutated pk.bin files, {} not refused cleanly",
        cases.len(),
        problems.len()
    );
    report(PK_FILE, cases.len(), &problems);
}

/// Reads the keys with the coset file, then every part of it (the prover reads a part at a
/// time during a proof, checking each polynomial's digest).
fn read_cosets(dir: &Path, model: &CompiledModel) -> Result<(), ProveError> {
    let keys = Keys::read(dir, model)?;
    let path = dir.join(COSETS_FILE);
    let file = CosetsFile::open(&path, &keys.pk, &keys.header.vk_digest)?;
    for part in 0..keys.pk.num_extended_parts() {
        file.part(part).map_err(|e| ProveError::Key {
            path: e
                .get_ref()
                .and_then(|c| c.downcast_ref::<zkinfer_prover::CosetsReadError>())
                .map(|c| c.path.clone())
                .unwrap_or_default(),
            reason: e.to_string(),
        })?;
    }
    Ok(())
}

#[test]
fn every_mutated_coset_file_is_a_typed_error_naming_it() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    count_panics();
    let s = iris();
    let original = std::fs::read(s.dir.join(COSETS_FILE)).unwrap();
    let len = original.len();
    let mut cases = Vec::new();
    for i in 0..40 {
        let at = i * (len - 1) / 39;
        cases.push(case(
            format!("bit 7 of byte {at} flipped"),
            flip(&original, at, 0x80),
        ));
    }
    // The trailer: the header's length and the closing magic, byte by byte.
    for at in len - 16..len {
        cases.push(case(
            format!("bit 0 of byte {at} flipped"),
            flip(&original, at, 0x01),
        ));
    }
    for v in [u64::MAX, u64::MAX / 2, len as u64, len as u64 - 28, 0] {
        let mut b = original.clone();
        b[len - 16..len - 8].copy_from_slice(&v.to_le_bytes());
        cases.push(case(format!("header length set to {v}"), b));
    }
    let mut cuts: Vec<usize> = vec![
        0,
        1,
        8,
        11,
        12,
        13,
        len - 17,
        len - 16,
        len - 9,
        len - 8,
        len - 1,
    ];
    cuts.extend((1..16).map(|i| i * len / 16));
    for at in cuts {
        cases.push(case(
            format!("truncated to {at} bytes"),
            original[..at].to_vec(),
        ));
    }
    for extra in [1usize, 32] {
        let mut b = original.clone();
        b.extend(std::iter::repeat_n(0xa5u8, extra));
        cases.push(case(format!("{extra} bytes appended"), b));
    }
    let problems = attack(&cases, COSETS_FILE, |dir| read_cosets(dir, &s.model));
    println!(
        "{} mutated pk.cosets files, {} not refused cleanly",
        cases.len(),
        problems.len()
    );
    report(COSETS_FILE, cases.len(), &problems);
}
