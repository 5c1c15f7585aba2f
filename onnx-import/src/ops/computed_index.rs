//! GatherND, ScatterElements and ScatterND by indices the model computes (EZKL's examples,
//! exports that index by an input): GatherND selects among every place a tuple can name
//! (`Op::Select`), the scatters write by proven one-hot keys (`Op::OneHot`). Constant indices
//! stay free index maps (`rearrange.rs`).

use zkinfer_ir::strides;

use super::rearrange::remap;
use super::{axis, Ctx, Value};
use crate::float::{FloatOp, Pick};

/// Where update element `u` lands when its key is `k` (a flat data index).
type Target = Box<dyn Fn(usize, usize) -> usize>;

/// More places than this for one computed GatherND index is refused (each is a candidate of
/// every output element's selection).
const MAX_GATHER_POSITIONS: usize = 4096;

/// More (index element × position) pairs than this in a scatter by computed indices is
/// refused: each is one product in the circuit.
const MAX_SCATTER_TERMS: usize = 1 << 20;

/// Per index tuple of `idx` (`[.., m]`, a computed integer tensor), its position among the
/// `Π s[..m]` tuples of `s` (row-major): a linear map of the tuple's components. A node of
/// shape `[tuples]`.
fn tuple_positions(ctx: &mut Ctx<'_>, idx: usize, s: &[usize]) -> Result<(usize, usize), String> {
    let is = ctx.graph.nodes[idx].shape.clone();
    let m = *is.last().ok_or("indices must have rank 1 or more")?;
    if m == 0 || m > s.len() {
        return Err(format!("index tuples of {m} for rank {}", s.len()));
    }
    let tuples: usize = is[..is.len() - 1].iter().product();
    let place = strides(&s[..m]);
    let terms = (0..tuples)
        .map(|t| (0..m).map(|a| (t * m + a, place[a] as f64)).collect())
        .collect();
    let op = FloatOp::Linear {
        terms,
        bias: vec![0.0; tuples],
    };
    let Value::Node(key) = ctx.add_typed(op, vec![idx], vec![tuples], zkinfer_ir::ElemType::Int64)
    else {
        return Err("internal: folded".into());
    };
    Ok((key, s[..m].iter().product()))
}

/// `GatherND` by computed indices: each tuple's position among the data's first `m` axes (a
/// linear map of its components), then each output element selects among those positions by
/// it (`Op::Select`: an index outside the axes, or negative, is refused when proving).
pub fn gather_nd_computed(ctx: &mut Ctx<'_>, data: Value, idx: usize) -> Result<Value, String> {
    let s = ctx.shape_of(&data);
    let is = ctx.graph.nodes[idx].shape.clone();
    let m = *is.last().ok_or("indices must have rank 1 or more")?;
    let (key, positions) = tuple_positions(ctx, idx, &s)?;
    if positions > MAX_GATHER_POSITIONS {
        return Err(format!(
            "a computed index tuple names one of {positions} places (more than {MAX_GATHER_POSITIONS})"
        ));
    }
    let inner: usize = s[m..].iter().product();
    let tuples = ctx.graph.nodes[key].len();
    let (mut index, mut choices) = (Vec::new(), Vec::new());
    for t in 0..tuples {
        for j in 0..inner {
            index.push(t);
            choices.push(
                (0..positions)
                    .map(|k| {
                        let at = k * inner + j;
                        let pick = match &data {
                            Value::Const(c) => Pick::Const(c.data()[at]),
                            Value::Node(_) => Pick::Data(at),
                        };
                        (k as i64, pick)
                    })
                    .collect(),
            );
        }
    }
    let mut out = is[..is.len() - 1].to_vec();
    out.extend_from_slice(&s[m..]);
    let mut inputs = vec![key];
    if let Value::Node(d) = data {
        inputs.push(d);
    }
    let dtype = ctx.dtype(0);
    let op = FloatOp::Select { index, choices };
    Ok(ctx.add_typed(op, inputs, out, dtype))
}

