//! ReduceSum, ReduceMean, ReduceMax, ReduceMin, the norms and log-sums, and ArgMax over
//! constant axes.

use zkinfer_ir::{strides, MapFn, Tensor};

use super::arith::{combine, Kind};
use super::{axis, Ctx, Value};
use crate::float::FloatOp;

/// `g` applied to every element of `v`.
fn apply(ctx: &mut Ctx<'_>, v: Value, g: MapFn) -> Value {
    match v {
        Value::Const(t) => Value::Const(t.map(|&x| g.apply(x))),
        Value::Node(x) => {
            let shape = ctx.graph.nodes[x].shape.clone();
            ctx.add(FloatOp::Map(g), vec![x], shape)
        }
    }
}

/// `v · c` for a constant `c`.
fn times(ctx: &mut Ctx<'_>, v: Value, c: f64) -> Result<Value, String> {
    let c = Tensor::new(vec![], vec![c]).map_err(|e| e.to_string())?;
    combine(ctx, Kind::Mul, v, Value::Const(c), false)
}

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
        // No axes to reduce: the elementwise part alone.
        return Ok(vec![match kind {
            "l1" => apply(ctx, v, MapFn::Abs),
            "l2" => apply(ctx, v, MapFn::Abs),
            "sum_square" => combine(ctx, Kind::Mul, v.clone(), v, false)?,
            "log_sum" => apply(ctx, v, MapFn::Log),
            _ => v,
        }]);
    };
    let (shape, windows) = reduce_windows(&xs, &axes, keepdims);
    // The elementwise part before the sum, and after it.
    let (v, after) = match kind {
        "l1" => (apply(ctx, v, MapFn::Abs), None),
        "l2" => (
            combine(ctx, Kind::Mul, v.clone(), v, false)?,
            Some(MapFn::Sqrt),
        ),
        "sum_square" => (combine(ctx, Kind::Mul, v.clone(), v, false)?, None),
        "log_sum" => (v, Some(MapFn::Log)),
        "log_sum_exp" => {
            // m + log Σ exp(x − m): every exponential at most 1 and the sum at least 1.
            let x = ctx.as_node(v);
            let (keep_shape, keep) = reduce_windows(&xs, &axes, true);
            let (m, lse) = shifted_log_sum_exp(ctx, x, keep, keep_shape)?;
            let total = combine(ctx, Kind::Add, m, lse, false)?;
            let id = ctx.as_node(total);
            return Ok(vec![match ctx.graph.nodes[id].shape == shape {
                true => Value::Node(id),
                false => ctx.add(FloatOp::IndexMap(zkinfer_ir::Op::Reshape), vec![id], shape),
            }]);
        }
        _ => (v, None),
    };
    if kind == "min" {
        // min x = −max(−x).
        let negated = times(ctx, v, -1.0)?;
        let x = ctx.as_node(negated);
        let m = ctx.add(FloatOp::Max(windows), vec![x], shape);
        return Ok(vec![times(ctx, m, -1.0)?]);
    }
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
    let sum = ctx.add(FloatOp::Linear { terms, bias }, vec![x], shape);
    Ok(vec![match after {
        Some(g) => apply(ctx, sum, g),
        None => sum,
    }])
}

pub fn reduce_min(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    reduce(ctx, "min")
}

pub fn reduce_l1(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    reduce(ctx, "l1")
}

pub fn reduce_l2(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    reduce(ctx, "l2")
}

pub fn reduce_sum_square(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    reduce(ctx, "sum_square")
}

pub fn reduce_log_sum(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    reduce(ctx, "log_sum")
}

