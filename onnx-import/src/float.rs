//! The float graph the importer builds, and its evaluator (used for calibration and for
//! measuring quantization error).

use zkinfer_ir::{
    broadcast_indices, index_map, BinaryKind, DenseTerms, ElemType, MapFn, MatMulDims, Op, Tensor,
    WeightSide,
};

use crate::ImportError;

/// A float operation. Index-map ops (Reshape, Transpose, Concat, Gather) are already the IR's
/// own variants.
#[derive(Clone, Debug, PartialEq)]
pub enum FloatOp {
    Input(usize),
    Dense {
        weight: Tensor<f64>,
        side: WeightSide,
        bias: Option<Tensor<f64>>,
    },
    Binary(BinaryKind),
    /// `x · mul + add`, both expanded to the output shape.
    Affine {
        mul: Tensor<f64>,
        add: Tensor<f64>,
    },
    Relu,
    Sigmoid,
    /// Along the last axis; elements where the mask is true are −∞ (an empty mask: none).
    Softmax(Vec<bool>),
    /// Reshape, Transpose, Concat or Gather.
    IndexMap(Op),
    /// Term-by-term linear map: per output, `(input index, weight)` and a bias.
    Linear {
        terms: Vec<Vec<(usize, f64)>>,
        bias: Vec<f64>,
    },
    /// Maximum over each window of input indices.
    Max(Vec<Vec<usize>>),
    /// Position of the maximum within each window.
    ArgMax {
        windows: Vec<Vec<usize>>,
        last: bool,
    },
    /// Elementwise `a / b` of two computed tensors, broadcast.
    Div,
    /// `A · B` of two computed tensors (numpy `matmul`).
    MatMul,
    /// Elementwise division by constant positive counts (averages).
    Mean(Vec<usize>),
    /// An elementwise float function, computed by table.
    Map(MapFn),
    /// `1` where `x < 0`, else `0`.
    Negative,
    /// `min(max(x, lo), hi)`.
    Clip {
        lo: f64,
        hi: f64,
    },
    /// ONNX's integer division of two computed tensors, broadcast: the quotient truncated
    /// toward zero (or, with `floor`, rounded toward −∞), or with `remainder` the remainder
    /// `a − q·b`. On floats it is `fmod`'s remainder.
    IntDiv {
        floor: bool,
        remainder: bool,
    },
    /// A float truncated toward zero to an integer (`Cast` to an integer type).
    ToInt,
    /// The positions of the top `k` of each window (`[windows, k]`, int64).
    TopK(zkinfer_ir::TopK),
    /// `Where(c, x, y)` with a computed condition `c` (0/1): `y + c·(x − y)`, broadcast.
    Where,
    /// Selection by a computed index (input 0, one per output element): per element, the
    /// candidates `(index value, what it picks)`; `Pick::Data` reads input 1.
    Select {
        /// Per output element, the element of input 0 holding its index.
        index: Vec<usize>,
        choices: Vec<Vec<(i64, Pick)>>,
    },
    /// One-hot rows `[.., depth]` of an integer index (input 0); see `Op::OneHot`.
    OneHot {
        depth: usize,
    },
    /// `⌊x⌋`, or with `ceil` `⌈x⌉`: integer-valued floats.
    Floor {
        ceil: bool,
    },
}

/// What a selection candidate picks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pick {
    Const(f64),
    /// Element `i` (flat) of the selected tensor.
    Data(usize),
}

#[derive(Clone, Debug, PartialEq)]
pub struct FloatNode {
    pub name: String,
    pub op: FloatOp,
    pub inputs: Vec<usize>,
    pub shape: Vec<usize>,
    /// The element type (ONNX's for the values the model names; intermediates of integer
    /// arithmetic are `int64`).
    pub dtype: ElemType,
}

