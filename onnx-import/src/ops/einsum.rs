//! Einsum of one or two operands: with one computed operand and the other constant (or
//! alone), a linear map whose weights are the constant's elements; of two computed operands,
//! both laid out over the joint index space (free index maps), their elementwise product, and
//! the sum over the contracted labels.

use std::collections::HashMap;

use zkinfer_ir::{strides, BinaryKind, Tensor};

use super::{Ctx, Value};
use crate::float::FloatOp;

/// The labels of each operand and of the output, an ellipsis expanded to labels of its own.
fn parse(eq: &str, ranks: &[usize]) -> Result<(Vec<Vec<char>>, Vec<char>), String> {
    let eq: String = eq.chars().filter(|c| !c.is_whitespace()).collect();
    let (lhs, rhs) = match eq.split_once("->") {
        Some((l, r)) => (l.to_string(), Some(r.to_string())),
        None => (eq.clone(), None),
    };
    let terms: Vec<&str> = lhs.split(',').collect();
    if terms.len() != ranks.len() {
        return Err(format!(
            "{} operands for {} terms",
            ranks.len(),
            terms.len()
        ));
    }
    let ellipsis_rank = terms
        .iter()
        .zip(ranks)
        .filter(|(t, _)| t.contains("..."))
        .map(|(t, &r)| r + 3 - t.len())
        .max()
        .unwrap_or(0);
    let dots: Vec<char> = (0..ellipsis_rank)
        .map(|i| char::from(b'A' + i as u8))
        .collect();
    let expand = |t: &str, rank: usize| -> Vec<char> {
        match t.split_once("...") {
            Some((a, b)) => {
                let n = rank + 3 - t.len();
                a.chars()
                    .chain(dots[ellipsis_rank - n..].iter().copied())
                    .chain(b.chars())
                    .collect()
            }
            None => t.chars().collect(),
        }
    };
    let ops: Vec<Vec<char>> = terms
        .iter()
        .zip(ranks)
        .map(|(t, &r)| expand(t, r))
        .collect();
    let out = match rhs {
        Some(r) => expand(
            &r,
            ellipsis_rank + r.chars().filter(|c| c.is_alphabetic()).count(),
        ),
        None => {
            let mut count: HashMap<char, usize> = HashMap::new();
            for c in ops.iter().flatten().filter(|c| c.is_lowercase()) {
                *count.entry(*c).or_default() += 1;
            }
            let mut single: Vec<char> = count
                .into_iter()
                .filter(|&(_, n)| n == 1)
                .map(|(c, _)| c)
                .collect();
            single.sort_unstable();
            dots.iter().copied().chain(single).collect()
        }
    };
    for (t, &r) in ops.iter().zip(ranks) {
        if t.len() != r {
            return Err(format!("term {t:?} for an operand of rank {r}"));
        }
    }
    Ok((ops, out))
}

