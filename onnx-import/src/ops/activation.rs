//! Relu, Sigmoid, Softmax (along the last axis) and the other elementwise functions, each a
//! table lookup fused with the rescale before it.

use zkinfer_ir::{broadcast_indices, BinaryKind, MapFn, Op, Tensor, Transpose};

use super::arith::{combine, Kind};
use super::{axis, Ctx, Value};
use crate::float::{FloatGraph, FloatNode, FloatOp};

fn unary(ctx: &mut Ctx<'_>, op: FloatOp, f: fn(f64) -> f64) -> Result<Vec<Value>, String> {
    Ok(vec![match ctx.input(0)?.clone() {
        Value::Const(t) => Value::Const(t.map(|&v| f(v))),
        Value::Node(x) => {
            let shape = ctx.graph.nodes[x].shape.clone();
            ctx.add(op, vec![x], shape)
        }
    }])
}

pub fn relu(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    unary(ctx, FloatOp::Relu, |v| v.max(0.0))
}

pub fn sigmoid(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    unary(ctx, FloatOp::Sigmoid, |v| 1.0 / (1.0 + (-v).exp()))
}

/// Softmax along any axis: along the last one directly, otherwise between two transposes
/// (free index maps) that move the axis last and back.
pub fn softmax(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let shape = ctx.shape_of(ctx.input(0)?);
    let rank = shape.len();
    let default = if ctx.opset < 13 { 1 } else { -1 };
    let ax = axis(ctx.attr_int("axis", default), rank)?;
    let x = match ctx.input(0)?.clone() {
        Value::Const(_) => return Err("softmax of a constant".into()),
        Value::Node(x) => x,
    };
    if ctx.opset < 13 && ax + 1 != rank {
        // Before opset 13 the input is flattened to 2-D at `axis`.
        let outer: usize = shape[..ax].iter().product();
        let inner: usize = shape[ax..].iter().product();
        let flat = ctx.add(FloatOp::IndexMap(Op::Reshape), vec![x], vec![outer, inner]);
        let Value::Node(f) = flat else {
            return Err("internal: reshape produced a constant".into());
        };
        let sm = ctx.add(FloatOp::Softmax(Vec::new()), vec![f], vec![outer, inner]);
        let Value::Node(s) = sm else {
            return Err("internal: softmax produced a constant".into());
        };
        return Ok(vec![ctx.add(
            FloatOp::IndexMap(Op::Reshape),
            vec![s],
            shape,
        )]);
    }
    if ax + 1 == rank {
        let mask = match ctx.single_use(0) {
            true => match attention_mask(&mut ctx.graph.nodes[x]) {
                m if m.is_empty() => summed_mask(ctx.graph, x),
                m => m,
            },
            false => Vec::new(),
        };
        return Ok(vec![ctx.add(FloatOp::Softmax(mask), vec![x], shape)]);
    }
    let mut perm: Vec<usize> = (0..rank).filter(|&a| a != ax).collect();
    perm.push(ax);
    let moved: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let mut back = vec![0; rank];
    for (i, &p) in perm.iter().enumerate() {
        back[p] = i;
    }
    let t = ctx.add(
        FloatOp::IndexMap(Op::Transpose(Transpose { perm })),
        vec![x],
        moved.clone(),
    );
    let Value::Node(t) = t else {
        return Err("internal: transpose produced a constant".into());
    };
    let sm = ctx.add(FloatOp::Softmax(Vec::new()), vec![t], moved);
    let Value::Node(sm) = sm else {
        return Err("internal: softmax produced a constant".into());
    };
    Ok(vec![ctx.add(
        FloatOp::IndexMap(Op::Transpose(Transpose { perm: back })),
        vec![sm],
        shape,
    )])
}

/// How far below its row's largest additive constant an element's constant must be to count
/// as masked out: `exp(−100)` is below every probability scale zkinfer uses.
const MASK_GAP: f64 = 100.0;

/// The largest multiplier of a computed value beside which a constant can still be a mask.
const MASK_MUL_MAX: f64 = 1e3;

