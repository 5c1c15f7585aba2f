//! LSTM, GRU and RNN, unrolled over the static sequence length into the existing chips: one
//! `Dense` of every step's input by `W` (the whole sequence at once), then per step a
//! `Dense` of the previous hidden state by `R` (the same fixed weights every step), the gate
//! activations as tables, and the elementwise products and sums. Index maps (free) cut the
//! gates apart and stack the outputs.
//!
//! ONNX semantics: gate orders `iofc` (LSTM), `zrh` (GRU); directions forward, reverse and
//! bidirectional; `layout` 0 (`[seq, batch, …]`) or 1 (`[batch, seq, …]`); optional biases and
//! initial states; LSTM peepholes; GRU's `linear_before_reset` both ways. `clip`,
//! `input_forget` and sequences of unequal length are refused by name.

use zkinfer_ir::{Concat, Gather, MapFn, Op, Tensor, Transpose, WeightSide};

use super::arith::{combine, Kind};
use super::linear::dense;
use super::{Ctx, Value};
use crate::float::FloatOp;

#[derive(Clone, Copy, PartialEq)]
enum Cell {
    Lstm,
    Gru,
    Rnn,
}

impl Cell {
    fn gates(self) -> usize {
        match self {
            Cell::Lstm => 4,
            Cell::Gru => 3,
            Cell::Rnn => 1,
        }
    }

    /// The default activations, per direction.
    fn defaults(self) -> &'static [&'static str] {
        match self {
            Cell::Lstm => &["Sigmoid", "Tanh", "Tanh"],
            Cell::Gru => &["Sigmoid", "Tanh"],
            Cell::Rnn => &["Tanh"],
        }
    }
}

pub fn lstm(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    recurrent(ctx, Cell::Lstm)
}

pub fn gru(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    recurrent(ctx, Cell::Gru)
}

pub fn rnn(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    recurrent(ctx, Cell::Rnn)
}

fn node(v: Value) -> Result<usize, String> {
    match v {
        Value::Node(x) => Ok(x),
        Value::Const(_) => Err("internal: a recurrent step folded to a constant".into()),
    }
}

fn index_map(ctx: &mut Ctx<'_>, op: Op, inputs: Vec<usize>, shape: Vec<usize>) -> usize {
    match ctx.add(FloatOp::IndexMap(op), inputs, shape) {
        Value::Node(x) => x,
        Value::Const(_) => 0,
    }
}

/// Elements `[lo, hi)` of axis `axis` of a node or constant.
fn slice(ctx: &mut Ctx<'_>, v: &Value, axis: usize, lo: usize, hi: usize) -> Result<Value, String> {
    let shape = ctx.shape_of(v);
    let mut out = shape.clone();
    out[axis] = hi - lo;
    match v {
        Value::Node(x) => {
            let op = Op::Gather(Gather {
                axis,
                indices: (lo..hi).collect(),
            });
            Ok(Value::Node(index_map(ctx, op, vec![*x], out)))
        }
        Value::Const(t) => {
            let outer: usize = shape[..axis].iter().product();
            let inner: usize = shape[axis + 1..].iter().product();
            let mut data = Vec::with_capacity(out.iter().product());
            for o in 0..outer {
                for i in lo..hi {
                    let start = (o * shape[axis] + i) * inner;
                    data.extend_from_slice(&t.data()[start..start + inner]);
                }
            }
            Tensor::new(out, data)
                .map(Value::Const)
                .map_err(|e| e.to_string())
        }
    }
}

fn reshape(ctx: &mut Ctx<'_>, v: Value, shape: Vec<usize>) -> Result<Value, String> {
    Ok(match v {
        Value::Node(x) if ctx.graph.nodes[x].shape == shape => Value::Node(x),
        Value::Node(x) => Value::Node(index_map(ctx, Op::Reshape, vec![x], shape)),
        Value::Const(t) => {
            Value::Const(Tensor::new(shape, t.into_data()).map_err(|e| e.to_string())?)
        }
    })
}

fn is_zero(v: &Value) -> bool {
    matches!(v, Value::Const(t) if t.data().iter().all(|&x| x == 0.0))
}

