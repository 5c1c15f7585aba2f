//! Cutting a quantized graph into shards of consecutive nodes. A cut after node `c - 1` hands
//! on every tensor made before it that a later node (or the graph's output) still needs; the
//! shard after the cut takes those tensors as its inputs, with the same scales and bounds, so
//! the chain of shards computes exactly what the whole graph computes.

use crate::graph::{Graph, Node, NodeId};
use crate::op::{Input, Op};
use crate::IrError;

/// Tensors made before `cut` (node ids `< cut`) that a node at or after `cut`, or the graph's
/// output list, still reads. In id order.
pub fn live_at(graph: &Graph, cut: usize) -> Vec<NodeId> {
    let mut live = vec![false; cut];
    for node in &graph.nodes[cut.min(graph.nodes.len())..] {
        for &i in node.inputs.iter().filter(|&&i| i < cut) {
            live[i] = true;
        }
    }
    for &o in graph.outputs.iter().filter(|&&o| o < cut) {
        live[o] = true;
    }
    (0..cut).filter(|&i| live[i]).collect()
}

/// The earliest cut point: after every graph input and the first computed node, so that the
/// first shard holds every graph input and computes something.
pub fn first_cut(graph: &Graph) -> usize {
    graph
        .nodes
        .iter()
        .rposition(|n| matches!(n.op, Op::Input(_)))
        .map_or(0, |i| i + 1)
        + 1
}

/// Checks cut points: strictly increasing, inside the graph, and each shard with at least one
/// node that is not a graph input (the first shard holds every graph input).
pub fn check_cuts(graph: &Graph, cuts: &[usize]) -> Result<(), IrError> {
    let mut prev = first_cut(graph) - 1;
    for &c in cuts {
        let name = graph
            .nodes
            .get(c.saturating_sub(1))
            .map_or_else(|| format!("#{c}"), |n| n.name.clone());
        let bad = |reason: &str| IrError::InvalidNode {
            node: name.clone(),
            reason: reason.into(),
        };
        if c < first_cut(graph) {
            return Err(bad(
                "a cut must come after every graph input and the first computed node",
            ));
        }
        if c >= graph.nodes.len() {
            return Err(bad("a cut after the last node leaves an empty shard"));
        }
        if c <= prev {
            return Err(bad(
                "cut points must be in graph order, each after the one before",
            ));
        }
        prev = c;
    }
    Ok(())
}

/// The shard of nodes `lo..hi`: its inputs are the tensors live at `lo` (the graph's own inputs
/// when `lo` is 0), its outputs those live at `hi` (the graph's outputs when `hi` is the end).
pub fn subgraph(graph: &Graph, lo: usize, hi: usize) -> Graph {
    if lo == 0 && hi >= graph.nodes.len() {
        return graph.clone();
    }
    let end = hi.min(graph.nodes.len());
    let mut map: Vec<Option<NodeId>> = vec![None; end];
    let mut nodes = Vec::new();
    let (mut inputs, mut input_names) = (Vec::new(), Vec::new());
    if lo == 0 {
        input_names = graph.input_names.clone();
    } else {
        for (index, id) in live_at(graph, lo).into_iter().enumerate() {
            let n = &graph.nodes[id];
            map[id] = Some(nodes.len());
            inputs.push(nodes.len());
            input_names.push(n.name.clone());
            nodes.push(Node {
                name: n.name.clone(),
                op: Op::Input(Input { index }),
                inputs: vec![],
                shape: n.shape.clone(),
                scale: n.scale,
                bound: n.bound,
                dtype: n.dtype,
            });
        }
    }
    for (id, node) in graph.nodes.iter().enumerate().take(end).skip(lo) {
        let mut n = node.clone();
        n.inputs = node.inputs.iter().filter_map(|&i| map[i]).collect();
        map[id] = Some(nodes.len());
        if lo == 0 && matches!(n.op, Op::Input(_)) {
            inputs.push(nodes.len());
        }
        nodes.push(n);
    }
    let (outputs, output_names) = if end >= graph.nodes.len() {
        (
            graph.outputs.iter().filter_map(|&o| map[o]).collect(),
            graph.output_names.clone(),
        )
    } else {
        live_at(graph, end)
            .into_iter()
            .filter_map(|id| Some((map[id]?, graph.nodes[id].name.clone())))
            .unzip()
    };
    if lo == 0 {
        // Graph inputs keep their graph-input order.
        inputs = graph.inputs.iter().filter_map(|&i| map[i]).collect();
    }
    Graph {
        nodes,
        inputs,
        outputs,
        input_names,
        output_names,
    }
}