/// An additive attention mask folded into the node before a last-axis Softmax (its constant
/// term, per element): elements whose constant is at least [`MASK_GAP`] below their row's
/// largest become −∞ in the Softmax, and their constant and weight are zeroed in the node, so
/// that `−10⁴` masks do not widen the circuit's tables. Returns the mask (empty: none).
fn attention_mask(node: &mut FloatNode) -> Vec<bool> {
    let n = node.shape.last().copied().unwrap_or(1).max(1);
    let (add, mul) = match &mut node.op {
        FloatOp::Affine { mul, add } => (add.data_mut(), Some(mul.data_mut())),
        FloatOp::Dense {
            bias: Some(bias), ..
        } => (bias.data_mut(), None),
        _ => return Vec::new(),
    };
    let mut mask = vec![false; add.len()];
    for (row, masked) in add.chunks(n).zip(mask.chunks_mut(n)) {
        let top = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        for (&a, m) in row.iter().zip(masked.iter_mut()) {
            *m = a < top - MASK_GAP;
        }
    }
    // A constant is a mask only beside a modest multiple of the computed value: with
    // `(x − 1) · lowest` the value decides, not the constant.
    if let Some(mul) = &mul {
        if mask
            .iter()
            .zip(mul.iter())
            .any(|(&m, w)| m && w.abs() > MASK_MUL_MAX)
        {
            return Vec::new();
        }
    }
    if !mask.contains(&true) {
        return Vec::new();
    }
    for (i, _) in mask.iter().enumerate().filter(|(_, &m)| m) {
        add[i] = 0.0;
    }
    if let Some(mul) = mul {
        for (i, _) in mask.iter().enumerate().filter(|(_, &m)| m) {
            mul[i] = 0.0;
        }
    }
    mask
}

/// Below this an additive constant is a mask (−∞, float32's lowest, −10⁹), whatever the
/// computed value it is added to.
pub const MASK_FLOOR: f64 = -1e9;

/// What a mask constant becomes when the mask itself is computed (a padding mask from the
/// `attention_mask` input: `where(mask, 0, lowest)` or `(1 − mask) · lowest`): a finite
/// fill, so that the masked scores stay inside the circuit's ranges. The Softmax's
/// exponential is exactly 0 from about 10 units below the row's maximum on (from
/// `(out_scale + 1) · ln 2`), so a masked position gets exactly zero probability, proven by
/// the exponential's table, whenever its score is less than 54 above its row's largest
/// unmasked score; a fill of float32's lowest gives onnxruntime exactly 0 the same way.
pub const MASK_FILL: f64 = -64.0;

/// `t` with every mask constant (at or below [`MASK_FLOOR`]) replaced by [`MASK_FILL`].
pub fn finite_fill(t: &Tensor<f64>) -> Tensor<f64> {
    t.map(|&v| if v <= MASK_FLOOR { MASK_FILL } else { v })
}

/// A mask inside a sum before a last-axis Softmax: `scores + (mask_input + constant)`, where
/// the constant (an Affine that only this sum reads) holds −∞ entries, as attention with both
/// a given mask and a causal one writes it. Those entries become −∞ in the Softmax and are
/// zeroed in the Affine. Returns the mask over the sum's elements (empty: none).
fn summed_mask(g: &mut FloatGraph, sum: usize) -> Vec<bool> {
    let node = &g.nodes[sum];
    if node.op != FloatOp::Binary(BinaryKind::Add) {
        return Vec::new();
    }
    let out_shape = node.shape.clone();
    for operand in node.inputs.clone() {
        let only_here = g
            .nodes
            .iter()
            .filter(|n| n.inputs.contains(&operand))
            .count()
            == 1
            && !g.outputs.contains(&operand);
        let FloatOp::Affine { add, mul } = &g.nodes[operand].op else {
            continue;
        };
        if !only_here || !add.data().iter().any(|&a| a <= MASK_FLOOR) {
            continue;
        }
        let computed = add
            .data()
            .iter()
            .zip(mul.data())
            .any(|(&a, w)| a <= MASK_FLOOR && w.abs() > MASK_MUL_MAX);
        if computed {
            continue;
        }
        let from = broadcast_indices(&g.nodes[operand].shape, &out_shape);
        let mask: Vec<bool> = from.iter().map(|&i| add.data()[i] <= MASK_FLOOR).collect();
        if let FloatOp::Affine { add, .. } = &mut g.nodes[operand].op {
            add.data_mut()
                .iter_mut()
                .filter(|a| **a <= MASK_FLOOR)
                .for_each(|a| *a = 0.0);
        }
        return mask;
    }
    Vec::new()
}

fn map(ctx: &mut Ctx<'_>, g: MapFn) -> Result<Vec<Value>, String> {
    Ok(vec![match ctx.input(0)?.clone() {
        Value::Const(t) => Value::Const(t.map(|&v| g.apply(v))),
        Value::Node(x) => {
            let shape = ctx.graph.nodes[x].shape.clone();
            ctx.add(FloatOp::Map(g), vec![x], shape)
        }
    }])
}

