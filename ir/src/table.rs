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
    /// `f(x) = round(g(x / 2^in_scale) · 2^out_scale)` for a float function `g`, over
    /// `[-neg, pos)`.
    Map {
        g: MapFn,
        in_scale: u32,
        out_scale: u32,
    },
    /// `f(x) = 1` if `x < 0`, else 0 (comparisons, after a floor rescale).
    Negative,
    /// `f(x) = min(max(x, lo), hi)` on the integers.
    Clip { lo: i64, hi: i64 },
}

/// The float functions of [`TableFn::Map`]. Parameters are stored as `f32` bit patterns so
/// that functions can be compared and hashed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "g", rename_all = "snake_case")]
pub enum MapFn {
    Tanh,
    Exp,
    Sqrt,
    Erf,
    Abs,
    Sign,
    /// `x · Φ(x)` with the exact normal CDF (`Gelu`, approximate = none).
    Gelu,
    /// The tanh approximation of GELU (`Gelu`, approximate = tanh).
    GeluTanh,
    /// `x` for `x ≥ 0`, `alpha · x` below.
    LeakyRelu {
        alpha_bits: u32,
    },
    /// `x^exponent` (NaN, for a negative base and a fractional exponent, maps to 0).
    Pow {
        exponent_bits: u32,
    },
}

impl MapFn {
    pub fn leaky_relu(alpha: f32) -> Self {
        MapFn::LeakyRelu {
            alpha_bits: alpha.to_bits(),
        }
    }

    pub fn pow(exponent: f32) -> Self {
        MapFn::Pow {
            exponent_bits: exponent.to_bits(),
        }
    }

    pub fn apply(&self, v: f64) -> f64 {
        match *self {
            MapFn::Tanh => v.tanh(),
            MapFn::Exp => v.exp(),
            MapFn::Sqrt => v.sqrt(),
            MapFn::Erf => erf(v),
            MapFn::Abs => v.abs(),
            MapFn::Gelu => 0.5 * v * (1.0 + erf(v / std::f64::consts::SQRT_2)),
            MapFn::GeluTanh => {
                let c = (2.0 / std::f64::consts::PI).sqrt();
                0.5 * v * (1.0 + (c * (v + 0.044_715 * v * v * v)).tanh())
            }
            MapFn::Sign => {
                if v > 0.0 {
                    1.0
                } else if v < 0.0 {
                    -1.0
                } else {
                    0.0
                }
            }
            MapFn::LeakyRelu { alpha_bits } => {
                if v >= 0.0 {
                    v
                } else {
                    f32::from_bits(alpha_bits) as f64 * v
                }
            }
            MapFn::Pow { exponent_bits } => v.powf(f32::from_bits(exponent_bits) as f64),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            MapFn::Tanh => "tanh",
            MapFn::Exp => "exp",
            MapFn::Sqrt => "sqrt",
            MapFn::Erf => "erf",
            MapFn::Abs => "abs",
            MapFn::Sign => "sign",
            MapFn::Gelu | MapFn::GeluTanh => "gelu",
            MapFn::LeakyRelu { .. } => "leaky_relu",
            MapFn::Pow { .. } => "pow",
        }
    }
}

/// The error function, from the Chebyshev fit of `erfc` in Numerical Recipes (`erfcc`,
/// fractional error below 1.2e-7, far under the tables' output resolution). Plain `f64`
/// arithmetic, so every build computes the same table.
pub fn erf(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let erfc = t * poly.exp();
    if x >= 0.0 {
        1.0 - erfc
    } else {
        erfc - 1.0
    }
}

impl TableFn {
    /// The half-open domain `[min, max)` of `x`.
    pub fn domain(&self, b: &TableBounds) -> (i64, i64) {
        match self {
            TableFn::ExpNeg { .. } => (0, b.exp),
            TableFn::Identity
            | TableFn::Relu
            | TableFn::Sigmoid { .. }
            | TableFn::Map { .. }
            | TableFn::Negative
            | TableFn::Clip { .. } => (-b.neg, b.pos),
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
            TableFn::Map {
                g,
                in_scale,
                out_scale,
            } => {
                let y = g.apply(x as f64 / (1u64 << in_scale) as f64);
                if y.is_finite() {
                    (y * (1u64 << out_scale) as f64).round() as i64
                } else {
                    0
                }
            }
            TableFn::Negative => i64::from(x < 0),
            TableFn::Clip { lo, hi } => x.max(lo).min(hi),
        }
    }

    /// The largest `|f(x)|` over the domain. Every table function is monotone on each side
    /// of 0, so the ends of the domain and 0 bound it.
    pub fn max_abs(&self, b: &TableBounds) -> u64 {
        let (min, max) = self.domain(b);
        [min, (max - 1).max(min), 0]
            .iter()
            .map(|&x| self.apply(x).unsigned_abs())
            .max()
            .unwrap_or(0)
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
            TableFn::Map { g, .. } => g.name().into(),
            TableFn::Negative => "negative".into(),
            TableFn::Clip { .. } => "clip".into(),
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

    #[test]
    fn erf_matches_known_values() {
        for (x, want) in [
            (0.0, 0.0),
            (0.5, 0.520_499_877_8),
            (1.0, 0.842_700_792_9),
            (-2.0, -0.995_322_265),
        ] {
            assert!((erf(x) - want).abs() < 1e-6, "erf({x}) = {}", erf(x));
        }
        let tanh = TableFn::Map {
            g: MapFn::Tanh,
            in_scale: 7,
            out_scale: 7,
        };
        assert_eq!(tanh.apply(128), (128.0 * 1.0f64.tanh()).round() as i64);
        assert_eq!(TableFn::Negative.apply(-1), 1);
        assert_eq!(TableFn::Negative.apply(0), 0);
        assert_eq!(TableFn::Clip { lo: -5, hi: 7 }.apply(9), 7);
    }
}
