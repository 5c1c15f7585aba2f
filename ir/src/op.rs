//! The closed set of quantized operations. Strings stop at the ONNX boundary: after import an
//! operation is one of these variants with typed parameters.

use serde::{Deserialize, Serialize};

use crate::table::TableFn;
use crate::tensor::Tensor;

/// A quantized operation. Every node produces one tensor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Graph input number `index`; a public instance.
    Input(Input),
    /// A product with a constant matrix, plus an optional constant bias.
    Dense(Dense),
    /// Elementwise `Add`, `Sub` or `Mul` of two witnessed tensors, with broadcasting.
    Binary(Binary),
    /// Elementwise `x · mul + add` with constant tensors.
    Affine(Affine),
    /// `f((x + 2^(shift-1)) >> shift)` with `f` a table function: rounding rescale fused with
    /// an activation.
    Rescale(Rescale),
    /// Softmax along the last axis.
    Softmax(Softmax),
    /// Same elements, new shape (Reshape, Flatten, Squeeze, Unsqueeze, Identity, Cast).
    Reshape,
    /// Axis permutation.
    Transpose(Transpose),
    /// Concatenation of all inputs along `axis`.
    Concat(Concat),
    /// Selection along `axis` with constant indices.
    Gather(Gather),
    /// Any fixed arrangement of the inputs' elements (Expand, Tile, nearest Resize,
    /// DepthToSpace, the operands of an elementwise Min/Max): per output element, the input
    /// and the flat index it copies.
    Remap(Remap),
    /// A linear map with constant weights given term by term: Conv, ConvTranspose, average
    /// pooling, means and sums, Pad.
    Linear(Linear),
    /// The maximum of each window of input elements (MaxPool, ReduceMax).
    Max(Windows),
    /// The position of the maximum within each window (ArgMax).
    ArgMax(ArgMax),
    /// Elementwise `round(a · 2^shift / b)` of two witnessed tensors, `b ≥ 1`.
    Div(Div),
    /// Elementwise `round(x / n)` by constant positive counts (averages: the division chip
    /// with a fixed divisor).
    Mean(Mean),
    /// ONNX's integer division of two witnessed tensors (broadcast): the quotient truncated
    /// toward zero or rounded toward −∞, or the remainder that goes with it. Exact; the
    /// divisor must not be 0.
    IntDiv(IntDiv),
    /// Selection by a computed index (Gather and GatherElements with indices the model
    /// computes, as tree ensembles do): per output element, the candidates `(key, value)`
    /// where the value is a constant or an element of input 1, and the output is the value
    /// whose key equals the element's index (input 0). Proven by a one-hot selector.
    Select(Select),
    /// The positions of the `k` largest (or smallest) elements of each window, in order (ties:
    /// the lower position first), as ONNX's TopK gives its indices: shape `[windows, k]`.
    TopK(TopK),
    /// One-hot rows of an integer index (input 0): output `[.., depth]`, 1 at the position the
    /// index names (each index one of `0..depth`), 0 elsewhere. Proven by a one-hot selector;
    /// an embedding lookup of a large constant table is this followed by a constant product
    /// (`Dense`), which Freivalds' check proves at about the table's size, not the size times
    /// the number of tokens.
    OneHot(OneHot),
    /// The exact product `A · B` of two witnessed tensors (numpy `matmul`: batched over the
    /// leading axes, a vector operand promoted to a matrix), proven by Freivalds' check.
    MatMul,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Input {
    pub index: usize,
}

/// Which side of the product the constant matrix stands on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightSide {
    /// `y[.., n] = Σ_k x[.., k] · W[k, n]`, `W` of shape `[k, n]`.
    Right,
    /// `y[m, n] = Σ_k W[m, k] · x[k, n]`, `W` of shape `[m, k]`, `x` of rank 2.
    Left,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dense {
    pub weight: Tensor<i64>,
    pub side: WeightSide,
    /// Bias already broadcast to the output shape.
    pub bias: Option<Tensor<i64>>,
}

impl Dense {
    /// The terms of every output element: `(flat index into x, weight)`, in accumulation order.
    /// Collects every term: for large products walk [`Dense::rows`] instead.
    pub fn terms(&self, x_shape: &[usize]) -> Vec<Vec<(usize, i64)>> {
        let rows = self.rows(x_shape);
        (0..rows.len())
            .map(|j| self.row(&rows, j).collect())
            .collect()
    }

    /// The output elements of this product with an input of shape `x_shape`, one at a time.
    pub fn rows(&self, x_shape: &[usize]) -> DenseTerms {
        DenseTerms::new(self.weight.shape(), self.side, x_shape)
    }

