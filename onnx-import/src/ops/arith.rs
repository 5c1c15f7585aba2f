//! Add, Sub, Mul and Div. A constant operand makes an `Affine` node (`x · mul + add`), which is
//! fused into the Dense or Affine node before it when that node has no other reader.

use zkinfer_ir::{broadcast_shape, BinaryKind, MapFn, Tensor};

use super::{broadcast_const, expand, Ctx, Value};
use crate::float::FloatOp;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Add,
    Sub,
    Mul,
    Div,
}

pub fn add(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    elementwise(ctx, Kind::Add)
}

pub fn sub(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    elementwise(ctx, Kind::Sub)
}

pub fn mul(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    elementwise(ctx, Kind::Mul)
}

pub fn div(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    if ctx.exact() {
        return super::integer::int_div(ctx);
    }
    elementwise(ctx, Kind::Div)
}

fn elementwise(ctx: &mut Ctx<'_>, kind: Kind) -> Result<Vec<Value>, String> {
    let (a, b) = (ctx.input(0)?.clone(), ctx.input(1)?.clone());
    Ok(vec![combine(ctx, kind, a, b, true)?])
}

/// `a kind b` with broadcasting. With `fuse`, `a` and `b` are this node's inputs 0 and 1 and a
/// constant operand may be folded into the node before.
pub fn combine(
    ctx: &mut Ctx<'_>,
    kind: Kind,
    a: Value,
    b: Value,
    fuse: bool,
) -> Result<Value, String> {
    let (op0, op1) = if fuse {
        (Some(0), Some(1))
    } else {
        (None, None)
    };
    // `(1 − mask) · lowest`: a computed 0/1 mask scaled by a mask constant takes the finite
    // fill instead (see `finite_fill`).
    let exact = |v: &Value, ctx: &Ctx<'_>| match v {
        Value::Node(x) => mask_like(ctx, *x),
        Value::Const(_) => false,
    };
    let (a, b) = match (kind, a, b) {
        (Kind::Mul, Value::Const(c), x) if exact(&x, ctx) => {
            (Value::Const(super::activation::finite_fill(&c)), x)
        }
        (Kind::Mul, x, Value::Const(c)) if exact(&x, ctx) => {
            (x, Value::Const(super::activation::finite_fill(&c)))
        }
        (_, a, b) => (a, b),
    };
    let value = match (a, b) {
        (Value::Const(a), Value::Const(b)) => {
            Value::Const(broadcast_const(&a, &b, |x, y| match kind {
                Kind::Add => x + y,
                Kind::Sub => x - y,
                Kind::Mul => x * y,
                Kind::Div => x / y,
            })?)
        }
        (Value::Node(x), Value::Const(c)) => {
            let one = c.map(|_| 1.0);
            let zero = c.map(|_| 0.0);
            match kind {
                Kind::Add => affine(ctx, op0, x, one, c)?,
                Kind::Sub => affine(ctx, op0, x, one, c.map(|v| -v))?,
                Kind::Mul => affine(ctx, op0, x, c, zero)?,
                Kind::Div => {
                    if c.data().contains(&0.0) {
                        return Err("division by a constant that contains zero".into());
                    }
                    affine(ctx, op0, x, c.map(|v| 1.0 / v), zero)?
                }
            }
        }
        (Value::Const(c), Value::Node(x)) => {
            let one = c.map(|_| 1.0);
            let zero = c.map(|_| 0.0);
            match kind {
                Kind::Add => affine(ctx, op1, x, one, c)?,
                Kind::Sub => affine(ctx, op1, x, one.map(|v| -v), c)?,
                Kind::Mul => affine(ctx, op1, x, c, zero)?,
                Kind::Div => {
                    let a = ctx.as_node(Value::Const(c));
                    return divide(ctx, a, x);
                }
            }
        }
        (Value::Node(a), Value::Node(b)) => {
            if kind == Kind::Mul && fuse {
                // `x · (1 / sqrt(v))`, an exported normalization's reciprocal deviation, is
                // the division `x / sqrt(v)`: no reciprocal table (its domain is the
                // deviation's whole range at the output's resolution), and a positive divisor.
                for (i, (x, r)) in [(a, b), (b, a)].into_iter().enumerate() {
                    if let Some(d) = reciprocal_of_deviation(ctx, r, 1 - i) {
                        return divide(ctx, x, d);
                    }
                }
            }
            let bin = match kind {
                Kind::Add => BinaryKind::Add,
                Kind::Sub => BinaryKind::Sub,
                Kind::Mul => BinaryKind::Mul,
                Kind::Div => return divide(ctx, a, b),
            };
            let (sa, sb) = (
                ctx.graph.nodes[a].shape.clone(),
                ctx.graph.nodes[b].shape.clone(),
            );
            let shape = broadcast_shape(&sa, &sb)
                .ok_or_else(|| format!("shapes {sa:?} and {sb:?} do not broadcast"))?;
            ctx.add(FloatOp::Binary(bin), vec![a, b], shape)
        }
    };
    Ok(value)
}

