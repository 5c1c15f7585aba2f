//! The softmax exponential in two small tables.

use crate::table::TableFn;

/// Guard bits of the two halves of the softmax exponential over its output.
pub const EXP_GUARD_BITS: u32 = 2;

/// The softmax exponential `e(c) = round(exp(−c / 2^in) · 2^out)` for `c ∈ [0, cmax]`, split
/// as `c = a·2^j + b` into two small tables, `exp(−a·2^j)` and `exp(−b)`, each with
/// [`EXP_GUARD_BITS`] more output bits: `e = round(T_hi(a)·T_lo(b) / 2^(out + 2·guard))`. Both
/// tables have about `√cmax` rows, so the exponential's input resolution costs little. From
/// `cmax` on (where `T_hi` is below half a unit) `e` is 0, and the circuit clamps there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpSplit {
    pub in_scale: u32,
    pub out_scale: u32,
    /// Bits of `b`.
    pub j: u32,
    /// The last `a`: `T_hi(amax) < 2^(guard−1)`, so `e = 0` from `c = amax·2^j` on.
    pub amax: i64,
}

impl ExpSplit {
    /// The split for inputs at `2^-in_scale` and outputs at `2^-out_scale`. Its search runs
    /// once per pair and thread: the evaluator and the layout ask for it at every row.
    pub fn new(in_scale: u32, out_scale: u32) -> Self {
        thread_local! {
            static KNOWN: std::cell::RefCell<std::collections::HashMap<(u32, u32), ExpSplit>> =
                Default::default();
        }
        if let Some(known) = KNOWN.with(|k| k.borrow().get(&(in_scale, out_scale)).copied()) {
            return known;
        }
        let split = Self::search(in_scale, out_scale);
        KNOWN.with(|k| k.borrow_mut().insert((in_scale, out_scale), split));
        split
    }

    fn search(in_scale: u32, out_scale: u32) -> Self {
        let guard = EXP_GUARD_BITS;
        // Where exp(−d)·2^(out+guard) drops below 2^(guard−1): d = (out + 1)·ln 2.
        let zero = (f64::from(out_scale + 1) * std::f64::consts::LN_2 * (1u64 << in_scale) as f64)
            .ceil()
            .max(2.0);
        let j = ((zero.log2() / 2.0).ceil() as u32).max(1);
        let hi = |a: i64| Self::part(in_scale, out_scale + guard, j, a);
        let mut amax = 0i64;
        while hi(amax) >= 1 << (guard - 1) {
            amax += 1;
        }
        Self {
            in_scale,
            out_scale,
            j,
            amax,
        }
    }

    pub(crate) fn part(in_scale: u32, out_scale: u32, step: u32, x: i64) -> i64 {
        let v = (x << step) as f64 / (1u64 << in_scale) as f64;
        ((-v).exp() * (1u64 << out_scale) as f64).round() as i64
    }

    /// The table of `T_hi(a)`, `a ∈ [0, amax]`.
    pub fn hi(&self) -> TableFn {
        TableFn::ExpPart {
            in_scale: self.in_scale,
            out_scale: self.out_scale + EXP_GUARD_BITS,
            step: self.j,
            len: self.amax + 1,
        }
    }

    /// The table of `T_lo(b)`, `b ∈ [0, 2^j)`.
    pub fn lo(&self) -> TableFn {
        TableFn::ExpPart {
            in_scale: self.in_scale,
            out_scale: self.out_scale + EXP_GUARD_BITS,
            step: 0,
            len: 1 << self.j,
        }
    }

    /// The clamp point: `e(c) = 0` for `c ≥ cmax`.
    pub fn cmax(&self) -> i64 {
        self.amax << self.j
    }

    /// The shift of the product `T_hi·T_lo` down to the output scale.
    pub fn shift(&self) -> u32 {
        self.out_scale + 2 * EXP_GUARD_BITS
    }

    /// `e(c)` for `c ∈ [0, cmax]`.
    pub fn apply(&self, c: i64) -> i64 {
        let (a, b) = (c >> self.j, c & ((1 << self.j) - 1));
        let p = self.hi().apply(a) * self.lo().apply(b);
        (p + (1 << (self.shift() - 1))) >> self.shift()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::TableBounds;

    #[test]
    fn the_split_exponential_is_within_a_unit_of_the_exact_one() {
        for (in_scale, out_scale) in [(4, 6), (9, 9), (13, 13)] {
            let split = ExpSplit::new(in_scale, out_scale);
            let exact = TableFn::ExpNeg {
                in_scale,
                out_scale,
            };
            assert_eq!(split.apply(0), 1 << out_scale);
            let (hi, lo) = (split.hi(), split.lo());
            let b = TableBounds {
                neg: 1,
                pos: 1,
                exp: 1,
                limb_bits: 8,
            };
            // Two tables of about √cmax rows instead of cmax.
            let rows = hi.rows(&b) + lo.rows(&b);
            assert!(
                rows * rows < 40 * split.cmax() as usize,
                "{rows} rows for {}",
                split.cmax()
            );
            for c in 0..=split.cmax() {
                assert!((split.apply(c) - exact.apply(c)).abs() <= 1, "c = {c}");
            }
            assert_eq!(split.apply(split.cmax()), 0);
        }
    }
}
