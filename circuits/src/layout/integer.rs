//! Exact integer semantics: ONNX's integer division and remainder (gate-free: `arith` rows and
//! range units), and the check that an integer or boolean value fits its element type.

use zkinfer_ir::IntDiv;

use super::range::Unit;
use super::{wrap, Layout, Wire};
use crate::grid::Grid;
use crate::CircuitError;

impl<G: Grid> Layout<'_, G> {
    /// `a / b` as ONNX computes it on integers (see [`IntDiv`]). With a witnessed quotient `q`
    /// (range-checked, `|q| < 2^a_bits`) and `r = a − q·b`, `σ` the sign of the operand whose sign the remainder takes (`a`
    /// when truncating, `b` with `floor`) and `σ_b` that of `b`:
    /// `r' = r·(1 − 2σ) ≥ 0` and `|b| − 1 − r' ≥ 0` with `|b| = b·(1 − 2σ_b)`. So `|r| < |b|`
    /// (hence `b ≠ 0`) and `r` has the required sign or is 0, which makes `q` unique.
    /// `a_bits` and `b_bits` bound the operands' magnitudes.
    #[allow(clippy::too_many_arguments)]
    pub fn int_div(
        &mut self,
        a: &Wire<G::Cell>,
        b: &Wire<G::Cell>,
        op: IntDiv,
        a_bits: u32,
        b_bits: u32,
        node: &str,
    ) -> Result<Wire<G::Cell>, CircuitError> {
        let qr = match (a.value, b.value) {
            (Some(x), Some(y)) => {
                Some(
                    zkinfer_ir::int_div(x, y, op.floor).ok_or_else(|| CircuitError::Layout {
                        node: node.into(),
                        reason: "integer division by zero".into(),
                    })?,
                )
            }
            _ => None,
        };
        let q = self.witness(qr.map(|w| w.0), "intdiv.q")?;
        // |q| ≤ |a|: an integer, so `a − r = q·b` holds over the integers.
        self.range_unit(&q, a_bits, Unit::Signed, node)?;
        let qb = wrap(self.arith(&q, Some(b), [1, 0, 0, 0]))?;
        let r = wrap(self.arith(a, Some(&qb), [0, 1, -1, 0]))?;
        let sigma_b = self.range_unit(b, b_bits, Unit::Signed, node)?;
        let sigma = match op.floor {
            true => sigma_b.clone(),
            false => self.range_unit(a, a_bits, Unit::Signed, node)?,
        };
        let abs_b = wrap(self.arith(b, Some(&sigma_b), [-2, 1, 0, 0]))?;
        let r_mag = wrap(self.arith(&r, Some(&sigma), [-2, 1, 0, 0]))?;
        self.unsigned_bits(&r_mag, b_bits, node)?;
        let gap = wrap(self.arith(&abs_b, Some(&r_mag), [0, 1, -1, -1]))?;
        self.unsigned_bits(&gap, b_bits, node)?;
        Ok(if op.remainder { r } else { q })
    }

    /// Constrains `v ∈ [min, max]`, the range of an integer element type: a boolean by
    /// `v·(v − 1) = 0`, others by `v − min ≥ 0` and `max − v ≥ 0` (each below `2^bits`).
    pub fn type_check(
        &mut self,
        v: &Wire<G::Cell>,
        (min, max): (i128, i128),
        node: &str,
    ) -> Result<(), CircuitError> {
        if (min, max) == (0, 1) {
            let boolean = wrap(self.arith(v, Some(v), [1, -1, 0, 0]))?;
            return wrap(self.grid.zero(&boolean.cell));
        }
        let narrow = |x: i128| {
            i64::try_from(x).map_err(|_| CircuitError::Layout {
                node: node.into(),
                reason: format!("the type bound {x} does not fit 64 bits"),
            })
        };
        let (lo, hi) = (narrow(min)?, narrow(max)?);
        let bits = 128 - ((max - min) as u128).leading_zeros();
        let above = wrap(self.arith(v, None, [0, 1, 0, lo.wrapping_neg()]))?;
        self.unsigned_bits(&above, bits, node)?;
        let below = wrap(self.arith(v, None, [0, -1, 0, hi]))?;
        self.unsigned_bits(&below, bits, node)
    }
}
