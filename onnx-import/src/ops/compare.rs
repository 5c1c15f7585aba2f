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

/// `IsNaN` and `IsInf`. Every value in the circuit is finite by construction: an input that
/// is NaN or infinite is refused when it is quantized, by input name and index, and every op
/// maps finite fixed-point values to finite ones. So over a computed tensor both answer a
/// constant `false` of its shape, which folds the `where(isnan(x), …)` guards of exported
/// attention away; over a constant they answer element by element.
fn non_finite(ctx: &mut Ctx<'_>, is: impl Fn(f64) -> bool) -> Result<Vec<Value>, String> {
    let t = match ctx.input(0)? {
        Value::Const(t) => t.map(|&v| f64::from(u8::from(is(v)))),
        v => {
            let shape = ctx.shape_of(v);
            let len = shape.iter().product();
            Tensor::new(shape, vec![0.0; len]).map_err(|e| e.to_string())?
        }
    };
    Ok(vec![Value::Const(t)])
}

pub fn is_nan(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    non_finite(ctx, f64::is_nan)
}

pub fn is_inf(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let negative = ctx.attr_int("detect_negative", 1) != 0;
    let positive = ctx.attr_int("detect_positive", 1) != 0;
    non_finite(ctx, move |v| {
        v.is_infinite() && if v > 0.0 { positive } else { negative }
    })
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
        if let (Value::Const(xt), Value::Const(yt)) = (&x, &y) {
            // Picked element by element: arithmetic would turn `0·(−∞)` into NaN.
            let (xs, ys) = (super::expand(xt, &shape)?, super::expand(yt, &shape)?);
            let data = mask
                .data()
                .iter()
                .zip(xs.data().iter().zip(ys.data()))
                .map(|(&m, (&a, &b))| if m != 0.0 { a } else { b })
                .collect();
            let t = Tensor::new(shape, data).map_err(|e| e.to_string())?;
            return Ok(vec![Value::Const(t)]);
        }
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
    // A computed mask's fill (float32's lowest) becomes a finite one the circuit can hold.
    let fill = |v: Value| match v {
        Value::Const(t) => Value::Const(super::activation::finite_fill(&t)),
        node => node,
    };
    let (x, y) = (fill(x), fill(y));
    let inputs = vec![ctx.as_node(c), ctx.as_node(x), ctx.as_node(y)];
    let dtype = ctx.dtype(1);
    Ok(vec![ctx.add_typed(FloatOp::Where, inputs, shape, dtype)])
}

/// `Shrink`: `x − bias` above `lambd`, `x + bias` below `−lambd`, 0 between: two comparisons
/// and two selections.
pub fn shrink(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let x = ctx.input(0)?.clone();
    let lambd = ctx.attr_float("lambd", 0.5) as f64;
    let bias = ctx.attr_float("bias", 0.0) as f64;
    if let Value::Const(t) = &x {
        return Ok(vec![Value::Const(t.map(|&v| {
            if v > lambd {
                v - bias
            } else if v < -lambd {
                v + bias
            } else {
                0.0
            }
        }))]);
    }
    let above = negative(ctx, const_value(lambd)?, x.clone())?;
    let below = negative(ctx, x.clone(), const_value(-lambd)?)?;
    let down = combine(ctx, Kind::Sub, x.clone(), const_value(bias)?, false)?;
    let up = combine(ctx, Kind::Add, x, const_value(bias)?, false)?;
    let shape = ctx.shape_of(&up);
    let zero = Value::Const(
        Tensor::new(shape.clone(), vec![0.0; shape.iter().product()]).map_err(|e| e.to_string())?,
    );
    let lower = pick(ctx, below, up, zero)?;
    Ok(vec![pick(ctx, above, down, lower)?])
}

/// `Where(c, x, y)` of a computed condition.
fn pick(ctx: &mut Ctx<'_>, c: Value, x: Value, y: Value) -> Result<Value, String> {
    let shape = ctx.shape_of(&x);
    let inputs = vec![ctx.as_node(c), ctx.as_node(x), ctx.as_node(y)];
    Ok(ctx.add(FloatOp::Where, inputs, shape))
}

/// `OneHot(indices, depth, values)`: `values[1]` where the index equals the position along the
/// new axis, `values[0]` elsewhere; `[i ≠ j] = [i − j < 0] + [j − i < 0]` of the index laid
/// out along the axis by a free index map. Negative indices are not supported.
pub fn one_hot(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let idx = ctx.input(0)?.clone();
    let depth = ctx
        .const_input(1, "depth")?
        .data()
        .first()
        .copied()
        .ok_or("depth is empty")? as usize;
    let values = ctx.const_input(2, "values")?;
    let [off, on] = values.data()[..] else {
        return Err("values must hold [off, on]".into());
    };
    let is = ctx.shape_of(&idx);
    let ax = super::axis(ctx.attr_int("axis", -1), is.len() + 1)?;
    let mut shape = is.clone();
    shape.insert(ax, depth);
    let (outer, inner): (usize, usize) = (is[..ax].iter().product(), is[ax..].iter().product());
    let len = outer * depth * inner;
    // Output element (o, j, i) reads index (o, i) and compares it with j.
    let src = |f: usize| (f / (depth * inner)) * inner + f % inner;
    let pos = |f: usize| ((f / inner) % depth) as f64;
    if let Value::Const(t) = &idx {
        let data = (0..len)
            .map(|f| if t.data()[src(f)] == pos(f) { on } else { off })
            .collect();
        return Ok(vec![Value::Const(
            Tensor::new(shape, data).map_err(|e| e.to_string())?,
        )]);
    }
    let x = ctx.as_node(idx);
    let laid = super::rearrange::remap(
        ctx,
        vec![x],
        (0..len).map(|f| (0, src(f))).collect(),
        shape.clone(),
    );
    let minus_j = Tensor::new(shape.clone(), (0..len).map(|f| -pos(f)).collect())
        .map_err(|e| e.to_string())?;
    let d = combine(ctx, Kind::Add, laid, Value::Const(minus_j), false)?;
    let below = negative(ctx, d.clone(), const_value(0.0)?)?;
    let above = negative(ctx, const_value(0.0)?, d)?;
    let differs = combine(ctx, Kind::Add, below, above, false)?;
    let scaled = combine(ctx, Kind::Mul, differs, const_value(off - on)?, false)?;
    Ok(vec![combine(
        ctx,
        Kind::Add,
        scaled,
        const_value(on)?,
        false,
    )?])
}
