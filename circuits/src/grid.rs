//! Where the layout code writes. The same layout code runs against a [`DryRun`] (the cost
//! model counts rows from it) and against a halo2 region (synthesis), so the planner's row
//! count is the circuit's by construction.

use halo2_axiom::circuit::{Cell, Region, Value};
use halo2_axiom::halo2curves::bn256::Fr;
use halo2_axiom::plonk::{Advice, Column, Error, Fixed, Selector};

use crate::config::{FixedWeightsConfig, FreivaldsConfig, ModelConfig, PoseidonConfig};

/// An advice column of a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Adv {
    X(usize),
    Acc,
    Q,
    R,
    F,
    /// Second phase: Freivalds' accumulators.
    H,
    /// Second phase: Freivalds' `B·r` entries.
    V,
    /// Second phase: the accumulators of constant matrices' `W·r`.
    HW,
}

/// A fixed column of a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fix {
    W(usize),
    /// A constant matrix's entries (for its `W·r`).
    WF(usize),
    /// The chain flag of a constant matrix's `W·r`.
    ChainW,
    C,
    Chain,
    Pow,
    Half,
    TagA,
    TagB,
    MulB,
    Cmax,
    /// A saturating unit's lower end (the `half` column, in the unit's first row).
    SatLo,
    /// A saturating unit's upper end (the `cmax` column, in the unit's first row).
    SatHi,
}

/// A selector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sel {
    Dot,
    Arith,
    Rescale,
    Div,
    Clamp,
    /// The range unit of `n` limbs (1 ≤ n ≤ `MAX_LIMBS`).
    Range(usize),
    Relu,
    /// Every lane of the row is 0 or 1.
    Bool,
    Sat,
    SatLine,
    EnA,
    Horner,
    HornerAcc,
    /// Horner over fixed weights (a constant matrix's `W·r`).
    HornerFixed,
    FDot,
    PoseidonFull,
    PoseidonPartial,
}

/// A field element from a signed integer.
pub fn fe(v: i64) -> Fr {
    if v >= 0 {
        Fr::from(v as u64)
    } else {
        -Fr::from(v.unsigned_abs())
    }
}

