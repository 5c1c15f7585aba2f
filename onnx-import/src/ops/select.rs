//! Gather and GatherElements by indices the model computes (tree ensembles walk their trees
//! this way): each output element selects among the positions its index can take, found by
//! following the values of the integer subgraph that computes it (a node id is a comparison
//! bit plus twice its parent's, or one of the children a `Where` picks, so a tree's level has
//! a handful of positions, not the whole table). Proven by a one-hot selector (`Op::Select`).

use std::collections::HashMap;

use zkinfer_ir::{index_map, strides, BinaryKind, Tensor};

use super::{axis, Ctx, Value};
use crate::float::{FloatGraph, FloatOp, Pick};

/// More candidates than this per element is refused: an index whose range the analysis
/// cannot narrow, over a large axis.
const MAX_CANDIDATES: usize = 4096;

/// The most values the analysis tracks for one element.
const MAX_VALUES: usize = 512;

/// Per element, the values (sorted, distinct) an exact node can take, when the analysis
/// knows them: constants, comparison bits, index maps, integer affine maps, sums and
/// products, the union of a `Where`'s branches, and what a selection can pick.
pub fn value_sets(g: &FloatGraph, id: usize) -> Option<Vec<Vec<i64>>> {
    sets(g, id, &mut HashMap::new())
}

/// [`value_sets`], each node's sets computed once (branches share their ancestors).
fn sets(
    g: &FloatGraph,
    id: usize,
    memo: &mut HashMap<usize, Option<Vec<Vec<i64>>>>,
) -> Option<Vec<Vec<i64>>> {
    if let Some(known) = memo.get(&id) {
        return known.clone();
    }
    let found = node_sets(g, id, memo);
    memo.insert(id, found.clone());
    found
}

fn node_sets(
    g: &FloatGraph,
    id: usize,
    memo: &mut HashMap<usize, Option<Vec<Vec<i64>>>>,
) -> Option<Vec<Vec<i64>>> {
    let node = &g.nodes[id];
    let mut input = |i: usize| sets(g, node.inputs[i], memo);
    let shape = |i: usize| g.nodes[node.inputs[i]].shape.as_slice();
    let exact = |v: f64| (v.fract() == 0.0 && v.abs() < 1e15).then_some(v as i64);
    let set = |mut v: Vec<i64>| -> Option<Vec<i64>> {
        v.sort_unstable();
        v.dedup();
        (v.len() <= MAX_VALUES).then_some(v)
    };
    Some(match &node.op {
        FloatOp::Linear { bias, .. } if node.inputs.is_empty() => bias
            .iter()
            .map(|&b| exact(b).map(|b| vec![b]))
            .collect::<Option<_>>()?,
        FloatOp::Negative => vec![vec![0, 1]; node.len()],
        FloatOp::IndexMap(op) => {
            let ins: Vec<Vec<Vec<i64>>> =
                (0..node.inputs.len()).map(input).collect::<Option<_>>()?;
            let shapes: Vec<&[usize]> = (0..node.inputs.len()).map(shape).collect();
            index_map(op, &shapes, &node.shape)?
                .iter()
                .map(|&(w, i)| ins[w][i].clone())
                .collect()
        }
        FloatOp::Affine { mul, add } => input(0)?
            .iter()
            .zip(mul.data().iter().zip(add.data()))
            .map(|(vals, (&m, &a))| {
                let (m, a) = (exact(m)?, exact(a)?);
                vals.iter()
                    .map(|&v| v.checked_mul(m)?.checked_add(a))
                    .collect::<Option<Vec<_>>>()
                    .and_then(set)
            })
            .collect::<Option<_>>()?,
        FloatOp::Binary(kind) => {
            let (a, b) = (input(0)?, input(1)?);
            let ia = zkinfer_ir::broadcast_indices(shape(0), &node.shape);
            let ib = zkinfer_ir::broadcast_indices(shape(1), &node.shape);
            ia.iter()
                .zip(&ib)
                .map(|(&i, &j)| {
                    if a[i].len() * b[j].len() > MAX_VALUES * 8 {
                        return None;
                    }
                    let mut out = Vec::with_capacity(a[i].len() * b[j].len());
                    for &x in &a[i] {
                        for &y in &b[j] {
                            out.push(match kind {
                                BinaryKind::Add => x.checked_add(y)?,
                                BinaryKind::Sub => x.checked_sub(y)?,
                                BinaryKind::Mul => x.checked_mul(y)?,
                            });
                        }
                    }
                    set(out)
                })
                .collect::<Option<_>>()?
        }
        FloatOp::Where => {
            let (c, x, y) = (input(0)?, input(1)?, input(2)?);
            let ic = zkinfer_ir::broadcast_indices(shape(0), &node.shape);
            let ix = zkinfer_ir::broadcast_indices(shape(1), &node.shape);
            let iy = zkinfer_ir::broadcast_indices(shape(2), &node.shape);
            (0..node.len())
                .map(|o| {
                    let cond = &c[ic[o]];
                    let mut out = Vec::new();
                    if cond.iter().any(|&v| v != 0) {
                        out.extend_from_slice(&x[ix[o]]);
                    }
                    if cond.contains(&0) {
                        out.extend_from_slice(&y[iy[o]]);
                    }
                    set(out)
                })
                .collect::<Option<_>>()?
        }
        FloatOp::Select { index, choices } if node.inputs.len() == 1 => {
            let keys = input(0);
            choices
                .iter()
                .enumerate()
                .map(|(o, c)| {
                    let possible =
                        |k: i64| keys.as_ref().is_none_or(|ks| ks[index[o]].contains(&k));
                    let vals = c
                        .iter()
                        .filter(|(k, _)| possible(*k))
                        .map(|&(_, p)| match p {
                            Pick::Const(v) => exact(v),
                            Pick::Data(_) => None,
                        })
                        .collect::<Option<Vec<_>>>()?;
                    set(vals)
                })
                .collect::<Option<_>>()?
        }
        _ => return None,
    })
}

