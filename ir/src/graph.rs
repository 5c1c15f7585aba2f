//! The quantized graph: nodes in topological order, each producing one tensor with a scale
//! (fractional bits) and a bit bound.

use serde::{Deserialize, Serialize};

use crate::dtype::ElemType;
use crate::op::Op;
use crate::tensor::{strides, transpose_indices};
use crate::IrError;

/// Index of a node in [`Graph::nodes`]; a node's index is also the id of the tensor it makes.
pub type NodeId = usize;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// The ONNX node (or graph input) this node comes from, for errors and reports.
    pub name: String,
    pub op: Op,
    pub inputs: Vec<NodeId>,
    pub shape: Vec<usize>,
    /// Fractional bits: the float value is `q / 2^scale`.
    pub scale: u32,
    /// Every value `q` satisfies `|q| < 2^bound`.
    pub bound: u32,
    /// The ONNX element type: integers and booleans are exact, and a value outside the type's
    /// range is refused (never wrapped).
    #[serde(default, skip_serializing_if = "crate::dtype::is_float32")]
    pub dtype: ElemType,
}

impl Node {
    /// Elements of the shape (saturating: a malformed shape is refused by the checks).
    pub fn len(&self) -> usize {
        self.shape
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d))
            .unwrap_or(usize::MAX)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Graph {
    pub nodes: Vec<Node>,
    /// `Input` nodes, in graph-input order.
    pub inputs: Vec<NodeId>,
    /// Output nodes, in graph-output order.
    pub outputs: Vec<NodeId>,
    /// ONNX names of the graph inputs and outputs.
    pub input_names: Vec<String>,
    pub output_names: Vec<String>,
}

impl Graph {
    /// Checks the structural invariants the evaluator and the circuit rely on.
    pub fn check(&self) -> Result<(), IrError> {
        for (id, node) in self.nodes.iter().enumerate() {
            let bad = |reason: String| IrError::InvalidNode {
                node: node.name.clone(),
                reason,
            };
            if let Some(&i) = node.inputs.iter().find(|&&i| i >= id) {
                return Err(bad(format!("input {i} is not computed before it")));
            }
            if node.bound > crate::MAX_BOUND_BITS {
                return Err(bad(format!(
                    "values may need {} bits, more than the {} bits that keep the field from wrapping",
                    node.bound,
                    crate::MAX_BOUND_BITS
                )));
            }
        }
        for &o in self.inputs.iter().chain(&self.outputs) {
            if o >= self.nodes.len() {
                return Err(IrError::InvalidNode {
                    node: format!("#{o}"),
                    reason: "graph input/output refers to no node".into(),
                });
            }
        }
        Ok(())
    }

    /// For an index-map node (Reshape, Transpose, Concat, Gather, Remap), where each output element
    /// comes from: `(input position, flat index in that input)`. `None` for other ops.
    pub fn index_map(&self, id: NodeId) -> Option<Vec<(usize, usize)>> {
        let node = &self.nodes[id];
        let shapes: Vec<&[usize]> = node
            .inputs
            .iter()
            .map(|&i| self.nodes[i].shape.as_slice())
            .collect();
        index_map(&node.op, &shapes, &node.shape)
    }

    /// Total constant parameters.
    pub fn param_count(&self) -> usize {
        self.nodes.iter().map(|n| n.op.param_count()).sum()
    }
}

/// For an index-map op (Reshape, Transpose, Concat, Gather) with inputs of `in_shapes`, where
/// each output element comes from: `(input position, flat index in that input)`. `None` for
/// other ops.
pub fn index_map(
    op: &Op,
    in_shapes: &[&[usize]],
    out_shape: &[usize],
) -> Option<Vec<(usize, usize)>> {
    let len: usize = out_shape.iter().product();
    match op {
        Op::Reshape => Some((0..len).map(|i| (0, i)).collect()),
        Op::Transpose(t) => Some(
            transpose_indices(in_shapes[0], &t.perm)
                .into_iter()
                .map(|i| (0, i))
                .collect(),
        ),
        Op::Concat(c) => {
            let out_strides = strides(out_shape);
            let mut map = Vec::with_capacity(len);
            for flat in 0..len {
                let coords: Vec<usize> = out_strides
                    .iter()
                    .zip(out_shape)
                    .map(|(s, d)| (flat / s) % d)
                    .collect();
                let mut along = coords[c.axis];
                let mut which = 0;
                while which + 1 < in_shapes.len() && along >= in_shapes[which][c.axis] {
                    along -= in_shapes[which][c.axis];
                    which += 1;
                }
                let is = strides(in_shapes[which]);
                let idx = coords
                    .iter()
                    .enumerate()
                    .map(|(a, &x)| if a == c.axis { along } else { x } * is[a])
                    .sum();
                map.push((which, idx));
            }
            Some(map)
        }
        Op::Remap(r) => Some(r.map.clone()),
        Op::Gather(g) => {
            let shape = in_shapes[0];
            let outer: usize = shape[..g.axis].iter().product();
            let inner: usize = shape[g.axis + 1..].iter().product();
            let mut map = Vec::with_capacity(len);
            for o in 0..outer {
                for &ix in &g.indices {
                    for i in 0..inner {
                        map.push((0, (o * shape[g.axis] + ix) * inner + i));
                    }
                }
            }
            Some(map)
        }
        Op::Input(_)
        | Op::Dense(_)
        | Op::Binary(_)
        | Op::Affine(_)
        | Op::Rescale(_)
        | Op::Softmax(_)
        | Op::Linear(_)
        | Op::Max(_)
        | Op::ArgMax(_)
        | Op::Div(_)
        | Op::Mean(_)
        | Op::IntDiv(_)
        | Op::Select(_)
        | Op::TopK(_)
        | Op::OneHot(_)
        | Op::MatMul => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::Input;

    #[test]
    fn a_node_whose_values_could_wrap_the_field_is_refused_by_name() {
        let node = |name: &str, bound: u32| Node {
            name: name.into(),
            op: Op::Input(Input { index: 0 }),
            inputs: vec![],
            shape: vec![1],
            scale: 0,
            bound,
            dtype: Default::default(),
        };
        let mut g = Graph {
            nodes: vec![node("x", 8)],
            inputs: vec![0],
            outputs: vec![0],
            input_names: vec!["x".into()],
            output_names: vec!["x".into()],
        };
        assert!(g.check().is_ok());
        g.nodes[0] = node("huge_matmul", crate::MAX_BOUND_BITS + 1);
        let err = g.check().unwrap_err().to_string();
        assert!(
            err.contains("huge_matmul") && err.contains("wrapping"),
            "{err}"
        );
    }
}