fn add(ctx: &mut Ctx<'_>, a: Value, b: Value) -> Result<Value, String> {
    match (is_zero(&a), is_zero(&b)) {
        (true, _) => Ok(b),
        (_, true) => Ok(a),
        _ => combine(ctx, Kind::Add, a, b, false),
    }
}

fn mul(ctx: &mut Ctx<'_>, a: Value, b: Value) -> Result<Value, String> {
    if is_zero(&a) {
        return Ok(a);
    }
    if is_zero(&b) {
        return Ok(b);
    }
    combine(ctx, Kind::Mul, a, b, false)
}

fn activation(ctx: &mut Ctx<'_>, name: &str, v: Value) -> Result<Value, String> {
    let x = match v {
        Value::Node(x) => x,
        Value::Const(t) => {
            let f: fn(f64) -> f64 = match name {
                "Sigmoid" => |v| 1.0 / (1.0 + (-v).exp()),
                "Tanh" => f64::tanh,
                _ => |v| v.max(0.0),
            };
            return Ok(Value::Const(t.map(|&v| f(v))));
        }
    };
    let op = match name {
        "Sigmoid" => FloatOp::Sigmoid,
        "Tanh" => FloatOp::Map(MapFn::Tanh),
        "Relu" => FloatOp::Relu,
        other => return Err(format!("activation `{other}` (Sigmoid, Tanh or Relu)")),
    };
    let shape = ctx.graph.nodes[x].shape.clone();
    Ok(ctx.add(op, vec![x], shape))
}

/// `v · M^T` for a constant `m` of shape `[n, k]`: a node by `Dense`, a constant folded.
fn times_transposed(ctx: &mut Ctx<'_>, v: Value, m: &Tensor<f64>) -> Result<Value, String> {
    let (n, k) = (m.shape()[0], m.shape()[1]);
    let mt: Vec<f64> = (0..k * n).map(|i| m.data()[(i % n) * k + i / n]).collect();
    let mt = Tensor::new(vec![k, n], mt).map_err(|e| e.to_string())?;
    match v {
        Value::Node(x) => Ok(dense(ctx, x, mt, WeightSide::Right, None)?.remove(0)),
        Value::Const(h) => {
            let rows = h.len() / k.max(1);
            let mut out = vec![0.0; rows * n];
            for r in 0..rows {
                for j in 0..n {
                    out[r * n + j] = (0..k)
                        .map(|t| h.data()[r * k + t] * mt.data()[t * n + j])
                        .sum();
                }
            }
            let mut shape = h.shape().to_vec();
            if let Some(last) = shape.last_mut() {
                *last = n;
            }
            Tensor::new(shape, out)
                .map(Value::Const)
                .map_err(|e| e.to_string())
        }
    }
}

/// Direction `d` of a `[D, rows, cols]` constant.
fn direction(t: &Tensor<f64>, d: usize) -> Result<Tensor<f64>, String> {
    let s = t.shape();
    let size: usize = s[1..].iter().product();
    Tensor::new(s[1..].to_vec(), t.data()[d * size..(d + 1) * size].to_vec())
        .map_err(|e| e.to_string())
}

