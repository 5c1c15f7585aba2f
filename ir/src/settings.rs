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
    /// The element type: integers and booleans are read back as exact integers.
    #[serde(default, skip_serializing_if = "crate::dtype::is_float32")]
    pub dtype: crate::ElemType,
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
    /// Fixed columns per row of constant matrices' `W·r`: with them, products with constant
    /// matrices use Freivalds' check where it saves rows, the matrices in columns of their own
    /// (0: none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub weight_lanes: usize,
    /// The public values are packed several to an instance (`zkinfer compile --evm`): a
    /// verifier contract's size grows with the instance count.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub packed: bool,
    /// The circuit has the gate of GELU's line above its table (a third row in its range
    /// units): only models with GELU, since every gate adds to the Solidity verifier.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub gelu_line: bool,
    /// The circuit has the gate that makes every lane of a row 0 or 1 (one-hot selectors
    /// witnessed in their own sum's chain): only models that select by a computed index.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub booleans: bool,
    /// The circuit has `2^k` rows.
    pub k: u32,
    /// Rows the layout uses (from the planner's dry run).
    pub rows: usize,
    /// Rows of the lookup table.
    pub table_rows: usize,
    pub inputs: Vec<TensorInfo>,
    pub outputs: Vec<TensorInfo>,
    /// Where this model stands in a chain of shards (`zkinfer split`), when it is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardInfo>,
}

/// A shard's place in its chain. The shard's public inputs (unless it is the first) and its
/// public outputs (unless it is the last) are one Poseidon commitment each, so activations
/// between nodes stay off the proof and the chain is checked by matching commitments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardInfo {
    /// Position in the chain, from 0.
    pub index: usize,
    /// Shards in the chain.
    pub count: usize,
    /// Digest of the compiled model the chain was cut from.
    pub parent: String,
    /// The parent model's node after which each cut falls: `#N name` (names may repeat).
    pub cuts: Vec<String>,
    /// The inputs' values are packed (`Packing::for_table`) before hashing: they lie in the
    /// table's domain, and the circuit range-checks them.
    #[serde(default)]
    pub packed_inputs: bool,
    /// The outputs' values are packed before hashing (the next shard's `packed_inputs`).
    #[serde(default)]
    pub packed_outputs: bool,
    /// The model's input is public only as a Poseidon commitment (the first shard commits to
    /// it like an inner boundary; `split --hash-input`).
    #[serde(default)]
    pub hashed_input: bool,
}

impl ShardInfo {
    /// The inputs are a commitment: every shard but the first, and the first too when the
    /// chain hashes the model's input.
    pub fn commits_inputs(&self) -> bool {
        self.index > 0 || self.hashed_input
    }

    /// The outputs are a commitment (every shard but the last).
    pub fn commits_outputs(&self) -> bool {
        self.index + 1 < self.count
    }
}

impl Settings {
    /// Whether `graph` needs the GELU line gate.
    pub fn needs_gelu_line(graph: &Graph) -> bool {
        graph
            .nodes
            .iter()
            .any(|n| matches!(&n.op, crate::op::Op::Rescale(rs) if rs.table.slope_above() != 0))
    }

    /// Whether `graph` needs the boolean-lanes gate (it selects by a computed index).
    pub fn needs_booleans(graph: &Graph) -> bool {
        graph
            .nodes
            .iter()
            .any(|n| matches!(&n.op, crate::op::Op::Select(_) | crate::op::Op::OneHot(_)))
    }

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

    /// How a shard's committed inputs (`inputs`) or outputs enter their Poseidon commitment:
    /// packed (see `ShardInfo::packed_inputs`) or `None`, one field element per value.
    pub fn commitment_packing(&self, inputs: bool) -> Option<Packing> {
        let s = self.shard.as_ref()?;
        let packed = if inputs {
            s.packed_inputs
        } else {
            s.packed_outputs
        };
        packed.then(|| Packing::for_table(&self.table))
    }

    /// The inputs are one Poseidon commitment (an inner shard's inputs).
    pub fn commits_inputs(&self) -> bool {
        self.shard.as_ref().is_some_and(ShardInfo::commits_inputs)
    }

    /// The outputs are one Poseidon commitment (an inner shard's outputs).
    pub fn commits_outputs(&self) -> bool {
        self.shard.as_ref().is_some_and(ShardInfo::commits_outputs)
    }

    /// Public instance count: the values, or their packed elements; a committed side is one
    /// instance.
    pub fn instance_len(&self) -> usize {
        let side = |infos: &[TensorInfo], committed: bool| {
            if committed {
                1
            } else {
                infos.iter().map(TensorInfo::len).sum()
            }
        };
        match self.packing() {
            Some(p) => p.len(self.value_len()),
            None => {
                side(&self.inputs, self.commits_inputs())
                    + side(&self.outputs, self.commits_outputs())
            }
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
                        dtype: n.dtype,
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

fn is_zero(v: &usize) -> bool {
    *v == 0
}
