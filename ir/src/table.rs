//! The functions that circuits evaluate by table lookup, and the calibrated extents of their
//! domains.
//!
//! One definition serves both the integer reference evaluator and the circuit's lookup table,
//! so the two can never disagree: the table row for `x` is `(tag, x, f(x))` with `f` from
//! [`TableFn::apply`].

use serde::{Deserialize, Serialize};

pub use crate::exp_split::{ExpSplit, EXP_GUARD_BITS};
pub use crate::mapfn::{erf, MapFn};

/// The calibrated extents of activations, and the width of the circuit's range-check limbs.
///
/// Activations are signed values of `mag_bits()` magnitude bits: `x ∈ [-2^m, 2^m)` with
/// `2^m ≥ neg, pos` (the calibrated extents with headroom). The circuit proves that range by
/// limbs of `limb_bits` bits looked up in one range table `[0, 2^limb_bits)`, so it does not
/// depend on any function table. Functions that grow with their input (exp, sqrt, abs, pow,
/// leaky ReLU, clip) are tabulated over that range; the saturating ones (sigmoid, tanh, erf,
/// GELU's negative side) over their own non-saturated interval (see [`TableFn::domain`]).
/// The softmax exponential covers `[0, exp)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TableBounds {
    pub neg: i64,
    pub pos: i64,
    pub exp: i64,
    /// Bits per range-check limb (the range table has `2^limb_bits` rows); chosen by the
    /// planner, 0 until then.
    #[serde(default)]
    pub limb_bits: u32,
}

impl TableBounds {
    /// Magnitude bits `m` of a signed activation: the circuit proves `x ∈ [-2^m, 2^m)`.
    pub fn mag_bits(&self) -> u32 {
        let top = self.neg.max(self.pos).max(1) as u64;
        64 - (top - 1).leading_zeros()
    }

    /// Bits that bound every signed activation: `|x| < 2^bits` (`mag_bits() + 1`).
    pub fn signed_bits(&self) -> u32 {
        self.mag_bits() + 1
    }

    /// The limb width, [`DEFAULT_LIMB_BITS`] when none was chosen.
    pub fn limbs(&self) -> u32 {
        if self.limb_bits == 0 {
            DEFAULT_LIMB_BITS
        } else {
            self.limb_bits
        }
    }

    /// `2^m`: signed activations lie in `[-2^m, 2^m)`; unsigned range-checked values (gaps,
    /// remainders, slacks) in `[0, 2^m)`.
    pub fn range_max(&self) -> i64 {
        1i64 << self.mag_bits()
    }
}

/// The limb width when the planner has not chosen one.
pub const DEFAULT_LIMB_BITS: u32 = 12;

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
    /// `f(x) = round(g(x / 2^in_scale) · 2^out_scale)` for a float function `g`. A function
    /// that saturates covers its non-saturated interval; the others cover `extent`, the
    /// calibrated range of their input with headroom (the activation range until
    /// calibration sets it).
    Map {
        g: MapFn,
        in_scale: u32,
        out_scale: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        extent: Option<(i64, i64)>,
    },
    /// `f(x) = 1` if `x < 0`, else 0 (comparisons, after a floor rescale).
    Negative,
    /// `f(x) = min(max(x, lo), hi)` on the integers: a table over `[lo, hi]`, saturating on
    /// both sides.
    Clip { lo: i64, hi: i64 },
    /// `f(x) = x` over `[0, 2^bits)`: the range table that limbs and remainders are looked
    /// up in. Never a node's function.
    Range { bits: u32 },
    /// `f(x) = round(exp(−x·2^step / 2^in_scale) · 2^out_scale)` over `[0, len)`: one of the
    /// two halves of the softmax exponential (see [`ExpSplit`]). Never a node's function.
    ExpPart {
        in_scale: u32,
        out_scale: u32,
        step: u32,
        len: i64,
    },
}

