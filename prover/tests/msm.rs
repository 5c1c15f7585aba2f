//! The signed small-scalar multi-exponentiation of the vendored halo2-axiom
//! (`small_signed_multiexp`, which every commitment to a column in Lagrange form goes
//! through) gives the same point as upstream's `best_multiexp`: on columns of small values of
//! either sign, with a few large values (blinding rows), at the 1/16 threshold of large
//! values on both sides, and on dense, all-positive and all-zero columns.

use halo2_axiom::arithmetic::{best_multiexp, small_signed_multiexp, Field};
use halo2_axiom::halo2curves::bn256::{Fr, G1Affine, G1};
use halo2_axiom::halo2curves::group::Curve;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const N: usize = 1 << 12;

fn bases(rng: &mut StdRng) -> Vec<G1Affine> {
    let g = G1::generator();
    let mut points = vec![G1Affine::default(); N];
    let projective: Vec<G1> = (0..N).map(|_| g * Fr::random(&mut *rng)).collect();
    G1::batch_normalize(&projective, &mut points);
    points
}

fn signed(v: i64) -> Fr {
    let f = Fr::from(v.unsigned_abs());
    if v < 0 {
        -f
    } else {
        f
    }
}

#[test]
fn the_same_point_as_best_multiexp() {
    let mut rng = StdRng::seed_from_u64(7);
    let bases = bases(&mut rng);
    let small_signed =
        |rng: &mut StdRng, bits: u32| signed(rng.gen_range(-(1i64 << bits)..(1i64 << bits)));
    let with_large = |rng: &mut StdRng, large: usize| -> Vec<Fr> {
        let mut v: Vec<Fr> = (0..N).map(|_| small_signed(rng, 20)).collect();
        for x in v.iter_mut().take(large) {
            *x = Fr::random(&mut *rng);
        }
        v
    };
    let cases: Vec<(&str, Vec<Fr>)> = vec![
        ("zeros", vec![Fr::ZERO; N]),
        (
            "small positive",
            (0..N)
                .map(|_| Fr::from(rng.gen_range(0..1u64 << 20)))
                .collect(),
        ),
        (
            "small signed",
            (0..N).map(|_| small_signed(&mut rng, 20)).collect(),
        ),
        ("all −1", vec![-Fr::ONE; N]),
        ("64-bit edges", {
            // ±(2^64 − 1) are small either way, ±2^64 large (1 in 32: the fast path).
            let max = Fr::from(u64::MAX);
            let small = [max, -max, -Fr::ONE, Fr::ONE, Fr::ZERO];
            (0..N)
                .map(|i| match i % 32 {
                    0 => max + Fr::ONE,
                    16 => -(max + Fr::ONE),
                    _ => small[i % small.len()],
                })
                .collect()
        }),
        (
            "just past 64 bits",
            (0..N)
                .map(|i| signed(i as i64 - 5) * Fr::from(1u64 << 40) * Fr::from(1u64 << 40))
                .collect(),
        ),
        ("blinding rows", with_large(&mut rng, 6)),
        ("large at the threshold", with_large(&mut rng, N / 16)),
        ("large past the threshold", with_large(&mut rng, N / 16 + 1)),
        ("dense", (0..N).map(|_| Fr::random(&mut rng)).collect()),
    ];
    for (name, scalars) in cases {
        let want = best_multiexp(&scalars, &bases).to_affine();
        let got = small_signed_multiexp(&scalars, &bases).to_affine();
        assert_eq!(got, want, "{name}");
    }
}
