//! Packed public values: many small signed integers in one field element, so that a verifier
//! contract reads a handful of instances instead of one per input and output element (its
//! code grows by about 160 bytes per instance).
//!
//! Every value `v` is first proven to lie in the activation range `[−2^m, 2^m)` (a limb range
//! check), so its digit `v + 2^m` lies in `[0, W)` with `W = 2^(m+1)`. A packed instance holds `per` digits
//! little-endian, `Σ_t (v_t + neg)·W^t`, with `per·⌈log2 W⌉ ≤ 252` so the sum never reaches
//! the field's modulus: the digits, and so the values, are unique.

use serde::{Deserialize, Serialize};

use crate::TableBounds;

/// How public values are packed: digits in base `base`, offset by `offset`, `per` to an
/// element.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Packing {
    pub base: u64,
    pub offset: i64,
    pub per: usize,
}

/// A 256-bit unsigned integer, little-endian 64-bit limbs (a field element's canonical value).
pub type Limbs = [u64; 4];

impl Packing {
    pub fn for_table(table: &TableBounds) -> Self {
        let m = table.mag_bits();
        let bits = m as usize + 1;
        Self {
            base: 1u64 << (m + 1),
            offset: 1i64 << m,
            per: (252 / bits).max(1),
        }
    }

    /// How a shard boundary's values enter its Poseidon commitment: packed like public values
    /// when every tensor's bound lies inside the activation range (`|q| < 2^bound ≤ 2^m`), so
    /// the receiving shard can range-check them by limbs; `None` (one field element per value)
    /// when one does not.
    pub fn for_boundary(
        table: &TableBounds,
        bounds: impl IntoIterator<Item = u32>,
    ) -> Option<Self> {
        let fits = |b: u32| b <= table.mag_bits();
        bounds.into_iter().all(fits).then(|| Self::for_table(table))
    }

    /// Packed elements for `n` values.
    pub fn len(&self, n: usize) -> usize {
        n.div_ceil(self.per)
    }

    /// The digit of `v`, or `None` outside `[−offset, base − offset)`.
    pub fn digit(&self, v: i64) -> Option<u64> {
        let d = v.checked_add(self.offset)?;
        u64::try_from(d).ok().filter(|&d| d < self.base)
    }

    /// Packs `values`; `None` if one lies outside the table domain.
    pub fn pack(&self, values: &[i64]) -> Option<Vec<Limbs>> {
        values
            .chunks(self.per)
            .map(|chunk| {
                chunk.iter().rev().try_fold([0u64; 4], |acc, &v| {
                    Some(mul_add(acc, self.base, self.digit(v)?))
                })
            })
            .collect()
    }

    /// Unpacks `count` values; `None` if an element is not a packing of that many digits.
    pub fn unpack(&self, packed: &[Limbs], count: usize) -> Option<Vec<i64>> {
        if packed.len() != self.len(count) {
            return None;
        }
        let mut out = Vec::with_capacity(count);
        for (i, &limbs) in packed.iter().enumerate() {
            let here = self.per.min(count - i * self.per);
            let mut rest = limbs;
            for _ in 0..here {
                let (q, d) = div_rem(rest, self.base);
                out.push(d as i64 - self.offset);
                rest = q;
            }
            if rest != [0; 4] {
                return None;
            }
        }
        Some(out)
    }
}

/// `a·m + d`; the callers keep it below 2^252.
fn mul_add(a: Limbs, m: u64, d: u64) -> Limbs {
    let mut out = [0u64; 4];
    let mut carry = d as u128;
    for (o, &x) in out.iter_mut().zip(&a) {
        let t = x as u128 * m as u128 + carry;
        *o = t as u64;
        carry = t >> 64;
    }
    out
}

/// `(a / m, a % m)`.
fn div_rem(a: Limbs, m: u64) -> (Limbs, u64) {
    let mut q = [0u64; 4];
    let mut r = 0u128;
    for i in (0..4).rev() {
        let cur = (r << 64) | a[i] as u128;
        q[i] = (cur / m as u128) as u64;
        r = cur % m as u128;
    }
    (q, r as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_round_trips_and_rejects_values_outside_the_table() {
        let p = Packing::for_table(&TableBounds {
            neg: 4096,
            pos: 4096,
            exp: 1,
            limb_bits: 8,
        });
        assert_eq!((p.base, p.per), (8192, 19));
        let values: Vec<i64> = (0..45).map(|i| (i * 397) % 8192 - 4096).collect();
        let packed = p.pack(&values).unwrap();
        assert_eq!(packed.len(), 3);
        assert_eq!(p.unpack(&packed, 45).unwrap(), values);
        assert!(p.pack(&[4096]).is_none() && p.pack(&[-4097]).is_none());
        // One more digit than the count says, or a wrong element count, is refused.
        assert!(p.unpack(&packed, 44).is_none());
        assert!(p.unpack(&packed[..2], 45).is_none());
    }
}