/// Whether node `x` holds integers: an integer or boolean tensor, seen through casts and
/// rearrangements and `±v + c` with an integer `c` (`1 − float(mask)`).
fn mask_like(ctx: &Ctx<'_>, mut x: usize) -> bool {
    loop {
        let node = &ctx.graph.nodes[x];
        if node.dtype.is_exact() {
            return true;
        }
        match &node.op {
            FloatOp::IndexMap(_) => {}
            FloatOp::Affine { mul, add }
                if mul.data().iter().all(|m| m.abs() == 1.0)
                    && add.data().iter().all(|a| a.fract() == 0.0) => {}
            _ => return false,
        }
        match node.inputs.first() {
            Some(&input) => x = input,
            None => return false,
        }
    }
}

/// The deviation `d` when `r` is `Reciprocal(d)`, `d` a square-root table (never below one
/// unit), and `r` is this node's input `operand` read by it alone.
fn reciprocal_of_deviation(ctx: &Ctx<'_>, r: usize, operand: usize) -> Option<usize> {
    let node = &ctx.graph.nodes[r];
    if node.op != FloatOp::Map(MapFn::Reciprocal) || !ctx.single_use(operand) {
        return None;
    }
    let d = *node.inputs.first()?;
    matches!(
        ctx.graph.nodes[d].op,
        FloatOp::Map(MapFn::StdDev { .. } | MapFn::Sqrt)
    )
    .then_some(d)
}

/// `a / b` of two computed tensors (a witnessed rounded division; `b` must stay positive).
fn divide(ctx: &mut Ctx<'_>, a: usize, b: usize) -> Result<Value, String> {
    let (sa, sb) = (
        ctx.graph.nodes[a].shape.clone(),
        ctx.graph.nodes[b].shape.clone(),
    );
    let shape = broadcast_shape(&sa, &sb)
        .ok_or_else(|| format!("shapes {sa:?} and {sb:?} do not broadcast"))?;
    Ok(ctx.add(FloatOp::Div, vec![a, b], shape))
}

/// `x · mul + add` where `x` is operand `operand` of this node (`None`: an intermediate value,
/// never fused).
fn affine(
    ctx: &mut Ctx<'_>,
    operand: Option<usize>,
    x: usize,
    mul: Tensor<f64>,
    add: Tensor<f64>,
) -> Result<Value, String> {
    // Both sides broadcast (ONNX's rule): a constant of a larger shape than the node first
    // spreads the node's values over that shape by an index map (free in the circuit).
    let have = ctx.graph.nodes[x].shape.clone();
    let shape = [mul.shape(), add.shape()]
        .into_iter()
        .try_fold(have.clone(), |acc, s| broadcast_shape(&acc, s))
        .ok_or_else(|| format!("shapes {have:?} and {:?} do not broadcast", mul.shape()))?;
    let (x, operand) = match shape == have {
        true => (x, operand),
        false => match super::rearrange::broadcast_to(ctx, Value::Node(x), &shape)? {
            Value::Node(spread) => (spread, None),
            Value::Const(_) => return Err("internal: a node broadcast to a constant".into()),
        },
    };
    let mul = expand(&mul, &shape)?;
    let add = expand(&add, &shape)?;
    if operand.is_some_and(|o| ctx.single_use(o)) {
        let prev = &mut ctx.graph.nodes[x];
        match &mut prev.op {
            FloatOp::Dense { bias, .. } if mul.data().iter().all(|&m| m == 1.0) => {
                let b = match bias.take() {
                    Some(b) => broadcast_const(&b, &add, |p, a| p + a)?,
                    None => add,
                };
                *bias = Some(b);
                return Ok(Value::Node(x));
            }
            FloatOp::Affine { mul: m1, add: a1 } => {
                let m = broadcast_const(m1, &mul, |p, q| p * q)?;
                let a = broadcast_const(a1, &mul, |p, q| p * q)?;
                let a = broadcast_const(&a, &add, |p, q| p + q)?;
                *m1 = m;
                *a1 = a;
                return Ok(Value::Node(x));
            }
            _ => {}
        }
    }
    Ok(ctx.add(FloatOp::Affine { mul, add }, vec![x], shape))
}

