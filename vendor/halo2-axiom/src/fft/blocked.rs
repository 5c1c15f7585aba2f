//! Radix-2 FFT for few cores (zkinfer's addition to this vendored copy; see
//! `ZKINFER-PATCHES.md`).
//!
//! After the bit-reversal permutation, the first `BLOCK_LOG` layers of butterflies run
//! inside blocks of `2^BLOCK_LOG` elements (smaller blocks in transforms of under 8 such
//! blocks), each block in cache while all of its layers run; the remaining layers run two at
//! a time (one pass over the data per pair). Every layer
//! reads its twiddles from a contiguous table of its own (`layer_twiddles`, cached per
//! domain size in `FFTData`), so a butterfly costs one multiplication and none is spent on
//! the twiddle 1. Work splits into halves by `join` down to `SPLIT` butterflies.

use ff::Field;

use super::recursive::FFTData;
use crate::{arithmetic::FftGroup, multicore::join};

/// Layers done inside one block: `2^14` elements, 512 KiB of 32-byte values.
const BLOCK_LOG: u32 = 14;
/// Butterflies below which a task is not split further.
const SPLIT: usize = 1 << 12;
/// Twiddles below which the table is filled by one task.
const FILL_SPLIT: usize = 1 << 14;

/// The FFT of `a` (size `2^log_n`) at the root of unity `omega`, with the per-layer twiddles
/// cached in `data` when `omega` is the root `data` was made for (computed for this call
/// otherwise).
pub fn fft<Scalar: Field, G: FftGroup<Scalar>>(
    a: &mut [G],
    omega: Scalar,
    log_n: u32,
    data: &FFTData<Scalar>,
    inverse: bool,
) {
    let n = a.len();
    assert_eq!(n, 1 << log_n);
    if n < 2 {
        return;
    }
    let cached = (data.get_n() == n)
        .then(|| data.layer_twiddles(omega, inverse))
        .flatten();
    match cached {
        Some(tw) => fft_with(a, tw, log_n),
        None => fft_with(a, &layer_twiddles(omega, n), log_n),
    }
}

/// The twiddles of every layer of an FFT of size `n` at `omega`: the layer of butterflies
/// `m` apart has `omega^(j·n/(2m))` for `j < m` at `[m − 1, 2m − 1)`.
pub fn layer_twiddles<F: Field>(omega: F, n: usize) -> Vec<F> {
    if n < 2 {
        return Vec::new();
    }
    let half = n / 2;
    let mut tw = vec![F::ONE; n - 1];
    powers(&mut tw[half - 1..], omega, 0);
    // omega_{2m}^j = omega_{4m}^(2j): each layer takes every other twiddle of the next.
    let mut m = half / 2;
    while m >= 1 {
        let (lower, upper) = tw.split_at_mut(2 * m - 1);
        for (t, u) in lower[m - 1..].iter_mut().zip(upper[..].iter().step_by(2)) {
            *t = *u;
        }
        m /= 2;
    }
    tw
}

/// `out[i] = omega^(start + i)`.
fn powers<F: Field>(out: &mut [F], omega: F, start: usize) {
    if out.len() > FILL_SPLIT {
        let mid = out.len() / 2;
        let (l, r) = out.split_at_mut(mid);
        join(|| powers(l, omega, start), || powers(r, omega, start + mid));
        return;
    }
    let mut w = omega.pow_vartime([start as u64]);
    for t in out.iter_mut() {
        *t = w;
        w *= omega;
    }
}

fn fft_with<Scalar: Field, G: FftGroup<Scalar>>(a: &mut [G], tw: &[Scalar], log_n: u32) {
    bit_reverse(a, log_n);
    // At least 8 blocks, so that small transforms are split between threads too.
    let inner = log_n.min(BLOCK_LOG).min(log_n.saturating_sub(3).max(1));
    blocks(a, tw, inner);
    let mut layer = inner;
    while layer < log_n {
        let m = 1usize << layer;
        if layer + 1 < log_n {
            groups(a, 4 * m, &|g: &mut [G]| {
                let (l, r) = g.split_at_mut(2 * m);
                let (q0, q1) = l.split_at_mut(m);
                let (q2, q3) = r.split_at_mut(m);
                radix4([q0, q1, q2, q3], 0, tw, m);
            });
            layer += 2;
        } else {
            groups(a, 2 * m, &|g: &mut [G]| {
                let (lo, hi) = g.split_at_mut(m);
                radix2(lo, hi, 0, tw, m);
            });
            layer += 1;
        }
    }
}

/// A pointer shared by the tasks of the bit-reversal, which touch disjoint pairs.
#[derive(Clone, Copy)]
struct Shared<G>(*mut G);
// SAFETY: the tasks holding copies write disjoint elements (see `bit_reverse`).
unsafe impl<G: Send> Send for Shared<G> {}
unsafe impl<G: Send> Sync for Shared<G> {}

