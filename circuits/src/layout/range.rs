//! Range checks by limbs: a value is split into `n` limbs of `l` bits, each looked up in the
//! range table `[0, 2^l)` (lookup B), and a gate recomposes them (`range` in `config.rs`).
//!
//! A *range unit* takes the rescale slots (`q`, `r`, `f`) of `n` consecutive rows, which the
//! dot-product chains leave free: `q[j]` holds the value, `f[j]` its sign and `r[j..j+n)` the
//! limbs of `v` (or of `−v − 1` when `v < 0`). The sign is exact, so the same unit serves ReLU
//! (`max(v, 0) = v·(1 − σ)`), comparisons (`[v < 0] = σ`), non-negative gaps and remainders
//! (`σ = 0`) and saturating function tables (the sign of `v − clamp(v)` decides the clamp).
//! Magnitudes are checked to whole limbs, `[0, 2^(n·l))`, unless the unit is [`Bound::Exact`]:
//! then the top limb is also checked to its own width `t = bits − (n − 1)·l` by a second lookup
//! of `2^(l−t)·top` in the same range table (the plain lookup keeps `top` an integer below
//! `2^l`, the shifted one puts it below `2^t`), so the magnitude lies below `2^bits` exactly.
//! The activation range `[−2^m, 2^m)` of every rescale output and quotient is checked so
//! ([`Layout::bound_signed`], ReLU): later steps take it for granted (the packing of a shard's
//! outputs without a check of their own, `set_bounds`' `m + 1` bits and every bound computed
//! from them, the integer type checks those bounds skip). Gaps, remainders and slacks need
//! only their sign and stay whole limbs; [`Layout::bound_exact`] bounds a free value (a
//! public one) from both sides.

use zkinfer_ir::TableFn;

use super::{wrap, Layout, Wire};
use crate::config::MAX_LIMBS;
use crate::grid::{Adv, Fix, Grid, Sel};
use crate::CircuitError;

/// How tightly a range unit of `bits` bits bounds its magnitude.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Bound {
    /// Below `2^(n·l)`, `n = ⌈bits / l⌉`: whole limbs.
    Limbs,
    /// Below `2^bits`: the top limb is looked up a second time, shifted (free when `l`
    /// divides `bits`).
    Exact,
}

/// Where a unit looks its top limb up the second time, shifted by `2^(l−t)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TopCheck {
    /// Whole limbs (or `l` divides the bits): no second lookup.
    None,
    /// A copy of the top limb in the rescale slot's `r` of this row of the unit (lookup B,
    /// shifted).
    Spare(usize),
    /// The top limb's own row: its lookup B is the shifted one, and a copy in the `(q, f)`
    /// slot of that row is looked up plainly (lookup A), both free in a sign unit's later rows.
    InRow,
}

/// What a range unit proves of its value `v`, besides `|v| < 2^(n·l)`, and what it returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Unit {
    /// `v ≥ 0`; returns `v`.
    Unsigned,
    /// Returns the sign `σ = [v < 0]`.
    Signed,
    /// Returns `max(v, 0)`.
    Relu,
    /// Returns `f(clamp(v, lo, hi))` for a function table with domain `[lo, hi + 1)`: the
    /// limbs hold `v − clamp(v)`, whose sign picks the end (for GELU, above the table, plus
    /// the line `slope·(v − hi)`, in a third row).
    Saturate(TableFn),
}