/// The operands of a variadic elementwise op, broadcast to their common shape.
fn variadic(ctx: &Ctx<'_>) -> Result<(Vec<Value>, Vec<usize>), String> {
    let vals: Vec<Value> = ctx.inputs.iter().flatten().cloned().collect();
    if vals.is_empty() {
        return Err("no operands".into());
    }
    let shape = vals.iter().try_fold(Vec::new(), |acc, v| {
        let s = ctx.shape_of(v);
        broadcast_shape(&acc, &s)
            .ok_or_else(|| format!("shapes {acc:?} and {s:?} do not broadcast"))
    })?;
    Ok((vals, shape))
}

/// Elementwise maximum (or, with `min`, minimum) of any number of operands: the operands laid
/// side by side by an index map, then the maximum chip over each element's window
/// (`min(a, b) = −max(−a, −b)`).
fn extremum(ctx: &mut Ctx<'_>, min: bool) -> Result<Vec<Value>, String> {
    let (vals, shape) = variadic(ctx)?;
    let len: usize = shape.iter().product();
    if vals.iter().all(|v| matches!(v, Value::Const(_))) {
        let mut acc: Option<Tensor<f64>> = None;
        for v in vals {
            let Value::Const(t) = v else { continue };
            acc = Some(match acc {
                None => t,
                Some(a) => broadcast_const(&a, &t, |x, y| if min { x.min(y) } else { x.max(y) })?,
            });
        }
        let t = acc.ok_or("no operands")?;
        return Ok(vec![Value::Const(expand(&t, &shape)?)]);
    }
    let n = vals.len();
    let mut ids = Vec::with_capacity(n);
    let mut map = Vec::with_capacity(n * len);
    for (k, v) in vals.into_iter().enumerate() {
        let s = ctx.shape_of(&v);
        ids.push(ctx.as_node(v));
        map.extend(
            zkinfer_ir::broadcast_indices(&s, &shape)
                .into_iter()
                .map(|i| (k, i)),
        );
    }
    let side = super::rearrange::remap(ctx, ids, map, vec![n * len]);
    let side = match min {
        true => negate(ctx, side)?,
        false => side,
    };
    let Value::Node(side) = side else {
        return Err("internal: operands folded".into());
    };
    let windows = (0..len)
        .map(|i| (0..n).map(|k| k * len + i).collect())
        .collect();
    let m = ctx.add(FloatOp::Max(windows), vec![side], shape);
    Ok(vec![match min {
        true => negate(ctx, m)?,
        false => m,
    }])
}

fn negate(ctx: &mut Ctx<'_>, v: Value) -> Result<Value, String> {
    let minus = Tensor::new(vec![1], vec![-1.0]).map_err(|e| e.to_string())?;
    combine(ctx, Kind::Mul, v, Value::Const(minus), false)
}

pub fn max(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    extremum(ctx, false)
}

pub fn min(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    extremum(ctx, true)
}

/// `Sum` (or, with `mean`, `Mean`) of any number of operands, broadcast.
fn total(ctx: &mut Ctx<'_>, mean: bool) -> Result<Vec<Value>, String> {
    let (vals, _) = variadic(ctx)?;
    let n = vals.len();
    let mut it = vals.into_iter();
    let mut acc = it.next().ok_or("no operands")?;
    for v in it {
        acc = combine(ctx, Kind::Add, acc, v, false)?;
    }
    if mean && n > 1 {
        let k = Tensor::new(vec![1], vec![1.0 / n as f64]).map_err(|e| e.to_string())?;
        acc = combine(ctx, Kind::Mul, acc, Value::Const(k), false)?;
    }
    Ok(vec![acc])
}

pub fn sum(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    total(ctx, false)
}

pub fn mean(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    total(ctx, true)
}
