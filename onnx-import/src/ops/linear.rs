//! Gemm and MatMul. With a constant operand: a `Dense` node with the weights (and the bias) as
//! constants. Of two computed tensors: a witnessed product checked by Freivalds (`MatMul`).

use zkinfer_ir::{transpose_indices, Op, Tensor, Transpose, WeightSide};

use super::arith::{combine, Kind};
use super::{expand, Ctx, Value};
use crate::float::FloatOp;

fn transpose2(t: &Tensor<f64>) -> Result<Tensor<f64>, String> {
    let s = t.shape();
    if s.len() != 2 {
        return Err(format!("expected a matrix, got shape {s:?}"));
    }
    let idx = transpose_indices(s, &[1, 0]);
    Tensor::new(vec![s[1], s[0]], idx.iter().map(|&i| t.data()[i]).collect())
        .map_err(|e| e.to_string())
}

fn matmul_const(a: &Tensor<f64>, b: &Tensor<f64>) -> Result<Tensor<f64>, String> {
    let (sa, sb) = (a.shape(), b.shape());
    if sa.len() != 2 || sb.len() != 2 || sa[1] != sb[0] {
        return Err(format!(
            "cannot multiply constants of shapes {sa:?} and {sb:?}"
        ));
    }
    let (m, k, n) = (sa[0], sa[1], sb[1]);
    let mut out = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            out[i * n + j] = (0..k)
                .map(|t| a.data()[i * k + t] * b.data()[t * n + j])
                .sum();
        }
    }
    Tensor::new(vec![m, n], out).map_err(|e| e.to_string())
}

fn transpose_node(ctx: &mut Ctx<'_>, id: usize) -> Result<usize, String> {
    let s = ctx.graph.nodes[id].shape.clone();
    if s.len() != 2 {
        return Err(format!(
            "transposed operand must be a matrix, got shape {s:?}"
        ));
    }
    match ctx.add(
        FloatOp::IndexMap(Op::Transpose(Transpose { perm: vec![1, 0] })),
        vec![id],
        vec![s[1], s[0]],
    ) {
        Value::Node(t) => Ok(t),
        Value::Const(_) => Err("internal: transpose produced a constant".into()),
    }
}

/// `Y = alpha · A' · B' + beta · C` with `A'`, `B'` optionally transposed.
pub fn gemm(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let alpha = ctx.attr_float("alpha", 1.0) as f64;
    let beta = ctx.attr_float("beta", 1.0) as f64;
    let trans_a = ctx.attr_int("transA", 0) != 0;
    let trans_b = ctx.attr_int("transB", 0) != 0;
    let a = ctx.input(0)?.clone();
    let b = ctx.input(1)?.clone();
    let c = match ctx.optional(2).cloned() {
        Some(Value::Const(t)) => Some(t),
        Some(Value::Node(c)) => {
            return gemm_computed(ctx, [a, b], Some(Value::Node(c)), alpha, beta)
        }
        None => None,
    };
    let (x, weight, side) = match (a, b) {
        (Value::Const(a), Value::Const(b)) => {
            let a = if trans_a { transpose2(&a)? } else { a };
            let b = if trans_b { transpose2(&b)? } else { b };
            let y = matmul_const(&a, &b)?;
            let y = match c {
                Some(c) => super::broadcast_const(&y, &c, |y, c| alpha * y + beta * c)?,
                None => y.map(|v| alpha * v),
            };
            return Ok(vec![Value::Const(y)]);
        }
        (Value::Node(x), Value::Const(b)) => {
            let w = if trans_b { transpose2(&b)? } else { b };
            let x = if trans_a { transpose_node(ctx, x)? } else { x };
            (x, w, WeightSide::Right)
        }
        (Value::Const(a), Value::Node(x)) => {
            let w = if trans_a { transpose2(&a)? } else { a };
            let x = if trans_b { transpose_node(ctx, x)? } else { x };
            (x, w, WeightSide::Left)
        }
        (a @ Value::Node(_), b @ Value::Node(_)) => {
            return gemm_computed(ctx, [a, b], c.map(Value::Const), alpha, beta);
        }
    };
    dense(
        ctx,
        x,
        weight.map(|v| alpha * v),
        side,
        c.map(|c| c.map(|v| beta * v)),
    )
}

/// Gemm where a product operand or `C` is computed: `alpha · (A'·B') + beta · C` from a
/// product (witnessed, or with the constant operand as weights), a scaling and an addition.
fn gemm_computed(
    ctx: &mut Ctx<'_>,
    [a, b]: [Value; 2],
    c: Option<Value>,
    alpha: f64,
    beta: f64,
) -> Result<Vec<Value>, String> {
    let trans = |ctx: &mut Ctx<'_>, v: Value, yes: bool| -> Result<Value, String> {
        Ok(match v {
            Value::Const(t) if yes => Value::Const(transpose2(&t)?),
            Value::Node(x) if yes => Value::Node(transpose_node(ctx, x)?),
            other => other,
        })
    };
    let a = trans(ctx, a, ctx.attr_int("transA", 0) != 0)?;
    let b = trans(ctx, b, ctx.attr_int("transB", 0) != 0)?;
    let product = match (a, b) {
        (Value::Node(a), Value::Node(b)) => {
            let dims =
                zkinfer_ir::MatMulDims::new(&ctx.graph.nodes[a].shape, &ctx.graph.nodes[b].shape)?;
            ctx.add(FloatOp::MatMul, vec![a, b], dims.out_shape)
        }
        (Value::Node(x), Value::Const(w)) => dense(ctx, x, w, WeightSide::Right, None)?.remove(0),
        (Value::Const(w), Value::Node(x)) => dense(ctx, x, w, WeightSide::Left, None)?.remove(0),
        (Value::Const(a), Value::Const(b)) => Value::Const(matmul_const(&a, &b)?),
    };
    let scaled = |ctx: &mut Ctx<'_>, v: Value, k: f64| -> Result<Value, String> {
        if k == 1.0 {
            return Ok(v);
        }
        let k = Tensor::new(vec![1], vec![k]).map_err(|e| e.to_string())?;
        combine(ctx, Kind::Mul, v, Value::Const(k), false)
    };
    let product = scaled(ctx, product, alpha)?;
    Ok(vec![match c {
        Some(c) => {
            let c = scaled(ctx, c, beta)?;
            combine(ctx, Kind::Add, product, c, false)?
        }
        None => product,
    }])
}