/// Where a function's input goes outside its table: clamped into the table (the output
/// saturates exactly, and the comparison is proven), or refused (the table covers the whole
/// activation range).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Saturation {
    /// The table covers `[-2^m, 2^m)` (or the function needs no table).
    None,
    /// Inputs on either side take the value at the nearer end (for GELU above its table,
    /// the line through it: see [`TableFn::slope_above`]).
    Both,
    /// Inputs below the table take the value at its lower end (the exponential, whose
    /// output rounds to 0 there); above, the table covers the calibrated extent.
    Below,
}

/// Search limit for saturation thresholds, in units of the table's input resolution: the
/// functions saturate long before `|x| = 64`.
const SATURATION_SEARCH: f64 = 64.0;

impl TableFn {
    /// The split of the softmax exponential `ExpNeg` (see [`ExpSplit`]); `None` for the other
    /// functions.
    pub fn exp_split(&self) -> Option<ExpSplit> {
        match *self {
            TableFn::ExpNeg {
                in_scale,
                out_scale,
            } => Some(ExpSplit::new(in_scale, out_scale)),
            _ => None,
        }
    }

    /// Whether the function is computed by a table lookup. Identity, ReLU and the sign test
    /// take what they need from the limb decomposition that range-checks their input.
    pub fn needs_table(&self) -> bool {
        !matches!(self, TableFn::Identity | TableFn::Relu | TableFn::Negative)
    }

    /// How inputs outside the table's domain are handled.
    pub fn saturation(&self) -> Saturation {
        match self {
            TableFn::Sigmoid { .. }
            | TableFn::Clip { .. }
            | TableFn::Map {
                g: MapFn::Tanh | MapFn::Erf,
                ..
            } => Saturation::Both,
            TableFn::Map { g, .. } if g.identity_above() => Saturation::Both,
            TableFn::Map { g: MapFn::Exp, .. } => Saturation::Below,
            _ => Saturation::None,
        }
    }

    /// The half-open domain `[min, max)` of `x`: the table's rows. Saturating functions
    /// cover their non-saturated interval at their own input resolution, whatever the
    /// activation range; the others cover the activation range `[-2^m, 2^m)`.
    pub fn domain(&self, b: &TableBounds) -> (i64, i64) {
        let signed = (-b.range_max(), b.range_max());
        match self {
            TableFn::ExpNeg { .. } => (0, b.exp),
            TableFn::Range { bits } => (0, 1i64 << bits),
            TableFn::ExpPart { len, .. } => (0, *len),
            // Clipping beyond the activation range never happens: the table stops there (and
            // keeps one row when the whole range lies on one side of the clip).
            TableFn::Clip { lo, hi } => {
                let lo = (*lo).clamp(signed.0, signed.1 - 1);
                let hi = (*hi).clamp(lo, signed.1 - 1);
                (lo, hi + 1)
            }
            TableFn::Sigmoid { in_scale, .. } | TableFn::Map { in_scale, .. } => {
                match self.saturation() {
                    Saturation::None => match self {
                        TableFn::Map {
                            extent: Some(e), ..
                        } => *e,
                        _ => signed,
                    },
                    Saturation::Both => self.saturated_interval(*in_scale),
                    Saturation::Below => {
                        let top = match self {
                            TableFn::Map {
                                extent: Some(e), ..
                            } => e.1,
                            _ => signed.1,
                        };
                        let bottom = self.saturated_interval(*in_scale).0;
                        (bottom.min(top - 1), top)
                    }
                }
            }
            TableFn::Identity | TableFn::Relu | TableFn::Negative => signed,
        }
    }

    /// Whether inputs below and above the domain take the value at its end because the
    /// function is constant there (a true saturation, which the circuit may prove), rather
    /// than because the table stops at the activation range (which no valid input leaves).
    pub fn saturates(&self, b: &TableBounds) -> (bool, bool) {
        match (self, self.saturation()) {
            (TableFn::Clip { lo, hi }, _) => (*lo >= -b.range_max(), *hi < b.range_max()),
            (_, Saturation::Both) => (true, true),
            (_, Saturation::Below) => (true, false),
            (_, Saturation::None) => (false, false),
        }
    }

