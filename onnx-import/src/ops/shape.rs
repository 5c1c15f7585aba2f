//! Shape operators: index maps over their input (free in the circuit) or folded constants.

use zkinfer_ir::{transpose_indices, Concat, ElemType, Gather, Op, Tensor, Transpose};

use super::{axis, Ctx, Value};
use crate::float::FloatOp;

fn reshape_to(ctx: &mut Ctx<'_>, v: Value, shape: Vec<usize>) -> Result<Value, String> {
    let len: usize = shape.iter().product();
    let have: usize = ctx.shape_of(&v).iter().product();
    if len != have {
        return Err(format!("cannot reshape {have} elements to {shape:?}"));
    }
    Ok(match v {
        Value::Const(t) => {
            Value::Const(Tensor::new(shape, t.into_data()).map_err(|e| e.to_string())?)
        }
        Value::Node(x) if ctx.graph.nodes[x].shape == shape => Value::Node(x),
        Value::Node(x) => ctx.add(FloatOp::IndexMap(Op::Reshape), vec![x], shape),
    })
}

pub fn identity(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    Ok(vec![ctx.input(0)?.clone()])
}

/// `Cast`: float → integer truncates toward zero (proven: an integer division), anything →
/// bool is `x ≠ 0`, and the rest keep their values (the importer gives the result its type,
/// so a narrowing cast is range-checked, never wrapped).
pub fn cast(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let code = ctx.attr_int("to", 0) as i32;
    let to = ElemType::from_onnx(code)
        .ok_or_else(|| format!("cast to data type {code} is not supported"))?;
    let from = ctx.dtype(0);
    match ctx.input(0)?.clone() {
        Value::Node(x) if to.is_bool() && !from.is_bool() => {
            Ok(vec![super::integer::nonzero(ctx, x)?])
        }
        Value::Node(x) if to.is_exact() && from.is_float() => {
            let shape = ctx.graph.nodes[x].shape.clone();
            Ok(vec![ctx.add(FloatOp::ToInt, vec![x], shape)])
        }
        Value::Node(x) => Ok(vec![Value::Node(x)]),
        Value::Const(t) => Ok(vec![Value::Const(match to {
            ElemType::Bool => t.map(|&v| f64::from(u8::from(v != 0.0))),
            t_ if t_.is_float() => t,
            _ => t.map(|&v| v.trunc()),
        })]),
    }
}

pub fn constant(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    if let Some(t) = ctx.attr_tensor("value") {
        return Ok(vec![Value::Const(t?)]);
    }
    let t = if ctx.has_attr("value_float") {
        Tensor::new(vec![], vec![ctx.attr_float("value_float", 0.0) as f64])
    } else if ctx.has_attr("value_int") {
        Tensor::new(vec![], vec![ctx.attr_int("value_int", 0) as f64])
    } else if let Some(f) = ctx.attr_floats("value_floats") {
        Tensor::new(vec![f.len()], f.iter().map(|&v| v as f64).collect())
    } else if let Some(i) = ctx.attr_ints("value_ints") {
        Tensor::new(vec![i.len()], i.iter().map(|&v| v as f64).collect())
    } else {
        return Err("Constant without a supported value attribute".into());
    };
    Ok(vec![Value::Const(t.map_err(|e| e.to_string())?)])
}

pub fn shape(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let s = ctx.shape_of(ctx.input(0)?);
    let r = s.len() as i64;
    let clamp = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
    let start = clamp(ctx.attr_int("start", 0));
    let end = clamp(ctx.attr_int("end", r));
    let dims: Vec<f64> = s[start..end.max(start)].iter().map(|&d| d as f64).collect();
    Ok(vec![Value::Const(
        Tensor::new(vec![dims.len()], dims).map_err(|e| e.to_string())?,
    )])
}

pub fn flatten(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let v = ctx.input(0)?.clone();
    let s = ctx.shape_of(&v);
    let a = ctx.attr_int("axis", 1);
    let a = if a < 0 { a + s.len() as i64 } else { a };
    if !(0..=s.len() as i64).contains(&a) {
        return Err(format!("axis {a} is out of range for rank {}", s.len()));
    }
    let a = a as usize;
    let shape = vec![s[..a].iter().product(), s[a..].iter().product()];
    Ok(vec![reshape_to(ctx, v, shape)?])
}

