//! Exact integer products for the evaluator: a product with a constant matrix (`Dense`) and
//! of two activations (`MatMul`). The accumulator follows the operands' magnitudes, which
//! bound every partial sum: `f64` below 2^53 (exact, in register tiles the compiler
//! vectorizes), `i64` below 2^63, `i128` beyond (each sum checked to fit `i64`). Integer sums
//! are exact in any order, so column blocks run in parallel (feature `parallel`) and every
//! thread count gives the same values.

use crate::op::{Dense, WeightSide};
use crate::tensor::Tensor;
use crate::IrError;

/// Columns of the output one task computes: its block of `m` rows stays in cache while `B`
/// streams past once.
const COLUMN_BLOCK: usize = 64;

/// Rows and columns of the output one step of [`product_f64`] keeps in registers.
const TILE: usize = 4;

/// `W · x` or `x · W` (with its bias) for a product with a constant matrix.
pub(super) fn dense_product(
    dense: &Dense,
    x: &Tensor<i64>,
    node: &str,
) -> Result<Vec<i64>, IrError> {
    let w = &dense.weight;
    let bias = dense.bias.as_ref().map(|b| b.data());
    match dense.side {
        WeightSide::Right => {
            let (k, n) = (w.shape()[0], w.shape()[1]);
            let rows = x.len() / k.max(1);
            product(x.data(), w.data(), (rows, k, n), bias, node)
        }
        WeightSide::Left => {
            let (m, k) = (w.shape()[0], w.shape()[1]);
            let n = x.shape().get(1).copied().unwrap_or(1);
            product(w.data(), x.data(), (m, k, n), bias, node)
        }
    }
}

/// The largest magnitude in `v`.
fn max_abs(v: &[i64]) -> u128 {
    v.iter().map(|x| x.unsigned_abs()).max().unwrap_or(0) as u128
}

/// `A · B (+ bias)` for row-major `A` (`m × k`) and `B` (`k × n`), exactly; an overflow of
/// `i64` names the node.
pub(super) fn product(
    a: &[i64],
    b: &[i64],
    (m, k, n): (usize, usize, usize),
    bias: Option<&[i64]>,
    node: &str,
) -> Result<Vec<i64>, IrError> {
    let bound = max_abs(a)
        .saturating_mul(max_abs(b))
        .saturating_mul(k as u128)
        .saturating_add(bias.map_or(0, max_abs));
    let nonzero = a.iter().filter(|&&v| v != 0).count();
    if bound < 1 << 63 && nonzero * 4 < m * k {
        // Mostly zeros (a one-hot selection of rows): only the nonzero terms.
        return Ok(sparse_rows(a, b, (m, k, n), bias));
    }
    if bound < 1 << 53 && m >= TILE {
        return Ok(product_f64(a, b, (m, k, n), bias));
    }
    if bound < 1 << 63 {
        return Ok(blocked(a, b, (m, k, n), bias, |v| v));
    }
    let wide = blocked(a, b, (m, k, n), bias, |v| v as i128);
    wide.into_iter()
        .map(|v| i64::try_from(v).map_err(|_| IrError::Overflow { node: node.into() }))
        .collect()
}

/// [`product`] for an `A` of mostly zeros, every partial sum below 2^63: each nonzero
/// `A[i][t]` adds its multiple of row `t` of `B` to row `i`.
fn sparse_rows(
    a: &[i64],
    b: &[i64],
    (m, k, n): (usize, usize, usize),
    bias: Option<&[i64]>,
) -> Vec<i64> {
    let mut out = match bias {
        Some(bias) => bias[..m * n].to_vec(),
        None => vec![0; m * n],
    };
    for (i, row) in out.chunks_exact_mut(n.max(1)).enumerate().take(m) {
        for (t, &av) in a[i * k..(i + 1) * k].iter().enumerate() {
            if av != 0 {
                for (o, &bv) in row.iter_mut().zip(&b[t * n..(t + 1) * n]) {
                    *o += av * bv;
                }
            }
        }
    }
    out
}