    /// Output element `j`'s terms: `(flat index into x, weight)`, in accumulation order.
    pub fn row<'a>(
        &'a self,
        rows: &DenseTerms,
        j: usize,
    ) -> impl Iterator<Item = (usize, i64)> + 'a {
        let w = self.weight.data();
        rows.row(j).map(move |(xi, wi)| (xi, w[wi]))
    }
}

/// The terms of a product with a constant matrix, one output element at a time: a language
/// model's head (400,000 outputs of 768 terms) would take gigabytes as a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DenseTerms {
    side: WeightSide,
    /// Output elements.
    len: usize,
    /// Terms per output element (the contracted dimension).
    k: usize,
    /// Right: `W`'s columns; Left: `x`'s columns.
    n: usize,
}

impl DenseTerms {
    pub fn new(w_shape: &[usize], side: WeightSide, x_shape: &[usize]) -> Self {
        match side {
            WeightSide::Right => {
                let (k, n) = (w_shape[0], w_shape[1]);
                let rows = x_shape.iter().product::<usize>() / k.max(1);
                Self {
                    side,
                    len: rows * n,
                    k,
                    n,
                }
            }
            WeightSide::Left => {
                let (m, k) = (w_shape[0], w_shape[1]);
                let n = x_shape.get(1).copied().unwrap_or(1);
                Self {
                    side,
                    len: m * n,
                    k,
                    n,
                }
            }
        }
    }

    /// Output elements.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Output element `j`'s terms: `(flat index into x, flat index into w)`, in accumulation
    /// order.
    pub fn row(&self, j: usize) -> impl Iterator<Item = (usize, usize)> + use<> {
        let Self { side, k, n, .. } = *self;
        let (r, c) = (j / n.max(1), j % n.max(1));
        (0..k).map(move |t| match side {
            WeightSide::Right => (r * k + t, t * n + c),
            WeightSide::Left => (t * n + c, r * k + t),
        })
    }
}

