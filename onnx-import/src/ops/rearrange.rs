//! Rearrangements: Expand, Tile, Split, Trilu, DepthToSpace/SpaceToDepth, GatherND and
//! Scatter with constant indices. Each is an index map over its inputs (free in the circuit:
//! `Op::Remap`), a constant mask, or for scatter reductions a sum, product or maximum
//! of fixed positions; constants fold.

use zkinfer_ir::{broadcast_indices, broadcast_shape, strides, Gather, Op, Remap, Tensor};

use super::shape::dims;
use super::{axis, Ctx, Value};
use crate::float::FloatOp;

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

/// `GatherND` with constant indices (and `batch_dims = 0`): an index map.
pub fn gather_nd(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let v = ctx.input(0)?.clone();
    let s = ctx.shape_of(&v);
    if ctx.attr_int("batch_dims", 0) != 0 {
        return Err("batch_dims > 0 is not supported".into());
    }
    if let Value::Node(idx) = *ctx.input(1)? {
        return Ok(vec![super::computed_index::gather_nd_computed(
            ctx, v, idx,
        )?]);
    }
    let idx = ctx.const_input(1, "indices")?;
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

/// `ScatterElements` and `ScatterND` with constant indices: the data with the updates written
/// at fixed positions (an index map over both), or combined with them by a sum, product,
/// maximum or minimum.
fn scatter(ctx: &mut Ctx<'_>, nd: bool) -> Result<Vec<Value>, String> {
    let data = ctx.input(0)?.clone();
    let ds = ctx.shape_of(&data);
    if let Value::Node(idx) = *ctx.input(1)? {
        return Ok(vec![super::computed_index::scatter_computed(
            ctx, nd, data, idx,
        )?]);
    }
    let idx = ctx.const_input(1, "indices")?;
    let updates = ctx.input(2)?.clone();
    let reduction = ctx.attr_string("reduction", "none");
    if !matches!(reduction.as_str(), "none" | "add" | "mul" | "max" | "min") {
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
                    "mul" => v.product(),
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
    if reduction == "mul" {
        return Ok(vec![scatter_product(ctx, &ins, &sources, ds)?]);
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

/// The product of each element's sources (`reduction = mul`): the data, then one proven
/// product per layer of updates, each layer an index map that picks an element's next update
/// (or a constant one where it has no more).
fn scatter_product(
    ctx: &mut Ctx<'_>,
    ins: &[usize],
    sources: &[Vec<(usize, usize)>],
    shape: Vec<usize>,
) -> Result<Value, String> {
    let layers = sources.iter().map(Vec::len).max().unwrap_or(1);
    let one = ctx.as_node(Value::Const(
        Tensor::new(vec![1], vec![1.0]).map_err(|e| e.to_string())?,
    ));
    let inputs = vec![ins[0], ins[1], one];
    let mut product = remap(
        ctx,
        ins.to_vec(),
        sources.iter().map(|s| s[0]).collect(),
        shape.clone(),
    );
    for layer in 1..layers {
        let map = sources
            .iter()
            .map(|s| s.get(layer).copied().unwrap_or((2, 0)))
            .collect();
        let factor = remap(ctx, inputs.clone(), map, shape.clone());
        product = super::arith::combine(ctx, super::arith::Kind::Mul, product, factor, false)?;
    }
    Ok(product)
}

pub fn scatter_elements(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    scatter(ctx, false)
}

pub fn scatter_nd(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    scatter(ctx, true)
}
