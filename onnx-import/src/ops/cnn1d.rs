//! 1-D convolutions and pools (`[N, C, L]`), as the 2-D ones over `[N, C, 1, L]`.

use zkinfer_ir::Tensor;

use super::cnn::{average_pool, conv, conv_transpose, max_pool};
use super::{Build, Ctx, Value};
use crate::float::FloatOp;

/// A 1-D convolution or pool (`[N, C, L]`) as the 2-D one over `[N, C, 1, L]`: the input and
/// a constant weight `[M, C/g, K]` gain a unit axis (free reshapes), the spatial attributes a
/// leading 1 (or 0 for pads and output padding), and the result loses the axis again.
pub fn lift_1d(ctx: &mut Ctx<'_>, build: Build) -> Result<Vec<Value>, String> {
    let xs = ctx.shape_of(ctx.input(0)?);
    if xs.len() != 3 {
        return build(ctx);
    }
    let mut node = ctx.node.clone();
    for a in node.attribute.iter_mut() {
        match a.name.as_str() {
            "kernel_shape" | "strides" | "dilations" | "output_shape" => a.ints.insert(0, 1),
            "output_padding" => a.ints.insert(0, 0),
            "pads" if a.ints.len() == 2 => a.ints = vec![0, a.ints[0], 0, a.ints[1]],
            _ => {}
        }
    }
    let unit = |shape: &[usize]| -> Vec<usize> {
        let mut s = shape.to_vec();
        s.insert(2, 1);
        s
    };
    let mut inputs = ctx.inputs.clone();
    for (i, slot) in inputs.iter_mut().enumerate().take(2) {
        *slot = match slot.take() {
            Some(Value::Node(x)) => {
                let shape = unit(&ctx.graph.nodes[x].shape);
                Some(ctx.add(FloatOp::IndexMap(zkinfer_ir::Op::Reshape), vec![x], shape))
            }
            Some(Value::Const(t)) if i == 1 && t.shape().len() == 3 => {
                let shape = unit(t.shape());
                Some(Value::Const(
                    Tensor::new(shape, t.into_data()).map_err(|e| e.to_string())?,
                ))
            }
            other => other,
        };
    }
    let mut lifted = Ctx {
        node: &node,
        graph: &mut *ctx.graph,
        inputs,
        uses: ctx.uses,
        opset: ctx.opset,
        types: ctx.types.clone(),
    };
    let outs = build(&mut lifted)?;
    outs.into_iter()
        .map(|v| match v {
            Value::Node(y) => {
                let mut shape = ctx.graph.nodes[y].shape.clone();
                shape.remove(2);
                Ok(ctx.add(FloatOp::IndexMap(zkinfer_ir::Op::Reshape), vec![y], shape))
            }
            c => Ok(c),
        })
        .collect()
}

pub fn conv_any(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    lift_1d(ctx, conv)
}

pub fn conv_transpose_any(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    lift_1d(ctx, conv_transpose)
}

pub fn max_pool_any(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    lift_1d(ctx, max_pool)
}

pub fn average_pool_any(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    lift_1d(ctx, average_pool)
}