    /// Beyond the top of its table GELU is the identity: `f(x) = f(c) + slope·(x − c)` with
    /// `slope = 2^(out_scale − in_scale)` (the input's unit at the output scale); 0 for the
    /// functions that are constant there.
    pub fn slope_above(&self) -> i64 {
        match *self {
            TableFn::Map {
                g,
                in_scale,
                out_scale,
                ..
            } if g.identity_above() => 1i64 << out_scale.saturating_sub(in_scale),
            _ => 0,
        }
    }

    /// What the circuit outputs for `x`: the table's value at the clamped input, and above a
    /// table whose function is linear there, the rest of the line.
    pub fn output(&self, x: i64, b: &TableBounds) -> i64 {
        let c = self.table_input(x, b);
        self.apply(c) + self.slope_above() * (x - c).max(0)
    }

    /// The largest `x ≤ 0` such that `f` is constant on `(-∞, x]` (the function's value at
    /// −∞, rounded, is reached there and kept: the functions are monotone beyond it).
    /// `[lower threshold, upper threshold + 1)`: a search of about 40 evaluations of the
    /// float function, asked for every element the evaluator and the layout see, so each
    /// thread keeps the answers.
    fn saturated_interval(&self, in_scale: u32) -> (i64, i64) {
        thread_local! {
            static KNOWN: std::cell::RefCell<std::collections::HashMap<TableFn, (i64, i64)>> =
                Default::default();
        }
        if let Some(known) = KNOWN.with(|k| k.borrow().get(self).copied()) {
            return known;
        }
        let upper = match self.saturation() {
            Saturation::Below => i64::MAX,
            _ => self.upper_threshold(in_scale) + 1,
        };
        let interval = (self.lower_threshold(in_scale), upper);
        KNOWN.with(|k| k.borrow_mut().insert(*self, interval));
        interval
    }

