//! The model circuit: the lookup table, then the whole graph in one region.

use std::sync::Arc;

use halo2_axiom::circuit::{Layouter, SimpleFloorPlanner, Value};
use halo2_axiom::halo2curves::bn256::Fr;
use halo2_axiom::plonk::{Circuit, ConstraintSystem, Error};
use zkinfer_ir::{Graph, Packing, TableBounds, Trace};

use crate::config::{CircuitParams, ModelConfig};
use crate::grid::{fe, RegionGrid, Tamper};
use crate::layout::lay_out_with;
use crate::poseidon;
use crate::table::TableSet;

/// A quantized model as a halo2 circuit. Without a trace it is the shape used for key
/// generation; with one it carries the witness.
#[derive(Clone, Debug)]
pub struct ModelCircuit {
    pub graph: Arc<Graph>,
    pub tables: TableSet,
    pub params: CircuitParams,
    pub trace: Option<Arc<Trace>>,
    /// Negative tests and the audit only: advice values replaced after the honest layout
    /// computed them. Set through [`ModelCircuit::tampered`], which production builds lack.
    pub(crate) tamper: Vec<Tamper>,
}

impl ModelCircuit {
    /// The circuit's limb width is the table's (`params.limb_bits` is set from it).
    pub fn new(graph: Arc<Graph>, table: &TableBounds, params: CircuitParams) -> Self {
        let tables = TableSet::for_graph(&graph, table);
        let params = CircuitParams {
            limb_bits: table.limbs(),
            ..params
        };
        Self {
            graph,
            tables,
            params,
            trace: None,
            tamper: Vec::new(),
        }
    }

    pub fn with_trace(mut self, trace: Arc<Trace>) -> Self {
        self.trace = Some(trace);
        self
    }

    /// Negative tests only: this circuit with `tamper`'s advice values replaced after the
    /// honest layout computed them, a forged witness for the MockProver. Compiled in for this
    /// crate's tests and with the `testing` feature (the workspace's test crate), never in the
    /// prover; the audit sets the same cells from inside the crate.
    #[cfg(any(test, feature = "testing"))]
    pub fn tampered(mut self, tamper: Vec<Tamper>) -> Self {
        self.tamper = tamper;
        self
    }

    /// The public instance column for `trace`: inputs then outputs.
    pub fn instances(graph: &Graph, trace: &Trace) -> Vec<Fr> {
        Self::public_values(graph, trace)
            .into_iter()
            .map(fe)
            .collect()
    }

    /// The instance column for `trace` in the circuit with `params`: the public values packed
    /// by `packing` (`None`: one instance per value), a committed side as its Poseidon
    /// commitment; `None` when a value lies outside the packing's domain.
    pub fn instances_for(
        graph: &Graph,
        trace: &Trace,
        table: &TableBounds,
        params: CircuitParams,
        packing: Option<Packing>,
    ) -> Option<Vec<Fr>> {
        if let Some(p) = packing {
            let values = Self::public_values(graph, trace);
            return Some(p.pack(&values)?.into_iter().map(Fr::from_raw).collect());
        }
        let side = |ids: &[usize], committed: bool, packed: bool| -> Option<Vec<Fr>> {
            let values: Vec<i64> = ids
                .iter()
                .flat_map(|&id| trace.values[id].data().iter().copied())
                .collect();
            Some(match committed {
                true => {
                    let packing = packed.then(|| Packing::for_table(table));
                    vec![poseidon::commit_boundary(&values, packing)?]
                }
                false => values.into_iter().map(fe).collect(),
            })
        };
        let mut out = side(&graph.inputs, params.commit_inputs, params.packed_inputs)?;
        out.extend(side(
            &graph.outputs,
            params.commit_outputs,
            params.packed_outputs,
        )?);
        Some(out)
    }

    fn public_values(graph: &Graph, trace: &Trace) -> Vec<i64> {
        graph
            .inputs
            .iter()
            .chain(&graph.outputs)
            .flat_map(|&id| trace.values[id].data().iter().copied())
            .collect()
    }
}

impl Circuit<Fr> for ModelCircuit {
    type Config = ModelConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = CircuitParams;

    fn without_witnesses(&self) -> Self {
        Self {
            trace: None,
            tamper: Vec::new(),
            ..self.clone()
        }
    }

    fn params(&self) -> CircuitParams {
        self.params
    }

    fn configure_with_params(
        meta: &mut ConstraintSystem<Fr>,
        params: CircuitParams,
    ) -> ModelConfig {
        ModelConfig::configure(meta, params)
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> ModelConfig {
        ModelConfig::configure(meta, CircuitParams::default())
    }

    fn synthesize(
        &self,
        config: ModelConfig,
        mut layouter: impl Layouter<Fr>,
    ) -> Result<(), Error> {
        layouter.assign_table(
            || "table",
            |mut table| {
                for (i, (tag, x, y)) in self.tables.entries().enumerate() {
                    table.assign_cell(|| "tag", config.t_tag, i, || Value::known(Fr::from(tag)))?;
                    table.assign_cell(|| "x", config.t_x, i, || Value::known(fe(x)))?;
                    table.assign_cell(|| "y", config.t_y, i, || Value::known(fe(y)))?;
                }
                Ok(())
            },
        )?;
        let exposed = layouter.assign_region(
            || "model",
            |mut region| {
                let mut grid = RegionGrid {
                    region: &mut region,
                    config: &config,
                    exposed: Vec::new(),
                    tamper: self.tamper.clone(),
                };
                lay_out_with(
                    &mut grid,
                    &self.graph,
                    self.params,
                    &self.tables,
                    self.trace.as_deref(),
                )
                .map_err(|_| Error::Synthesis)?;
                Ok(grid.exposed)
            },
        )?;
        for (cell, index) in exposed {
            layouter.constrain_instance(cell, config.instance, index);
        }
        Ok(())
    }
}
