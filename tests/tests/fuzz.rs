//! A short mutational fuzzing campaign over every parser of files from strangers (the targets
//! of `zkinfer_tests::fuzz`): seeds from the corpus and from artifacts made here, mutated
//! bytes fed to each target for `FUZZ_SECONDS` seconds (default 5; CI runs 30 per target;
//! `FUZZ_TARGETS=onnx,input` picks targets).
//! A panic, an input slower than `SLOW` or an allocation over `ALLOC_LIMIT` fails the test;
//! the offending input is written under `target/fuzz-crashes/`. Long campaigns with coverage
//! guidance: `scripts/fuzz.sh` (cargo-fuzz on nightly).

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use zkinfer_tests::fuzz::{targets, Mutator};

/// The most one allocation may ask for: a parser that sizes a buffer from a length field must
/// check it first. Over it the allocator fails, and the process aborts (a crash).
const ALLOC_LIMIT: usize = 1 << 30;
/// The most one input may take.
const SLOW: Duration = Duration::from_secs(10);

struct Capped;

// SAFETY: forwards to the system allocator; refusing a request (null) is allowed by the
// `GlobalAlloc` contract.
unsafe impl GlobalAlloc for Capped {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > ALLOC_LIMIT {
            return std::ptr::null_mut();
        }
        // SAFETY: same layout, forwarded.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > ALLOC_LIMIT {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Capped = Capped;

static LAST_PANIC: Mutex<String> = Mutex::new(String::new());

#[test]
fn a_short_campaign_finds_no_crash_in_any_parser() {
    let seconds: u64 = std::env::var("FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let crashes_dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/fuzz-crashes");
    std::panic::set_hook(Box::new(|info| {
        *LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()) = info.to_string();
    }));
    let mut failures = Vec::new();
    println!("| target | seeds | executions | per second |\n|---|---|---|---|");
    // FUZZ_TARGETS=onnx,zkc runs those alone (campaigns split across cores).
    let only = std::env::var("FUZZ_TARGETS").unwrap_or_default();
    for (name, target, seeds) in targets() {
        if !only.is_empty() && !only.split(',').any(|t| t == name) {
            continue;
        }
        assert!(!seeds.is_empty(), "{name}: no seeds");
        // The seeds themselves first: each must run clean.
        for s in &seeds {
            target(s);
        }
        let mut m = Mutator::new(0x5eed ^ name.len() as u64);
        let mut pool = seeds.clone();
        let start = Instant::now();
        let mut runs = 0u64;
        while start.elapsed() < Duration::from_secs(seconds) {
            let pick = (runs as usize * 7 + 3) % pool.len();
            let other = &pool[(runs as usize * 13 + 1) % pool.len()];
            let input = m.mutate(&pool[pick], other);
            let t = Instant::now();
            let outcome = catch_unwind(AssertUnwindSafe(|| target(&input)));
            let took = t.elapsed();
            runs += 1;
            let problem = match outcome {
                Err(_) => Some(format!(
                    "panic: {}",
                    LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner())
                )),
                Ok(()) if took > SLOW => Some(format!("slow: {took:?}")),
                Ok(()) => None,
            };
            if let Some(p) = problem {
                std::fs::create_dir_all(&crashes_dir).unwrap();
                let file = crashes_dir.join(format!("{name}-{runs}.bin"));
                std::fs::write(&file, &input).unwrap();
                failures.push(format!("{name}: {p} (input: {})", file.display()));
                if failures.len() > 20 {
                    break;
                }
            }
            // Keep some mutants, so that mutations stack.
            if runs.is_multiple_of(16) && pool.len() < 64 {
                pool.push(input);
            }
        }
        println!(
            "| {name} | {} | {runs} | {:.0} |",
            seeds.len(),
            runs as f64 / start.elapsed().as_secs_f64()
        );
    }
    let _ = std::panic::take_hook();
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Runs one saved input through its target, uncaught (for a backtrace):
/// `FUZZ_REPRO=target/fuzz-crashes/onnx-123.bin cargo test -p zkinfer-tests --test fuzz repro -- --ignored`.
#[test]
#[ignore]
fn repro() {
    let path = std::env::var("FUZZ_REPRO").expect("set FUZZ_REPRO to a saved input");
    let name = std::path::Path::new(&path)
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.split('-').next())
        .unwrap()
        .to_string();
    let bytes = std::fs::read(&path).unwrap();
    let (_, target, _) = targets().into_iter().find(|t| t.0 == name).unwrap();
    target(&bytes);
}