pub fn tanh(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    map(ctx, MapFn::Tanh)
}

pub fn exp(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    map(ctx, MapFn::Exp)
}

/// `Sqrt`. Of `v + ε` (an exported normalization's `Add(variance, eps)`, read by this node
/// alone, ε a positive constant): one table of `sqrt(v + ε)` never below one unit, since ε
/// itself is usually below the activations' resolution and a zero variance is normal.
pub fn sqrt(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    if let Value::Node(x) = *ctx.input(0)? {
        let node = &ctx.graph.nodes[x];
        if let (FloatOp::Affine { mul, add }, true) = (&node.op, ctx.single_use(0)) {
            let eps = add.data().first().copied().unwrap_or(0.0);
            let uniform =
                mul.data().iter().all(|&m| m == 1.0) && add.data().iter().all(|&a| a == eps);
            if uniform && eps > 0.0 && eps < 1.0 && node.inputs.len() == 1 {
                let (v, shape) = (node.inputs[0], node.shape.clone());
                let g = MapFn::StdDev {
                    eps_bits: (eps as f32).to_bits(),
                };
                return Ok(vec![ctx.add(FloatOp::Map(g), vec![v], shape)]);
            }
        }
    }
    map(ctx, MapFn::Sqrt)
}

pub fn erf(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    map(ctx, MapFn::Erf)
}

pub fn abs(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    map(ctx, MapFn::Abs)
}

pub fn sign(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    map(ctx, MapFn::Sign)
}

fn scalar(v: f64) -> Result<Value, String> {
    Tensor::new(vec![], vec![v])
        .map(Value::Const)
        .map_err(|e| e.to_string())
}

pub fn neg(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let x = ctx.input(0)?.clone();
    Ok(vec![combine(ctx, Kind::Mul, x, scalar(-1.0)?, false)?])
}

/// The elementwise functions without attributes that are one table each, by operator name:
/// Softplus, Softsign, Mish, HardSwish, Log, Reciprocal, and the trigonometric and
/// hyperbolic functions and their inverses.
pub fn named(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let g = match ctx.node.op_type.as_str() {
        "Softplus" => MapFn::Softplus,
        "Softsign" => MapFn::Softsign,
        "Mish" => MapFn::Mish,
        "HardSwish" => MapFn::HardSwish,
        "Log" => MapFn::Log,
        "Reciprocal" => MapFn::Reciprocal,
        "Sin" => MapFn::Sin,
        "Cos" => MapFn::Cos,
        "Tan" => MapFn::Tan,
        "Asin" => MapFn::Asin,
        "Acos" => MapFn::Acos,
        "Atan" => MapFn::Atan,
        "Sinh" => MapFn::Sinh,
        "Cosh" => MapFn::Cosh,
        "Asinh" => MapFn::Asinh,
        "Acosh" => MapFn::Acosh,
        "Atanh" => MapFn::Atanh,
        other => return Err(format!("internal: {other} is not a tabulated function")),
    };
    map(ctx, g)
}

pub fn elu(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let alpha = ctx.attr_float("alpha", 1.0);
    map(ctx, MapFn::elu(alpha))
}

pub fn celu(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let alpha = ctx.attr_float("alpha", 1.0);
    if alpha <= 0.0 {
        return Err(format!("alpha {alpha} must be positive"));
    }
    map(ctx, MapFn::celu(alpha))
}

pub fn thresholded_relu(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let alpha = ctx.attr_float("alpha", 1.0);
    map(ctx, MapFn::thresholded(alpha))
}

/// Selu: `gamma · elu_alpha(x)`, one Elu table then a constant product.
pub fn selu(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let alpha = ctx.attr_float("alpha", 1.673_263_2);
    let gamma = ctx.attr_float("gamma", 1.050_701);
    let e = map(ctx, MapFn::elu(alpha))?.remove(0);
    Ok(vec![combine(
        ctx,
        Kind::Mul,
        e,
        scalar(gamma as f64)?,
        false,
    )?])
}