/// The `m × n` output assembled from its column blocks: `block(j0, w)` computes columns
/// `j0..j0 + w` of every row (row-major), in parallel when the product has a million terms or
/// more (below that, handing blocks to threads costs more than it saves); `out` converts each
/// accumulator.
#[cfg_attr(not(feature = "parallel"), allow(unused_variables))]
fn by_column_blocks<T: Send, U: Copy + Default>(
    (m, k, n): (usize, usize, usize),
    block: impl Fn(usize, usize) -> Vec<T> + Sync,
    out: impl Fn(T) -> U,
) -> Vec<U> {
    let starts: Vec<usize> = (0..n).step_by(COLUMN_BLOCK).collect();
    let width = |j0: usize| COLUMN_BLOCK.min(n - j0);
    let run = |&j0: &usize| block(j0, width(j0));
    #[cfg(feature = "parallel")]
    let parts: Vec<Vec<T>> = match m * k * n >= 1 << 20 {
        true => {
            use rayon::prelude::*;
            starts.par_iter().map(run).collect()
        }
        false => starts.iter().map(run).collect(),
    };
    #[cfg(not(feature = "parallel"))]
    let parts: Vec<Vec<T>> = starts.iter().map(run).collect();
    let mut result = vec![U::default(); m * n];
    for (&j0, part) in starts.iter().zip(parts) {
        let w = width(j0);
        for (i, v) in part.into_iter().enumerate() {
            result[(i / w) * n + j0 + i % w] = out(v);
        }
    }
    result
}

/// The bias's columns `j0..j0 + w` of every row, converted by `to`.
fn bias_block<T>(
    bias: Option<&[i64]>,
    (m, n): (usize, usize),
    j0: usize,
    w: usize,
    to: impl Fn(i64) -> T,
) -> Vec<T>
where
    T: Copy + Default,
{
    let mut acc = vec![T::default(); m * w];
    if let Some(bias) = bias {
        for (i, row) in acc.chunks_exact_mut(w).enumerate() {
            for (o, &v) in row.iter_mut().zip(&bias[i * n + j0..i * n + j0 + w]) {
                *o = to(v);
            }
        }
    }
    acc
}

/// [`product`] in `f64` (every partial sum below 2^53, so exact): per column block, the block
/// of `B` converted once, then tiles of 4 × 4 outputs accumulated in registers over `k`.
fn product_f64(
    a: &[i64],
    b: &[i64],
    (m, k, n): (usize, usize, usize),
    bias: Option<&[i64]>,
) -> Vec<i64> {
    let af: Vec<f64> = a.iter().map(|&v| v as f64).collect();
    let block = |j0: usize, w: usize| -> Vec<f64> {
        // B's columns j0..j0 + w, row by row.
        let mut panel = vec![0f64; k * w];
        for (t, row) in panel.chunks_exact_mut(w).enumerate() {
            for (x, &v) in row.iter_mut().zip(&b[t * n + j0..t * n + j0 + w]) {
                *x = v as f64;
            }
        }
        let mut acc = bias_block(bias, (m, n), j0, w, |v| v as f64);
        let (mt, wt) = (m - m % TILE, w - w % TILE);
        for i0 in (0..mt).step_by(TILE) {
            let arows: [&[f64]; TILE] =
                std::array::from_fn(|r| &af[(i0 + r) * k..(i0 + r + 1) * k]);
            for c0 in (0..wt).step_by(TILE) {
                let mut tile = [[0f64; TILE]; TILE];
                for t in 0..k {
                    let bv = &panel[t * w + c0..t * w + c0 + TILE];
                    for (r, arow) in arows.iter().enumerate() {
                        let av = arow[t];
                        for (x, &y) in tile[r].iter_mut().zip(bv) {
                            *x += av * y;
                        }
                    }
                }
                for (r, trow) in tile.iter().enumerate() {
                    for (c, &v) in trow.iter().enumerate() {
                        acc[(i0 + r) * w + c0 + c] += v;
                    }
                }
            }
        }
        // The rows and columns the tiles leave.
        for i in 0..m {
            let cols = if i < mt { wt..w } else { 0..w };
            for t in 0..k {
                let av = af[i * k + t];
                if av != 0.0 {
                    for c in cols.clone() {
                        acc[i * w + c] += av * panel[t * w + c];
                    }
                }
            }
        }
        acc
    };
    by_column_blocks((m, k, n), block, |v| v as i64)
}