impl<G: Grid> Layout<'_, G> {
    /// `n` consecutive rows with free rescale slots, taken from the slot cursor on.
    pub(super) fn take_slots(&mut self, n: usize) -> usize {
        let mut j = self.slot_row;
        while (j..j + n).any(|r| self.rescale_used.contains(&r)) {
            j += 1;
        }
        self.rescale_used.extend(j..j + n);
        self.slot_row = j + n;
        self.slot_end = self.slot_end.max(j + n);
        j
    }

    /// Limbs for a magnitude of `bits` bits.
    fn limb_count(&self, bits: u32, node: &str) -> Result<usize, CircuitError> {
        let l = self.tables.limb_bits();
        let n = bits.max(1).div_ceil(l) as usize;
        if n > MAX_LIMBS {
            return Err(CircuitError::Layout {
                node: node.into(),
                reason: format!(
                    "a range check of {bits} bits needs {n} limbs of {l} bits (at most {MAX_LIMBS})"
                ),
            });
        }
        Ok(n)
    }

    /// The range unit of `v` with a magnitude of `bits` bits, to whole limbs (see [`Unit`]).
    pub(super) fn range_unit(
        &mut self,
        v: &Wire<G::Cell>,
        bits: u32,
        unit: Unit,
        node: &str,
    ) -> Result<Wire<G::Cell>, CircuitError> {
        self.range_unit_bounded(v, bits, unit, Bound::Limbs, node)
    }

    /// The range unit of `v` with a magnitude of `bits` bits, bounded as `bound` says.
    pub(super) fn range_unit_bounded(
        &mut self,
        v: &Wire<G::Cell>,
        bits: u32,
        unit: Unit,
        bound: Bound,
        node: &str,
    ) -> Result<Wire<G::Cell>, CircuitError> {
        let l = self.tables.limb_bits();
        let n = self.limb_count(bits, node)?;
        let rows = match unit {
            Unit::Saturate(f) if f.slope_above() != 0 => n.max(3),
            Unit::Relu | Unit::Saturate(_) => n.max(2),
            Unit::Unsigned | Unit::Signed => n,
        };
        // The top limb's width: the top lookup's multiplier 2^(l−t) when t < l.
        let top_bits = bits.max(1) - (n as u32 - 1) * l;
        let top_check = match bound {
            Bound::Exact if top_bits < l => match unit {
                _ if rows > n => TopCheck::Spare(n),
                Unit::Unsigned | Unit::Signed if n > 1 => TopCheck::InRow,
                _ => TopCheck::Spare(rows),
            },
            Bound::Exact | Bound::Limbs => TopCheck::None,
        };
        let size = match top_check {
            TopCheck::Spare(row) => rows.max(row + 1),
            TopCheck::None | TopCheck::InRow => rows,
        };
        let range_tag = self.tag(&self.tables.range_fn(), node)?;
        let bounds = self.tables.bounds;
        // The table input and the value whose sign and limbs the unit holds.
        let clamped = match unit {
            Unit::Saturate(f) => v.value.map(|x| f.table_input(x, &bounds)),
            _ => None,
        };
        let signed = match (unit, v.value) {
            (Unit::Saturate(_), Some(x)) => clamped.map(|c| x - c),
            (_, x) => x,
        };
        let sigma = signed.map(|s| i64::from(s < 0));
        let magnitude = signed.map(|s| if s < 0 { -s - 1 } else { s });
        if let Some(mag) = magnitude {
            let outside =
                mag >= 1i64 << bits.min(62) || (unit == Unit::Unsigned && sigma == Some(1));
            if outside {
                return Err(CircuitError::Layout {
                    node: node.into(),
                    reason: format!(
                        "value {} outside the range-checked interval of {bits} bits",
                        signed.unwrap_or(0)
                    ),
                });
            }
        }
        let j = self.take_slots(size);
        self.place("range", j);
        let mask = (1i64 << l) - 1;
        let limb = |i: usize| magnitude.map(|m| (m >> (l as usize * i)) & mask);
        let v_cell = wrap(self.copy_in(v, Adv::Q, j))?;
        let g = &mut *self.grid;
        let shifted = 1i64 << (l - top_bits.min(l));
        let top = limb(n - 1);
        let sigma_cell = wrap((|| {
            g.enable(Sel::Range(n), j)?;
            let mut top_cell = None;
            for i in 0..n {
                let cell = g.advice(Adv::R, j + i, limb(i))?;
                g.fixed(Fix::TagB, j + i, range_tag)?;
                let mul = match top_check {
                    TopCheck::InRow if i + 1 == n => shifted,
                    _ => 1,
                };
                g.fixed(Fix::MulB, j + i, mul)?;
                top_cell = Some(cell);
            }
            let top_cell = top_cell.ok_or(halo2_axiom::plonk::Error::Synthesis)?;
            match top_check {
                TopCheck::None => {}
                TopCheck::Spare(row) => {
                    let copy = g.advice(Adv::R, j + row, top)?;
                    g.copy(&top_cell, &copy)?;
                    g.fixed(Fix::TagB, j + row, range_tag)?;
                    g.fixed(Fix::MulB, j + row, shifted)?;
                }
                TopCheck::InRow => {
                    let row = j + n - 1;
                    let copy = g.advice(Adv::Q, row, top)?;
                    g.copy(&top_cell, &copy)?;
                    g.advice(Adv::F, row, top)?;
                    g.enable(Sel::EnA, row)?;
                    g.fixed(Fix::TagA, row, range_tag)?;
                }
            }
            g.advice(Adv::F, j, sigma)
        })())?;
        match unit {
            Unit::Unsigned => {
                wrap(self.grid.zero(&sigma_cell))?;
                Ok(Wire {
                    cell: v_cell,
                    value: v.value,
                    acc_row: None,
                })
            }
            Unit::Signed => Ok(Wire {
                cell: sigma_cell,
                value: sigma,
                acc_row: None,
            }),
            Unit::Relu => {
                let out = v.value.map(|x| x.max(0));
                let g = &mut *self.grid;
                let cell = wrap((|| {
                    g.enable(Sel::Relu, j)?;
                    g.advice(Adv::Q, j + 1, out)
                })())?;
                Ok(Wire {
                    cell,
                    value: out,
                    acc_row: None,
                })
            }
            Unit::Saturate(f) => {
                let (lo, hi) = f.domain(&bounds);
                // On a side where the function does not saturate, the end is a value that no
                // table input can equal, so a clamp there is impossible.
                let (below, above) = f.saturates(&bounds);
                let bottom = if below { lo } else { lo - 1 };
                let top = if above { hi - 1 } else { hi };
                let tag = self.tag(&f, node)?;
                let looked_up = clamped.map(|c| f.apply(c));
                let slope = f.slope_above();
                let out = v.value.map(|x| f.output(x, &bounds));
                let g = &mut *self.grid;
                let cell = wrap((|| {
                    g.enable(Sel::Sat, j)?;
                    g.fixed(Fix::SatLo, j, bottom)?;
                    g.fixed(Fix::SatHi, j, top)?;
                    g.advice(Adv::Q, j + 1, clamped)?;
                    g.enable(Sel::EnA, j + 1)?;
                    g.fixed(Fix::TagA, j + 1, tag)?;
                    let fc = g.advice(Adv::F, j + 1, looked_up)?;
                    if slope == 0 {
                        return Ok(fc);
                    }
                    g.enable(Sel::SatLine, j)?;
                    g.fixed(Fix::Pow, j, slope)?;
                    g.advice(Adv::Q, j + 2, out)
                })())?;
                Ok(Wire {
                    cell,
                    value: out,
                    acc_row: None,
                })
            }
        }
    }

    /// The high part `r1 ∈ [0, 2^(shift−l))` of a remainder wider than a limb, in one slot:
    /// `(r1, r1)` looked up in the range table (lookup A: an integer below `2^l`) and
    /// `2^(2l−shift)·r1` too (lookup B on its copy), so `r1 < 2^(shift−l)` exactly and
    /// `r0 + 2^l·r1 < 2^shift` with `r0` one limb.
    pub(super) fn high_remainder(
        &mut self,
        r1: Option<i64>,
        shift: u32,
        node: &str,
    ) -> Result<Wire<G::Cell>, CircuitError> {
        let l = self.tables.limb_bits();
        let range_tag = self.tag(&self.tables.range_fn(), node)?;
        let j = self.take_slots(1);
        self.place("remainder", j);
        let g = &mut *self.grid;
        let cell = wrap((|| {
            g.enable(Sel::EnA, j)?;
            g.fixed(Fix::TagA, j, range_tag)?;
            g.fixed(Fix::TagB, j, range_tag)?;
            g.fixed(Fix::MulB, j, 1i64 << (2 * l - shift))?;
            let q = g.advice(Adv::Q, j, r1)?;
            g.advice(Adv::F, j, r1)?;
            let r = g.advice(Adv::R, j, r1)?;
            g.copy(&q, &r)?;
            Ok(q)
        })())?;
        Ok(Wire {
            cell,
            value: r1,
            acc_row: None,
        })
    }

    /// Constrains `v ∈ [−2^m, 2^m)` exactly (the activation range, `m` magnitude bits).
    pub(super) fn bound_signed(
        &mut self,
        v: &Wire<G::Cell>,
        node: &str,
    ) -> Result<(), CircuitError> {
        let m = self.tables.bounds.mag_bits();
        self.range_unit_bounded(v, m, Unit::Signed, Bound::Exact, node)
            .map(|_| ())
    }

    /// Constrains `v ≥ 0` (and `v < 2^m` to whole limbs, see [`Layout::unsigned_bits`]).
    pub(super) fn bound_unsigned(
        &mut self,
        v: &Wire<G::Cell>,
        node: &str,
    ) -> Result<(), CircuitError> {
        let m = self.tables.bounds.mag_bits();
        self.unsigned_bits(v, m, node)
    }

    /// Constrains `v ≥ 0`: `v ∈ [0, 2^l)` by one lookup of `(v, v)` in the range table when
    /// `bits ≤ l`, `v ∈ [0, 2^(⌈bits/l⌉·l))` by a range unit otherwise (a gap, remainder or
    /// slack, whose sign is what matters; two of them bound a value exactly from both sides).
    pub(super) fn unsigned_bits(
        &mut self,
        v: &Wire<G::Cell>,
        bits: u32,
        node: &str,
    ) -> Result<(), CircuitError> {
        if bits > self.tables.limb_bits() {
            return self.range_unit(v, bits, Unit::Unsigned, node).map(|_| ());
        }
        if let Some(x) = v.value {
            // (A negative test lays a forged witness out through the chip.)
            if !(0..1i64 << bits).contains(&x) && !super::topk::forcing() {
                return Err(CircuitError::Layout {
                    node: node.into(),
                    reason: format!("value {x} outside [0, 2^{bits})"),
                });
            }
        }
        let range_tag = self.tag(&self.tables.range_fn(), node)?;
        let j = self.take_slots(1);
        self.place("range", j);
        wrap(self.copy_in(v, Adv::Q, j))?;
        let g = &mut *self.grid;
        wrap((|| {
            g.enable(Sel::EnA, j)?;
            g.fixed(Fix::TagA, j, range_tag)?;
            g.advice(Adv::F, j, v.value).map(|_| ())
        })())
    }

    /// Constrains `v ∈ [−2^m, 2^m)` exactly (packed public values need the digit `v + 2^m`
    /// to lie in `[0, 2^(m+1))`): `v + 2^m ≥ 0` and `2^m − 1 − v ≥ 0`, each `m + 1` bits.
    pub(super) fn bound_exact(
        &mut self,
        v: &Wire<G::Cell>,
        node: &str,
    ) -> Result<(), CircuitError> {
        let m = self.tables.bounds.mag_bits();
        let half = 1i64 << m;
        let above = wrap(self.arith(v, None, [0, 1, 0, half]))?;
        self.unsigned_bits(&above, m + 1, node)?;
        let below = wrap(self.arith(v, None, [0, -1, 0, half - 1]))?;
        self.unsigned_bits(&below, m + 1, node)
    }
}