pub fn einsum(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let eq = ctx.attr_string("equation", "");
    let vals: Vec<Value> = ctx.inputs.iter().flatten().cloned().collect();
    if vals.is_empty() || vals.len() > 2 {
        return Err(format!(
            "{} operands (one or two are supported)",
            vals.len()
        ));
    }
    let shapes: Vec<Vec<usize>> = vals.iter().map(|v| ctx.shape_of(v)).collect();
    let ranks: Vec<usize> = shapes.iter().map(Vec::len).collect();
    let (ops, out) = parse(&eq, &ranks)?;
    let mut size: HashMap<char, usize> = HashMap::new();
    for (t, s) in ops.iter().zip(&shapes) {
        for (&c, &d) in t.iter().zip(s) {
            if *size.entry(c).or_insert(d) != d {
                return Err(format!("label {c} has sizes {} and {d}", size[&c]));
            }
        }
    }
    let mut contracted: Vec<char> = Vec::new();
    for &c in ops.iter().flatten() {
        if !out.contains(&c) && !contracted.contains(&c) {
            contracted.push(c);
        }
    }
    let out_shape: Vec<usize> = out.iter().map(|c| size[c]).collect();
    let red_shape: Vec<usize> = contracted.iter().map(|c| size[c]).collect();
    let (out_len, red_len): (usize, usize) =
        (out_shape.iter().product(), red_shape.iter().product());
    let (ost, rst) = (strides(&out_shape), strides(&red_shape));
    // The flat index of operand `k` at output element `o` and contracted element `r`.
    let op_strides: Vec<Vec<usize>> = shapes.iter().map(|s| strides(s)).collect();
    let index = |k: usize, o: usize, r: usize| -> usize {
        let st = &op_strides[k];
        ops[k]
            .iter()
            .enumerate()
            .map(|(a, c)| {
                let coord = match out.iter().position(|x| x == c) {
                    Some(p) => (o / ost[p]) % out_shape[p],
                    None => {
                        let p = contracted.iter().position(|x| x == c).unwrap_or(0);
                        (r / rst[p]) % red_shape[p]
                    }
                };
                coord * st[a]
            })
            .sum()
    };
    let consts: Vec<Option<&Tensor<f64>>> = vals
        .iter()
        .map(|v| match v {
            Value::Const(t) => Some(t),
            Value::Node(_) => None,
        })
        .collect();
    if consts.iter().all(Option::is_some) {
        let data = (0..out_len)
            .map(|o| {
                (0..red_len)
                    .map(|r| {
                        (0..vals.len())
                            .map(|k| consts[k].map_or(0.0, |t| t.data()[index(k, o, r)]))
                            .product::<f64>()
                    })
                    .sum()
            })
            .collect();
        return Ok(vec![Value::Const(
            Tensor::new(out_shape, data).map_err(|e| e.to_string())?,
        )]);
    }
    // One computed operand (`x`), the other (if any) constant weights.
    if let Some(x) = (0..vals.len())
        .find(|&k| consts[k].is_none())
        .filter(|_| vals.len() == 1 || consts.iter().any(Option::is_some))
    {
        let w = (0..vals.len()).find(|&k| k != x);
        let terms: Vec<Vec<(usize, f64)>> = (0..out_len)
            .map(|o| {
                let mut acc: HashMap<usize, f64> = HashMap::new();
                for r in 0..red_len {
                    let weight =
                        w.map_or(1.0, |k| consts[k].map_or(0.0, |t| t.data()[index(k, o, r)]));
                    *acc.entry(index(x, o, r)).or_default() += weight;
                }
                let mut t: Vec<(usize, f64)> = acc.into_iter().collect();
                t.sort_by_key(|p| p.0);
                t
            })
            .collect();
        let Value::Node(xid) = vals[x] else {
            return Err("internal: operand folded".into());
        };
        let bias = vec![0.0; out_len];
        return Ok(vec![ctx.add(
            FloatOp::Linear { terms, bias },
            vec![xid],
            out_shape,
        )]);
    }
    // Two computed operands: over the joint space, the product, then the sum.
    let joint = out_len * red_len;
    let mut laid = Vec::with_capacity(2);
    for (k, v) in vals.iter().enumerate() {
        let Value::Node(id) = v else {
            return Err("internal: operand folded".into());
        };
        let map = (0..joint)
            .map(|j| (0, index(k, j / red_len, j % red_len)))
            .collect();
        let Value::Node(n) = super::rearrange::remap(ctx, vec![*id], map, vec![joint]) else {
            return Err("internal: operand folded".into());
        };
        laid.push(n);
    }
    let Value::Node(prod) = ctx.add(FloatOp::Binary(BinaryKind::Mul), laid, vec![joint]) else {
        return Err("internal: product folded".into());
    };
    let terms = (0..out_len)
        .map(|o| (0..red_len).map(|r| (o * red_len + r, 1.0)).collect())
        .collect();
    let bias = vec![0.0; out_len];
    Ok(vec![ctx.add(
        FloatOp::Linear { terms, bias },
        vec![prod],
        out_shape,
    )])
}
