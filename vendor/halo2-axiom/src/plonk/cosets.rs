//! The proving key's polynomials on the extended domain (zkinfer patch 3).
//!
//! The quotient `h(X)` is evaluated on `num_parts` cosets of the circuit's domain, and on
//! each one every fixed column, the three Lagrange polynomials and the copy argument's
//! permutation polynomials are brought there by one FFT each. They are the same in every
//! proof: a prover that proves the same circuit many times can compute them once (with
//! [`ProvingKey::compute_key_cosets`]), keep them (a file, typically) and hand them back
//! through a [`KeyCosetSource`] set with [`ProvingKey::set_key_cosets`].

use std::fmt;
use std::io;
use std::sync::Arc;

use ff::{Field, WithSmallOrderMulGroup};

use crate::arithmetic::CurveAffine;
use crate::multicore::{IntoParallelIterator, ParallelIterator};
use crate::plonk::ProvingKey;
use crate::poly::{LagrangeCoeff, Polynomial};

/// The proving key's polynomials on one part (coset) of the extended domain.
#[derive(Clone, Debug)]
pub struct KeyCosets<F: Field> {
    /// Every fixed column (selectors and table columns included), in the key's order.
    pub fixed: Vec<Polynomial<F, LagrangeCoeff>>,
    /// `l_0`: 1 on the first row.
    pub l0: Polynomial<F, LagrangeCoeff>,
    /// `l_last`: 1 on the last usable row.
    pub l_last: Polynomial<F, LagrangeCoeff>,
    /// `l_active_row`: 1 on the usable rows.
    pub l_active_row: Polynomial<F, LagrangeCoeff>,
    /// The copy argument's permutation polynomials, one per equality-enabled column.
    pub permutation: Vec<Polynomial<F, LagrangeCoeff>>,
}

impl<F: Field> KeyCosets<F> {
    /// Every polynomial, in the order fixed, `l0`, `l_last`, `l_active_row`, permutation.
    pub fn polys(&self) -> impl Iterator<Item = &Polynomial<F, LagrangeCoeff>> {
        self.fixed
            .iter()
            .chain([&self.l0, &self.l_last, &self.l_active_row])
            .chain(&self.permutation)
    }
}

/// Where a prover finds a proving key's [`KeyCosets`] instead of computing them.
pub trait KeyCosetSource<F: Field>: Send + Sync {
    /// The polynomials on part `part` (`0..num_parts`). An error fails the proof.
    fn part(&self, part: usize) -> io::Result<KeyCosets<F>>;

    /// Takes back a part's polynomials once the prover is done with them (before it asks
    /// for the next part), so that their memory can be reused. The default drops them.
    fn recycle(&self, cosets: KeyCosets<F>) {
        drop(cosets);
    }
}

/// The proving key's optional [`KeyCosetSource`].
#[derive(Clone)]
pub(crate) struct CosetSource<F: Field>(pub(crate) Option<Arc<dyn KeyCosetSource<F>>>);

impl<F: Field> Default for CosetSource<F> {
    fn default() -> Self {
        Self(None)
    }
}

impl<F: Field> fmt::Debug for CosetSource<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = if self.0.is_some() { "set" } else { "none" };
        f.debug_tuple("CosetSource").field(&set).finish()
    }
}

impl<C: CurveAffine> ProvingKey<C>
where
    C::Scalar: WithSmallOrderMulGroup<3>,
{
    /// The number of parts (cosets of the circuit's domain) the quotient is evaluated on.
    pub fn num_extended_parts(&self) -> usize {
        let domain = &self.vk.domain;
        domain.extended_len() >> domain.k()
    }

    /// Computes the key's polynomials on part `part` of the extended domain: one FFT each,
    /// what the prover does when no [`KeyCosetSource`] is set.
    pub fn compute_key_cosets(&self, part: usize) -> KeyCosets<C::Scalar> {
        assert!(part < self.num_extended_parts(), "part {part} out of range");
        let domain = &self.vk.domain;
        let omega = domain.get_extended_omega().pow_vartime([part as u64]);
        let coset = |p: &Polynomial<C::Scalar, _>| domain.coeff_to_extended_part(p.clone(), omega);
        KeyCosets {
            fixed: (&self.fixed_polys).into_par_iter().map(coset).collect(),
            l0: coset(&self.l0),
            l_last: coset(&self.l_last),
            l_active_row: coset(&self.l_active_row),
            permutation: (&self.permutation.polys)
                .into_par_iter()
                .map(coset)
                .collect(),
        }
    }

    /// Sets (or, with `None`, removes) where the prover reads the key's polynomials on the
    /// extended domain. The source must give exactly what [`Self::compute_key_cosets`]
    /// computes: other values make proofs that do not verify.
    pub fn set_key_cosets(&mut self, source: Option<Arc<dyn KeyCosetSource<C::Scalar>>>) {
        self.cosets = CosetSource(source);
    }

    /// The key has a [`KeyCosetSource`].
    pub fn has_key_cosets(&self) -> bool {
        self.cosets.0.is_some()
    }

    /// Gives a part's polynomials back to the source, if the key has one.
    pub(crate) fn recycle_key_cosets(&self, cosets: KeyCosets<C::Scalar>) {
        if let Some(source) = &self.cosets.0 {
            source.recycle(cosets);
        }
    }

    /// The key's polynomials on part `part`: from the source, else computed. The counts and
    /// lengths of what a source gives are checked.
    pub(crate) fn key_cosets(&self, part: usize) -> io::Result<KeyCosets<C::Scalar>> {
        let Some(source) = &self.cosets.0 else {
            return Ok(self.compute_key_cosets(part));
        };
        let cosets = source.part(part)?;
        let n = 1usize << self.vk.domain.k();
        let counts = (cosets.fixed.len(), cosets.permutation.len());
        let expected = (self.fixed_polys.len(), self.permutation.polys.len());
        if counts != expected || cosets.polys().any(|p| p.len() != n) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "key cosets of part {part}: {counts:?} fixed and permutation polynomials \
                     (expected {expected:?}), each of {n} values"
                ),
            ));
        }
        Ok(cosets)
    }
}
