//! Integer and boolean operators with ONNX's exact semantics: `Div` on integers truncates,
//! `Mod` (both `fmod` modes), `BitShift`, and the logic of booleans (0/1 values): `Not` is
//! `1 − x`, `And` is `a·b`, `Or` is `a + b − a·b` and `Xor` is `a + b − 2·a·b`. Divisions
//! are proven exactly by the integer-division chip (`FloatOp::IntDiv`).

use zkinfer_ir::{broadcast_shape, Tensor};

use super::arith::{combine, Kind};
use super::{broadcast_const, Ctx, Value};
use crate::float::FloatOp;

fn scalar(v: f64) -> Result<Value, String> {
    Tensor::new(vec![], vec![v])
        .map(Value::Const)
        .map_err(|e| e.to_string())
}

/// The quotient (or remainder) of `a / b`, truncated toward zero or, with `floor`, rounded
/// toward −∞; on floats (`fmod`) the remainder of the truncated quotient.
pub fn divide(
    ctx: &mut Ctx<'_>,
    a: Value,
    b: Value,
    floor: bool,
    remainder: bool,
) -> Result<Value, String> {
    if let Value::Const(c) = &b {
        if c.data().contains(&0.0) {
            return Err("integer division by a constant that contains zero".into());
        }
    }
    if let (Value::Const(x), Value::Const(y)) = (&a, &b) {
        return Ok(Value::Const(broadcast_const(x, y, |x, y| {
            let q = if floor {
                (x / y).floor()
            } else {
                (x / y).trunc()
            };
            if remainder {
                x - q * y
            } else {
                q
            }
        })?));
    }
    let (a, b) = (ctx.as_node(a), ctx.as_node(b));
    let (sa, sb) = (
        ctx.graph.nodes[a].shape.clone(),
        ctx.graph.nodes[b].shape.clone(),
    );
    let shape = broadcast_shape(&sa, &sb)
        .ok_or_else(|| format!("shapes {sa:?} and {sb:?} do not broadcast"))?;
    Ok(ctx.add(FloatOp::IntDiv { floor, remainder }, vec![a, b], shape))
}

/// `Div` on integer tensors: the quotient truncated toward zero, as onnxruntime computes it.
pub fn int_div(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let (a, b) = (ctx.input(0)?.clone(), ctx.input(1)?.clone());
    Ok(vec![divide(ctx, a, b, false, false)?])
}

/// `Mod`: with `fmod = 0` (integers only) the remainder takes the divisor's sign, with
/// `fmod = 1` the dividend's (C's `fmod`).
pub fn modulo(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let fmod = ctx.attr_int("fmod", 0);
    if fmod == 0 && !ctx.exact() {
        return Err(
            "Mod of floats needs fmod = 1 (ONNX defines fmod = 0 for integers only)".into(),
        );
    }
    let (a, b) = (ctx.input(0)?.clone(), ctx.input(1)?.clone());
    Ok(vec![divide(ctx, a, b, fmod == 0, true)?])
}

/// `BitShift` of unsigned integers by constant amounts: `x · 2^k` or `⌊x / 2^k⌋`.
pub fn bit_shift(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let direction = ctx.attr_string("direction", "");
    let x = ctx.input(0)?.clone();
    let k = ctx.const_input(1, "the shift amount")?;
    if k.data().iter().any(|&v| !(0.0..63.0).contains(&v)) {
        return Err(format!("shift amounts {:?} outside [0, 63)", k.data()));
    }
    let pow = k.map(|&v| (1u64 << v as u32) as f64);
    let out = match direction.as_str() {
        "LEFT" => combine(ctx, Kind::Mul, x, Value::Const(pow), false)?,
        "RIGHT" => divide(ctx, x, Value::Const(pow), true, false)?,
        other => return Err(format!("direction `{other}` (LEFT or RIGHT)")),
    };
    Ok(vec![out])
}

pub fn not(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let x = ctx.input(0)?.clone();
    Ok(vec![combine(ctx, Kind::Sub, scalar(1.0)?, x, false)?])
}

pub fn and(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let (a, b) = (ctx.input(0)?.clone(), ctx.input(1)?.clone());
    Ok(vec![combine(ctx, Kind::Mul, a, b, false)?])
}