impl FloatNode {
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

/// An imported model before quantization.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FloatGraph {
    pub nodes: Vec<FloatNode>,
    pub inputs: Vec<usize>,
    pub outputs: Vec<usize>,
    pub input_names: Vec<String>,
    pub output_names: Vec<String>,
    /// The symbolic input dimensions import fixed, and how.
    pub fixed: Vec<crate::FixedDim>,
}

impl FloatGraph {
    pub fn push(&mut self, node: FloatNode) -> usize {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    /// Drops the nodes no graph output depends on (a fused node's leftovers), keeping every
    /// graph input.
    pub fn prune(&mut self) {
        let mut live = vec![false; self.nodes.len()];
        for &i in self.outputs.iter().chain(&self.inputs) {
            live[i] = true;
        }
        for id in (0..self.nodes.len()).rev() {
            if live[id] {
                for &i in &self.nodes[id].inputs {
                    live[i] = true;
                }
            }
        }
        let mut new_id = vec![usize::MAX; self.nodes.len()];
        let mut kept = Vec::with_capacity(self.nodes.len());
        for (id, node) in std::mem::take(&mut self.nodes).into_iter().enumerate() {
            if live[id] {
                new_id[id] = kept.len();
                kept.push(node);
            }
        }
        for node in kept.iter_mut() {
            for i in node.inputs.iter_mut() {
                *i = new_id[*i];
            }
        }
        self.nodes = kept;
        for i in self.inputs.iter_mut().chain(self.outputs.iter_mut()) {
            *i = new_id[*i];
        }
    }

    /// How many nodes (and graph outputs) read each node.
    pub fn consumers(&self) -> Vec<usize> {
        let mut uses = vec![0; self.nodes.len()];
        for n in &self.nodes {
            for &i in &n.inputs {
                uses[i] += 1;
            }
        }
        for &o in &self.outputs {
            uses[o] += 1;
        }
        uses
    }

    /// Evaluates every node on float inputs (flat, row-major, one per graph input).
    pub fn eval(&self, inputs: &[Vec<f32>]) -> Result<Vec<Vec<f64>>, ImportError> {
        if inputs.len() != self.inputs.len() {
            return Err(ImportError::Input {
                name: "<inputs>".into(),
                reason: format!(
                    "the model takes {} inputs but {} were given",
                    self.inputs.len(),
                    inputs.len()
                ),
            });
        }
        let mut values: Vec<Vec<f64>> = Vec::with_capacity(self.nodes.len());
        for node in &self.nodes {
            let arg = |i: usize| &values[node.inputs[i]];
            let shape = |i: usize| self.nodes[node.inputs[i]].shape.as_slice();
            let out: Vec<f64> = match &node.op {
                FloatOp::Input(i) => {
                    let given = &inputs[*i];
                    if given.len() != node.len() {
                        return Err(ImportError::Input {
                            name: node.name.clone(),
                            reason: format!(
                                "expected {} values for shape {:?}, got {}",
                                node.len(),
                                node.shape,
                                given.len()
                            ),
                        });
                    }
                    given.iter().map(|&v| v as f64).collect()
                }
                FloatOp::Dense { weight, side, bias } => {
                    let x = arg(0);
                    let rows = DenseTerms::new(weight.shape(), *side, shape(0));
                    (0..rows.len())
                        .map(|j| {
                            let b = bias.as_ref().map_or(0.0, |b| b.data()[j]);
                            rows.row(j)
                                .fold(b, |acc, (xi, wi)| acc + x[xi] * weight.data()[wi])
                        })
                        .collect()
                }
                FloatOp::Binary(kind) => {
                    let ia = broadcast_indices(shape(0), &node.shape);
                    let ib = broadcast_indices(shape(1), &node.shape);
                    ia.iter()
                        .zip(&ib)
                        .map(|(&i, &j)| binary(*kind, arg(0)[i], arg(1)[j]))
                        .collect()
                }
                FloatOp::Affine { mul, add } => arg(0)
                    .iter()
                    .zip(mul.data().iter().zip(add.data()))
                    .map(|(x, (m, a))| x * m + a)
                    .collect(),
                FloatOp::Relu => arg(0).iter().map(|v| v.max(0.0)).collect(),
                FloatOp::Sigmoid => arg(0).iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect(),
                FloatOp::Softmax(mask) => {
                    let n = node.shape.last().copied().unwrap_or(1).max(1);
                    let masked = |i: usize| mask.get(i).copied().unwrap_or(false);
                    let mut out = vec![0.0; node.len()];
                    for start in (0..node.len()).step_by(n) {
                        let kept: Vec<usize> = (start..start + n).filter(|&i| !masked(i)).collect();
                        let z: Vec<f64> = kept.iter().map(|&i| arg(0)[i]).collect();
                        for (&i, p) in kept.iter().zip(softmax(&z)) {
                            out[i] = p;
                        }
                    }
                    out
                }
                FloatOp::Linear { terms, bias } => {
                    // A linear map without an input is a constant.
                    let x: &[f64] = node.inputs.first().map_or(&[], |&i| &values[i]);
                    terms
                        .iter()
                        .zip(bias)
                        .map(|(row, &b)| row.iter().fold(b, |acc, &(xi, w)| acc + x[xi] * w))
                        .collect()
                }
                FloatOp::Max(windows) => {
                    let x = arg(0);
                    windows
                        .iter()
                        .map(|w| w.iter().map(|&i| x[i]).fold(f64::NEG_INFINITY, f64::max))
                        .collect()
                }
                FloatOp::ArgMax { windows, last } => {
                    let x = arg(0);
                    windows
                        .iter()
                        .map(|w| {
                            let mut best = 0;
                            for (k, &i) in w.iter().enumerate() {
                                let (v, b) = (x[i], x[w[best]]);
                                if v > b || (*last && v == b) {
                                    best = k;
                                }
                            }
                            best as f64
                        })
                        .collect()
                }
                FloatOp::Div => {
                    let ia = broadcast_indices(shape(0), &node.shape);
                    let ib = broadcast_indices(shape(1), &node.shape);
                    ia.iter()
                        .zip(&ib)
                        .map(|(&i, &j)| arg(0)[i] / arg(1)[j])
                        .collect()
                }
                FloatOp::MatMul => {
                    let dims = MatMulDims::new(shape(0), shape(1)).map_err(|reason| {
                        ImportError::Input {
                            name: node.name.clone(),
                            reason,
                        }
                    })?;
                    dims.terms()
                        .iter()
                        .map(|row| row.iter().map(|&(i, j)| arg(0)[i] * arg(1)[j]).sum())
                        .collect()
                }
                FloatOp::Mean(counts) => arg(0)
                    .iter()
                    .zip(counts)
                    .map(|(&v, &n)| v / n as f64)
                    .collect(),
                FloatOp::Map(g) => arg(0).iter().map(|&v| g.apply(v)).collect(),
                FloatOp::Negative => arg(0)
                    .iter()
                    .map(|&v| f64::from(u8::from(v < 0.0)))
                    .collect(),
                FloatOp::Clip { lo, hi } => arg(0).iter().map(|v| v.max(*lo).min(*hi)).collect(),
                FloatOp::IntDiv { floor, remainder } => {
                    let ia = broadcast_indices(shape(0), &node.shape);
                    let ib = broadcast_indices(shape(1), &node.shape);
                    let mut out = Vec::with_capacity(ia.len());
                    for (&i, &j) in ia.iter().zip(&ib) {
                        let (a, b) = (arg(0)[i], arg(1)[j]);
                        if b == 0.0 {
                            return Err(ImportError::Input {
                                name: node.name.clone(),
                                reason: "integer division by zero".into(),
                            });
                        }
                        let q = if *floor {
                            (a / b).floor()
                        } else {
                            (a / b).trunc()
                        };
                        out.push(if *remainder { a - q * b } else { q });
                    }
                    out
                }
                FloatOp::ToInt => arg(0).iter().map(|v| v.trunc()).collect(),
                FloatOp::TopK(t) => {
                    let x = arg(0);
                    let mut out = Vec::with_capacity(t.windows.len() * t.k);
                    for w in &t.windows {
                        let vals: Vec<f64> = w.iter().map(|&i| x[i]).collect();
                        out.extend(t.positions(&vals).into_iter().map(|p| p as f64));
                    }
                    out
                }
                FloatOp::Where => {
                    let ic = broadcast_indices(shape(0), &node.shape);
                    let ix = broadcast_indices(shape(1), &node.shape);
                    let iy = broadcast_indices(shape(2), &node.shape);
                    (0..node.len())
                        .map(|o| match arg(0)[ic[o]] != 0.0 {
                            true => arg(1)[ix[o]],
                            false => arg(2)[iy[o]],
                        })
                        .collect()
                }
                FloatOp::Select { index, choices } => {
                    let data: &[f64] = node.inputs.get(1).map_or(&[], |&i| &values[i]);
                    let mut out = Vec::with_capacity(choices.len());
                    for (o, c) in choices.iter().enumerate() {
                        let idx = arg(0)[index[o]];
                        let hit = c.iter().find(|(k, _)| *k as f64 == idx).ok_or_else(|| {
                            ImportError::Input {
                                name: node.name.clone(),
                                reason: format!("index {idx} of element {o} selects no position"),
                            }
                        })?;
                        out.push(match hit.1 {
                            Pick::Const(v) => v,
                            Pick::Data(i) => data[i],
                        });
                    }
                    out
                }
                FloatOp::OneHot { depth } => {
                    let mut out = vec![0.0; arg(0).len() * depth];
                    for (p, &k) in arg(0).iter().enumerate() {
                        if k < 0.0 || k >= *depth as f64 || k.fract() != 0.0 {
                            return Err(ImportError::Input {
                                name: node.name.clone(),
                                reason: format!("index {k} of element {p} is outside 0..{depth}"),
                            });
                        }
                        out[p * depth + k as usize] = 1.0;
                    }
                    out
                }
                FloatOp::Floor { ceil: false } => arg(0).iter().map(|v| v.floor()).collect(),
                FloatOp::Floor { ceil: true } => arg(0).iter().map(|v| v.ceil()).collect(),
                FloatOp::IndexMap(op) => {
                    let shapes: Vec<&[usize]> = (0..node.inputs.len()).map(shape).collect();
                    let map = index_map(op, &shapes, &node.shape).unwrap_or_default();
                    let picked: Option<Vec<f64>> = map
                        .iter()
                        .map(|&(w, i)| {
                            let from = node.inputs.get(w)?;
                            values.get(*from)?.get(i).copied()
                        })
                        .collect();
                    picked.ok_or_else(|| ImportError::Input {
                        name: node.name.clone(),
                        reason: format!(
                            "its shape {:?} does not fit its inputs' {shapes:?}: the model's shapes are inconsistent",
                            node.shape
                        ),
                    })?
                }
            };
            // Later nodes index by the declared shape: a node whose values disagree with it
            // (a malformed model) stops here, by name.
            if out.len() != node.len() {
                return Err(ImportError::Input {
                    name: node.name.clone(),
                    reason: format!(
                        "computes {} values for its shape {:?} ({} elements): the model's shapes are inconsistent",
                        out.len(),
                        node.shape,
                        node.len()
                    ),
                });
            }
            values.push(out);
        }
        Ok(values)
    }
}

pub fn binary(kind: BinaryKind, a: f64, b: f64) -> f64 {
    match kind {
        BinaryKind::Add => a + b,
        BinaryKind::Sub => a - b,
        BinaryKind::Mul => a * b,
    }
}

pub fn softmax(row: &[f64]) -> Vec<f64> {
    let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = row.iter().map(|v| (v - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}