/// MatMul with one constant operand: a `Dense` node for a constant matrix, a term-by-term
/// linear map for batched (rank > 2) products.
pub fn matmul(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    match (ctx.input(0)?.clone(), ctx.input(1)?.clone()) {
        (Value::Const(a), Value::Const(b)) => Ok(vec![Value::Const(matmul_const(&a, &b)?)]),
        (Value::Node(x), Value::Const(w)) if w.shape().len() > 2 => batched(ctx, x, &w, false),
        (Value::Const(w), Value::Node(x))
            if w.shape().len() > 2 || ctx.graph.nodes[x].shape.len() > 2 =>
        {
            batched(ctx, x, &w, true)
        }
        (Value::Node(x), Value::Const(w)) => dense(ctx, x, w, WeightSide::Right, None),
        (Value::Const(w), Value::Node(x)) => dense(ctx, x, w, WeightSide::Left, None),
        (Value::Node(a), Value::Node(b)) => {
            let dims =
                zkinfer_ir::MatMulDims::new(&ctx.graph.nodes[a].shape, &ctx.graph.nodes[b].shape)?;
            Ok(vec![ctx.add(FloatOp::MatMul, vec![a, b], dims.out_shape)])
        }
    }
}

pub(super) fn dense(
    ctx: &mut Ctx<'_>,
    x: usize,
    weight: Tensor<f64>,
    side: WeightSide,
    bias: Option<Tensor<f64>>,
) -> Result<Vec<Value>, String> {
    let xs = ctx.graph.nodes[x].shape.clone();
    let ws = weight.shape().to_vec();
    if ws.len() != 2 {
        return Err(format!(
            "the constant operand must be a matrix, got shape {ws:?}"
        ));
    }
    let out_shape = match side {
        WeightSide::Right => {
            if xs.last() != Some(&ws[0]) {
                return Err(format!("shapes {xs:?} and {ws:?} do not multiply"));
            }
            let mut s = xs[..xs.len() - 1].to_vec();
            s.push(ws[1]);
            s
        }
        WeightSide::Left => {
            if xs.len() != 2 || xs[0] != ws[1] {
                return Err(format!("shapes {ws:?} and {xs:?} do not multiply"));
            }
            vec![ws[0], xs[1]]
        }
    };
    let bias = bias.map(|b| expand(&b, &out_shape)).transpose()?;
    Ok(vec![ctx.add(
        FloatOp::Dense { weight, side, bias },
        vec![x],
        out_shape,
    )])
}

/// A batched product `A · B` (numpy `matmul` broadcasting over the leading axes) where the
/// constant `w` is `A` (`w_left`) or `B`, as a term-by-term linear map.
fn batched(
    ctx: &mut Ctx<'_>,
    x: usize,
    w: &Tensor<f64>,
    w_left: bool,
) -> Result<Vec<Value>, String> {
    let xs = ctx.graph.nodes[x].shape.clone();
    let ws = w.shape().to_vec();
    let (a, b) = if w_left { (&ws, &xs) } else { (&xs, &ws) };
    if a.len() < 2 || b.len() < 2 {
        return Err(format!(
            "batched product of shapes {a:?} and {b:?} needs rank 2 or more"
        ));
    }
    let (m, k, k2, n) = (
        a[a.len() - 2],
        a[a.len() - 1],
        b[b.len() - 2],
        b[b.len() - 1],
    );
    if k != k2 {
        return Err(format!("shapes {a:?} and {b:?} do not multiply"));
    }
    let (ab, bb) = (&a[..a.len() - 2], &b[..b.len() - 2]);
    let batch = zkinfer_ir::broadcast_shape(ab, bb)
        .ok_or_else(|| format!("batch shapes {ab:?} and {bb:?} do not broadcast"))?;
    let ia = zkinfer_ir::broadcast_indices(ab, &batch);
    let ib = zkinfer_ir::broadcast_indices(bb, &batch);
    let mut terms = Vec::new();
    for (&pa, &pb) in ia.iter().zip(&ib) {
        for i in 0..m {
            for j in 0..n {
                let row = (0..k)
                    .map(|t| {
                        let ai = (pa * m + i) * k + t;
                        let bi = (pb * k + t) * n + j;
                        if w_left {
                            (bi, w.data()[ai])
                        } else {
                            (ai, w.data()[bi])
                        }
                    })
                    .collect();
                terms.push(row);
            }
        }
    }
    let mut shape = batch;
    shape.extend([m, n]);
    let bias = vec![0.0; terms.len()];
    Ok(vec![ctx.add(
        FloatOp::Linear { terms, bias },
        vec![x],
        shape,
    )])
}
