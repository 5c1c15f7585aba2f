//! Committing to a witness column at 2^K rows: upstream's `best_multiexp` against the
//! vendored halo2-axiom's `small_signed_multiexp` (ZKINFER-PATCHES.md, patch 4), on columns
//! of 20-bit values that are all positive, of either sign, and dense. Medians of 3, seconds.
//!
//! usage: cargo run --release -p zkinfer-prover --example msm_bench [-- K] (default 20; the
//! SRS comes from zkinfer's cache, generated there once if missing)

use std::time::Instant;

use halo2_axiom::arithmetic::{best_multiexp, small_signed_multiexp, Field};
use halo2_axiom::halo2curves::bn256::Fr;
use halo2_axiom::poly::commitment::ParamsProver;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn median(f: impl Fn() -> f64) -> f64 {
    let mut v: Vec<f64> = (0..3).map(|_| f()).collect();
    v.sort_by(f64::total_cmp);
    v[1]
}

fn main() -> anyhow::Result<()> {
    let k: u32 = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(20);
    let (params, _) = zkinfer_prover::load_srs(k, None)?;
    let n = 1usize << k;
    let bases = &params.get_g()[..n];
    let mut rng = StdRng::seed_from_u64(1);
    let mut column = |signed: bool| -> Vec<Fr> {
        let mut v: Vec<Fr> = (0..n)
            .map(|_| {
                let x = Fr::from(rng.gen_range(0..1u64 << 20));
                if signed && rng.gen::<bool>() {
                    -x
                } else {
                    x
                }
            })
            .collect();
        // The blinding rows of an advice column.
        for x in v.iter_mut().rev().take(6) {
            *x = Fr::random(&mut rng);
        }
        v
    };
    let positive = column(false);
    let signed = column(true);
    let dense: Vec<Fr> = (0..n).map(|_| Fr::random(&mut rng)).collect();
    println!("| column (2^{k}) | best_multiexp (s) | small_signed_multiexp (s) |");
    println!("|---|---|---|");
    for (name, scalars) in [
        ("20-bit, positive", &positive),
        ("20-bit, either sign", &signed),
        ("dense", &dense),
    ] {
        let time = |f: &dyn Fn()| {
            median(|| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64()
            })
        };
        let old = time(&|| {
            best_multiexp(scalars, bases);
        });
        let new = time(&|| {
            small_signed_multiexp(scalars, bases);
        });
        println!("| {name} | {old:.2} | {new:.2} |");
    }
    Ok(())
}