/// HardSigmoid: `clip(alpha·x + beta, 0, 1)`, an affine map then a clip.
pub fn hard_sigmoid(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let alpha = ctx.attr_float("alpha", 0.2) as f64;
    let beta = ctx.attr_float("beta", 0.5) as f64;
    let x = ctx.input(0)?.clone();
    let ax = combine(ctx, Kind::Mul, x, scalar(alpha)?, false)?;
    let y = combine(ctx, Kind::Add, ax, scalar(beta)?, false)?;
    Ok(vec![match y {
        Value::Const(t) => Value::Const(t.map(|v| v.clamp(0.0, 1.0))),
        Value::Node(n) => {
            let shape = ctx.graph.nodes[n].shape.clone();
            ctx.add(FloatOp::Clip { lo: 0.0, hi: 1.0 }, vec![n], shape)
        }
    }])
}

pub fn leaky_relu(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let alpha = ctx.attr_float("alpha", 0.01);
    map(ctx, MapFn::leaky_relu(alpha))
}

/// PRelu with a constant slope: one LeakyRelu table when the slope is uniform, else
/// `relu(x) · (1 − a) + x · a`.
pub fn prelu(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let slope = ctx.const_input(1, "slope")?;
    let first = slope.data().first().copied().unwrap_or(0.0);
    if slope.data().iter().all(|&v| v == first) {
        return map(ctx, MapFn::leaky_relu(first as f32));
    }
    let x = ctx.node_input(0)?;
    let shape = ctx.graph.nodes[x].shape.clone();
    let r = ctx.add(FloatOp::Relu, vec![x], shape);
    let kept = combine(
        ctx,
        Kind::Mul,
        r,
        Value::Const(slope.map(|a| 1.0 - a)),
        false,
    )?;
    let leak = combine(ctx, Kind::Mul, Value::Node(x), Value::Const(slope), false)?;
    Ok(vec![combine(ctx, Kind::Add, kept, leak, false)?])
}

pub fn clip(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let bound = |ctx: &Ctx<'_>, i: usize, attr: &str, default: f64| -> Result<f64, String> {
        if ctx.opset < 11 {
            return Ok(ctx.attr_float(attr, default as f32) as f64);
        }
        match ctx.optional(i) {
            Some(Value::Const(t)) => Ok(t.data().first().copied().unwrap_or(default)),
            Some(Value::Node(_)) => Err(format!("{attr} (input {i}) must be a constant")),
            None => Ok(default),
        }
    };
    let lo = bound(ctx, 1, "min", f64::NEG_INFINITY)?;
    let hi = bound(ctx, 2, "max", f64::INFINITY)?;
    Ok(vec![match ctx.input(0)?.clone() {
        Value::Const(t) => Value::Const(t.map(|v| v.max(lo).min(hi))),
        Value::Node(x) => {
            let shape = ctx.graph.nodes[x].shape.clone();
            ctx.add(FloatOp::Clip { lo, hi }, vec![x], shape)
        }
    }])
}

/// Pow by a constant exponent: a product for 2, a table otherwise.
pub fn pow(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    match (ctx.input(0)?.clone(), ctx.input(1)?.clone()) {
        (Value::Const(base), Value::Node(y)) => return Ok(vec![computed_exponent(ctx, &base, y)?]),
        (Value::Node(x), Value::Node(y)) => return Ok(vec![power_by_log(ctx, x, Value::Node(y))?]),
        _ => {}
    }
    let e = ctx.const_input(1, "the exponent")?;
    let first = e.data().first().copied().unwrap_or(1.0);
    if e.data().iter().any(|&v| v != first) {
        return pow_per_element(ctx, &e);
    }
    match (ctx.input(0)?.clone(), first) {
        (Value::Const(t), _) => Ok(vec![Value::Const(t.map(|v| v.powf(first)))]),
        (x, 1.0) => Ok(vec![x]),
        (x, 2.0) => Ok(vec![combine(ctx, Kind::Mul, x.clone(), x, false)?]),
        (_, 0.5) => map(ctx, MapFn::Sqrt),
        _ => map(ctx, MapFn::pow(first as f32)),
    }
}

/// `b^y` for a constant base `b > 0` and a computed exponent: `exp(y · ln b)`, the exponential
/// a table over the calibrated range of `y · ln b` (a base ≤ 0 is refused: its powers are not
/// real for fractional exponents).
fn computed_exponent(ctx: &mut Ctx<'_>, base: &Tensor<f64>, y: usize) -> Result<Value, String> {
    if let Some(b) = base.data().iter().find(|&&b| b <= 0.0) {
        return Err(format!(
            "a computed exponent needs a positive base; the base holds {b}"
        ));
    }
    let scaled = combine(
        ctx,
        Kind::Mul,
        Value::Node(y),
        Value::Const(base.map(|b| b.ln())),
        false,
    )?;
    let Value::Node(z) = scaled else {
        return Err("internal: the exponent folded".into());
    };
    let shape = ctx.graph.nodes[z].shape.clone();
    Ok(ctx.add(FloatOp::Map(MapFn::Exp), vec![z], shape))
}

