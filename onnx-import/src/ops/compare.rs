//! Less, Greater, LessOrEqual, GreaterOrEqual, Equal and Where. A comparison is the sign of a
//! difference: `a < b` is `[a − b < 0]`, read from a floor rescale whose quotient has the sign
//! of the difference; the others are built from it exactly (`a ≤ b` is `1 − [b − a < 0]`).
//! `Where(c, x, y)` is `y + c · (x − y)`.

use zkinfer_ir::{broadcast_indices, broadcast_shape, Tensor};

use super::arith::{combine, Kind};
use super::{Ctx, Value};
use crate::float::FloatOp;

fn const_value(v: f64) -> Result<Value, String> {
    Tensor::new(vec![], vec![v])
        .map(Value::Const)
        .map_err(|e| e.to_string())
}

/// `[a − b < 0]`.
fn negative(ctx: &mut Ctx<'_>, a: Value, b: Value) -> Result<Value, String> {
    match combine(ctx, Kind::Sub, a, b, false)? {
        Value::Const(t) => Ok(Value::Const(t.map(|&v| f64::from(u8::from(v < 0.0))))),
        Value::Node(d) => {
            let shape = ctx.graph.nodes[d].shape.clone();
            Ok(ctx.add(FloatOp::Negative, vec![d], shape))
        }
    }
}

fn not(ctx: &mut Ctx<'_>, v: Value) -> Result<Value, String> {
    combine(ctx, Kind::Sub, const_value(1.0)?, v, false)
}

fn operands(ctx: &Ctx<'_>) -> Result<(Value, Value), String> {
    Ok((ctx.input(0)?.clone(), ctx.input(1)?.clone()))
}

pub fn less(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let (a, b) = operands(ctx)?;
    Ok(vec![negative(ctx, a, b)?])
}

pub fn greater(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let (a, b) = operands(ctx)?;
    Ok(vec![negative(ctx, b, a)?])
}

pub fn less_or_equal(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let (a, b) = operands(ctx)?;
    let gt = negative(ctx, b, a)?;
    Ok(vec![not(ctx, gt)?])
}

pub fn greater_or_equal(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let (a, b) = operands(ctx)?;
    let lt = negative(ctx, a, b)?;
    Ok(vec![not(ctx, lt)?])
}

pub fn equal(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let (a, b) = operands(ctx)?;
    let lt = negative(ctx, a.clone(), b.clone())?;
    let gt = negative(ctx, b, a)?;
    let either = combine(ctx, Kind::Add, lt, gt, false)?;
    Ok(vec![not(ctx, either)?])
}

/// A constant-condition select between a computed tensor of the output's shape and a constant,
/// as one affine node `n·[picked] + k·[not picked]`: the constant never meets the computed
/// values, so a `−∞` or `−10⁴` fill (a causal mask before a Softmax) stays a constant term
/// that the Softmax can take as masked. `None` for other operand kinds.
fn select(
    ctx: &mut Ctx<'_>,
    mask: &Tensor<f64>,
    x: &Value,
    y: &Value,
) -> Result<Option<Value>, String> {
    let (node, constant, node_where_true) = match (x, y) {
        (Value::Node(n), Value::Const(k)) => (*n, k, true),
        (Value::Const(k), Value::Node(n)) => (*n, k, false),
        _ => return Ok(None),
    };
    let shape = mask.shape().to_vec();
    if ctx.graph.nodes[node].shape != shape {
        return Ok(None);
    }
    let k = super::expand(constant, &shape)?;
    let picked = |m: f64| (m != 0.0) == node_where_true;
    let mul = mask.map(|&m| f64::from(u8::from(picked(m))));
    let add = Tensor::new(
        shape.clone(),
        mask.data()
            .iter()
            .zip(k.data())
            .map(|(&m, &c)| if picked(m) { 0.0 } else { c })
            .collect(),
    )
    .map_err(|e| e.to_string())?;
    Ok(Some(ctx.add(
        FloatOp::Affine { mul, add },
        vec![node],
        shape,
    )))
}

pub fn where_(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let c = ctx.input(0)?.clone();
    let x = ctx.input(1)?.clone();
    let y = ctx.input(2)?.clone();
    if let Value::Const(ct) = &c {
        // A constant condition selects elementwise: y + c·(x − y) with c ∈ {0, 1} folded.
        let shapes = [ct.shape().to_vec(), ctx.shape_of(&x), ctx.shape_of(&y)];
        let shape = shapes[1..]
            .iter()
            .try_fold(shapes[0].clone(), |acc, s| broadcast_shape(&acc, s))
            .ok_or_else(|| format!("shapes {shapes:?} do not broadcast"))?;
        let mask = Tensor::new(
            shape.clone(),
            broadcast_indices(ct.shape(), &shape)
                .iter()
                .map(|&i| f64::from(u8::from(ct.data()[i] != 0.0)))
                .collect(),
        )
        .map_err(|e| e.to_string())?;
        if let Some(v) = select(ctx, &mask, &x, &y)? {
            return Ok(vec![v]);
        }
        let diff = combine(ctx, Kind::Sub, x, y.clone(), false)?;
        let picked = combine(ctx, Kind::Mul, diff, Value::Const(mask), false)?;
        return Ok(vec![combine(ctx, Kind::Add, picked, y, false)?]);
    }
    // A computed condition: one node, so that the selected values stay known to the index
    // analysis (tree ensembles pick a child this way); lowered to `y + c·(x − y)`.
    let shapes = [ctx.shape_of(&c), ctx.shape_of(&x), ctx.shape_of(&y)];
    let shape = shapes[1..]
        .iter()
        .try_fold(shapes[0].clone(), |acc, s| broadcast_shape(&acc, s))
        .ok_or_else(|| format!("shapes {shapes:?} do not broadcast"))?;
    let inputs = vec![ctx.as_node(c), ctx.as_node(x), ctx.as_node(y)];
    let dtype = ctx.dtype(1);
    Ok(vec![ctx.add_typed(FloatOp::Where, inputs, shape, dtype)])
}
