//! The FFT every proof runs on, timed: halo2-axiom's own x86-64 FFT (`parallel`) and its
//! radix-2 reference (`baseline`) against the blocked FFT of zkinfer's vendored copy
//! (`vendor/halo2-axiom/ZKINFER-PATCHES.md`), and the time to build an evaluation domain
//! (which every setup, proof and verification does). Medians of 7, one table row per size.
//!
//! usage: cargo run --release -p zkinfer-prover --example fft_bench [-- K ...] (default 16 18 20)

use std::time::Instant;

use halo2_axiom::arithmetic::Field;
use halo2_axiom::fft::{baseline, blocked, parallel};
use halo2_axiom::halo2curves::bn256::Fr;
use halo2_axiom::poly::EvaluationDomain;
use rand::rngs::StdRng;
use rand::SeedableRng;

const REPS: usize = 7;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median milliseconds of `f` over `REPS` runs on a fresh copy of `input` each.
fn time(input: &[Fr], f: impl Fn(&mut [Fr])) -> f64 {
    median(
        (0..REPS)
            .map(|_| {
                let mut a = input.to_vec();
                let t = Instant::now();
                f(&mut a);
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect(),
    )
}

fn main() {
    let ks: Vec<u32> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let ks = if ks.is_empty() { vec![16, 18, 20] } else { ks };
    let mut rng = StdRng::seed_from_u64(7);
    println!(
        "threads: {}; medians of {REPS}",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "| k | domain (ms) | parallel (ms) | baseline (ms) | blocked (ms) | parallel / blocked |"
    );
    println!("|---|---|---|---|---|---|");
    for k in ks {
        let t = Instant::now();
        let domain = EvaluationDomain::<Fr>::new(5, k);
        let t_domain = t.elapsed().as_secs_f64() * 1e3;
        let n = 1usize << k;
        let (omega, data) = (domain.get_omega(), domain.get_fft_data(n));
        let input: Vec<Fr> = (0..n).map(|_| Fr::random(&mut rng)).collect();
        let t_parallel = time(&input, |a| parallel::fft(a, omega, k, data, false));
        let t_baseline = time(&input, |a| baseline::fft(a, omega, k, data, false));
        let t_blocked = time(&input, |a| blocked::fft(a, omega, k, data, false));
        println!(
            "| {k} | {t_domain:.1} | {t_parallel:.1} | {t_baseline:.1} | {t_blocked:.1} | {:.2}x |",
            t_parallel / t_blocked
        );
    }
}