/// The keys an index element may take, for an axis of `n` positions (negative indices count
/// from the end): every value it can take that names a position, or all positions.
fn keys(values: Option<&Vec<i64>>, n: usize) -> Vec<i64> {
    let n = n as i64;
    match values {
        Some(v) => v.iter().copied().filter(|k| (-n..n).contains(k)).collect(),
        None => (0..n).collect(),
    }
}

fn position(k: i64, n: usize) -> usize {
    if k < 0 {
        (k + n as i64) as usize
    } else {
        k as usize
    }
}

/// A select node: per output element, its index (an element of `idx`, by `idx_of`) and
/// candidates.
fn build(
    ctx: &mut Ctx<'_>,
    data: &Value,
    idx: usize,
    idx_of: Vec<usize>,
    choices: Vec<Vec<(i64, Pick)>>,
    shape: Vec<usize>,
) -> Result<Value, String> {
    if let Some(c) = choices.iter().find(|c| c.len() > MAX_CANDIDATES) {
        return Err(format!(
            "an element selects among {} positions (more than {MAX_CANDIDATES}): its index's range is unknown",
            c.len()
        ));
    }
    let mut inputs = vec![idx];
    if let Value::Node(d) = data {
        inputs.push(*d);
    }
    let dtype = match data {
        Value::Node(d) => ctx.graph.nodes[*d].dtype,
        Value::Const(_) => ctx.dtype(0),
    };
    let op = FloatOp::Select {
        index: idx_of,
        choices,
    };
    Ok(ctx.add_typed(op, inputs, shape, dtype))
}

fn pick(data: &Value, i: usize) -> Pick {
    match data {
        Value::Const(t) => Pick::Const(t.data()[i]),
        Value::Node(_) => Pick::Data(i),
    }
}

/// Rows of a constant table above which a lookup of whole rows by an index of unknown range
/// is a one-hot product (an embedding of a large vocabulary) rather than a selection per
/// element: the selection's terms grow as tokens × rows × width, the product's (proven by
/// Freivalds' check over the table) as tokens × rows + rows × width.
const EMBEDDING_ROWS: usize = 1024;