pub fn reduce_log_sum_exp(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    reduce(ctx, "log_sum_exp")
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

/// For a node `x` and reduction windows with their kept-dimension shape: the maxima `m` and
/// `log Σ exp(x − m)` over each window.
fn shifted_log_sum_exp(
    ctx: &mut Ctx<'_>,
    x: usize,
    windows: Vec<Vec<usize>>,
    shape: Vec<usize>,
) -> Result<(Value, Value), String> {
    let m = ctx.add(FloatOp::Max(windows.clone()), vec![x], shape.clone());
    let y = combine(ctx, Kind::Sub, Value::Node(x), m.clone(), false)?;
    let e = apply(ctx, y, MapFn::Exp);
    let e = ctx.as_node(e);
    let terms: Vec<Vec<(usize, f64)>> = windows
        .into_iter()
        .map(|w| w.into_iter().map(|i| (i, 1.0)).collect())
        .collect();
    let bias = vec![0.0; terms.len()];
    let sum = ctx.add(FloatOp::Linear { terms, bias }, vec![e], shape);
    Ok((m, apply(ctx, sum, MapFn::Log)))
}

/// `LogSoftmax`: `x − m − log Σ exp(x − m)` along `axis` (before opset 13, over the axes from
/// `axis` on, as the input coerced to a matrix).
pub fn log_softmax(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let x = ctx.node_input(0)?;
    let xs = ctx.graph.nodes[x].shape.clone();
    let default = if ctx.opset < 13 { 1 } else { -1 };
    let ax = axis(ctx.attr_int("axis", default), xs.len())?;
    let axes: Vec<usize> = match ctx.opset < 13 {
        true => (ax..xs.len()).collect(),
        false => vec![ax],
    };
    let (shape, windows) = reduce_windows(&xs, &axes, true);
    let (m, lse) = shifted_log_sum_exp(ctx, x, windows, shape)?;
    let shift = combine(ctx, Kind::Add, m, lse, false)?;
    Ok(vec![combine(ctx, Kind::Sub, Value::Node(x), shift, false)?])
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

/// `CumSum` along a constant axis (`exclusive`, `reverse`): a linear map of weight-1 terms.
pub fn cum_sum(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let x = ctx.node_input(0)?;
    let shape = ctx.graph.nodes[x].shape.clone();
    let a = ctx.const_input(1, "the axis")?;
    let ax = axis(a.data().first().copied().unwrap_or(0.0) as i64, shape.len())?;
    let exclusive = ctx.attr_int("exclusive", 0) != 0;
    let reverse = ctx.attr_int("reverse", 0) != 0;
    let st = strides(&shape);
    let len: usize = shape.iter().product();
    let n = shape[ax];
    let terms: Vec<Vec<(usize, f64)>> = (0..len)
        .map(|i| {
            let pos = (i / st[ax]) % n;
            let base = i - pos * st[ax];
            let range: Vec<usize> = match (reverse, exclusive) {
                (false, false) => (0..=pos).collect(),
                (false, true) => (0..pos).collect(),
                (true, false) => (pos..n).collect(),
                (true, true) => (pos + 1..n).collect(),
            };
            range
                .into_iter()
                .map(|j| (base + j * st[ax], 1.0))
                .collect()
        })
        .collect();
    let bias = vec![0.0; len];
    Ok(vec![ctx.add(
        FloatOp::Linear { terms, bias },
        vec![x],
        shape,
    )])
}

/// `ReduceProd`: the product of each window, as a chain of elementwise products of the
/// windows' `k`-th elements (each laid out by a free index map).
pub fn reduce_prod(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let v = ctx.input(0)?.clone();
    let xs = ctx.shape_of(&v);
    let keepdims = ctx.attr_int("keepdims", 1) != 0;
    let Some(axes) = reduce_axes(ctx, xs.len())? else {
        return Ok(vec![v]);
    };
    let (shape, windows) = reduce_windows(&xs, &axes, keepdims);
    let x = ctx.as_node(v);
    let n = windows.first().map_or(0, Vec::len);
    let mut acc: Option<Value> = None;
    for k in 0..n {
        let map = windows.iter().map(|w| (0, w[k])).collect();
        let part = super::rearrange::remap(ctx, vec![x], map, shape.clone());
        acc = Some(match acc {
            None => part,
            Some(a) => combine(ctx, Kind::Mul, a, part, false)?,
        });
    }
    acc.map(|a| vec![a])
        .ok_or_else(|| "an empty reduction".into())
}