pub fn reshape(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let v = ctx.input(0)?.clone();
    let target = ctx.const_input(1, "the target shape")?;
    let s = ctx.shape_of(&v);
    let allow_zero = ctx.attr_int("allowzero", 0) != 0;
    let total: usize = s.iter().product();
    let mut shape = Vec::with_capacity(target.len());
    let mut infer = None;
    for (i, &d) in target.data().iter().enumerate() {
        let d = d as i64;
        shape.push(match d {
            -1 => {
                infer = Some(i);
                1
            }
            0 if !allow_zero => *s
                .get(i)
                .ok_or("0 in the target shape past the input rank")?,
            d if d >= 0 => d as usize,
            d => return Err(format!("invalid dimension {d} in the target shape")),
        });
    }
    if let Some(i) = infer {
        let known: usize = shape.iter().product();
        if known == 0 || total % known != 0 {
            return Err(format!(
                "cannot infer the -1 dimension reshaping {s:?} to {:?}",
                target.data()
            ));
        }
        shape[i] = total / known;
    }
    Ok(vec![reshape_to(ctx, v, shape)?])
}

fn axes_input(ctx: &Ctx<'_>, rank: usize) -> Result<Vec<usize>, String> {
    let raw: Vec<i64> = match ctx.optional(1) {
        Some(Value::Const(t)) => t.data().iter().map(|&v| v as i64).collect(),
        Some(Value::Node(_)) => return Err("axes (input 1) must be a constant".into()),
        None => ctx.attr_ints("axes").unwrap_or_default(),
    };
    let mut axes = raw
        .iter()
        .map(|&a| axis(a, rank))
        .collect::<Result<Vec<_>, _>>()?;
    axes.sort_unstable();
    Ok(axes)
}

pub fn unsqueeze(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let v = ctx.input(0)?.clone();
    let s = ctx.shape_of(&v);
    let n_axes = match ctx.optional(1) {
        Some(a) => ctx.shape_of(a).iter().product(),
        None => ctx.attr_ints("axes").map_or(0, |a| a.len()),
    };
    let axes = axes_input(ctx, s.len() + n_axes)?;
    let mut shape = s.clone();
    for &a in &axes {
        if a > shape.len() {
            return Err(format!("axis {a} out of range"));
        }
        shape.insert(a, 1);
    }
    Ok(vec![reshape_to(ctx, v, shape)?])
}

pub fn squeeze(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let v = ctx.input(0)?.clone();
    let s = ctx.shape_of(&v);
    let axes = axes_input(ctx, s.len())?;
    let shape: Vec<usize> = s
        .iter()
        .enumerate()
        .filter(|&(i, &d)| {
            !(if axes.is_empty() {
                d == 1
            } else {
                axes.contains(&i)
            })
        })
        .map(|(_, &d)| d)
        .collect();
    Ok(vec![reshape_to(ctx, v, shape)?])
}

pub fn transpose(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let v = ctx.input(0)?.clone();
    let s = ctx.shape_of(&v);
    let perm: Vec<usize> = match ctx.attr_ints("perm") {
        Some(p) => p
            .iter()
            .map(|&a| axis(a, s.len()))
            .collect::<Result<_, _>>()?,
        None => (0..s.len()).rev().collect(),
    };
    let shape: Vec<usize> = perm.iter().map(|&p| s[p]).collect();
    Ok(vec![match v {
        Value::Const(t) => {
            let idx = transpose_indices(&s, &perm);
            Value::Const(
                Tensor::new(shape, idx.iter().map(|&i| t.data()[i]).collect())
                    .map_err(|e| e.to_string())?,
            )
        }
        Value::Node(x) => ctx.add(
            FloatOp::IndexMap(Op::Transpose(Transpose { perm })),
            vec![x],
            shape,
        ),
    }])
}