/// [`product`] in accumulators of type `T` (`to` converts an operand), row by row within each
/// column block.
fn blocked<T>(
    a: &[i64],
    b: &[i64],
    (m, k, n): (usize, usize, usize),
    bias: Option<&[i64]>,
    to: impl Fn(i64) -> T + Sync,
) -> Vec<T>
where
    T: Copy + Default + Send + std::ops::AddAssign + std::ops::Mul<Output = T>,
{
    let block = |j0: usize, w: usize| -> Vec<T> {
        let mut acc = bias_block(bias, (m, n), j0, w, &to);
        let mut bseg = vec![T::default(); w];
        for t in 0..k {
            for (x, &v) in bseg.iter_mut().zip(&b[t * n + j0..t * n + j0 + w]) {
                *x = to(v);
            }
            for (i, row) in acc.chunks_exact_mut(w).enumerate() {
                let av = a[i * k + t];
                if av != 0 {
                    let av = to(av);
                    for (o, &bv) in row.iter_mut().zip(&bseg) {
                        *o += av * bv;
                    }
                }
            }
        }
        acc
    };
    by_column_blocks((m, k, n), block, |v| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `A · B + bias` by the definition, in i128.
    fn naive(a: &[i64], b: &[i64], (m, k, n): (usize, usize, usize), bias: &[i64]) -> Vec<i128> {
        (0..m * n)
            .map(|o| {
                let (i, j) = (o / n, o % n);
                bias[o] as i128
                    + (0..k)
                        .map(|t| a[i * k + t] as i128 * b[t * n + j] as i128)
                        .sum::<i128>()
            })
            .collect()
    }

    #[test]
    fn products_are_exact_on_both_paths_and_an_overflow_is_named() {
        // Over a million products: in parallel column blocks where the feature is on.
        let (m, k, n) = (4, 300, 900);
        let mut seed = 7u64;
        let mut next = |range: i64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 33) as i64 % (2 * range)) - range
        };
        let a: Vec<i64> = (0..m * k).map(|_| next(1 << 20)).collect();
        let b: Vec<i64> = (0..k * n).map(|_| next(1 << 20)).collect();
        let bias: Vec<i64> = (0..m * n).map(|_| next(1 << 30)).collect();
        // Bounded under 2^53: the f64 path.
        let got = product(&a, &b, (m, k, n), Some(&bias), "p").unwrap();
        let want = naive(&a, &b, (m, k, n), &bias);
        assert!(got.iter().zip(&want).all(|(&g, &w)| g as i128 == w));
        // Under 2^63: the i64 path (sums past 2^53, which f64 would round).
        let mut mid = a.clone();
        mid[1] = (1 << 34) + 1;
        let got = product(&mid, &b, (m, k, n), Some(&bias), "p").unwrap();
        let want = naive(&mid, &b, (m, k, n), &bias);
        assert!(want.iter().any(|w| w.unsigned_abs() > 1 << 53));
        assert!(got.iter().zip(&want).all(|(&g, &w)| g as i128 == w));
        // Operands whose bound passes 2^63 while the sums fit: the i128 path, same values.
        let mut big = a.clone();
        big[0] = 1 << 40;
        let got = product(&big, &b, (m, k, n), Some(&bias), "p").unwrap();
        let want = naive(&big, &b, (m, k, n), &bias);
        assert!(got.iter().zip(&want).all(|(&g, &w)| g as i128 == w));
        // A one-hot selection (mostly zeros): the sparse path.
        let mut onehot = vec![0i64; m * k];
        for i in 0..m {
            onehot[i * k + (i * 7) % k] = 1 << 12;
        }
        let got = product(&onehot, &b, (m, k, n), Some(&bias), "p").unwrap();
        let want = naive(&onehot, &b, (m, k, n), &bias);
        assert!(got.iter().zip(&want).all(|(&g, &w)| g as i128 == w));
        // Shapes the 4 × 4 tiles do not divide: the rows and columns they leave.
        for (m, k, n) in [(5, 30, 70), (1, 13, 3), (7, 1, 66)] {
            let a: Vec<i64> = (0..m * k).map(|_| next(1 << 20)).collect();
            let b: Vec<i64> = (0..k * n).map(|_| next(1 << 20)).collect();
            let bias: Vec<i64> = (0..m * n).map(|_| next(1 << 30)).collect();
            let got = product(&a, &b, (m, k, n), Some(&bias), "p").unwrap();
            let want = naive(&a, &b, (m, k, n), &bias);
            assert!(got.iter().zip(&want).all(|(&g, &w)| g as i128 == w));
        }
        // A sum beyond i64: an overflow naming the node.
        let huge = vec![1i64 << 40; k];
        let e = product(&huge, &huge, (1, k, 1), None, "p").unwrap_err();
        assert!(
            matches!(e, IrError::Overflow { ref node } if node == "p"),
            "{e}"
        );
    }
}
