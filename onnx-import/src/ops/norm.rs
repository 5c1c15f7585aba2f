//! LayerNormalization, composed from the CNN issue's chips: a mean (exact sum, then the
//! rounded division by the count), the centred values, their mean square, a square-root table
//! and a witnessed division, then the constant scale and bias.

use super::arith::{combine, Kind};
use super::reduce::reduce_windows;
use super::{axis, Ctx, Value};

/// `mean(v)` over the trailing axes from `first`, keeping dimensions.
fn trailing_mean(ctx: &mut Ctx<'_>, v: Value, first: usize) -> Result<Value, String> {
    let shape = ctx.shape_of(&v);
    let axes: Vec<usize> = (first..shape.len()).collect();
    let (out, windows) = reduce_windows(&shape, &axes, true);
    let x = ctx.as_node(v);
    let counts = windows.iter().map(|w| w.len().max(1)).collect();
    let terms = windows
        .into_iter()
        .map(|w| w.into_iter().map(|i| (i, 1.0)).collect())
        .collect();
    super::cnn::mean(ctx, x, terms, counts, out)
}

fn scalar(v: f64) -> Result<Value, String> {
    zkinfer_ir::Tensor::new(vec![], vec![v])
        .map(Value::Const)
        .map_err(|e| e.to_string())
}

/// `(x − mean) / sqrt(var + eps) · scale + bias` over the axes from `axis` on.
pub fn layer_norm(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    if ctx
        .node
        .output
        .iter()
        .skip(1)
        .any(|o| ctx.uses.get(o).copied().unwrap_or(0) > 0)
    {
        return Err("the Mean and InvStdDev outputs are not supported".into());
    }
    let x = ctx.input(0)?.clone();
    let rank = ctx.shape_of(&x).len();
    let first = axis(ctx.attr_int("axis", -1), rank)?;
    let eps = ctx.attr_float("epsilon", 1e-5) as f64;
    let scale = ctx.const_input(1, "the scale")?;
    let bias = match ctx.optional(2) {
        Some(Value::Const(b)) => Some(b.clone()),
        Some(Value::Node(_)) => return Err("the bias (input 2) must be a constant".into()),
        None => None,
    };
    let mean = trailing_mean(ctx, x.clone(), first)?;
    let centred = combine(ctx, Kind::Sub, x, mean, false)?;
    let square = combine(ctx, Kind::Mul, centred.clone(), centred.clone(), false)?;
    let var = trailing_mean(ctx, square, first)?;
    let var = combine(ctx, Kind::Add, var, scalar(eps)?, false)?;
    let std = match var {
        Value::Const(t) => Value::Const(t.map(|v| v.sqrt())),
        Value::Node(v) => {
            let shape = ctx.graph.nodes[v].shape.clone();
            ctx.add(
                crate::float::FloatOp::Map(zkinfer_ir::MapFn::Sqrt),
                vec![v],
                shape,
            )
        }
    };
    let normed = combine(ctx, Kind::Div, centred, std, false)?;
    let scaled = combine(ctx, Kind::Mul, normed, Value::Const(scale), false)?;
    Ok(vec![match bias {
        Some(b) => combine(ctx, Kind::Add, scaled, Value::Const(b), false)?,
        None => scaled,
    }])
}
