//! LayerNormalization, InstanceNormalization and GroupNormalization, composed from the CNN
//! issue's chips: a mean (exact sum, then the rounded division by the count), the centred
//! values, their mean square, a table of `sqrt(var + eps)` and a witnessed division, then the
//! constant scale and bias.

use zkinfer_ir::Tensor;

use super::arith::{combine, Kind};
use super::reduce::reduce_windows;
use super::{axis, Ctx, Value};

/// `mean(v)` over `axes`, keeping dimensions.
fn mean_over(ctx: &mut Ctx<'_>, v: Value, axes: &[usize]) -> Result<Value, String> {
    let shape = ctx.shape_of(&v);
    let (out, windows) = reduce_windows(&shape, axes, true);
    let x = ctx.as_node(v);
    let counts = windows.iter().map(|w| w.len().max(1)).collect();
    let terms = windows
        .into_iter()
        .map(|w| w.into_iter().map(|i| (i, 1.0)).collect())
        .collect();
    super::cnn::mean(ctx, x, terms, counts, out)
}

/// `(x − mean) / sqrt(var + eps)` over the axes from `first` on. The square root takes `eps`
/// inside its table and is never below one unit, so a constant row (variance 0) is a normal
/// input: its centred values are 0, and so is the result.
fn normalize(ctx: &mut Ctx<'_>, x: Value, first: usize, eps: f64) -> Result<Value, String> {
    let rank = ctx.shape_of(&x).len();
    let axes: Vec<usize> = (first..rank).collect();
    normalize_over(ctx, x, &axes, eps, true)
}

/// `(x − mean) / sqrt(var + eps)` over `axes` (with `centre` false: `x / sqrt(mean(x²) +
/// eps)`, RMS normalization).
fn normalize_over(
    ctx: &mut Ctx<'_>,
    x: Value,
    axes: &[usize],
    eps: f64,
    centre: bool,
) -> Result<Value, String> {
    let centred = match centre {
        true => {
            let mean = mean_over(ctx, x.clone(), axes)?;
            combine(ctx, Kind::Sub, x, mean, false)?
        }
        false => x,
    };
    let square = combine(ctx, Kind::Mul, centred.clone(), centred.clone(), false)?;
    let var = mean_over(ctx, square, axes)?;
    let g = zkinfer_ir::MapFn::StdDev {
        eps_bits: (eps as f32).to_bits(),
    };
    let std = match var {
        Value::Const(t) => Value::Const(t.map(|&v| g.apply(v))),
        Value::Node(v) => {
            let shape = ctx.graph.nodes[v].shape.clone();
            ctx.add(crate::float::FloatOp::Map(g), vec![v], shape)
        }
    };
    combine(ctx, Kind::Div, centred, std, false)
}

/// `normed · scale + bias`, the constants broadcast (`per_channel`: of shape `[C]`, along axis
/// 1 of a `[N, C, …]` tensor).
fn affine(
    ctx: &mut Ctx<'_>,
    normed: Value,
    scale: Tensor<f64>,
    bias: Option<Tensor<f64>>,
    per_channel: bool,
) -> Result<Value, String> {
    let rank = ctx.shape_of(&normed).len();
    let channel = |t: Tensor<f64>| -> Result<Tensor<f64>, String> {
        if !per_channel {
            return Ok(t);
        }
        let mut shape = vec![t.len()];
        shape.extend(std::iter::repeat_n(1, rank.saturating_sub(2)));
        Tensor::new(shape, t.into_data()).map_err(|e| e.to_string())
    };
    let scaled = combine(ctx, Kind::Mul, normed, Value::Const(channel(scale)?), false)?;
    Ok(match bias {
        Some(b) => combine(ctx, Kind::Add, scaled, Value::Const(channel(b)?), false)?,
        None => scaled,
    })
}

fn const_bias(ctx: &Ctx<'_>, i: usize) -> Result<Option<Tensor<f64>>, String> {
    match ctx.optional(i) {
        Some(Value::Const(b)) => Ok(Some(b.clone())),
        Some(Value::Node(_)) => Err(format!("the bias (input {i}) must be a constant")),
        None => Ok(None),
    }
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
    let bias = const_bias(ctx, 2)?;
    let normed = normalize(ctx, x, first, eps)?;
    Ok(vec![affine(ctx, normed, scale, bias, false)?])
}

/// `InstanceNormalization`: each channel of each sample normalized over its spatial axes,
/// then the per-channel scale and bias.
pub fn instance_norm(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let x = ctx.input(0)?.clone();
    if ctx.shape_of(&x).len() < 3 {
        return Err("the input must be [N, C, spatial…]".into());
    }
    let eps = ctx.attr_float("epsilon", 1e-5) as f64;
    let scale = ctx.const_input(1, "the scale")?;
    let bias = const_bias(ctx, 2)?;
    let normed = normalize(ctx, x, 2, eps)?;
    Ok(vec![affine(ctx, normed, scale, bias, true)?])
}