/// `ScatterElements` and `ScatterND` (reduction `none`) by computed indices. Each update
/// element's target is one of `positions` places (its index along the axis, or its tuple's
/// position), proven one-hot (`Op::OneHot`: an index outside the axis, or negative, is refused
/// when proving); then `out = data · (1 − written) + Σ hot · update`, where `written` counts
/// the updates that land on each element. ONNX leaves duplicate indices undefined: there
/// `written` is above 1 and the output is not onnxruntime's.
pub fn scatter_computed(
    ctx: &mut Ctx<'_>,
    nd: bool,
    data: Value,
    idx: usize,
) -> Result<Value, String> {
    if ctx.attr_string("reduction", "none") != "none" {
        return Err("a reduction with computed indices is not supported".into());
    }
    let ds = ctx.shape_of(&data);
    let st = strides(&ds);
    let len: usize = ds.iter().product();
    let updates = ctx.input(2)?.clone();
    let us = ctx.shape_of(&updates);
    let ulen: usize = us.iter().product();
    let is = ctx.graph.nodes[idx].shape.clone();
    // Per update element: its key (an element of `key`), and where each key value puts it.
    let (key, positions, target): (usize, usize, Target) = if nd {
        let m = *is.last().ok_or("indices must have rank 1 or more")?;
        let mut want = is[..is.len() - 1].to_vec();
        want.extend_from_slice(ds.get(m..).unwrap_or(&[]));
        if us != want {
            return Err(format!(
                "updates of shape {us:?} for indices {is:?} into data {ds:?} (ONNX wants {want:?})"
            ));
        }
        let (key, positions) = tuple_positions(ctx, idx, &ds)?;
        let inner: usize = ds[m..].iter().product();
        (key, positions, Box::new(move |u, k| k * inner + u % inner))
    } else {
        let ax = axis(ctx.attr_int("axis", 0), ds.len())?;
        if is != us || is.len() != ds.len() {
            return Err(format!(
                "indices {is:?} and updates {us:?} must have one shape, of the data's rank"
            ));
        }
        let ist = strides(&is);
        let (is, st) = (is.clone(), st.clone());
        let target = move |u: usize, k: usize| -> usize {
            (0..is.len())
                .map(|a| if a == ax { k } else { (u / ist[a]) % is[a] } * st[a])
                .sum()
        };
        (idx, ds[ax], Box::new(target))
    };
    if ulen.saturating_mul(positions) > MAX_SCATTER_TERMS {
        return Err(format!(
            "{ulen} updates over {positions} places each: more than {MAX_SCATTER_TERMS} products"
        ));
    }
    let keys = ctx.graph.nodes[key].len();
    let inner = ulen / keys.max(1);
    // hot[t, k]: whether key t is k (the key's shape, one more axis of `positions`).
    let mut hot_shape = ctx.graph.nodes[key].shape.clone();
    hot_shape.push(positions);
    let hot = ctx.add_typed(
        FloatOp::OneHot { depth: positions },
        vec![key],
        hot_shape,
        zkinfer_ir::ElemType::Bool,
    );
    let Value::Node(hot) = hot else {
        return Err("internal: folded".into());
    };
    // Per update element u (of key t = u / inner) and place k: hot[t, k] · update[u].
    let spread = remap(
        ctx,
        vec![hot],
        (0..ulen * positions)
            .map(|f| (0, (f / positions / inner) * positions + f % positions))
            .collect(),
        vec![ulen, positions],
    );
    let upd = ctx.as_node(updates);
    let wide = remap(
        ctx,
        vec![upd],
        (0..ulen * positions).map(|f| (0, f / positions)).collect(),
        vec![ulen, positions],
    );
    let picked = super::arith::combine(ctx, super::arith::Kind::Mul, spread.clone(), wide, false)?;
    // Sums per data element: of the picked updates, and of the one-hot bits (`written`).
    let mut terms: Vec<Vec<(usize, f64)>> = vec![Vec::new(); len];
    for u in 0..ulen {
        for k in 0..positions {
            let at = target(u, k);
            if at < len {
                terms[at].push((u * positions + k, 1.0));
            }
        }
    }
    let sum = |ctx: &mut Ctx<'_>, v: Value| -> Result<Value, String> {
        let Value::Node(x) = v else {
            return Err("internal: folded".into());
        };
        let op = FloatOp::Linear {
            terms: terms.clone(),
            bias: vec![0.0; len],
        };
        Ok(ctx.add(op, vec![x], ds.clone()))
    };
    let scattered = sum(ctx, picked)?;
    let written = sum(ctx, spread)?;
    let kept = super::arith::combine(ctx, super::arith::Kind::Mul, written, data.clone(), false)?;
    let cleared = super::arith::combine(ctx, super::arith::Kind::Sub, data, kept, false)?;
    super::arith::combine(ctx, super::arith::Kind::Add, cleared, scattered, false)
}