/// `Gather(data, indices)` with computed indices.
pub fn gather_computed(
    ctx: &mut Ctx<'_>,
    data: Value,
    idx: usize,
    ax: usize,
) -> Result<Value, String> {
    let ds = ctx.shape_of(&data);
    let is = ctx.graph.nodes[idx].shape.clone();
    let n = ds[ax];
    let ranges = value_sets(ctx.graph, idx);
    if let Value::Const(table) = &data {
        if ax == 0 && ds.len() == 2 && n > EMBEDDING_ROWS && ranges.is_none() {
            return Ok(embedding(ctx, table, idx, is));
        }
    }
    let mut shape = ds[..ax].to_vec();
    shape.extend_from_slice(&is);
    shape.extend_from_slice(&ds[ax + 1..]);
    let outer: usize = ds[..ax].iter().product();
    let inner: usize = ds[ax + 1..].iter().product();
    let count: usize = is.iter().product();
    let (mut idx_of, mut choices) = (Vec::new(), Vec::new());
    for o in 0..outer {
        for p in 0..count {
            let ks = keys(ranges.as_ref().map(|r| &r[p]), n);
            for i in 0..inner {
                idx_of.push(p);
                choices.push(
                    ks.iter()
                        .map(|&k| (k, pick(&data, (o * n + position(k, n)) * inner + i)))
                        .collect(),
                );
            }
        }
    }
    build(ctx, &data, idx, idx_of, choices, shape)
}

/// `table[idx]` for a constant `[n, d]` table: the index's one-hot rows `[.., n]` times the
/// table, a product with a constant matrix (an index outside `0..n` is refused).
fn embedding(ctx: &mut Ctx<'_>, table: &Tensor<f64>, idx: usize, is: Vec<usize>) -> Value {
    let (n, d) = (table.shape()[0], table.shape()[1]);
    let mut hot_shape = is.clone();
    hot_shape.push(n);
    let hot = ctx.add_typed(
        FloatOp::OneHot { depth: n },
        vec![idx],
        hot_shape,
        zkinfer_ir::ElemType::Bool,
    );
    let hot = ctx.as_node(hot);
    let mut shape = is;
    shape.push(d);
    let dense = FloatOp::Dense {
        weight: table.clone(),
        side: zkinfer_ir::WeightSide::Right,
        bias: None,
    };
    let dtype = ctx.dtype(0);
    ctx.add_typed(dense, vec![hot], shape, dtype)
}

/// `GatherElements(data, indices)`: `out[p] = data[p with its axis coordinate replaced by
/// indices[p]]`; constant indices are a free index map.
pub fn gather_elements(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let data = ctx.input(0)?.clone();
    let ds = ctx.shape_of(&data);
    let ax = axis(ctx.attr_int("axis", 0), ds.len())?;
    let n = ds[ax];
    let ind = ctx.input(1)?.clone();
    let is = ctx.shape_of(&ind);
    if is.len() != ds.len() {
        return Err(format!(
            "indices of rank {} for data of rank {}",
            is.len(),
            ds.len()
        ));
    }
    let (dst, ist) = (strides(&ds), strides(&is));
    let len: usize = is.iter().product();
    // The flat data index of output position `p` when its axis coordinate is `k`.
    let flat = |p: usize, k: usize| -> usize {
        (0..is.len())
            .map(|a| if a == ax { k } else { (p / ist[a]) % is[a] } * dst[a])
            .sum()
    };
    match ind {
        Value::Const(t) => {
            let map: Vec<usize> = (0..len)
                .map(|p| {
                    let k = t.data()[p] as i64;
                    if !(-(n as i64)..n as i64).contains(&k) {
                        return Err(format!(
                            "index {k} is out of range for axis {ax} of size {n}"
                        ));
                    }
                    Ok(flat(p, position(k, n)))
                })
                .collect::<Result<_, String>>()?;
            Ok(vec![match data {
                Value::Const(d) => Value::Const(
                    Tensor::new(is, map.iter().map(|&i| d.data()[i]).collect())
                        .map_err(|e| e.to_string())?,
                ),
                Value::Node(x) => super::rearrange::remap(
                    ctx,
                    vec![x],
                    map.into_iter().map(|i| (0, i)).collect(),
                    is,
                ),
            }])
        }
        Value::Node(idx) => {
            let ranges = value_sets(ctx.graph, idx);
            let choices = (0..len)
                .map(|p| {
                    keys(ranges.as_ref().map(|r| &r[p]), n)
                        .into_iter()
                        .map(|k| (k, pick(&data, flat(p, position(k, n)))))
                        .collect()
                })
                .collect();
            Ok(vec![build(
                ctx,
                &data,
                idx,
                (0..len).collect(),
                choices,
                is,
            )?])
        }
    }
}