/// `GroupNormalization`: the channels of each sample in `num_groups` groups, each normalized
/// over its channels and spatial axes, then the scale and bias per channel (opset 21) or per
/// group (opset 18).
pub fn group_norm(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let x = ctx.input(0)?.clone();
    let s = ctx.shape_of(&x);
    if s.len() < 2 {
        return Err("the input must be [N, C, …]".into());
    }
    let groups = usize::try_from(ctx.attr_int("num_groups", 0))
        .ok()
        .filter(|&g| g > 0 && s[1] % g == 0)
        .ok_or_else(|| format!("num_groups must divide the {} channels", s[1]))?;
    let eps = ctx.attr_float("epsilon", 1e-5) as f64;
    let scale = ctx.const_input(1, "the scale")?;
    let bias = const_bias(ctx, 2)?;
    let rest: usize = s[1..].iter().product::<usize>() / groups;
    let grouped = reshape(ctx, x, vec![s[0], groups, rest])?;
    let normed = normalize(ctx, grouped, 2, eps)?;
    let per_group = scale.len() == groups && groups != s[1];
    if per_group {
        let normed = affine(ctx, normed, scale, bias, true)?;
        return Ok(vec![reshape(ctx, normed, s)?]);
    }
    let normed = reshape(ctx, normed, s)?;
    Ok(vec![affine(ctx, normed, scale, bias, true)?])
}

fn reshape(ctx: &mut Ctx<'_>, v: Value, shape: Vec<usize>) -> Result<Value, String> {
    Ok(match v {
        Value::Const(t) => {
            Value::Const(Tensor::new(shape, t.into_data()).map_err(|e| e.to_string())?)
        }
        Value::Node(x) => ctx.add(
            crate::float::FloatOp::IndexMap(zkinfer_ir::Op::Reshape),
            vec![x],
            shape,
        ),
    })
}

/// `MeanVarianceNormalization`: `(x − mean) / sqrt(var)` over `axes` (default `[0, 2, 3]`);
/// ONNX's ε of 1e-9 inside the root.
pub fn mean_variance_norm(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let x = ctx.input(0)?.clone();
    let rank = ctx.shape_of(&x).len();
    let axes: Vec<usize> = ctx
        .attr_ints("axes")
        .unwrap_or_else(|| vec![0, 2, 3])
        .iter()
        .map(|&a| axis(a, rank))
        .collect::<Result<_, _>>()?;
    Ok(vec![normalize_over(ctx, x, &axes, 1e-9, true)?])
}

/// `RMSNormalization`: `x / sqrt(mean(x²) + eps) · scale` over the axes from `axis` on.
pub fn rms_norm(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let x = ctx.input(0)?.clone();
    let rank = ctx.shape_of(&x).len();
    let first = axis(ctx.attr_int("axis", -1), rank)?;
    let eps = ctx.attr_float("epsilon", 1e-5) as f64;
    let scale = ctx.const_input(1, "the scale")?;
    let axes: Vec<usize> = (first..rank).collect();
    let normed = normalize_over(ctx, x, &axes, eps, false)?;
    Ok(vec![affine(ctx, normed, scale, None, false)?])
}

/// `LpNormalization`: `x / ‖x‖_p` along `axis`, for p = 1 (sum of magnitudes) or 2 (root of
/// the sum of squares).
pub fn lp_norm(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let x = ctx.input(0)?.clone();
    let shape = ctx.shape_of(&x);
    let ax = axis(ctx.attr_int("axis", -1), shape.len())?;
    let p = ctx.attr_int("p", 2);
    let (out, windows) = reduce_windows(&shape, &[ax], true);
    let per = match p {
        1 => match x.clone() {
            Value::Const(t) => Value::Const(t.map(|v| v.abs())),
            Value::Node(n) => ctx.add(
                crate::float::FloatOp::Map(zkinfer_ir::MapFn::Abs),
                vec![n],
                shape.clone(),
            ),
        },
        2 => combine(ctx, Kind::Mul, x.clone(), x.clone(), false)?,
        other => return Err(format!("p = {other} (1 or 2)")),
    };
    let per = ctx.as_node(per);
    let terms: Vec<Vec<(usize, f64)>> = windows
        .into_iter()
        .map(|w| w.into_iter().map(|i| (i, 1.0)).collect())
        .collect();
    let bias = vec![0.0; terms.len()];
    let sum = ctx.add(
        crate::float::FloatOp::Linear { terms, bias },
        vec![per],
        out.clone(),
    );
    let norm = match (p, sum) {
        // Never below one unit, so that a zero vector divides 0 by it (onnxruntime's 0).
        (2, Value::Node(s)) => ctx.add(
            crate::float::FloatOp::Map(zkinfer_ir::MapFn::StdDev {
                eps_bits: 0f32.to_bits(),
            }),
            vec![s],
            out,
        ),
        (_, v) => v,
    };
    Ok(vec![combine(ctx, Kind::Div, x, norm, false)?])
}