pub fn gather(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let v = ctx.input(0)?.clone();
    let s = ctx.shape_of(&v);
    let ax = axis(ctx.attr_int("axis", 0), s.len())?;
    if let Value::Node(idx) = ctx.input(1)? {
        let idx = *idx;
        return Ok(vec![super::select::gather_computed(ctx, v, idx, ax)?]);
    }
    let idx = ctx.const_input(1, "indices")?;
    let dim = s[ax] as i64;
    let indices = idx
        .data()
        .iter()
        .map(|&i| {
            let i = i as i64;
            let n = if i < 0 { i + dim } else { i };
            if (0..dim).contains(&n) {
                Ok(n as usize)
            } else {
                Err(format!(
                    "index {i} is out of range for axis {ax} of size {dim}"
                ))
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(vec![gather_axis(ctx, v, ax, indices, idx.shape())?])
}

/// Elements `indices` (of shape `idx_shape`) along axis `ax` of `v`.
fn gather_axis(
    ctx: &mut Ctx<'_>,
    v: Value,
    ax: usize,
    indices: Vec<usize>,
    idx_shape: &[usize],
) -> Result<Value, String> {
    let s = ctx.shape_of(&v);
    let mut shape = s[..ax].to_vec();
    shape.extend_from_slice(idx_shape);
    shape.extend_from_slice(&s[ax + 1..]);
    let op = Op::Gather(Gather { axis: ax, indices });
    Ok(match v {
        Value::Const(t) => {
            let map = zkinfer_ir::index_map(&op, &[&s], &shape).unwrap_or_default();
            Value::Const(
                Tensor::new(shape, map.iter().map(|&(_, i)| t.data()[i]).collect())
                    .map_err(|e| e.to_string())?,
            )
        }
        Value::Node(x) => ctx.add(FloatOp::IndexMap(op), vec![x], shape),
    })
}

/// Slice with constant starts, ends, axes and steps: one selection per sliced axis.
pub fn slice(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let mut v = ctx.input(0)?.clone();
    let s = ctx.shape_of(&v);
    let ints = |ctx: &Ctx<'_>, i: usize, attr: &str| -> Result<Option<Vec<i64>>, String> {
        if ctx.opset < 10 {
            return Ok(ctx.attr_ints(attr));
        }
        match ctx.optional(i) {
            Some(Value::Const(t)) => Ok(Some(t.data().iter().map(|&x| x as i64).collect())),
            Some(Value::Node(_)) => Err(format!("{attr} (input {i}) must be a constant")),
            None => Ok(None),
        }
    };
    let starts = ints(ctx, 1, "starts")?.ok_or("missing starts")?;
    let ends = ints(ctx, 2, "ends")?.ok_or("missing ends")?;
    let axes = ints(ctx, 3, "axes")?.unwrap_or_else(|| (0..starts.len() as i64).collect());
    let steps = ints(ctx, 4, "steps")?.unwrap_or_else(|| vec![1; starts.len()]);
    if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
        return Err("starts, ends, axes and steps differ in length".into());
    }
    for k in 0..starts.len() {
        let ax = axis(axes[k], s.len())?;
        let dim = s[ax] as i64;
        let step = steps[k];
        if step == 0 {
            return Err("a step of 0".into());
        }
        let norm = |x: i64| if x < 0 { x + dim } else { x };
        let (lo, hi) = if step > 0 { (0, dim) } else { (-1, dim - 1) };
        let start = norm(starts[k]).clamp(lo, hi);
        let end = norm(ends[k].clamp(-(1 << 40), 1 << 40)).clamp(lo, hi);
        let mut indices = Vec::new();
        let mut i = start;
        while (step > 0 && i < end) || (step < 0 && i > end) {
            indices.push(i as usize);
            i += step;
        }
        if indices.is_empty() {
            // An empty slice is legal ONNX (a shape vector sliced past its end, as
            // `nn.MultiheadAttention` exports do): of a constant, an empty constant.
            if matches!(v, Value::Node(_)) {
                return Err("the slice of computed values is empty".into());
            }
            let mut shape = ctx.shape_of(&v);
            shape[ax] = 0;
            return Ok(vec![Value::Const(
                Tensor::new(shape, Vec::new()).map_err(|e| e.to_string())?,
            )]);
        }
        let n = indices.len();
        v = gather_axis(ctx, v, ax, indices, &[n])?;
    }
    Ok(vec![v])
}

pub fn concat(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let mut values: Vec<Value> = (0..ctx.inputs.len())
        .map(|i| ctx.input(i).cloned())
        .collect::<Result<_, _>>()?;
    // Empty inputs add nothing (ONNX allows them, shape vectors sliced empty among them).
    if values.iter().any(|v| ctx.shape_of(v).contains(&0)) {
        let kept: Vec<Value> = values
            .iter()
            .filter(|v| !ctx.shape_of(v).contains(&0))
            .cloned()
            .collect();
        if !kept.is_empty() {
            values = kept;
        }
    }
    let shapes: Vec<Vec<usize>> = values.iter().map(|v| ctx.shape_of(v)).collect();
    let rank = shapes.first().map_or(0, Vec::len);
    let ax = axis(ctx.attr_int("axis", 0), rank)?;
    let mut shape = shapes.first().cloned().unwrap_or_default();
    shape[ax] = 0;
    for s in &shapes {
        if s.len() != rank || s.iter().enumerate().any(|(i, &d)| i != ax && d != shape[i]) {
            return Err(format!(
                "inputs of shapes {shapes:?} cannot be concatenated on axis {ax}"
            ));
        }
        shape[ax] += s[ax];
    }
    let op = Op::Concat(Concat { axis: ax });
    if values.iter().all(|v| matches!(v, Value::Const(_))) {
        let refs: Vec<&[usize]> = shapes.iter().map(Vec::as_slice).collect();
        let map = zkinfer_ir::index_map(&op, &refs, &shape).unwrap_or_default();
        let data = map
            .iter()
            .map(|&(w, i)| match &values[w] {
                Value::Const(t) => t.data()[i],
                Value::Node(_) => 0.0,
            })
            .collect();
        return Ok(vec![Value::Const(
            Tensor::new(shape, data).map_err(|e| e.to_string())?,
        )]);
    }
    let mut ids = Vec::with_capacity(values.len());
    for v in values {
        ids.push(match v {
            Value::Node(x) => x,
            c @ Value::Const(_) => ctx.as_node(c),
        });
    }
    Ok(vec![ctx.add(FloatOp::IndexMap(op), ids, shape)])
}

pub(super) fn dims(t: &Tensor<f64>, what: &str) -> Result<Vec<usize>, String> {
    t.data()
        .iter()
        .map(|&d| {
            if d >= 0.0 {
                Ok(d as usize)
            } else {
                Err(format!("{what} has a negative dimension {d}"))
            }
        })
        .collect()
}

/// `ConstantOfShape`: a constant (the `value` attribute, default 0).
pub fn constant_of_shape(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let shape = dims(&ctx.const_input(0, "the shape")?, "the shape")?;
    let fill = match ctx.attr_tensor("value") {
        Some(t) => t?.data().first().copied().unwrap_or(0.0),
        None => 0.0,
    };
    let len = shape.iter().product();
    Ok(vec![Value::Const(
        Tensor::new(shape, vec![fill; len]).map_err(|e| e.to_string())?,
    )])
}

/// `Range(start, limit, delta)` of constants.
pub fn range(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let scalar = |i: usize, what: &str| -> Result<f64, String> {
        ctx.const_input(i, what)?
            .data()
            .first()
            .copied()
            .ok_or_else(|| format!("{what} is empty"))
    };
    let (start, limit, delta) = (
        scalar(0, "start")?,
        scalar(1, "limit")?,
        scalar(2, "delta")?,
    );
    if delta == 0.0 {
        return Err("delta is 0".into());
    }
    let n = ((limit - start) / delta).ceil().max(0.0) as usize;
    let data: Vec<f64> = (0..n).map(|i| start + i as f64 * delta).collect();
    Ok(vec![Value::Const(
        Tensor::new(vec![n], data).map_err(|e| e.to_string())?,
    )])
}

/// `Size`: the element count, a constant.
pub fn size(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let n: usize = ctx.shape_of(ctx.input(0)?).iter().product();
    Ok(vec![Value::Const(
        Tensor::new(vec![], vec![n as f64]).map_err(|e| e.to_string())?,
    )])
}