    fn lower_threshold(&self, in_scale: u32) -> i64 {
        let unit = (1u64 << in_scale) as f64;
        let far = -((SATURATION_SEARCH * unit) as i64);
        let limit = self.apply(far);
        // Binary search for the first x (from the left) where f(x) differs from the limit, on
        // the part left of 0 where the function is monotone (GELU dips to its minimum at
        // x ≈ −0.752 and rises again to 0).
        let turn = match self {
            TableFn::Map { g, .. } => -((-g.turn() * unit).ceil() as i64),
            _ => 0,
        };
        let (mut lo, mut hi) = (far, turn);
        if self.apply(hi) == limit {
            return hi;
        }
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if self.apply(mid) == limit {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// The smallest `x ≥ 0` such that `f` is constant on `[x, ∞)` (for GELU: equal to the
    /// line `slope·x`, from where `x·(1 − Φ(x))` decreases, x ≥ 1).
    fn upper_threshold(&self, in_scale: u32) -> i64 {
        let unit = (1u64 << in_scale) as f64;
        let far = (SATURATION_SEARCH * unit) as i64;
        let slope = self.slope_above();
        let limit = self.apply(far) - slope * far;
        let done = |x: i64| self.apply(x) - slope * x == limit;
        let mut lo = if slope > 0 { unit as i64 } else { 0 };
        let mut hi = far;
        if done(lo) {
            return lo;
        }
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if done(mid) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        hi
    }

    /// The table input for `x`: `x` clamped into the domain for a saturating function (its
    /// output there is exactly the saturated value), `x` itself otherwise.
    pub fn table_input(&self, x: i64, b: &TableBounds) -> i64 {
        let (min, max) = self.domain(b);
        match self.saturation() {
            Saturation::None => x,
            Saturation::Both => x.clamp(min, max - 1),
            Saturation::Below => x.max(min),
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
                ..
            } => {
                let y = g.apply(x as f64 / (1u64 << in_scale) as f64);
                let q = if y.is_finite() {
                    (y * (1u64 << out_scale) as f64).round() as i64
                } else {
                    0
                };
                match g {
                    MapFn::StdDev { .. } => q.max(1),
                    _ => q,
                }
            }
            TableFn::Negative => i64::from(x < 0),
            TableFn::Clip { lo, hi } => x.max(lo).min(hi),
            TableFn::Range { .. } => x,
            TableFn::ExpPart {
                in_scale,
                out_scale,
                step,
                ..
            } => ExpSplit::part(in_scale, out_scale, step, x),
        }
    }

    /// The largest `|f(x)|` the circuit can output: over every row of the table (so the
    /// declared bound of a node is derived from exactly what its table lets through), or for
    /// the functions without a table, over their input range. A table too large to scan
    /// (more than 2^24 rows: no circuit holds it) is bounded by its ends and 0.
    pub fn max_abs(&self, b: &TableBounds) -> u64 {
        let (min, max) = self.domain(b);
        let scan = |xs: &mut dyn Iterator<Item = i64>| {
            xs.map(|x| self.apply(x).unsigned_abs()).max().unwrap_or(0)
        };
        let table = match self {
            TableFn::Identity | TableFn::Relu => return b.range_max() as u64,
            TableFn::Negative => return 1,
            _ if max - min > 1 << 24 => scan(&mut [min, max - 1, 0].into_iter()),
            _ => scan(&mut (min..max)),
        };
        // Beyond GELU's table the output is the input itself (at the output scale), as large
        // as the activation range allows.
        table.max(self.slope_above().unsigned_abs() * b.range_max() as u64)
    }

    /// Whether `x` is a valid input: inside the domain, or anywhere in the activation range
    /// for a saturating function (the circuit proves the clamp over that range).
    pub fn contains(&self, x: i64, b: &TableBounds) -> bool {
        let (min, max) = match self.saturation() {
            Saturation::None => self.domain(b),
            Saturation::Both => (-b.range_max(), b.range_max()),
            Saturation::Below => (-b.range_max(), self.domain(b).1),
        };
        (min..max).contains(&x)
    }

    /// The function with its domain worked out once, for evaluating many elements (the
    /// evaluator's rescales): the same answers as [`TableFn::contains`] and
    /// [`TableFn::output`].
    pub fn prepared(&self, b: &TableBounds) -> PreparedTable {
        let (min, max) = self.domain(b);
        let (lo, hi) = match self.saturation() {
            Saturation::None => (min, max),
            Saturation::Both => (-b.range_max(), b.range_max()),
            Saturation::Below => (-b.range_max(), max),
        };
        let (clamp_lo, clamp_hi) = match self.saturation() {
            Saturation::None => (i64::MIN, i64::MAX),
            Saturation::Both => (min, max - 1),
            Saturation::Below => (min, i64::MAX),
        };
        PreparedTable {
            f: *self,
            contains: (lo, hi),
            clamp: (clamp_lo, clamp_hi),
            slope: self.slope_above(),
        }
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
            TableFn::Range { .. } => "range".into(),
            TableFn::ExpPart { step: 0, .. } => "exp (low)".into(),
            TableFn::ExpPart { .. } => "exp (high)".into(),
        }
    }
}

#[cfg(test)]
mod tests;

/// A [`TableFn`] with its domain computed once ([`TableFn::prepared`]).
#[derive(Clone, Copy, Debug)]
pub struct PreparedTable {
    f: TableFn,
    /// `[min, max)` of the inputs the circuit accepts.
    contains: (i64, i64),
    /// Where the input is clamped before the table.
    clamp: (i64, i64),
    slope: i64,
}

impl PreparedTable {
    pub fn contains(&self, x: i64) -> bool {
        (self.contains.0..self.contains.1).contains(&x)
    }

    pub fn output(&self, x: i64) -> i64 {
        let c = x.clamp(self.clamp.0, self.clamp.1);
        self.f.apply(c) + self.slope * (x - c).max(0)
    }
}