fn recurrent(ctx: &mut Ctx<'_>, cell: Cell) -> Result<Vec<Value>, String> {
    let hidden = usize::try_from(ctx.attr_int("hidden_size", 0))
        .ok()
        .filter(|&h| h > 0)
        .ok_or("the hidden_size attribute is required")?;
    let layout = ctx.attr_int("layout", 0);
    let dir = ctx.attr_string("direction", "forward");
    let dirs = match dir.as_str() {
        "forward" | "reverse" => 1,
        "bidirectional" => 2,
        other => return Err(format!("direction `{other}`")),
    };
    if ctx.has_attr("clip") {
        return Err("the clip attribute is not supported".into());
    }
    if ctx.attr_int("input_forget", 0) != 0 {
        return Err("input_forget = 1 is not supported".into());
    }
    let acts = ctx.attr_strings("activations").unwrap_or_default();
    let defaults = cell.defaults();
    let acts: Vec<String> = if acts.is_empty() {
        (0..dirs)
            .flat_map(|_| defaults.iter().map(|s| s.to_string()))
            .collect()
    } else {
        acts
    };
    if acts.len() != defaults.len() * dirs {
        return Err(format!(
            "{} activations given, {} expected",
            acts.len(),
            defaults.len() * dirs
        ));
    }
    let lbr = ctx.attr_int("linear_before_reset", 0) != 0;

    let x_in = ctx.input(0)?.clone();
    let w = ctx.const_input(1, "W")?;
    let r = ctx.const_input(2, "R")?;
    let g = cell.gates();
    let xs = ctx.shape_of(&x_in);
    if xs.len() != 3 {
        return Err(format!("X must have rank 3, got shape {xs:?}"));
    }
    // X as [seq, batch, input].
    let x = match (layout, x_in) {
        (0, v) => v,
        (_, Value::Node(x)) => {
            let op = Op::Transpose(Transpose {
                perm: vec![1, 0, 2],
            });
            Value::Node(index_map(ctx, op, vec![x], vec![xs[1], xs[0], xs[2]]))
        }
        (_, Value::Const(_)) => return Err("a constant sequence".into()),
    };
    let (seq, batch, input) = match ctx.shape_of(&x).as_slice() {
        &[s, b, i] => (s, b, i),
        _ => return Err("X must have rank 3".into()),
    };
    if w.shape() != [dirs, g * hidden, input] || r.shape() != [dirs, g * hidden, hidden] {
        return Err(format!(
            "W {:?} and R {:?} do not match {dirs} direction(s) of {g} gates of {hidden} from {input} inputs",
            w.shape(),
            r.shape()
        ));
    }
    let bias = match ctx.optional(3).cloned() {
        Some(Value::Const(b)) if b.shape() == [dirs, 2 * g * hidden] => Some(b),
        Some(Value::Const(b)) => return Err(format!("B has shape {:?}", b.shape())),
        Some(Value::Node(_)) => return Err("B (input 3) must be a constant".into()),
        None => None,
    };
    if let Some(Value::Const(lens)) = ctx.optional(4) {
        if lens.data().iter().any(|&l| l as usize != seq) {
            return Err("sequences of unequal length (sequence_lens) are not supported".into());
        }
    } else if ctx.optional(4).is_some() {
        return Err("sequence_lens must be a constant".into());
    }
    let peep = match (cell, ctx.optional(7)) {
        (Cell::Lstm, Some(Value::Const(p))) if p.shape() == [dirs, 3 * hidden] => Some(p.clone()),
        (Cell::Lstm, Some(Value::Const(p))) => return Err(format!("P has shape {:?}", p.shape())),
        (Cell::Lstm, Some(Value::Node(_))) => return Err("P (input 7) must be a constant".into()),
        _ => None,
    };
    let state_shape = vec![batch, hidden];
    let initial = |ctx: &mut Ctx<'_>, i: usize, d: usize| -> Result<Value, String> {
        let v = match ctx.optional(i).cloned() {
            None => {
                return Ok(Value::Const(
                    Tensor::new(state_shape.clone(), vec![0.0; batch * hidden])
                        .map_err(|e| e.to_string())?,
                ))
            }
            Some(v) => v,
        };
        // [D, batch, hidden] (layout 0) or [batch, D, hidden] (layout 1).
        let axis = if layout == 0 { 0 } else { 1 };
        let one = slice(ctx, &v, axis, d, d + 1)?;
        reshape(ctx, one, state_shape.clone())
    };

    let (mut ys, mut hs, mut cs) = (Vec::new(), Vec::new(), Vec::new());
    for d in 0..dirs {
        let reverse = dir == "reverse" || d == 1;
        let (wd, rd) = (direction(&w, d)?, direction(&r, d)?);
        let (wb, rb) = match &bias {
            Some(b) => {
                let bd = direction(b, d)?;
                let n = g * hidden;
                let split = |lo: usize| {
                    Tensor::new(vec![n], bd.data()[lo..lo + n].to_vec()).map_err(|e| e.to_string())
                };
                (split(0)?, split(n)?)
            }
            None => {
                let z = Tensor::new(vec![g * hidden], vec![0.0; g * hidden])
                    .map_err(|e| e.to_string())?;
                (z.clone(), z)
            }
        };
        // X·W^T + Wb for every step (Rb too, except GRU's reset-gated candidate).
        let xw_bias = match cell {
            Cell::Gru => {
                let mut b = wb.data().to_vec();
                for (j, v) in b.iter_mut().enumerate().take(2 * hidden) {
                    *v += rb.data()[j];
                }
                b
            }
            _ => wb
                .data()
                .iter()
                .zip(rb.data())
                .map(|(a, b)| a + b)
                .collect(),
        };
        let xw = times_transposed(ctx, x.clone(), &wd)?;
        let xw_bias = Tensor::new(vec![g * hidden], xw_bias).map_err(|e| e.to_string())?;
        let xw = add(ctx, xw, Value::Const(xw_bias))?;
        let acts = &acts[d * defaults.len()..(d + 1) * defaults.len()];
        let mut h = initial(ctx, 5, d)?;
        let mut c = match cell {
            Cell::Lstm => initial(ctx, 6, d)?,
            _ => h.clone(),
        };
        let mut per_step: Vec<Option<Value>> = vec![None; seq];
        let steps: Vec<usize> = match reverse {
            true => (0..seq).rev().collect(),
            false => (0..seq).collect(),
        };
        for t in steps {
            let xt = slice(ctx, &xw, 0, t, t + 1)?;
            let xt = reshape(ctx, xt, vec![batch, g * hidden])?;
            let gate = |ctx: &mut Ctx<'_>, v: &Value, k: usize| {
                slice(ctx, v, 1, k * hidden, (k + 1) * hidden)
            };
            match cell {
                Cell::Lstm | Cell::Rnn => {
                    let hr = times_transposed(ctx, h.clone(), &rd)?;
                    let pre = add(ctx, xt, hr)?;
                    if cell == Cell::Rnn {
                        h = activation(ctx, &acts[0], pre)?;
                    } else {
                        let (f, gg, hh) = (&acts[0], &acts[1], &acts[2]);
                        // Peepholes `P = [p_i, p_o, p_f]`: `p_i ⊙ c`, `p_f ⊙ c` of the previous
                        // cell state, `p_o ⊙ c` of the new one.
                        let peephole =
                            |ctx: &mut Ctx<'_>, k: usize, c: &Value| -> Result<Value, String> {
                                let Some(p) = &peep else {
                                    return Ok(Value::Const(
                                        Tensor::new(vec![1], vec![0.0])
                                            .map_err(|e| e.to_string())?,
                                    ));
                                };
                                let pd = direction(p, d)?;
                                let pk = Tensor::new(
                                    vec![hidden],
                                    pd.data()[k * hidden..(k + 1) * hidden].to_vec(),
                                )
                                .map_err(|e| e.to_string())?;
                                mul(ctx, c.clone(), Value::Const(pk))
                            };
                        let i_g = gate(ctx, &pre, 0)?;
                        let o_g = gate(ctx, &pre, 1)?;
                        let f_g = gate(ctx, &pre, 2)?;
                        let c_g = gate(ctx, &pre, 3)?;
                        let pi = peephole(ctx, 0, &c)?;
                        let i_g = add(ctx, i_g, pi)?;
                        let pf = peephole(ctx, 2, &c)?;
                        let f_g = add(ctx, f_g, pf)?;
                        let i_t = activation(ctx, f, i_g)?;
                        let f_t = activation(ctx, f, f_g)?;
                        let g_t = activation(ctx, gg, c_g)?;
                        let kept = mul(ctx, f_t, c.clone())?;
                        let fresh = mul(ctx, i_t, g_t)?;
                        c = add(ctx, kept, fresh)?;
                        let po = peephole(ctx, 1, &c)?;
                        let o_g = add(ctx, o_g, po)?;
                        let o_t = activation(ctx, f, o_g)?;
                        let hc = activation(ctx, hh, c.clone())?;
                        h = mul(ctx, o_t, hc)?;
                    }
                }
                Cell::Gru => {
                    let (f, gg) = (&acts[0], &acts[1]);
                    let hr = times_transposed(ctx, h.clone(), &rd)?;
                    let x_z = gate(ctx, &xt, 0)?;
                    let x_r = gate(ctx, &xt, 1)?;
                    let x_h = gate(ctx, &xt, 2)?;
                    let h_z = gate(ctx, &hr, 0)?;
                    let h_r = gate(ctx, &hr, 1)?;
                    let zs = add(ctx, x_z, h_z)?;
                    let z = activation(ctx, f, zs)?;
                    let rs = add(ctx, x_r, h_r)?;
                    let rr = activation(ctx, f, rs)?;
                    let rbh = Tensor::new(vec![hidden], rb.data()[2 * hidden..].to_vec())
                        .map_err(|e| e.to_string())?;
                    let cand = if lbr {
                        let h_h = gate(ctx, &hr, 2)?;
                        let h_h = add(ctx, h_h, Value::Const(rbh))?;
                        let gated = mul(ctx, rr, h_h)?;
                        add(ctx, x_h, gated)?
                    } else {
                        let rh = mul(ctx, rr, h.clone())?;
                        let rd_h =
                            slice(ctx, &Value::Const(rd.clone()), 0, 2 * hidden, 3 * hidden)?;
                        let Value::Const(rd_h) = rd_h else {
                            return Err("internal: R folded to a node".into());
                        };
                        let rhr = times_transposed(ctx, rh, &rd_h)?;
                        let rhr = add(ctx, rhr, Value::Const(rbh))?;
                        add(ctx, x_h, rhr)?
                    };
                    let hh = activation(ctx, gg, cand)?;
                    // h' = hh + z·(h − hh)
                    let diff = combine(ctx, Kind::Sub, h.clone(), hh.clone(), false)?;
                    let kept = mul(ctx, z, diff)?;
                    h = add(ctx, hh, kept)?;
                    c = h.clone();
                }
            }
            per_step[t] = Some(h.clone());
        }
        ys.push(per_step);
        hs.push(h);
        cs.push(c);
    }

    // Y: [seq, D, batch, hidden] (layout 1: [batch, seq, D, hidden]); Y_h, Y_c: [D, batch,
    // hidden] (layout 1: [batch, D, hidden]).
    let as_node = |ctx: &mut Ctx<'_>, v: Value| ctx.as_node(v);
    let mut y_parts = Vec::with_capacity(seq * dirs);
    for t in 0..seq {
        for ys_d in &ys {
            let v = ys_d[t].clone().ok_or("internal: a step was not computed")?;
            let v = reshape(ctx, v, vec![1, 1, batch, hidden])?;
            y_parts.push(as_node(ctx, v));
        }
    }
    let stack = |ctx: &mut Ctx<'_>, parts: Vec<usize>, axis: usize, shape: Vec<usize>| {
        if parts.len() == 1 {
            return parts[0];
        }
        index_map(ctx, Op::Concat(Concat { axis }), parts, shape)
    };
    // Step-major with directions inside: concatenating along axis 0 then regrouping by a
    // reshape gives [seq, D, batch, hidden].
    let flat = stack(ctx, y_parts, 0, vec![seq * dirs, 1, batch, hidden]);
    let y = node(reshape(
        ctx,
        Value::Node(flat),
        vec![seq, dirs, batch, hidden],
    )?)?;
    let finals = |ctx: &mut Ctx<'_>, parts: Vec<Value>| -> Result<usize, String> {
        let mut ids = Vec::new();
        for v in parts {
            let v = reshape(ctx, v, vec![1, batch, hidden])?;
            ids.push(as_node(ctx, v));
        }
        Ok(stack(ctx, ids, 0, vec![dirs, batch, hidden]))
    };
    let y_h = finals(ctx, hs)?;
    let y_c = finals(ctx, cs)?;
    let (y, y_h, y_c) = if layout == 0 {
        (y, y_h, y_c)
    } else {
        let y = index_map(
            ctx,
            Op::Transpose(Transpose {
                perm: vec![2, 0, 1, 3],
            }),
            vec![y],
            vec![batch, seq, dirs, hidden],
        );
        let t = |ctx: &mut Ctx<'_>, id: usize| {
            let op = Op::Transpose(Transpose {
                perm: vec![1, 0, 2],
            });
            index_map(ctx, op, vec![id], vec![batch, dirs, hidden])
        };
        (y, t(ctx, y_h), t(ctx, y_c))
    };
    let mut outs = vec![Value::Node(y), Value::Node(y_h)];
    if cell == Cell::Lstm {
        outs.push(Value::Node(y_c));
    }
    Ok(outs)
}
