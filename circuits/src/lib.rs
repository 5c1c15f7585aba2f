//! halo2 circuits for zkinfer: a multi-lane dot-product gate with weights in fixed columns,
//! rescale fused with table activations, an arithmetic gate for elementwise ops, a division
//! gate for softmax, one tagged lookup table, and a cost model over a dry run of the layout.

pub mod audit;
mod chips;
mod circuit;
mod config;
mod error;
mod grid;
mod layout;
mod plan;
pub mod poseidon;
mod table;

pub use circuit::ModelCircuit;
pub use config::{
    blinding_factors, circuit_shape, column_counts, dense_freivalds_pays, needs_freivalds,
    CircuitParams, CircuitShape, FixedWeightsConfig, FreivaldsConfig, ModelConfig, PoseidonConfig,
    MIN_LANES,
};
pub use error::CircuitError;
pub use grid::{fe, Adv, AdvCell, DryRun, Grid, Tamper};
pub use layout::{
    commit_rows, instance_len, instance_len_with, lay_out, lay_out_with, sponge_rows, DenseDims,
    LayoutReport, Placement,
};
pub use plan::{
    dry_run, lane_choices, limb_choices, plan, plan_for, plan_products, plan_with, row_breakdown,
    work_at, Plan, RowPart, WeightProducts, MAX_K,
};
pub use table::TableSet;

/// The scalar field of BN254, re-exported for users of the circuit.
pub use halo2_axiom::halo2curves::bn256::Fr;