/// Writes each target's seeds to `fuzz/corpus/TARGET/` for cargo-fuzz (`scripts/fuzz.sh`).
#[test]
#[ignore]
fn write_seeds() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    for (name, _, seeds) in targets() {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        for (i, s) in seeds.iter().enumerate() {
            std::fs::write(dir.join(format!("seed-{i}")), s).unwrap();
        }
    }
}

/// Regressions of the long campaign: inputs that once panicked, now refused with a reason.
#[test]
fn regressions_are_refused_not_panics() {
    // A value past float32's range reads as −∞; quantized, it was i64::MIN, whose magnitude
    // overflowed the input bound check.
    let mut values = vec!["0.5".to_string(); 64];
    values[47] = "-1.1e308".into();
    let json = format!("{{\"input_data\":[[{}]]}}", values.join(","));
    zkinfer_tests::fuzz::input(json.as_bytes());
    let inputs = zkinfer_prover::parse_inputs(json.as_bytes(), "x.json").unwrap();
    let err = zkinfer_prover::witness(&zkinfer_tests::fuzz::artifacts().model, &inputs)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("element 47") && err.contains("not a finite number"),
        "{err}"
    );
}

/// Proving keys that once panicked or aborted when read (the key is parsed while it is
/// digested, so the parser met them before the digest mismatch was known), each run through
/// the `pk` target (read from a file, and parsed with its digest recomputed) and refused with
/// the parser's reason when its digest is made to match.
#[test]
fn mutated_proving_keys_are_refused_not_panics() {
    let a = zkinfer_tests::fuzz::artifacts();
    let header_len = u32::from_le_bytes(a.pk[13..17].try_into().unwrap()) as usize;
    let payload = 17 + header_len;
    let bundle = zkinfer_verifier::Bundle::from_bytes(&a.bundle, "bundle.bin").unwrap();
    // The payload: the verifying key, then `l0`'s length (u32, big-endian) and values.
    let l0 = payload + bundle.vk_bytes().len();
    let with = |at: usize, bytes: &[u8]| {
        let mut b = a.pk.clone();
        b[at..at + bytes.len()].copy_from_slice(bytes);
        b
    };
    let cases = [
        // `read_exact(..).unwrap()` in `Polynomial::read` (poly.rs:312).
        (
            "truncated inside a polynomial",
            a.pk[..l0 + 4 + 1000].to_vec(),
            "fill whole buffer",
        ),
        // 128 GiB reserved for `l0` before a value was read: an abort.
        (
            "l0's length set huge",
            with(l0, &u32::MAX.to_be_bytes()),
            "polynomial of 4294967295",
        ),
        // `assert!(all_valid)` in `Polynomial::read` (poly.rs:325).
        (
            "a value past the modulus",
            with(l0 + 4, &[0xff; 32]),
            "not less than modulus",
        ),
        // `EvaluationDomain::new`'s shift and `assert!(extended_k <= F::S)`.
        (
            "k set to 40",
            with(payload + 1, &40u32.to_le_bytes()),
            "k = 40",
        ),
    ];
    for (name, bytes, reason) in cases {
        zkinfer_tests::fuzz::pk(&bytes);
        let mut env = zkinfer_ir::Envelope::<zkinfer_prover::KeyHeader>::decode(
            &bytes,
            zkinfer_ir::ArtifactKind::ProvingKey,
            "x/pk.bin",
        )
        .unwrap();
        env.header.payload_digest = zkinfer_ir::digest(&env.payload);
        let err =
            zkinfer_prover::Keys::from_bytes(&env.encode(), bundle.clone(), &a.model, "x/pk.bin")
                .err()
                .unwrap_or_else(|| panic!("{name}: read as a valid key"))
                .to_string();
        assert!(
            err.starts_with("x/pk.bin: ") && err.contains(reason),
            "{name}: {err}"
        );
    }
}
