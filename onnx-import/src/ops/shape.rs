//! Shape operators: index maps over their input (free in the circuit) or folded constants.

use zkinfer_ir::{
    broadcast_indices, broadcast_shape, strides, transpose_indices, Concat, ElemType, Gather, Op,
    Remap, Tensor, Transpose,
};

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
            return Err("the slice is empty".into());
        }
        let n = indices.len();
        v = gather_axis(ctx, v, ax, indices, &[n])?;
    }
    Ok(vec![v])
}

pub fn concat(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let values: Vec<Value> = (0..ctx.inputs.len())
        .map(|i| ctx.input(i).cloned())
        .collect::<Result<_, _>>()?;
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

/// A fixed arrangement of node elements (free in the circuit): per output element, the input
/// position and its flat index.
pub fn remap(
    ctx: &mut Ctx<'_>,
    inputs: Vec<usize>,
    map: Vec<(usize, usize)>,
    shape: Vec<usize>,
) -> Value {
    ctx.add(FloatOp::IndexMap(Op::Remap(Remap { map })), inputs, shape)
}

/// `v` broadcast to `shape` (numpy rules): a folded constant, or an index map of a node.
pub fn broadcast_to(ctx: &mut Ctx<'_>, v: Value, shape: &[usize]) -> Result<Value, String> {
    let have = ctx.shape_of(&v);
    if have == shape {
        return Ok(v);
    }
    match broadcast_shape(&have, shape) {
        Some(s) if s == shape => {}
        _ => return Err(format!("shape {have:?} does not broadcast to {shape:?}")),
    }
    let idx = broadcast_indices(&have, shape);
    Ok(match v {
        Value::Const(t) => Value::Const(
            Tensor::new(shape.to_vec(), idx.iter().map(|&i| t.data()[i]).collect())
                .map_err(|e| e.to_string())?,
        ),
        Value::Node(x) => remap(
            ctx,
            vec![x],
            idx.into_iter().map(|i| (0, i)).collect(),
            shape.to_vec(),
        ),
    })
}

fn dims(t: &Tensor<f64>, what: &str) -> Result<Vec<usize>, String> {
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

/// `Expand`: bidirectional broadcasting to the given shape.
pub fn expand_op(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let v = ctx.input(0)?.clone();
    let target = dims(&ctx.const_input(1, "the shape")?, "the shape")?;
    let have = ctx.shape_of(&v);
    let shape = broadcast_shape(&have, &target)
        .ok_or_else(|| format!("shapes {have:?} and {target:?} do not broadcast"))?;
    Ok(vec![broadcast_to(ctx, v, &shape)?])
}

/// `Tile`: the input repeated `repeats[d]` times along each axis.
pub fn tile(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let v = ctx.input(0)?.clone();
    let reps = dims(&ctx.const_input(1, "repeats")?, "repeats")?;
    let have = ctx.shape_of(&v);
    if reps.len() != have.len() {
        return Err(format!("{} repeats for rank {}", reps.len(), have.len()));
    }
    let shape: Vec<usize> = have.iter().zip(&reps).map(|(a, b)| a * b).collect();
    let (out_s, in_s) = (strides(&shape), strides(&have));
    let len: usize = shape.iter().product();
    let idx: Vec<usize> = (0..len)
        .map(|flat| {
            (0..shape.len())
                .map(|a| ((flat / out_s[a]) % shape[a] % have[a]) * in_s[a])
                .sum()
        })
        .collect();
    Ok(vec![match v {
        Value::Const(t) => Value::Const(
            Tensor::new(shape, idx.iter().map(|&i| t.data()[i]).collect())
                .map_err(|e| e.to_string())?,
        ),
        Value::Node(x) => remap(
            ctx,
            vec![x],
            idx.into_iter().map(|i| (0, i)).collect(),
            shape,
        ),
    }])
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

/// `Split` along `axis` into the given sizes, or equal parts (one per output).
pub fn split(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let v = ctx.input(0)?.clone();
    let s = ctx.shape_of(&v);
    let ax = axis(ctx.attr_int("axis", 0), s.len())?;
    let outputs = ctx.node.output.len().max(1);
    let sizes: Vec<usize> = match (ctx.optional(1), ctx.attr_ints("split")) {
        (Some(Value::Const(t)), _) => dims(t, "split")?,
        (Some(Value::Node(_)), _) => return Err("split (input 1) must be a constant".into()),
        (None, Some(v)) => v.iter().map(|&d| d.max(0) as usize).collect(),
        (None, None) => {
            let parts = usize::try_from(ctx.attr_int("num_outputs", outputs as i64))
                .unwrap_or(outputs)
                .max(1);
            let each = s[ax].div_ceil(parts);
            (0..parts)
                .map(|i| each.min(s[ax].saturating_sub(i * each)))
                .collect()
        }
    };
    if sizes.iter().sum::<usize>() != s[ax] {
        return Err(format!("split sizes {sizes:?} do not add up to {}", s[ax]));
    }
    let mut out = Vec::with_capacity(sizes.len());
    let mut lo = 0;
    for size in sizes {
        let indices: Vec<usize> = (lo..lo + size).collect();
        lo += size;
        let mut shape = s.clone();
        shape[ax] = size;
        out.push(match &v {
            Value::Const(t) => {
                let outer: usize = s[..ax].iter().product();
                let inner: usize = s[ax + 1..].iter().product();
                let mut data = Vec::with_capacity(shape.iter().product());
                for o in 0..outer {
                    for &i in &indices {
                        let start = (o * s[ax] + i) * inner;
                        data.extend_from_slice(&t.data()[start..start + inner]);
                    }
                }
                Value::Const(Tensor::new(shape, data).map_err(|e| e.to_string())?)
            }
            Value::Node(x) => ctx.add(
                FloatOp::IndexMap(Op::Gather(Gather { axis: ax, indices })),
                vec![*x],
                shape,
            ),
        });
    }
    Ok(out)
}

/// `Trilu`: the lower (`upper = 0`) or upper triangle of the last two axes, shifted by the
/// constant `k`; the rest 0. A constant mask: a free selection of each element or 0.
pub fn trilu(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let v = ctx.input(0)?.clone();
    let s = ctx.shape_of(&v);
    if s.len() < 2 {
        return Err("the input must have rank 2 or more".into());
    }
    let k = match ctx.optional(1) {
        Some(Value::Const(t)) => t.data().first().copied().unwrap_or(0.0) as i64,
        Some(Value::Node(_)) => return Err("k (input 1) must be a constant".into()),
        None => 0,
    };
    let upper = ctx.attr_int("upper", 1) != 0;
    let (rows, cols) = (s[s.len() - 2], s[s.len() - 1]);
    let len: usize = s.iter().product();
    let mask: Vec<f64> = (0..len)
        .map(|i| {
            let (r, c) = (((i / cols) % rows) as i64, (i % cols) as i64);
            let keep = if upper { c - r >= k } else { c - r <= k };
            f64::from(u8::from(keep))
        })
        .collect();
    let mask = Tensor::new(s.clone(), mask).map_err(|e| e.to_string())?;
    Ok(vec![match v {
        Value::Const(t) => Value::Const(
            Tensor::new(
                s,
                t.data()
                    .iter()
                    .zip(mask.data())
                    .map(|(a, m)| a * m)
                    .collect(),
            )
            .map_err(|e| e.to_string())?,
        ),
        Value::Node(x) => {
            let zero = mask.map(|_| 0.0);
            ctx.add(
                FloatOp::Affine {
                    mul: mask,
                    add: zero,
                },
                vec![x],
                s,
            )
        }
    }])
}

/// `DepthToSpace` (DCR or CRD) and `SpaceToDepth` of `[N, C, H, W]`: index maps.
fn depth_space(ctx: &mut Ctx<'_>, to_space: bool) -> Result<Vec<Value>, String> {
    let v = ctx.input(0)?.clone();
    let s = ctx.shape_of(&v);
    let b = usize::try_from(ctx.attr_int("blocksize", 0))
        .ok()
        .filter(|&b| b > 0)
        .ok_or("blocksize must be positive")?;
    let [n, c, h, w] = s[..] else {
        return Err(format!("the input must be [N, C, H, W], got {s:?}"));
    };
    let crd = ctx.attr_string("mode", "DCR") == "CRD";
    let (out, map): (Vec<usize>, Vec<usize>) = if to_space {
        if c % (b * b) != 0 {
            return Err(format!("{c} channels are not a multiple of {}", b * b));
        }
        let oc = c / (b * b);
        let out = vec![n, oc, h * b, w * b];
        let mut map = Vec::with_capacity(out.iter().product());
        for ni in 0..n {
            for o in 0..oc {
                for y in 0..h * b {
                    for x in 0..w * b {
                        let (by, bx) = (y % b, x % b);
                        let ic = if crd {
                            o * b * b + by * b + bx
                        } else {
                            (by * b + bx) * oc + o
                        };
                        map.push(((ni * c + ic) * h + y / b) * w + x / b);
                    }
                }
            }
        }
        (out, map)
    } else {
        if h % b != 0 || w % b != 0 {
            return Err(format!("{h}×{w} is not a multiple of the block {b}"));
        }
        let out = vec![n, c * b * b, h / b, w / b];
        let mut map = Vec::with_capacity(out.iter().product());
        for ni in 0..n {
            for oc in 0..c * b * b {
                let (blk, ic) = (oc / c, oc % c);
                let (by, bx) = (blk / b, blk % b);
                for y in 0..h / b {
                    for x in 0..w / b {
                        map.push(((ni * c + ic) * h + y * b + by) * w + x * b + bx);
                    }
                }
            }
        }
        (out, map)
    };
    Ok(vec![match v {
        Value::Const(t) => Value::Const(
            Tensor::new(out, map.iter().map(|&i| t.data()[i]).collect())
                .map_err(|e| e.to_string())?,
        ),
        Value::Node(x) => remap(ctx, vec![x], map.into_iter().map(|i| (0, i)).collect(), out),
    }])
}

pub fn depth_to_space(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    depth_space(ctx, true)
}

pub fn space_to_depth(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    depth_space(ctx, false)
}

/// `Size`: the element count, a constant.
pub fn size(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let n: usize = ctx.shape_of(ctx.input(0)?).iter().product();
    Ok(vec![Value::Const(
        Tensor::new(vec![], vec![n as f64]).map_err(|e| e.to_string())?,
    )])
}

/// `GatherND` with constant indices (and `batch_dims = 0`): an index map.
pub fn gather_nd(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let v = ctx.input(0)?.clone();
    let s = ctx.shape_of(&v);
    let idx = ctx.const_input(1, "indices")?;
    if ctx.attr_int("batch_dims", 0) != 0 {
        return Err("batch_dims > 0 is not supported".into());
    }
    let is = idx.shape().to_vec();
    let m = *is.last().ok_or("indices must have rank 1 or more")?;
    if m > s.len() {
        return Err(format!("index tuples of {m} for rank {}", s.len()));
    }
    let st = strides(&s);
    let inner: usize = s[m..].iter().product();
    let tuples = idx.len() / m.max(1);
    let mut map = Vec::with_capacity(tuples * inner);
    for t in 0..tuples {
        let mut base = 0;
        for a in 0..m {
            let i = idx.data()[t * m + a] as i64;
            let i = if i < 0 { i + s[a] as i64 } else { i };
            if !(0..s[a] as i64).contains(&i) {
                return Err(format!(
                    "index {i} out of range for axis {a} of size {}",
                    s[a]
                ));
            }
            base += i as usize * st[a];
        }
        map.extend((0..inner).map(|j| base + j));
    }
    let mut out = is[..is.len() - 1].to_vec();
    out.extend_from_slice(&s[m..]);
    Ok(vec![match v {
        Value::Const(t) => Value::Const(
            Tensor::new(out, map.iter().map(|&i| t.data()[i]).collect())
                .map_err(|e| e.to_string())?,
        ),
        Value::Node(x) => remap(ctx, vec![x], map.into_iter().map(|i| (0, i)).collect(), out),
    }])
}

/// `ScatterElements` and `ScatterND` with constant indices and no reduction: the data with
/// the updates written at fixed positions, an index map over both.
fn scatter(ctx: &mut Ctx<'_>, nd: bool) -> Result<Vec<Value>, String> {
    let data = ctx.input(0)?.clone();
    let ds = ctx.shape_of(&data);
    let idx = ctx.const_input(1, "indices")?;
    let updates = ctx.input(2)?.clone();
    let reduction = ctx.attr_string("reduction", "none");
    if !matches!(reduction.as_str(), "none" | "add" | "max" | "min") {
        return Err(format!("reduction `{reduction}` is not supported"));
    }
    let len: usize = ds.iter().product();
    let st = strides(&ds);
    let wrap = |i: f64, n: usize| -> Result<usize, String> {
        let i = i as i64;
        let j = if i < 0 { i + n as i64 } else { i };
        (0..n as i64)
            .contains(&j)
            .then_some(j as usize)
            .ok_or_else(|| format!("index {i} out of range for an axis of {n}"))
    };
    // Per output element, what it combines: (0 = data, 1 = updates, flat index).
    let mut sources: Vec<Vec<(usize, usize)>> = (0..len).map(|i| vec![(0, i)]).collect();
    let mut put = |at: usize, u: usize| match reduction.as_str() {
        "none" => sources[at] = vec![(1, u)],
        _ => sources[at].push((1, u)),
    };
    if nd {
        let is = idx.shape();
        let m = *is.last().ok_or("indices must have rank 1 or more")?;
        let inner: usize = ds[m..].iter().product();
        for t in 0..idx.len() / m.max(1) {
            let mut base = 0;
            for a in 0..m {
                base += wrap(idx.data()[t * m + a], ds[a])? * st[a];
            }
            for j in 0..inner {
                put(base + j, t * inner + j);
            }
        }
    } else {
        let ax = axis(ctx.attr_int("axis", 0), ds.len())?;
        let is = idx.shape().to_vec();
        let ist = strides(&is);
        for p in 0..idx.len() {
            let k = wrap(idx.data()[p], ds[ax])?;
            let flat: usize = (0..is.len())
                .map(|a| if a == ax { k } else { (p / ist[a]) % is[a] } * st[a])
                .sum();
            put(flat, p);
        }
    }
    if let (Value::Const(d), Value::Const(u)) = (&data, &updates) {
        let value = |&(w, i): &(usize, usize)| if w == 0 { d.data()[i] } else { u.data()[i] };
        let vals = sources
            .iter()
            .map(|src| {
                let mut v = src.iter().map(value);
                match reduction.as_str() {
                    "add" => v.sum(),
                    "max" => v.fold(f64::NEG_INFINITY, f64::max),
                    "min" => v.fold(f64::INFINITY, f64::min),
                    _ => v.next_back().unwrap_or(0.0),
                }
            })
            .collect();
        return Ok(vec![Value::Const(
            Tensor::new(ds, vals).map_err(|e| e.to_string())?,
        )]);
    }
    let ulen: usize = ctx.shape_of(&updates).iter().product();
    let ins = vec![ctx.as_node(data), ctx.as_node(updates)];
    if sources.iter().all(|s| s.len() == 1) {
        let map = sources.into_iter().map(|s| s[0]).collect();
        return Ok(vec![remap(ctx, ins, map, ds)]);
    }
    // Data and updates side by side (free), then the reduction of each element's sources.
    let flat = |&(w, i): &(usize, usize)| if w == 0 { i } else { len + i };
    let both: Vec<(usize, usize)> = (0..len)
        .map(|i| (0, i))
        .chain((0..ulen).map(|i| (1, i)))
        .collect();
    let cat = remap(ctx, ins, both, vec![len + ulen]);
    let windows: Vec<Vec<usize>> = sources
        .iter()
        .map(|s| s.iter().map(flat).collect())
        .collect();
    let minus = |ctx: &mut Ctx<'_>, v: Value| -> Result<Value, String> {
        let m = Tensor::new(vec![1], vec![-1.0]).map_err(|e| e.to_string())?;
        super::arith::combine(ctx, super::arith::Kind::Mul, v, Value::Const(m), false)
    };
    Ok(vec![match reduction.as_str() {
        "add" => {
            let terms = windows
                .into_iter()
                .map(|w| w.into_iter().map(|i| (i, 1.0)).collect())
                .collect();
            let bias = vec![0.0; len];
            let Value::Node(c) = cat else {
                return Err("internal: folded".into());
            };
            ctx.add(FloatOp::Linear { terms, bias }, vec![c], ds)
        }
        "max" => {
            let Value::Node(c) = cat else {
                return Err("internal: folded".into());
            };
            ctx.add(FloatOp::Max(windows), vec![c], ds)
        }
        _ => {
            let Value::Node(c) = minus(ctx, cat)? else {
                return Err("internal: folded".into());
            };
            let m = ctx.add(FloatOp::Max(windows), vec![c], ds);
            minus(ctx, m)?
        }
    }])
}

pub fn scatter_elements(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    scatter(ctx, false)
}

pub fn scatter_nd(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    scatter(ctx, true)
}
