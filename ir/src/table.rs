//! The functions that circuits evaluate by table lookup, and the calibrated extents of their
//! domains.
//!
//! One definition serves both the integer reference evaluator and the circuit's lookup table,
//! so the two can never disagree: the table row for `x` is `(tag, x, f(x))` with `f` from
//! [`TableFn::apply`].

use serde::{Deserialize, Serialize};

/// The extents of the table domains, chosen from calibration data with headroom.
///
/// Signed functions (identity, ReLU, sigmoid) cover `[-neg, pos)`; `pos` is a multiple of
/// `2^s` for every rescale shift `s`, so the non-negative half `[0, pos)` doubles as the
/// range check of remainders (scaled by `pos / 2^s`). The softmax exponential covers
/// `[0, exp)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TableBounds {
    pub neg: i64,
    pub pos: i64,
    pub exp: i64,
}

impl TableBounds {
    /// Bits that hold every value of a signed table: `|x| < 2^bits`.
    pub fn signed_bits(&self) -> u32 {
        64 - (self.neg.max(self.pos) as u64).leading_zeros()
    }
}

/// A function computed by lookup, over a bounded integer domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "fn", rename_all = "snake_case")]
pub enum TableFn {
    /// `f(x) = x` over `[-neg, pos)`: bounds `x`.
    Identity,
    /// `f(x) = max(x, 0)` over `[-neg, pos)`.
    Relu,
    /// `f(x) = round(sigmoid(x / 2^in_scale) · 2^out_scale)` over `[-neg, pos)`.
    Sigmoid { in_scale: u32, out_scale: u32 },
    /// `x = d ∈ [0, exp)`, `f(d) = round(exp(-d / 2^in_scale) · 2^out_scale)`.
    ExpNeg { in_scale: u32, out_scale: u32 },
}

impl TableFn {
    /// The half-open domain `[min, max)` of `x`.
    pub fn domain(&self, b: &TableBounds) -> (i64, i64) {
        match self {
            TableFn::ExpNeg { .. } => (0, b.exp),
            TableFn::Identity | TableFn::Relu | TableFn::Sigmoid { .. } => (-b.neg, b.pos),
        }
    }

    /// `f(x)`; meaningful on the domain only.
    pub fn apply(&self, x: i64) -> i64 {
        match *self {
            TableFn::Identity => x,
            TableFn::Relu => x.max(0),
            TableFn::Sigmoid {
                in_scale,
                out_scale,
            } => {
                let v = x as f64 / (1u64 << in_scale) as f64;
                let s = 1.0 / (1.0 + (-v).exp());
                (s * (1u64 << out_scale) as f64).round() as i64
            }
            TableFn::ExpNeg {
                in_scale,
                out_scale,
            } => {
                let v = x as f64 / (1u64 << in_scale) as f64;
                ((-v).exp() * (1u64 << out_scale) as f64).round() as i64
            }
        }
    }

    /// Whether `x` lies in the domain.
    pub fn contains(&self, x: i64, b: &TableBounds) -> bool {
        let (min, max) = self.domain(b);
        (min..max).contains(&x)
    }

    /// Number of rows this function occupies in the table.
    pub fn rows(&self, b: &TableBounds) -> usize {
        let (min, max) = self.domain(b);
        (max - min).max(0) as usize
    }

    /// A short human name, for errors and reports.
    pub fn name(&self) -> String {
        match self {
            TableFn::Identity => "identity".into(),
            TableFn::Relu => "relu".into(),
            TableFn::Sigmoid { .. } => "sigmoid".into(),
            TableFn::ExpNeg { .. } => "exp".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_match_their_float_definitions() {
        let sig = TableFn::Sigmoid {
            in_scale: 8,
            out_scale: 8,
        };
        assert_eq!(sig.apply(0), 128);
        assert_eq!(sig.apply(-100_000), 0);
        assert_eq!(sig.apply(100_000), 256);
        let exp = TableFn::ExpNeg {
            in_scale: 8,
            out_scale: 8,
        };
        assert_eq!(exp.apply(0), 256);
        assert_eq!(exp.apply(256), (256.0 * (-1.0f64).exp()).round() as i64);
        assert_eq!(TableFn::Relu.apply(-3), 0);
        let b = TableBounds {
            neg: 100,
            pos: 256,
            exp: 50,
        };
        assert_eq!(TableFn::Relu.domain(&b), (-100, 256));
        assert_eq!(exp.domain(&b), (0, 50));
        assert_eq!(b.signed_bits(), 9);
    }
}
