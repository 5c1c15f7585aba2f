//! Activation fusion: a chain of elementwise nodes that computes a known function of one
//! tensor becomes one table lookup.
//!
//! Exporters write GELU (tanh form: `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`, or the erf
//! form) and SiLU (`x·σ(x)`) as chains of Mul, Pow, Add, Tanh, Sigmoid and Erf nodes. Each
//! node of such a chain costs a rescale and a lookup over the whole tensor, and the cube's
//! table alone is wider than the GELU table. A chain is fused when
//! - every node in it is elementwise (a scalar `Affine`, a table `Map`, `Relu`, `Sigmoid`,
//!   or a `Binary`/`Div` of two tensors of its own shape),
//! - every node but the last is read only by the chain,
//! - everything it reads comes down to one tensor `x`,
//!
//! and the chain, evaluated as a function of a scalar, equals a known [`MapFn`] to within
//! float rounding on a dense grid of inputs. The test is numerical, so every operand order
//! and grouping an exporter writes is recognized, and a chain that computes something else
//! (other constants, another function) is left as it is.

use std::collections::HashMap;

use zkinfer_ir::MapFn;

use crate::float::{binary, FloatGraph, FloatOp};

/// The functions a chain may be fused into.
const CANDIDATES: [MapFn; 4] = [MapFn::GeluTanh, MapFn::Gelu, MapFn::Silu, MapFn::Mish];

/// Fuses every elementwise chain that computes one of [`CANDIDATES`]; returns how many.
/// The chains' inner nodes are left unread (`FloatGraph::prune` drops them).
pub fn fuse_activations(fg: &mut FloatGraph) -> usize {
    let mut consumers = fg.consumers();
    let mut fused = 0;
    for root in (0..fg.nodes.len()).rev() {
        if consumers[root] == 0 || scalar_fn(fg, root).is_none() {
            continue;
        }
        let Some((x, chain)) = chain(fg, root, &consumers) else {
            continue;
        };
        if chain.len() < 2 {
            continue;
        }
        let Some(g) = CANDIDATES.into_iter().find(|g| computes(fg, x, &chain, *g)) else {
            continue;
        };
        for &id in &chain {
            for &i in &fg.nodes[id].inputs {
                consumers[i] -= 1;
            }
        }
        consumers[x] += 1;
        for &id in chain.iter().filter(|&&id| id != root) {
            consumers[id] = 0;
        }
        let node = &mut fg.nodes[root];
        node.op = FloatOp::Map(g);
        node.inputs = vec![x];
        fused += 1;
    }
    fused
}

/// A node's scalar function of its inputs, when it is elementwise on tensors of its shape.
#[derive(Clone, Copy)]
enum Scalar {
    Affine(f64, f64),
    Map(MapFn),
    Relu,
    Sigmoid,
    Binary(zkinfer_ir::BinaryKind),
    Div,
}

fn scalar_fn(fg: &FloatGraph, id: usize) -> Option<Scalar> {
    let node = &fg.nodes[id];
    let same_shape = node.inputs.iter().all(|&i| fg.nodes[i].shape == node.shape);
    if !same_shape || node.inputs.is_empty() {
        return None;
    }
    match &node.op {
        FloatOp::Affine { mul, add } => {
            let (m, a) = (*mul.data().first()?, *add.data().first()?);
            let uniform = mul.data().iter().all(|&v| v == m) && add.data().iter().all(|&v| v == a);
            uniform.then_some(Scalar::Affine(m, a))
        }
        FloatOp::Map(g) => Some(Scalar::Map(*g)),
        FloatOp::Relu => Some(Scalar::Relu),
        FloatOp::Sigmoid => Some(Scalar::Sigmoid),
        FloatOp::Binary(kind) => Some(Scalar::Binary(*kind)),
        FloatOp::Div => Some(Scalar::Div),
        _ => None,
    }
}

/// The chain ending at `root`: its nodes in graph order (the root last) and the one tensor it
/// reads. A node's input joins the chain when it is elementwise and read by nobody else.
fn chain(fg: &FloatGraph, root: usize, consumers: &[usize]) -> Option<(usize, Vec<usize>)> {
    let mut nodes = vec![root];
    let mut leaf = None;
    let mut stack = vec![root];
    while let Some(id) = stack.pop() {
        for &i in &fg.nodes[id].inputs {
            let inner = consumers[i] == 1
                && !fg.outputs.contains(&i)
                && scalar_fn(fg, i).is_some()
                && !nodes.contains(&i);
            if inner {
                nodes.push(i);
                stack.push(i);
            } else if nodes.contains(&i) {
                continue;
            } else {
                match leaf {
                    None => leaf = Some(i),
                    Some(x) if x == i => {}
                    Some(_) => return None,
                }
            }
        }
    }
    nodes.sort_unstable();
    Some((leaf?, nodes))
}

/// Whether the chain, as a function of `x`'s value, is `g` on a grid over [-12, 12].
fn computes(fg: &FloatGraph, x: usize, chain: &[usize], g: MapFn) -> bool {
    let Some(&root) = chain.last() else {
        return false;
    };
    (-2400..=2400).all(|step| {
        let v = f64::from(step) * 0.005;
        let mut values: HashMap<usize, f64> = HashMap::from([(x, v)]);
        for &id in chain {
            let node = &fg.nodes[id];
            let arg = |k: usize| values[&node.inputs[k]];
            let out = match scalar_fn(fg, id) {
                Some(Scalar::Affine(m, a)) => arg(0) * m + a,
                Some(Scalar::Map(f)) => f.apply(arg(0)),
                Some(Scalar::Relu) => arg(0).max(0.0),
                Some(Scalar::Sigmoid) => 1.0 / (1.0 + (-arg(0)).exp()),
                Some(Scalar::Binary(kind)) => binary(kind, arg(0), arg(1)),
                Some(Scalar::Div) => arg(0) / arg(1),
                None => return false,
            };
            values.insert(id, out);
        }
        let (got, want) = (values[&root], g.apply(v));
        got.is_finite() && want.is_finite() && (got - want).abs() <= 1e-6 * (1.0 + want.abs())
    })
}
