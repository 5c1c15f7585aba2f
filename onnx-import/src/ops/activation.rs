//! Relu, Sigmoid and Softmax (along the last axis).

use super::{axis, Ctx, Value};
use crate::float::FloatOp;

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

pub fn softmax(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let shape = ctx.shape_of(ctx.input(0)?);
    let default = if ctx.opset < 13 { 1 } else { -1 };
    let ax = axis(ctx.attr_int("axis", default), shape.len())?;
    if ax + 1 != shape.len() {
        return Err(format!(
            "softmax over axis {ax} of shape {shape:?} is not supported yet (only the last axis)"
        ));
    }
    match ctx.input(0)?.clone() {
        Value::Const(_) => Err("softmax of a constant".into()),
        Value::Node(x) => Ok(vec![ctx.add(FloatOp::Softmax, vec![x], shape)]),
    }
}