/// `a + b − c·a·b`: `Or` with `c = 1`, `Xor` with `c = 2`.
fn either(ctx: &mut Ctx<'_>, c: f64) -> Result<Vec<Value>, String> {
    let (a, b) = (ctx.input(0)?.clone(), ctx.input(1)?.clone());
    let sum = combine(ctx, Kind::Add, a.clone(), b.clone(), false)?;
    let prod = combine(ctx, Kind::Mul, a, b, false)?;
    let scaled = match c {
        1.0 => prod,
        _ => combine(ctx, Kind::Mul, prod, scalar(c)?, false)?,
    };
    Ok(vec![combine(ctx, Kind::Sub, sum, scaled, false)?])
}

pub fn or(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    either(ctx, 1.0)
}

pub fn xor(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    either(ctx, 2.0)
}

/// `Floor` and `Ceil`: the floor division of the fixed-point value by its unit.
fn rounding(ctx: &mut Ctx<'_>, ceil: bool) -> Result<Vec<Value>, String> {
    Ok(vec![match ctx.input(0)?.clone() {
        Value::Const(t) => Value::Const(t.map(|&v| if ceil { v.ceil() } else { v.floor() })),
        Value::Node(x) if ctx.dtype(0).is_exact() => Value::Node(x),
        Value::Node(x) => {
            let shape = ctx.graph.nodes[x].shape.clone();
            ctx.add(FloatOp::Floor { ceil }, vec![x], shape)
        }
    }])
}

pub fn floor(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    rounding(ctx, false)
}

pub fn ceil(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    rounding(ctx, true)
}

/// `[x ≠ 0]` of a computed tensor: `[x < 0] + [−x < 0]`.
pub fn nonzero(ctx: &mut Ctx<'_>, x: usize) -> Result<Value, String> {
    let shape = ctx.graph.nodes[x].shape.clone();
    let below = ctx.add(FloatOp::Negative, vec![x], shape.clone());
    let neg = match combine(ctx, Kind::Mul, Value::Node(x), scalar(-1.0)?, false)? {
        Value::Node(n) => n,
        Value::Const(_) => return Err("internal: a negated node folded".into()),
    };
    let above = ctx.add(FloatOp::Negative, vec![neg], shape);
    combine(ctx, Kind::Add, below, above, false)
}

/// `Round`, half to even: with `f = ⌊x⌋` and `r = x − f`, `f + [r > ½] + [r = ½]·(f mod 2)`,
/// from the floor, two comparisons and an integer remainder.
pub fn round(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let x = match ctx.input(0)?.clone() {
        Value::Const(t) => {
            return Ok(vec![Value::Const(t.map(|&v| {
                let f = v.floor();
                match v - f {
                    r if r > 0.5 => f + 1.0,
                    r if r < 0.5 => f,
                    _ => f + f.rem_euclid(2.0),
                }
            }))])
        }
        Value::Node(x) if ctx.dtype(0).is_exact() => return Ok(vec![Value::Node(x)]),
        Value::Node(x) => x,
    };
    let shape = ctx.graph.nodes[x].shape.clone();
    let f = ctx.add(FloatOp::Floor { ceil: false }, vec![x], shape.clone());
    let r = combine(ctx, Kind::Sub, Value::Node(x), f.clone(), false)?;
    let negative = |ctx: &mut Ctx<'_>, v: Value| -> Result<Value, String> {
        let n = ctx.as_node(v);
        let s = ctx.graph.nodes[n].shape.clone();
        Ok(ctx.add(FloatOp::Negative, vec![n], s))
    };
    let above = combine(ctx, Kind::Sub, scalar(0.5)?, r.clone(), false)?;
    let up = negative(ctx, above)?;
    let below = combine(ctx, Kind::Sub, r, scalar(0.5)?, false)?;
    let down = negative(ctx, below)?;
    let not_tie = combine(ctx, Kind::Add, up.clone(), down, false)?;
    let tie = combine(ctx, Kind::Sub, scalar(1.0)?, not_tie, false)?;
    let odd = divide(ctx, f.clone(), scalar(2.0)?, true, true)?;
    let to_even = combine(ctx, Kind::Mul, tie, odd, false)?;
    let f_up = combine(ctx, Kind::Add, f, up, false)?;
    Ok(vec![combine(ctx, Kind::Add, f_up, to_even, false)?])
}