/// The shards of `graph` cut at `cuts` (checked with [`check_cuts`]).
pub fn split(graph: &Graph, cuts: &[usize]) -> Result<Vec<Graph>, IrError> {
    check_cuts(graph, cuts)?;
    let bounds: Vec<usize> = std::iter::once(0)
        .chain(cuts.iter().copied())
        .chain(std::iter::once(graph.nodes.len()))
        .collect();
    let shards: Vec<Graph> = bounds
        .windows(2)
        .map(|w| subgraph(graph, w[0], w[1]))
        .collect();
    for s in &shards {
        s.check()?;
    }
    Ok(shards)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::{Affine, BinaryKind};
    use crate::tensor::Tensor;
    use crate::{eval, Binary, TableBounds};

    fn node(name: &str, op: Op, inputs: Vec<NodeId>) -> Node {
        Node {
            name: name.into(),
            op,
            inputs,
            shape: vec![2],
            scale: 0,
            bound: 20,
            dtype: Default::default(),
        }
    }

    /// x → a = 2x+1 → b = a+x (a skip connection over the cut) → c = 3b.
    fn residual() -> Graph {
        let affine = |m: i64, c: i64| {
            Op::Affine(Affine {
                mul: Tensor::new(vec![2], vec![m, m]).unwrap_or_else(|_| unreachable!()),
                add: Tensor::new(vec![2], vec![c, c]).unwrap_or_else(|_| unreachable!()),
            })
        };
        let add = Op::Binary(Binary {
            kind: BinaryKind::Add,
            lhs_shift: 0,
            rhs_shift: 0,
        });
        Graph {
            nodes: vec![
                node("x", Op::Input(Input { index: 0 }), vec![]),
                node("a", affine(2, 1), vec![0]),
                node("b", add, vec![1, 0]),
                node("c", affine(3, 0), vec![2]),
            ],
            inputs: vec![0],
            outputs: vec![3],
            input_names: vec!["x".into()],
            output_names: vec!["y".into()],
        }
    }

    #[test]
    fn a_tensor_needed_across_the_cut_is_handed_on_and_the_chain_computes_the_whole() {
        let g = residual();
        assert_eq!(live_at(&g, 2), vec![0, 1]);
        let shards = split(&g, &[2, 3]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(shards.len(), 3);
        assert_eq!(shards[1].input_names, vec!["x", "a"]);
        assert_eq!(shards[1].output_names, vec!["b"]);
        assert_eq!(shards[2].output_names, vec!["y"]);
        let table = TableBounds {
            neg: 1 << 10,
            pos: 1 << 10,
            exp: 0,
            limb_bits: 8,
        };
        let x = vec![Tensor::new(vec![2], vec![3, -4]).unwrap_or_else(|e| panic!("{e}"))];
        let whole = eval(&g, &table, &x).unwrap_or_else(|e| panic!("{e}"));
        let mut carry = x;
        for s in &shards {
            let t = eval(s, &table, &carry).unwrap_or_else(|e| panic!("{e}"));
            carry = s.outputs.iter().map(|&o| t.values[o].clone()).collect();
        }
        assert_eq!(carry[0], whole.values[3]);
    }

    #[test]
    fn cuts_out_of_order_before_the_inputs_or_at_the_end_are_refused() {
        let g = residual();
        for cuts in [&[3, 2][..], &[0], &[4], &[2, 2]] {
            assert!(split(&g, cuts).is_err(), "{cuts:?}");
        }
    }
}
