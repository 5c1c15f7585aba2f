//! The settings that, with the graph, define a compiled model's circuit.

use serde::{Deserialize, Serialize};

use crate::graph::Graph;
use crate::packing::Packing;
use crate::table::TableBounds;

/// Name, shape and fixed-point scale of a graph input or output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TensorInfo {
    pub name: String,
    pub shape: Vec<usize>,
    /// Fractional bits.
    pub scale: u32,
    /// `|q| < 2^bound` for every value.
    pub bound: u32,
}

impl TensorInfo {
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The circuit shape and the quantization of the public tensors. Bound into the verifying key
/// through the model digest and checked by the verifier against every proof.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Extents of the lookup tables' domains.
    pub table: TableBounds,
    /// Products accumulated per row by the dot-product gate.
    pub lanes: usize,
    /// The circuit has a second phase for Freivalds' check of witnessed matrix products.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub freivalds: bool,
    /// The public values are packed several to an instance (`zkinfer compile --evm`): a
    /// verifier contract's size grows with the instance count.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub packed: bool,
    /// The circuit has `2^k` rows.
    pub k: u32,
    /// Rows the layout uses (from the planner's dry run).
    pub rows: usize,
    /// Rows of the lookup table.
    pub table_rows: usize,
    pub inputs: Vec<TensorInfo>,
    pub outputs: Vec<TensorInfo>,
}

impl Settings {
    /// Public values: every input element, then every output element.
    pub fn value_len(&self) -> usize {
        self.inputs
            .iter()
            .chain(&self.outputs)
            .map(|t| t.len())
            .sum()
    }

    /// How the public values are packed into instances, when they are.
    pub fn packing(&self) -> Option<Packing> {
        self.packed.then(|| Packing::for_table(&self.table))
    }

    /// Public instance count: the values, or their packed elements.
    pub fn instance_len(&self) -> usize {
        match self.packing() {
            Some(p) => p.len(self.value_len()),
            None => self.value_len(),
        }
    }

    /// The public tensors' descriptions as the graph has them.
    pub fn io_from_graph(graph: &Graph) -> (Vec<TensorInfo>, Vec<TensorInfo>) {
        let info = |ids: &[usize], names: &[String]| {
            ids.iter()
                .zip(names)
                .map(|(&id, name)| {
                    let n = &graph.nodes[id];
                    TensorInfo {
                        name: name.clone(),
                        shape: n.shape.clone(),
                        scale: n.scale,
                        bound: n.bound,
                    }
                })
                .collect()
        };
        (
            info(&graph.inputs, &graph.input_names),
            info(&graph.outputs, &graph.output_names),
        )
    }
}
