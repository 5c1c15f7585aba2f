//! The functions that circuits evaluate by table lookup.
//!
//! One definition serves both the integer reference evaluator and the circuit's lookup table,
//! so the two can never disagree: the table row for `x` is `(tag, x, f(x))` with `f` from
//! [`TableFn::apply`].

use serde::{Deserialize, Serialize};

/// A function computed by lookup, over a bounded integer domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "fn", rename_all = "snake_case")]
pub enum TableFn {
    /// `x ∈ [0, 2^bits)`, `f(x) = 0`: a range check.
    Range { bits: u32 },
    /// `x ∈ [-2^(B-1), 2^(B-1))`, `f(x) = x`: bounds `x`.
    Identity,
    /// `f(x) = max(x, 0)` over the signed domain.
    Relu,
    /// `f(x) = round(sigmoid(x / 2^in_scale) · 2^out_scale)` over the signed domain.
    Sigmoid { in_scale: u32, out_scale: u32 },
    /// `x = d ∈ [0, 2^B)`, `f(d) = round(exp(-d / 2^in_scale) · 2^out_scale)`.
    ExpNeg { in_scale: u32, out_scale: u32 },
}

impl TableFn {
    /// The half-open domain `[min, max)` of `x` for a circuit whose signed tables span
    /// `table_bits` bits.
    pub fn domain(&self, table_bits: u32) -> (i64, i64) {
        match self {
            TableFn::Range { bits } => (0, 1i64 << bits),
            TableFn::ExpNeg { .. } => (0, 1i64 << table_bits),
            TableFn::Identity | TableFn::Relu | TableFn::Sigmoid { .. } => {
                let half = 1i64 << (table_bits - 1);
                (-half, half)
            }
        }
    }

    /// `f(x)`; meaningful on the domain only.
    pub fn apply(&self, x: i64) -> i64 {
        match *self {
            TableFn::Range { .. } => 0,
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
    pub fn contains(&self, x: i64, table_bits: u32) -> bool {
        let (min, max) = self.domain(table_bits);
        (min..max).contains(&x)
    }

    /// Number of rows this function occupies in the table.
    pub fn rows(&self, table_bits: u32) -> usize {
        let (min, max) = self.domain(table_bits);
        (max - min) as usize
    }

    /// A short human name, for errors and reports.
    pub fn name(&self) -> String {
        match self {
            TableFn::Range { bits } => format!("range[{bits} bits]"),
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
        assert_eq!(TableFn::Range { bits: 3 }.domain(12), (0, 8));
        assert_eq!(TableFn::Relu.domain(12), (-2048, 2048));
    }
}