/// The terms of every output element of a product with a constant matrix of shape `w_shape`:
/// `(flat index into x, flat index into w)`, in accumulation order.
pub fn dense_terms(
    w_shape: &[usize],
    side: WeightSide,
    x_shape: &[usize],
) -> Vec<Vec<(usize, usize)>> {
    let rows = DenseTerms::new(w_shape, side, x_shape);
    (0..rows.len()).map(|j| rows.row(j).collect()).collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BinaryKind {
    /// `(a << lhs_shift) + (b << rhs_shift)`
    Add,
    /// `(a << lhs_shift) - (b << rhs_shift)`
    Sub,
    /// `a · b` (shifts unused)
    Mul,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Binary {
    pub kind: BinaryKind,
    pub lhs_shift: u32,
    pub rhs_shift: u32,
}

impl Binary {
    /// The integer result for operands `a` and `b`, or `None` on overflow.
    pub fn apply(&self, a: i64, b: i64) -> Option<i64> {
        let a_s = a.checked_mul(1i64 << self.lhs_shift)?;
        let b_s = b.checked_mul(1i64 << self.rhs_shift)?;
        match self.kind {
            BinaryKind::Add => a_s.checked_add(b_s),
            BinaryKind::Sub => a_s.checked_sub(b_s),
            BinaryKind::Mul => a.checked_mul(b),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Affine {
    /// Multiplier per output element.
    pub mul: Tensor<i64>,
    /// Addend per output element.
    pub add: Tensor<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rescale {
    /// Right shift per element; a single entry applies to every element.
    pub shifts: Vec<u32>,
    /// The function applied to the shifted value.
    pub table: TableFn,
    /// Round toward −∞ instead of to nearest: the sign of the shifted value is then the
    /// sign of the input, which comparisons rely on.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub floor: bool,
}

impl Rescale {
    /// A rescale with one shift for every element.
    pub fn uniform(shift: u32, table: TableFn) -> Self {
        Self {
            shifts: vec![shift],
            table,
            floor: false,
        }
    }

    /// The shift of element `i`.
    pub fn shift(&self, i: usize) -> u32 {
        match self.shifts.as_slice() {
            [one] => *one,
            many => many.get(i).copied().unwrap_or(0),
        }
    }

    /// `2^(shift-1)`, or 0 for no shift or a floor: the rounding offset of element `i`.
    pub fn half(&self, i: usize) -> i64 {
        match self.shift(i) {
            _ if self.floor => 0,
            0 => 0,
            s => 1i64 << (s - 1),
        }
    }

    pub fn max_shift(&self) -> u32 {
        self.shifts.iter().copied().max().unwrap_or(0)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Softmax {
    /// `ExpNeg { in_scale, out_scale }` applied to `max - x`.
    pub exp: TableFn,
    /// Fractional bits of the probabilities.
    pub out_scale: u32,
    /// Per input element, whether it is masked out (an additive attention mask of a very
    /// negative constant, i.e. −∞): its probability is exactly 0 and it takes no part in the
    /// row's maximum or sum. Empty: nothing masked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mask: Vec<bool>,
}

impl Softmax {
    /// The exponential, split in two small tables (see [`crate::ExpSplit`]).
    pub fn split(&self) -> crate::ExpSplit {
        self.exp
            .exp_split()
            .unwrap_or_else(|| crate::ExpSplit::new(0, self.out_scale))
    }

    /// Whether input element `i` is masked out.
    pub fn masked(&self, i: usize) -> bool {
        self.mask.get(i).copied().unwrap_or(false)
    }

    /// The unmasked positions of the row of length `n` starting at flat index `start`.
    pub fn kept(&self, start: usize, n: usize) -> Vec<usize> {
        (0..n).filter(|&j| !self.masked(start + j)).collect()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Transpose {
    pub perm: Vec<usize>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Concat {
    pub axis: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Gather {
    pub axis: usize,
    pub indices: Vec<usize>,
}

/// Where a selectable value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A constant (quantized at the node's scale).
    Const(i64),
    /// Element `i` (flat) of input 1.
    Data(usize),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Select {
    /// Per output element, the element of input 0 holding its index (elements that share
    /// an index and its candidate keys share one selector).
    pub index: Vec<usize>,
    /// Per output element, its candidates: the index value that picks each, and the value.
    pub choices: Vec<Vec<(i64, Source)>>,
}

impl Select {
    /// The output of element `o` for index `idx` (`data`: input 1's values), or `None` when
    /// no candidate has that key.
    pub fn apply(&self, o: usize, idx: i64, data: &[i64]) -> Option<i64> {
        self.choices[o]
            .iter()
            .find(|(k, _)| *k == idx)
            .and_then(|&(_, s)| match s {
                Source::Const(c) => Some(c),
                Source::Data(i) => data.get(i).copied(),
            })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OneHot {
    /// The length of each one-hot row: the positions an index may name.
    pub depth: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TopK {
    /// Per row, the flat input indices of its elements, in axis order.
    pub windows: Vec<Vec<usize>>,
    pub k: usize,
    /// The largest elements (otherwise the smallest).
    pub largest: bool,
}

impl TopK {
    /// The positions (within the window) of the top `k` of `values`: by value (descending
    /// for the largest), ties to the lower position.
    pub fn positions<T: PartialOrd + Copy>(&self, values: &[T]) -> Vec<usize> {
        let mut order: Vec<usize> = (0..values.len()).collect();
        order.sort_by(|&a, &b| {
            let (x, y) = (values[a], values[b]);
            let by_value = if self.largest {
                y.partial_cmp(&x)
            } else {
                x.partial_cmp(&y)
            };
            by_value
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.cmp(&b))
        });
        order.truncate(self.k);
        order
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Remap {
    /// Per output element, `(input position, flat index in that input)`.
    pub map: Vec<(usize, usize)>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Linear {
    /// Per output element, `(flat input index, weight)`.
    pub terms: Vec<Vec<(usize, i64)>>,
    /// Per output element.
    pub bias: Vec<i64>,
}

/// Per output element, the flat input indices it reads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Windows {
    pub windows: Vec<Vec<usize>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArgMax {
    /// Per output element, the input indices along the reduced axis, in order.
    pub windows: Vec<Vec<usize>>,
    /// Ties go to the last maximal position instead of the first.
    pub last: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Div {
    /// The numerator is scaled by `2^shift` before the rounded division.
    pub shift: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntDiv {
    /// Round the quotient toward −∞ (the remainder takes the divisor's sign: `Mod` with
    /// `fmod = 0`) instead of toward zero (`Div`, `Mod` with `fmod = 1`).
    pub floor: bool,
    /// Output the remainder `a − q·b` instead of the quotient `q`.
    pub remainder: bool,
}

impl IntDiv {
    /// The output for operands `a` and `b`; `None` when `b` is 0.
    pub fn apply(&self, a: i64, b: i64) -> Option<i64> {
        let (q, r) = crate::dtype::int_div(a, b, self.floor)?;
        Some(if self.remainder { r } else { q })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Mean {
    /// The divisor of each element.
    pub counts: Vec<i64>,
}

impl Op {
    /// A short name for reports.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Input(_) => "Input",
            Op::Dense(_) => "Dense",
            Op::Binary(_) => "Binary",
            Op::Affine(_) => "Affine",
            Op::Rescale(_) => "Rescale",
            Op::Softmax(_) => "Softmax",
            Op::Reshape => "Reshape",
            Op::Transpose(_) => "Transpose",
            Op::Concat(_) => "Concat",
            Op::Gather(_) => "Gather",
            Op::Remap(_) => "Remap",
            Op::Select(_) => "Select",
            Op::TopK(_) => "TopK",
            Op::OneHot(_) => "OneHot",
            Op::Linear(_) => "Linear",
            Op::Max(_) => "Max",
            Op::ArgMax(_) => "ArgMax",
            Op::Div(_) => "Div",
            Op::Mean(_) => "Mean",
            Op::IntDiv(d) if d.remainder => "Mod",
            Op::IntDiv(_) => "IntDiv",
            Op::MatMul => "MatMul",
        }
    }

    /// Number of constant parameters the operation carries.
    pub fn param_count(&self) -> usize {
        match self {
            Op::Dense(d) => d.weight.len() + d.bias.as_ref().map_or(0, |b| b.len()),
            Op::Affine(a) => a.mul.len() + a.add.len(),
            Op::Linear(l) => l.terms.iter().map(Vec::len).sum::<usize>() + l.bias.len(),
            Op::Mean(m) => m.counts.len(),
            Op::Select(s) => s.choices.iter().map(Vec::len).sum(),
            Op::Input(_)
            | Op::Binary(_)
            | Op::Rescale(_)
            | Op::Softmax(_)
            | Op::Reshape
            | Op::Transpose(_)
            | Op::Concat(_)
            | Op::Gather(_)
            | Op::Remap(_)
            | Op::Max(_)
            | Op::ArgMax(_)
            | Op::Div(_)
            | Op::IntDiv(_)
            | Op::TopK(_)
            | Op::OneHot(_)
            | Op::MatMul => 0,
        }
    }
}

/// The block structure of a product `[.., m, n] · [.., n, p]` of two tensors: per output
/// block, the blocks of `A` and `B` it multiplies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatMulDims {
    pub m: usize,
    pub n: usize,
    pub p: usize,
    /// Per output block, `(block of A, block of B)`.
    pub blocks: Vec<(usize, usize)>,
    /// The output shape, ONNX's: the broadcast batch axes, then `m` unless `A` is a vector,
    /// then `p` unless `B` is a vector.
    pub out_shape: Vec<usize>,
}

impl MatMulDims {
    /// The dimensions of `A · B` for operands of shapes `a` and `b`, or why they do not
    /// multiply.
    pub fn new(a: &[usize], b: &[usize]) -> Result<Self, String> {
        let scalar = || format!("shapes {a:?} and {b:?}: MatMul needs rank 1 or more");
        let (m, n) = match a {
            [n] => (1, *n),
            [.., m, n] => (*m, *n),
            [] => return Err(scalar()),
        };
        let (n2, p) = match b {
            [n] => (*n, 1),
            [.., n, p] => (*n, *p),
            [] => return Err(scalar()),
        };
        if n != n2 {
            return Err(format!("shapes {a:?} and {b:?} do not multiply"));
        }
        let (ab, bb) = (
            &a[..a.len().saturating_sub(2)],
            &b[..b.len().saturating_sub(2)],
        );
        let batch = crate::broadcast_shape(ab, bb)
            .ok_or_else(|| format!("batch shapes {ab:?} and {bb:?} do not broadcast"))?;
        let ia = crate::broadcast_indices(ab, &batch);
        let ib = crate::broadcast_indices(bb, &batch);
        let mut out_shape = batch;
        if a.len() > 1 {
            out_shape.push(m);
        }
        if b.len() > 1 {
            out_shape.push(p);
        }
        Ok(Self {
            m,
            n,
            p,
            blocks: ia.into_iter().zip(ib).collect(),
            out_shape,
        })
    }

    /// Flat index of `A[block][i][k]`.
    pub fn a(&self, block: usize, i: usize, k: usize) -> usize {
        (block * self.m + i) * self.n + k
    }

    /// Flat index of `B[block][k][j]`.
    pub fn b(&self, block: usize, k: usize, j: usize) -> usize {
        (block * self.n + k) * self.p + j
    }

    /// Flat index of `C[out_block][i][j]`.
    pub fn c(&self, out_block: usize, i: usize, j: usize) -> usize {
        (out_block * self.m + i) * self.p + j
    }

    /// Per output element, in order, the `(A index, B index)` pairs of its sum.
    pub fn terms(&self) -> Vec<Vec<(usize, usize)>> {
        let mut out = Vec::with_capacity(self.blocks.len() * self.m * self.p);
        for &(ba, bb) in &self.blocks {
            for i in 0..self.m {
                for j in 0..self.p {
                    out.push(
                        (0..self.n)
                            .map(|k| (self.a(ba, i, k), self.b(bb, k, j)))
                            .collect(),
                    );
                }
            }
        }
        out
    }
}
