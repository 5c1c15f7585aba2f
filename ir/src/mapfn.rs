//! The float functions that table lookups tabulate (`TableFn::Map`).

use serde::{Deserialize, Serialize};

/// The float functions of [`TableFn::Map`]. Parameters are stored as `f32` bit patterns so
/// that functions can be compared and hashed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "g", rename_all = "snake_case")]
pub enum MapFn {
    Tanh,
    Exp,
    Sqrt,
    /// `sqrt(x + eps)`, never below one unit of its output: a normalization's divisor (a
    /// constant row, of variance 0, divides 0 by that unit).
    StdDev {
        eps_bits: u32,
    },
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
    /// `ln(1 + e^x)`.
    Softplus,
    /// `x / (1 + |x|)`.
    Softsign,
    /// `x · tanh(softplus(x))`.
    Mish,
    /// `x · σ(x)` (SiLU, Swish): the importer fuses `Mul(x, Sigmoid(x))` into it.
    Silu,
    /// `x · min(max(x + 3, 0), 6) / 6`.
    HardSwish,
    /// `x` for `x > 0`, `alpha · (e^x − 1)` below (Elu).
    Elu {
        alpha_bits: u32,
    },
    /// `max(0, x) + min(0, alpha · (e^(x/alpha) − 1))` (Celu).
    Celu {
        alpha_bits: u32,
    },
    /// `x` for `x > alpha`, 0 otherwise (ThresholdedRelu).
    Thresholded {
        alpha_bits: u32,
    },
    /// The natural logarithm (−∞ and NaN, outside the domain, map to 0).
    Log,
    /// `1 / x` (±∞ at 0 maps to 0).
    Reciprocal,
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Atan,
    Sinh,
    Cosh,
    Asinh,
    Acosh,
    Atanh,
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

    pub fn elu(alpha: f32) -> Self {
        MapFn::Elu {
            alpha_bits: alpha.to_bits(),
        }
    }

    pub fn celu(alpha: f32) -> Self {
        MapFn::Celu {
            alpha_bits: alpha.to_bits(),
        }
    }

    pub fn thresholded(alpha: f32) -> Self {
        MapFn::Thresholded {
            alpha_bits: alpha.to_bits(),
        }
    }

    /// Functions that are 0 or a constant below some input and the identity above another
    /// (GELU, softplus, Mish, HardSwish, Elu, Celu, ThresholdedRelu): their table stops at
    /// both thresholds, and above it the circuit outputs the line `x`.
    pub fn identity_above(&self) -> bool {
        matches!(
            self,
            MapFn::Gelu
                | MapFn::GeluTanh
                | MapFn::Softplus
                | MapFn::Mish
                | MapFn::Silu
                | MapFn::HardSwish
                | MapFn::Elu { .. }
                | MapFn::Celu { .. }
                | MapFn::Thresholded { .. }
        )
    }

    /// Where the function's negative side stops moving away from its limit at −∞ (its
    /// minimum for the functions that dip), in input units: the search for its lower
    /// threshold runs left of it.
    pub(crate) fn turn(&self) -> f64 {
        match self {
            MapFn::Gelu | MapFn::GeluTanh => -0.76,
            MapFn::Mish => -1.2,
            MapFn::Silu => -1.28,
            MapFn::HardSwish => -1.5,
            _ => 0.0,
        }
    }

    pub fn apply(&self, v: f64) -> f64 {
        match *self {
            MapFn::Tanh => v.tanh(),
            MapFn::Exp => v.exp(),
            MapFn::Sqrt => v.sqrt(),
            MapFn::StdDev { eps_bits } => (v.max(0.0) + f64::from(f32::from_bits(eps_bits))).sqrt(),
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
            MapFn::Softplus => softplus(v),
            MapFn::Softsign => v / (1.0 + v.abs()),
            MapFn::Mish => v * softplus(v).tanh(),
            MapFn::Silu => v / (1.0 + (-v).exp()),
            MapFn::HardSwish => v * (v + 3.0).clamp(0.0, 6.0) / 6.0,
            MapFn::Elu { alpha_bits } => match v > 0.0 {
                true => v,
                false => f32::from_bits(alpha_bits) as f64 * (v.exp() - 1.0),
            },
            MapFn::Celu { alpha_bits } => {
                let a = f32::from_bits(alpha_bits) as f64;
                v.max(0.0) + (a * ((v / a).exp() - 1.0)).min(0.0)
            }
            MapFn::Thresholded { alpha_bits } => match v > f32::from_bits(alpha_bits) as f64 {
                true => v,
                false => 0.0,
            },
            MapFn::Log => v.ln(),
            MapFn::Reciprocal => 1.0 / v,
            MapFn::Sin => v.sin(),
            MapFn::Cos => v.cos(),
            MapFn::Tan => v.tan(),
            MapFn::Asin => v.asin(),
            MapFn::Acos => v.acos(),
            MapFn::Atan => v.atan(),
            MapFn::Sinh => v.sinh(),
            MapFn::Cosh => v.cosh(),
            MapFn::Asinh => v.asinh(),
            MapFn::Acosh => v.acosh(),
            MapFn::Atanh => v.atanh(),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            MapFn::Tanh => "tanh",
            MapFn::Exp => "exp",
            MapFn::Sqrt => "sqrt",
            MapFn::StdDev { .. } => "stddev",
            MapFn::Erf => "erf",
            MapFn::Abs => "abs",
            MapFn::Sign => "sign",
            MapFn::Gelu | MapFn::GeluTanh => "gelu",
            MapFn::LeakyRelu { .. } => "leaky_relu",
            MapFn::Pow { .. } => "pow",
            MapFn::Softplus => "softplus",
            MapFn::Softsign => "softsign",
            MapFn::Mish => "mish",
            MapFn::Silu => "silu",
            MapFn::HardSwish => "hardswish",
            MapFn::Elu { .. } => "elu",
            MapFn::Celu { .. } => "celu",
            MapFn::Thresholded { .. } => "thresholded_relu",
            MapFn::Log => "log",
            MapFn::Reciprocal => "reciprocal",
            MapFn::Sin => "sin",
            MapFn::Cos => "cos",
            MapFn::Tan => "tan",
            MapFn::Asin => "asin",
            MapFn::Acos => "acos",
            MapFn::Atan => "atan",
            MapFn::Sinh => "sinh",
            MapFn::Cosh => "cosh",
            MapFn::Asinh => "asinh",
            MapFn::Acosh => "acosh",
            MapFn::Atanh => "atanh",
        }
    }
}

/// `ln(1 + e^x)` without overflow for large `x`.
fn softplus(x: f64) -> f64 {
    if x > 30.0 {
        x
    } else {
        x.exp().ln_1p()
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
