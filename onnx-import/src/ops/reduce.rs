//! ReduceSum, ReduceMean, ReduceMax and ArgMax over constant axes.

use zkinfer_ir::strides;

use super::{axis, Ctx, Value};
use crate::float::FloatOp;

/// The reduced axes: from input 1 (opset 13+ for ReduceSum, 18+ for the others) or the
/// `axes` attribute; none means all unless `noop_with_empty_axes`.
fn reduce_axes(ctx: &Ctx<'_>, rank: usize) -> Result<Option<Vec<usize>>, String> {
    let given: Option<Vec<i64>> = match ctx.optional(1) {
        Some(Value::Const(t)) => Some(t.data().iter().map(|&v| v as i64).collect()),
        Some(Value::Node(_)) => return Err("axes (input 1) must be a constant".into()),
        None => ctx.attr_ints("axes"),
    };
    let mut axes: Vec<usize> = match given {
        Some(a) if !a.is_empty() => a.iter().map(|&v| axis(v, rank)).collect::<Result<_, _>>()?,
        _ if ctx.attr_int("noop_with_empty_axes", 0) != 0 => return Ok(None),
        _ => (0..rank).collect(),
    };
    axes.sort_unstable();
    axes.dedup();
    Ok(Some(axes))
}

/// For each output element (in row-major order of the kept axes), the flat input indices it
/// reduces, and the output shape.
pub fn reduce_windows(
    shape: &[usize],
    axes: &[usize],
    keepdims: bool,
) -> (Vec<usize>, Vec<Vec<usize>>) {
    let st = strides(shape);
    let kept: Vec<usize> = (0..shape.len()).filter(|a| !axes.contains(a)).collect();
    let out_len: usize = kept.iter().map(|&a| shape[a]).product();
    let red_len: usize = axes.iter().map(|&a| shape[a]).product();
    let mut windows = Vec::with_capacity(out_len);
    for o in 0..out_len {
        let mut base = 0;
        let mut rest = o;
        for &a in kept.iter().rev() {
            base += (rest % shape[a]) * st[a];
            rest /= shape[a];
        }
        let mut win = Vec::with_capacity(red_len);
        for r in 0..red_len {
            let mut idx = base;
            let mut rest = r;
            for &a in axes.iter().rev() {
                idx += (rest % shape[a]) * st[a];
                rest /= shape[a];
            }
            win.push(idx);
        }
        windows.push(win);
    }
    let out_shape = if keepdims {
        shape
            .iter()
            .enumerate()
            .map(|(a, &d)| if axes.contains(&a) { 1 } else { d })
            .collect()
    } else {
        kept.iter().map(|&a| shape[a]).collect()
    };
    (out_shape, windows)
}

fn reduce(ctx: &mut Ctx<'_>, kind: &str) -> Result<Vec<Value>, String> {
    let v = ctx.input(0)?.clone();
    let xs = ctx.shape_of(&v);
    let keepdims = ctx.attr_int("keepdims", 1) != 0;
    let Some(axes) = reduce_axes(ctx, xs.len())? else {
        return Ok(vec![v]);
    };
    let (shape, windows) = reduce_windows(&xs, &axes, keepdims);
    let x = ctx.as_node(v);
    if kind == "max" {
        return Ok(vec![ctx.add(FloatOp::Max(windows), vec![x], shape)]);
    }
    let counts: Vec<usize> = windows.iter().map(|w| w.len().max(1)).collect();
    let terms: Vec<Vec<(usize, f64)>> = windows
        .into_iter()
        .map(|w| w.into_iter().map(|i| (i, 1.0)).collect())
        .collect();
    if kind == "mean" {
        return Ok(vec![super::cnn::mean(ctx, x, terms, counts, shape)?]);
    }
    let bias = vec![0.0; terms.len()];
    Ok(vec![ctx.add(
        FloatOp::Linear { terms, bias },
        vec![x],
        shape,
    )])
}

pub fn reduce_sum(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    reduce(ctx, "sum")
}

pub fn reduce_mean(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    reduce(ctx, "mean")
}

pub fn reduce_max(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    reduce(ctx, "max")
}

pub fn arg_max(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let x = ctx.node_input(0)?;
    let xs = ctx.graph.nodes[x].shape.clone();
    let ax = axis(ctx.attr_int("axis", 0), xs.len())?;
    let keepdims = ctx.attr_int("keepdims", 1) != 0;
    let last = ctx.attr_int("select_last_index", 0) != 0;
    let (shape, windows) = reduce_windows(&xs, &[ax], keepdims);
    Ok(vec![ctx.add(
        FloatOp::ArgMax { windows, last },
        vec![x],
        shape,
    )])
}