pub trait Grid {
    type Cell: Clone;
    /// Assigns an advice cell; `None` when witnesses are unknown (key generation).
    fn advice(&mut self, col: Adv, row: usize, v: Option<i64>) -> Result<Self::Cell, Error>;
    /// Assigns an advice cell holding any field element (products that leave `i64`).
    fn advice_field(&mut self, col: Adv, row: usize, v: Option<Fr>) -> Result<Self::Cell, Error>;
    fn fixed(&mut self, col: Fix, row: usize, v: i64) -> Result<(), Error>;
    /// Assigns a fixed cell holding any field element (Poseidon's round constants).
    fn fixed_field(&mut self, col: Fix, row: usize, v: Fr) -> Result<(), Error>;
    fn enable(&mut self, sel: Sel, row: usize) -> Result<(), Error>;
    fn copy(&mut self, a: &Self::Cell, b: &Self::Cell) -> Result<(), Error>;
    /// Constrains `cell` to the public instance at `index`.
    fn expose(&mut self, cell: &Self::Cell, index: usize) -> Result<(), Error>;
    /// Constrains `cell` to be zero.
    fn zero(&mut self, cell: &Self::Cell) -> Result<(), Error> {
        self.constant(cell, Fr::zero())
    }
    /// Constrains `cell` to the constant `v`.
    fn constant(&mut self, cell: &Self::Cell, v: Fr) -> Result<(), Error>;
    /// Ends the first phase: every first-phase column is committed.
    fn next_phase(&mut self);
    /// Freivalds' challenge, known once the first phase is over while proving.
    fn challenge(&self) -> Option<Fr>;
    /// The layout is now placing cells of node `node`, in its part `what` (for the audit's
    /// attribution; nothing else needs it).
    fn owner(&mut self, _node: usize, _what: &'static str) {}
    /// Declares the advice cell at `(col, row)` free: assigned (a gate of its row reads it)
    /// but multiplied by zero there, so no value of it changes any constraint. The audit
    /// counts such cells apart from escapes.
    fn free(&mut self, _col: Adv, _row: usize) {}
}

/// Counts rows without assigning anything.
#[derive(Debug, Default)]
pub struct DryRun {
    pub rows: usize,
    pub advice_cells: usize,
    /// When set, every copy constraint `(a, b)` is recorded (for negative tests that forge a
    /// value together with all its copies).
    pub copies: Option<Vec<(AdvCell, AdvCell)>>,
    /// When set, every advice value assigned (for negative tests that forge a witness by
    /// laying it out and comparing with the honest one).
    pub values: Option<std::collections::HashMap<AdvCell, i64>>,
    /// When set, the node and part of the layout every advice cell belongs to (the audit).
    pub owners: Option<std::collections::HashMap<AdvCell, (usize, &'static str)>>,
    /// When set, the cells declared free ([`Grid::free`]).
    pub free: Option<std::collections::HashSet<AdvCell>>,
    /// The owner of the cells assigned next (set by [`Grid::owner`]).
    pub current: (usize, &'static str),
}

/// An advice cell by column and row.
pub type AdvCell = (Adv, usize);

impl Grid for DryRun {
    type Cell = AdvCell;

    fn advice(&mut self, col: Adv, row: usize, v: Option<i64>) -> Result<AdvCell, Error> {
        self.rows = self.rows.max(row + 1);
        self.advice_cells += 1;
        if let (Some(values), Some(v)) = (&mut self.values, v) {
            values.insert((col, row), v);
        }
        if let Some(owners) = &mut self.owners {
            owners.insert((col, row), self.current);
        }
        Ok((col, row))
    }

    fn advice_field(&mut self, col: Adv, row: usize, _: Option<Fr>) -> Result<AdvCell, Error> {
        self.advice(col, row, None)
    }

    fn owner(&mut self, node: usize, what: &'static str) {
        self.current = (node, what);
    }

    fn free(&mut self, col: Adv, row: usize) {
        if let Some(free) = &mut self.free {
            free.insert((col, row));
        }
    }

    fn fixed(&mut self, _: Fix, row: usize, _: i64) -> Result<(), Error> {
        self.rows = self.rows.max(row + 1);
        Ok(())
    }

    fn fixed_field(&mut self, _: Fix, row: usize, _: Fr) -> Result<(), Error> {
        self.rows = self.rows.max(row + 1);
        Ok(())
    }

    fn enable(&mut self, _: Sel, row: usize) -> Result<(), Error> {
        self.rows = self.rows.max(row + 1);
        Ok(())
    }

    fn copy(&mut self, a: &AdvCell, b: &AdvCell) -> Result<(), Error> {
        if let Some(c) = &mut self.copies {
            c.push((*a, *b));
        }
        Ok(())
    }

    fn expose(&mut self, _: &AdvCell, _: usize) -> Result<(), Error> {
        Ok(())
    }

    fn constant(&mut self, _: &AdvCell, _: Fr) -> Result<(), Error> {
        Ok(())
    }

    fn next_phase(&mut self) {}

    fn challenge(&self) -> Option<Fr> {
        None
    }
}

#[cfg(test)]
thread_local! {
    /// Tests of the audit: a selector the circuit forgets to enable at one row (the classic
    /// under-constraint), which the audit must find.
    pub(crate) static SKIP_ENABLE: std::cell::RefCell<Option<(Sel, usize)>> =
        const { std::cell::RefCell::new(None) };
    /// Tests of the audit: a fixed cell the circuit writes as 0 at one row (a lookup it
    /// forgets to enable: `mul_b` and `tag_b` at 0 turn lookup B off there).
    pub(crate) static SKIP_FIXED: std::cell::RefCell<Vec<(Fix, usize)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// A deliberate change of one advice value, for negative tests of the chips.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tamper {
    pub col: Adv,
    pub row: usize,
    pub value: i64,
}

/// Assigns into one halo2 region.
pub struct RegionGrid<'a, 'r> {
    pub region: &'a mut Region<'r, Fr>,
    pub config: &'a ModelConfig,
    /// `(cell, instance index)` to constrain after the region is done.
    pub exposed: Vec<(Cell, usize)>,
    pub tamper: Vec<Tamper>,
}

impl RegionGrid<'_, '_> {
    fn freivalds(&self) -> Result<&FreivaldsConfig, Error> {
        self.config.freivalds.as_ref().ok_or(Error::Synthesis)
    }

    fn fixed_weights(&self) -> Result<&FixedWeightsConfig, Error> {
        self.freivalds()?.fixed.as_ref().ok_or(Error::Synthesis)
    }

    fn poseidon(&self) -> Result<&PoseidonConfig, Error> {
        self.config.poseidon.as_ref().ok_or(Error::Synthesis)
    }

    fn advice_col(&self, col: Adv) -> Result<Column<Advice>, Error> {
        Ok(match col {
            Adv::X(i) => self.config.x[i],
            Adv::Acc => self.config.acc,
            Adv::Q => self.config.q,
            Adv::R => self.config.r,
            Adv::F => self.config.f,
            Adv::H => self.freivalds()?.h,
            Adv::V => self.freivalds()?.v,
            Adv::HW => self.fixed_weights()?.h,
        })
    }

    fn fixed_col(&self, col: Fix) -> Result<Column<Fixed>, Error> {
        Ok(match col {
            Fix::W(i) => self.config.w[i],
            Fix::WF(i) => *self.fixed_weights()?.w.get(i).ok_or(Error::Synthesis)?,
            Fix::ChainW => self.fixed_weights()?.chain,
            Fix::C => self.config.c,
            Fix::Chain => self.config.chain,
            Fix::Pow => self.config.pow,
            Fix::Half => self.config.half,
            Fix::TagA => self.config.tag_a,
            Fix::TagB => self.config.tag_b,
            Fix::MulB => self.config.mul_b,
            Fix::Cmax => self.config.cmax,
            Fix::SatLo => self.config.half,
            Fix::SatHi => self.config.cmax,
        })
    }

    fn selector(&self, sel: Sel) -> Result<Selector, Error> {
        Ok(match sel {
            Sel::Dot => self.config.s_dot,
            Sel::Arith => self.config.s_arith,
            Sel::Rescale => self.config.s_rescale,
            Sel::Div => self.config.s_div,
            Sel::Clamp => self.config.s_clamp,
            Sel::Range(n) => *n
                .checked_sub(1)
                .and_then(|i| self.config.s_range.get(i))
                .ok_or(Error::Synthesis)?,
            Sel::Relu => self.config.s_relu,
            Sel::Bool => self.config.s_bool.ok_or(Error::Synthesis)?,
            Sel::Sat => self.config.s_sat,
            Sel::SatLine => self.config.s_sat_line.ok_or(Error::Synthesis)?,
            Sel::EnA => self.config.en_a,
            Sel::Horner => self.freivalds()?.s_horner,
            Sel::HornerAcc => self.freivalds()?.s_horner_acc,
            Sel::HornerFixed => self.fixed_weights()?.s_horner,
            Sel::FDot => self.freivalds()?.s_fdot,
            Sel::PoseidonFull => self.poseidon()?.s_full,
            Sel::PoseidonPartial => self.poseidon()?.s_partial,
        })
    }
}

impl Grid for RegionGrid<'_, '_> {
    type Cell = Cell;

    fn advice(&mut self, col: Adv, row: usize, v: Option<i64>) -> Result<Cell, Error> {
        let v = match self.tamper.iter().find(|t| t.col == col && t.row == row) {
            Some(t) => Some(t.value),
            None => v,
        };
        let value = v.map_or_else(Value::unknown, |v| Value::known(fe(v)));
        let column = self.advice_col(col)?;
        Ok(self.region.assign_advice(column, row, value).cell())
    }

    fn advice_field(&mut self, col: Adv, row: usize, v: Option<Fr>) -> Result<Cell, Error> {
        let v = match self.tamper.iter().find(|t| t.col == col && t.row == row) {
            Some(t) => Some(fe(t.value)),
            None => v,
        };
        let value = v.map_or_else(Value::unknown, Value::known);
        let column = self.advice_col(col)?;
        Ok(self.region.assign_advice(column, row, value).cell())
    }

    fn fixed(&mut self, col: Fix, row: usize, v: i64) -> Result<(), Error> {
        #[cfg(test)]
        let v = match SKIP_FIXED.with(|s| s.borrow().contains(&(col, row))) {
            true => 0,
            false => v,
        };
        let column = self.fixed_col(col)?;
        self.region.assign_fixed(column, row, fe(v));
        Ok(())
    }

    fn fixed_field(&mut self, col: Fix, row: usize, v: Fr) -> Result<(), Error> {
        let column = self.fixed_col(col)?;
        self.region.assign_fixed(column, row, v);
        Ok(())
    }

    fn enable(&mut self, sel: Sel, row: usize) -> Result<(), Error> {
        #[cfg(test)]
        if SKIP_ENABLE.with(|s| *s.borrow() == Some((sel, row))) {
            return Ok(());
        }
        self.selector(sel)?.enable(self.region, row)
    }

    fn copy(&mut self, a: &Cell, b: &Cell) -> Result<(), Error> {
        self.region.constrain_equal(*a, *b);
        Ok(())
    }

    fn expose(&mut self, cell: &Cell, index: usize) -> Result<(), Error> {
        self.exposed.push((*cell, index));
        Ok(())
    }

    fn constant(&mut self, cell: &Cell, v: Fr) -> Result<(), Error> {
        self.region.constrain_constant(*cell, v)
    }

    fn next_phase(&mut self) {
        self.region.next_phase();
    }

    fn challenge(&self) -> Option<Fr> {
        let mut out = None;
        if let Some(f) = &self.config.freivalds {
            self.region
                .get_challenge(f.challenge)
                .map(|v| out = Some(v));
        }
        out
    }
}
