//! The audit's dry run: the layout's cells, values, copies and owners (from [`DryRun`]), and
//! beside them what the audit needs to build mutations that keep a gate's identity true and
//! to state its coverage: the selectors enabled per row, the `pow` column (a rescale's `2^s`,
//! a division's `2^o`) and the cells constrained to public instances.

use std::collections::HashMap;

use halo2_axiom::halo2curves::bn256::Fr;
use halo2_axiom::plonk::Error;

use crate::grid::{Adv, AdvCell, DryRun, Fix, Grid, Sel};

#[derive(Debug)]
pub(super) struct Recorder {
    pub dry: DryRun,
    /// Every `(selector, row)` enabled.
    pub enabled: Vec<(Sel, usize)>,
    /// The `pow` column per row.
    pub pow: HashMap<usize, i64>,
    /// `(cell, instance index)` for every exposed cell.
    pub exposed: Vec<(AdvCell, usize)>,
}

impl Recorder {
    pub fn new() -> Self {
        Self {
            dry: DryRun {
                copies: Some(Vec::new()),
                values: Some(HashMap::new()),
                owners: Some(HashMap::new()),
                free: Some(Default::default()),
                ..DryRun::default()
            },
            enabled: Vec::new(),
            pow: HashMap::new(),
            exposed: Vec::new(),
        }
    }
}

impl Grid for Recorder {
    type Cell = AdvCell;

    fn advice(&mut self, col: Adv, row: usize, v: Option<i64>) -> Result<AdvCell, Error> {
        self.dry.advice(col, row, v)
    }

    fn advice_field(&mut self, col: Adv, row: usize, v: Option<Fr>) -> Result<AdvCell, Error> {
        self.dry.advice_field(col, row, v)
    }

    fn fixed(&mut self, col: Fix, row: usize, v: i64) -> Result<(), Error> {
        if col == Fix::Pow {
            self.pow.insert(row, v);
        }
        self.dry.fixed(col, row, v)
    }

    fn fixed_field(&mut self, col: Fix, row: usize, v: Fr) -> Result<(), Error> {
        self.dry.fixed_field(col, row, v)
    }

    fn enable(&mut self, sel: Sel, row: usize) -> Result<(), Error> {
        self.enabled.push((sel, row));
        self.dry.enable(sel, row)
    }

    fn copy(&mut self, a: &AdvCell, b: &AdvCell) -> Result<(), Error> {
        self.dry.copy(a, b)
    }

    fn expose(&mut self, cell: &AdvCell, index: usize) -> Result<(), Error> {
        self.exposed.push((*cell, index));
        self.dry.expose(cell, index)
    }

    fn constant(&mut self, cell: &AdvCell, v: Fr) -> Result<(), Error> {
        self.dry.constant(cell, v)
    }

    fn next_phase(&mut self) {
        self.dry.next_phase()
    }

    fn challenge(&self) -> Option<Fr> {
        self.dry.challenge()
    }

    fn owner(&mut self, node: usize, what: &'static str) {
        self.dry.owner(node, what)
    }

    fn free(&mut self, col: Adv, row: usize) {
        self.dry.free(col, row)
    }
}

/// The rows a gate enabled at row `j` reads (its rotations), for coverage.
pub(super) fn span(sel: Sel) -> usize {
    match sel {
        Sel::Range(n) => n.max(1),
        Sel::Dot | Sel::Relu | Sel::Sat | Sel::Horner | Sel::HornerAcc | Sel::HornerFixed => 2,
        Sel::FDot | Sel::PoseidonFull | Sel::PoseidonPartial => 2,
        Sel::SatLine => 3,
        Sel::Arith | Sel::Rescale | Sel::Div | Sel::Clamp | Sel::Bool | Sel::EnA => 1,
    }
}

/// The gate's kind (`Range(2)` is one kind per limb count).
pub(super) fn gate_name(sel: Sel) -> String {
    format!("{sel:?}")
}