fn bit_reverse<G: Copy + Send + Sync>(a: &mut [G], log_n: u32) {
    fn swap_range<G: Copy + Send + Sync>(a: Shared<G>, lo: usize, hi: usize, log_n: u32) {
        if hi - lo > 4 * FILL_SPLIT {
            let mid = lo + (hi - lo) / 2;
            join(
                || swap_range(a, lo, mid, log_n),
                || swap_range(a, mid, hi, log_n),
            );
            return;
        }
        for k in lo..hi {
            let rk = k.reverse_bits() >> (usize::BITS - log_n);
            if k < rk {
                // SAFETY: `k` and `rk` are below `2^log_n`, the slice's length; the pair
                // `(k, rk)` is swapped only by the task whose range holds its smaller index,
                // so no two tasks touch the same element.
                unsafe { std::ptr::swap(a.0.add(k), a.0.add(rk)) };
            }
        }
    }
    swap_range(Shared(a.as_mut_ptr()), 0, a.len(), log_n);
}

#[inline(always)]
fn butterfly<Scalar: Field, G: FftGroup<Scalar>>(x: &mut G, y: &mut G, w: &Scalar) {
    let mut t = *y;
    t *= w;
    *y = *x;
    *x += &t;
    *y -= &t;
}

#[inline(always)]
fn butterfly_one<Scalar: Field, G: FftGroup<Scalar>>(x: &mut G, y: &mut G) {
    let t = *y;
    *y = *x;
    *x += &t;
    *y -= &t;
}

/// Layers `0..layers` of every block of `2^layers` elements of `a`.
fn blocks<Scalar: Field, G: FftGroup<Scalar>>(a: &mut [G], tw: &[Scalar], layers: u32) {
    if a.len() > 1 << layers {
        let mid = a.len() / 2;
        let (l, r) = a.split_at_mut(mid);
        join(|| blocks(l, tw, layers), || blocks(r, tw, layers));
        return;
    }
    let mut m = 1;
    for _ in 0..layers {
        let t = &tw[m..2 * m - 1];
        for group in a.chunks_exact_mut(2 * m) {
            let (lo, hi) = group.split_at_mut(m);
            butterfly_one::<Scalar, G>(&mut lo[0], &mut hi[0]);
            for ((x, y), w) in lo[1..].iter_mut().zip(hi[1..].iter_mut()).zip(t) {
                butterfly(x, y, w);
            }
        }
        m *= 2;
    }
}

/// `f` on each group of `size` elements of `a`, groups split between tasks.
fn groups<G: Send>(a: &mut [G], size: usize, f: &(impl Fn(&mut [G]) + Sync)) {
    if a.len() > size {
        let mid = a.len() / 2;
        let (l, r) = a.split_at_mut(mid);
        join(|| groups(l, size, f), || groups(r, size, f));
    } else {
        f(a)
    }
}

/// The layers `m` and `2m` apart at once on the quarters `q` of one group of `4m`, from
/// index `j0` of each quarter.
fn radix4<Scalar: Field, G: FftGroup<Scalar>>(
    q: [&mut [G]; 4],
    j0: usize,
    tw: &[Scalar],
    m: usize,
) {
    let len = q[0].len();
    let [q0, q1, q2, q3] = q;
    if len > SPLIT {
        let mid = len / 2;
        let (a0, b0) = q0.split_at_mut(mid);
        let (a1, b1) = q1.split_at_mut(mid);
        let (a2, b2) = q2.split_at_mut(mid);
        let (a3, b3) = q3.split_at_mut(mid);
        join(
            || radix4([a0, a1, a2, a3], j0, tw, m),
            || radix4([b0, b1, b2, b3], j0 + mid, tw, m),
        );
        return;
    }
    let (t1, t2) = (&tw[m - 1..2 * m - 1], &tw[2 * m - 1..4 * m - 1]);
    for i in 0..len {
        let j = j0 + i;
        let (mut x0, mut x1, mut x2, mut x3) = (q0[i], q1[i], q2[i], q3[i]);
        butterfly(&mut x0, &mut x1, &t1[j]);
        butterfly(&mut x2, &mut x3, &t1[j]);
        butterfly(&mut x0, &mut x2, &t2[j]);
        butterfly(&mut x1, &mut x3, &t2[j + m]);
        q0[i] = x0;
        q1[i] = x1;
        q2[i] = x2;
        q3[i] = x3;
    }
}

/// The layer `m` apart on the halves of one group of `2m`, from index `j0` of each half.
fn radix2<Scalar: Field, G: FftGroup<Scalar>>(
    lo: &mut [G],
    hi: &mut [G],
    j0: usize,
    tw: &[Scalar],
    m: usize,
) {
    let len = lo.len();
    if len > SPLIT {
        let mid = len / 2;
        let (a0, b0) = lo.split_at_mut(mid);
        let (a1, b1) = hi.split_at_mut(mid);
        join(
            || radix2(a0, a1, j0, tw, m),
            || radix2(b0, b1, j0 + mid, tw, m),
        );
        return;
    }
    for ((x, y), w) in lo.iter_mut().zip(hi.iter_mut()).zip(&tw[m - 1 + j0..]) {
        butterfly(x, y, w);
    }
}
