//! The blocked FFT of the vendored halo2-axiom (`vendor/halo2-axiom/src/fft/blocked.rs`),
//! which every proof's polynomial arithmetic runs on, against two references: the
//! schoolbook DFT `Σ_i a_i·ω^(ij)` and upstream's radix-2 `baseline` FFT. Sizes cover the
//! edges of the blocked layout: 1 and 2, a block of 2^14 exactly, one layer past it (a
//! radix-2 pass), two (a radix-4 pass) and three (both).

use halo2_axiom::arithmetic::Field;
use halo2_axiom::fft::{baseline, blocked, recursive::FFTData};
use halo2_axiom::halo2curves::bn256::{Fr, G1};
use halo2_axiom::poly::EvaluationDomain;
use rand::rngs::StdRng;
use rand::SeedableRng;

/// `Σ_i a_i·ω^(ij)` for every `j`.
fn dft(a: &[Fr], omega: Fr) -> Vec<Fr> {
    (0..a.len())
        .map(|j| {
            let w = omega.pow_vartime([j as u64]);
            a.iter().rev().fold(Fr::ZERO, |acc, x| acc * w + x)
        })
        .collect()
}

/// Inputs at edge values: zeros, ones, an impulse at each end, −1 everywhere, random.
fn inputs(n: usize, rng: &mut StdRng) -> Vec<(&'static str, Vec<Fr>)> {
    let impulse = |at: usize| (0..n).map(|i| Fr::from(u64::from(i == at))).collect();
    vec![
        ("zeros", vec![Fr::ZERO; n]),
        ("ones", vec![Fr::ONE; n]),
        ("impulse at 0", impulse(0)),
        ("impulse at n - 1", impulse(n - 1)),
        ("minus one", vec![-Fr::ONE; n]),
        ("random", (0..n).map(|_| Fr::random(&mut *rng)).collect()),
    ]
}

#[test]
fn the_blocked_fft_equals_the_schoolbook_dft_at_small_sizes() {
    let mut rng = StdRng::seed_from_u64(1);
    for k in 0..=8u32 {
        let domain = EvaluationDomain::<Fr>::new(1, k);
        let n = 1usize << k;
        let data = domain.get_fft_data(n);
        for (omega, inverse) in [(domain.get_omega(), false), (domain.get_omega_inv(), true)] {
            for (what, a) in inputs(n, &mut rng) {
                let want = dft(&a, omega);
                let mut cached = a.clone();
                blocked::fft(&mut cached, omega, k, data, inverse);
                assert_eq!(cached, want, "k = {k}, inverse = {inverse}, {what}");
                // Data made for no root (or another size): the twiddles are computed per call.
                let mut fresh = a.clone();
                blocked::fft(&mut fresh, omega, k, &FFTData::default(), inverse);
                assert_eq!(
                    fresh, want,
                    "k = {k}, inverse = {inverse}, {what}, uncached"
                );
            }
        }
    }
}

#[test]
fn the_blocked_fft_equals_upstreams_radix_2_fft_across_the_block_boundary() {
    let mut rng = StdRng::seed_from_u64(2);
    for k in [13u32, 14, 15, 16, 17] {
        let domain = EvaluationDomain::<Fr>::new(1, k);
        let n = 1usize << k;
        let data = domain.get_fft_data(n);
        for (omega, inverse) in [(domain.get_omega(), false), (domain.get_omega_inv(), true)] {
            for (what, a) in inputs(n, &mut rng) {
                let mut want = a.clone();
                baseline::fft(&mut want, omega, k, data, inverse);
                let mut got = a;
                blocked::fft(&mut got, omega, k, data, inverse);
                assert!(got == want, "k = {k}, inverse = {inverse}, {what}");
            }
        }
    }
}

#[test]
fn the_blocked_fft_transforms_curve_points_as_the_dft_does() {
    // The SRS's Lagrange basis is an FFT over G1 points (`g_to_lagrange`).
    let mut rng = StdRng::seed_from_u64(3);
    let k = 5u32;
    let domain = EvaluationDomain::<Fr>::new(1, k);
    let n = 1usize << k;
    let scalars: Vec<Fr> = (0..n).map(|_| Fr::random(&mut rng)).collect();
    let points: Vec<G1> = scalars.iter().map(|s| G1::generator() * s).collect();
    let mut got = points;
    blocked::fft(
        &mut got,
        domain.get_omega(),
        k,
        domain.get_fft_data(n),
        false,
    );
    let want: Vec<G1> = dft(&scalars, domain.get_omega())
        .iter()
        .map(|s| G1::generator() * s)
        .collect();
    assert_eq!(got, want);
}

#[test]
fn the_domain_round_trips_through_the_extended_domain() {
    // Coefficients to the extended domain's parts and back (the quotient's path in a proof).
    let mut rng = StdRng::seed_from_u64(4);
    let domain = EvaluationDomain::<Fr>::new(5, 15);
    let coeffs: Vec<Fr> = (0..1usize << 15).map(|_| Fr::random(&mut rng)).collect();
    let mut poly = domain.empty_coeff();
    poly.values_mut().copy_from_slice(&coeffs);
    let extended = domain.coeff_to_extended(&poly);
    let back = domain.extended_to_coeff(extended);
    assert_eq!(&back[..coeffs.len()], &coeffs[..]);
    assert!(back[coeffs.len()..].iter().all(|c| *c == Fr::ZERO));
}