/// `TopK(X, K)` along `axis`: the positions by the TopK chip (`[rows, k]`, laid out in ONNX's
/// shape by a free index map), the values by selecting those positions.
pub fn top_k(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let x = ctx.node_input(0)?;
    let xs = ctx.graph.nodes[x].shape.clone();
    let ax = axis(ctx.attr_int("axis", -1), xs.len())?;
    let k = ctx
        .const_input(1, "K")?
        .data()
        .first()
        .copied()
        .ok_or("K is empty")? as usize;
    let n = xs[ax];
    if k == 0 || k > n {
        return Err(format!("K = {k} for an axis of {n}"));
    }
    let largest = ctx.attr_int("largest", 1) != 0;
    let (_, windows) = super::reduce::reduce_windows(&xs, &[ax], true);
    let rows = windows.len();
    let t = zkinfer_ir::TopK {
        windows: windows.clone(),
        k,
        largest,
    };
    let Value::Node(pos) = ctx.add_typed(
        FloatOp::TopK(t),
        vec![x],
        vec![rows, k],
        zkinfer_ir::ElemType::Int64,
    ) else {
        return Err("internal: TopK folded".into());
    };
    // ONNX's layout: the input's shape with `k` along the axis; element (outer, j, inner) is
    // row (outer, inner)'s j-th.
    let mut shape = xs.clone();
    shape[ax] = k;
    let inner: usize = xs[ax + 1..].iter().product();
    let len: usize = shape.iter().product();
    let row_pos: Vec<(usize, usize)> = (0..len)
        .map(|f| {
            let (o, j, i) = (f / (k * inner), (f / inner) % k, f % inner);
            (o * inner + i, j)
        })
        .collect();
    let indices = super::rearrange::remap(
        ctx,
        vec![pos],
        row_pos.iter().map(|&(r, j)| (0, r * k + j)).collect(),
        shape.clone(),
    );
    let choices = row_pos
        .iter()
        .map(|&(r, _)| {
            windows[r]
                .iter()
                .enumerate()
                .map(|(m, &i)| (m as i64, Pick::Data(i)))
                .collect()
        })
        .collect();
    let dtype = ctx.graph.nodes[x].dtype;
    let op = FloatOp::Select {
        index: row_pos.iter().map(|&(r, j)| r * k + j).collect(),
        choices,
    };
    let values = ctx.add_typed(op, vec![pos, x], shape, dtype);
    Ok(vec![values, indices])
}

/// `NonZero`: the coordinates (`[rank, count]`, int64) of the nonzero elements. Its output's
/// length is the count, so the input's nonzero pattern must be fixed when the model is
/// compiled: a constant, or computed values the index analysis knows element by element (a
/// mask built from constants, as exported risk models do); otherwise it is refused.
pub fn non_zero(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let v = ctx.input(0)?.clone();
    let shape = ctx.shape_of(&v);
    let values: Vec<f64> = match &v {
        Value::Const(t) => t.data().to_vec(),
        Value::Node(x) => value_sets(ctx.graph, *x)
            .and_then(|sets| {
                sets.iter()
                    .map(|s| match s[..] {
                        [only] => Some(only as f64),
                        _ if !s.contains(&0) => Some(1.0),
                        _ => None,
                    })
                    .collect::<Option<Vec<f64>>>()
            })
            .ok_or(
                "NonZero of computed values: how many are nonzero, and so its output's shape, \
                 depends on them (a constant or statically known input is supported)",
            )?,
    };
    let st = strides(&shape);
    let hits: Vec<usize> = (0..values.len()).filter(|&i| values[i] != 0.0).collect();
    let mut data = Vec::with_capacity(shape.len() * hits.len());
    for a in 0..shape.len() {
        data.extend(hits.iter().map(|&i| ((i / st[a]) % shape[a]) as f64));
    }
    let t = Tensor::new(vec![shape.len(), hits.len()], data).map_err(|e| e.to_string())?;
    Ok(vec![Value::Const(t)])
}