/// `x^y` for a computed base and an exponent that is computed too, or a constant of more
/// distinct values than one table each would be worth: `sign(x) · exp(y · ln x)`, three tables
/// (and a product by `y` where it is computed). `ln 0` is outside every table (the
/// table holds 0 there) and `sign(0) = 0` masks it, so a zero base gives 0 (as `0^y` is for
/// `y > 0`; ONNX's `0^0 = 1` and `0^y = ∞` for `y < 0` are not represented). A negative base is
/// outside the log table's real values and gives 0 too (ONNX: NaN or a power for whole `y`).
fn power_by_log(ctx: &mut Ctx<'_>, x: usize, y: Value) -> Result<Value, String> {
    let xs = ctx.graph.nodes[x].shape.clone();
    let ln = ctx.add(FloatOp::Map(MapFn::Log), vec![x], xs.clone());
    let scaled = combine(ctx, Kind::Mul, y, ln, false)?;
    let Value::Node(z) = scaled else {
        return Err("internal: the exponent folded".into());
    };
    let shape = ctx.graph.nodes[z].shape.clone();
    let power = ctx.add(FloatOp::Map(MapFn::Exp), vec![z], shape);
    let sign = ctx.add(FloatOp::Map(MapFn::Sign), vec![x], xs);
    combine(ctx, Kind::Mul, power, sign, false)
}

/// Pow with an exponent that varies by element: one table per distinct exponent applied to
/// the whole base, each output element picked from its exponent's table (a free index map).
fn pow_per_element(ctx: &mut Ctx<'_>, e: &Tensor<f64>) -> Result<Vec<Value>, String> {
    let x = ctx.node_input(0)?;
    let xs = ctx.graph.nodes[x].shape.clone();
    let shape = zkinfer_ir::broadcast_shape(&xs, e.shape())
        .ok_or_else(|| format!("shapes {xs:?} and {:?} do not broadcast", e.shape()))?;
    let mut distinct: Vec<f64> = Vec::new();
    for &v in e.data() {
        if !distinct.contains(&v) {
            distinct.push(v);
        }
    }
    if distinct.len() > 8 {
        return Ok(vec![power_by_log(ctx, x, Value::Const(e.clone()))?]);
    }
    let xlen: usize = xs.iter().product();
    let mut parts = Vec::with_capacity(distinct.len());
    for &p in &distinct {
        let Value::Node(m) = ctx.add(FloatOp::Map(MapFn::pow(p as f32)), vec![x], xs.clone())
        else {
            return Err("internal: pow produced a constant".into());
        };
        let Value::Node(flat) = ctx.add(FloatOp::IndexMap(Op::Reshape), vec![m], vec![xlen]) else {
            return Err("internal: reshape produced a constant".into());
        };
        parts.push(flat);
    }
    let all = ctx.add(
        FloatOp::IndexMap(Op::Concat(zkinfer_ir::Concat { axis: 0 })),
        parts,
        vec![xlen * distinct.len()],
    );
    let Value::Node(all) = all else {
        return Err("internal: concat produced a constant".into());
    };
    let ix = zkinfer_ir::broadcast_indices(&xs, &shape);
    let ie = zkinfer_ir::broadcast_indices(e.shape(), &shape);
    let indices = ix
        .iter()
        .zip(&ie)
        .map(|(&i, &j)| {
            let which = distinct.iter().position(|&d| d == e.data()[j]).unwrap_or(0);
            which * xlen + i
        })
        .collect();
    let n: usize = shape.iter().product();
    let picked = ctx.add(
        FloatOp::IndexMap(Op::Gather(zkinfer_ir::Gather { axis: 0, indices })),
        vec![all],
        vec![n],
    );
    let Value::Node(picked) = picked else {
        return Err("internal: gather produced a constant".into());
    };
    Ok(vec![ctx.add(
        FloatOp::IndexMap(Op::Reshape),
        vec![picked],
        shape,
    )])
}

/// Gelu (opset 20): one table, exact or with the tanh approximation.
pub fn gelu(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    match ctx.attr_string("approximate", "none").as_str() {
        "none" => map(ctx, MapFn::Gelu),
        "tanh" => map(ctx, MapFn::GeluTanh),
        other => Err(format!(
            "approximate = {other} is not supported (none, tanh)"
        )),
    }
}
