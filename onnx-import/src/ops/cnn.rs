//! Convolutions, pooling, BatchNormalization and Pad. Convolutions, averages and padding are
//! term-by-term linear maps (each output a dot product with constant weights); max pooling is
//! a maximum over windows.

use zkinfer_ir::Tensor;

use super::{Ctx, Value};
use crate::float::FloatOp;

/// The geometry of a 2-D sliding window along one spatial axis.
#[derive(Clone, Copy, Debug)]
struct Axis {
    input: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    /// Padding before and after (may be negative for ConvTranspose outputs).
    begin: i64,
    end: i64,
    output: usize,
}

impl Axis {
    /// Input positions read by output position `o`, as `(kernel offset, input index)`; the
    /// second item is `None` for a position in the padding.
    fn taps(&self, o: usize) -> impl Iterator<Item = (usize, Option<usize>)> + '_ {
        (0..self.kernel).map(move |k| {
            let i = (o * self.stride) as i64 - self.begin + (k * self.dilation) as i64;
            (k, (0..self.input as i64).contains(&i).then_some(i as usize))
        })
    }

    /// Taps that fall inside the padded input (what `count_include_pad` counts).
    fn padded_taps(&self, o: usize) -> usize {
        (0..self.kernel)
            .filter(|&k| {
                let i = (o * self.stride) as i64 - self.begin + (k * self.dilation) as i64;
                i >= -self.begin && i < self.input as i64 + self.end
            })
            .count()
    }
}

fn spatial_dims(shape: &[usize]) -> Result<[usize; 2], String> {
    match shape {
        [_, _, h, w] => Ok([*h, *w]),
        _ => Err(format!(
            "only 2-D inputs of shape [N, C, H, W] are supported, got {shape:?}"
        )),
    }
}

fn pair(ctx: &Ctx<'_>, name: &str, default: usize) -> Result<[usize; 2], String> {
    match ctx.attr_ints(name) {
        None => Ok([default; 2]),
        Some(v) if v.len() == 2 && v.iter().all(|&x| x >= 1) => Ok([v[0] as usize, v[1] as usize]),
        Some(v) => Err(format!(
            "attribute {name} = {v:?} is not two positive integers"
        )),
    }
}

/// Window geometry of Conv and the pools: explicit pads, `auto_pad` and `ceil_mode`.
fn windows(ctx: &Ctx<'_>, input: [usize; 2], kernel: [usize; 2]) -> Result<[Axis; 2], String> {
    let stride = pair(ctx, "strides", 1)?;
    let dilation = pair(ctx, "dilations", 1)?;
    let ceil = ctx.attr_int("ceil_mode", 0) != 0;
    let auto = ctx.attr_string("auto_pad", "NOTSET");
    let pads = ctx.attr_ints("pads").unwrap_or_else(|| vec![0; 4]);
    if pads.len() != 4 || pads.iter().any(|&p| p < 0) {
        return Err(format!("pads = {pads:?} is not four non-negative integers"));
    }
    let mut axes = [0, 1].map(|a| Axis {
        input: input[a],
        kernel: kernel[a],
        stride: stride[a],
        dilation: dilation[a],
        begin: pads[a],
        end: pads[a + 2],
        output: 0,
    });
    for ax in axes.iter_mut() {
        let span = ((ax.kernel - 1) * ax.dilation + 1) as i64;
        match auto.as_str() {
            "NOTSET" => {}
            "VALID" => (ax.begin, ax.end) = (0, 0),
            "SAME_UPPER" | "SAME_LOWER" => {
                let out = ax.input.div_ceil(ax.stride) as i64;
                let total = ((out - 1) * ax.stride as i64 + span - ax.input as i64).max(0);
                let small = total / 2;
                (ax.begin, ax.end) = if auto == "SAME_UPPER" {
                    (small, total - small)
                } else {
                    (total - small, small)
                };
            }
            other => return Err(format!("auto_pad {other} is not supported")),
        }
        let room = ax.input as i64 + ax.begin + ax.end - span;
        if room < 0 {
            return Err(format!(
                "the window ({span}) is larger than the padded input ({})",
                ax.input as i64 + ax.begin + ax.end
            ));
        }
        let s = ax.stride as i64;
        let mut out = if ceil {
            room.div_euclid(s) + i64::from(room % s != 0)
        } else {
            room / s
        } + 1;
        // A window that would start in the end padding is dropped.
        if ceil && (out - 1) * s >= ax.input as i64 + ax.begin {
            out -= 1;
        }
        ax.output = out as usize;
    }
    Ok(axes)
}

fn input_node(ctx: &Ctx<'_>) -> Result<(usize, Vec<usize>), String> {
    let x = ctx.node_input(0)?;
    Ok((x, ctx.graph.nodes[x].shape.clone()))
}

fn flat(shape: &[usize], n: usize, c: usize, h: usize, w: usize) -> usize {
    ((n * shape[1] + c) * shape[2] + h) * shape[3] + w
}

/// What Conv and ConvTranspose read: the input node and its shape, the constant weight
/// (`[C_out, C_in/group, kH, kW]` for Conv, `[C_in, C_out/group, kH, kW]` for ConvTranspose),
/// the spatial size and the group count.
struct ConvOperands {
    x: usize,
    xs: Vec<usize>,
    w: Tensor<f64>,
    ws: Vec<usize>,
    hw: [usize; 2],
    group: usize,
}

fn conv_operands(ctx: &Ctx<'_>, layout: &str) -> Result<ConvOperands, String> {
    let (x, xs) = input_node(ctx)?;
    let w = ctx.const_input(1, "the weight")?;
    let ws = w.shape().to_vec();
    let hw = spatial_dims(&xs)?;
    if ws.len() != 4 {
        return Err(format!("the weight must be {layout}, got {ws:?}"));
    }
    let group = ctx.attr_int("group", 1).max(1) as usize;
    Ok(ConvOperands {
        x,
        xs,
        w,
        ws,
        hw,
        group,
    })
}

/// The constant bias of `m` output channels (zeros without one).
fn conv_bias(ctx: &Ctx<'_>, m: usize) -> Result<Vec<f64>, String> {
    let bias = match ctx.optional(2) {
        Some(Value::Const(b)) => b.data().to_vec(),
        Some(Value::Node(_)) => return Err("the bias (input 2) must be a constant".into()),
        None => vec![0.0; m],
    };
    if bias.len() != m {
        return Err(format!(
            "the bias has {} values for {m} output channels",
            bias.len()
        ));
    }
    Ok(bias)
}

fn channel_mismatch(channels: usize, ws: &[usize], group: usize) -> String {
    format!("{channels} input channels do not match weight {ws:?} with group {group}")
}

pub fn conv(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let ConvOperands {
        x,
        xs,
        w,
        ws,
        hw: [h, wd],
        group,
    } = conv_operands(ctx, "[M, C/group, kH, kW]")?;
    let (m, cg) = (ws[0], ws[1]);
    if xs[1] != cg * group || m % group != 0 {
        return Err(channel_mismatch(xs[1], &ws, group));
    }
    let bias = conv_bias(ctx, m)?;
    let [ay, ax] = windows(ctx, [h, wd], [ws[2], ws[3]])?;
    let out_shape = vec![xs[0], m, ay.output, ax.output];
    let wf =
        |o: usize, c: usize, i: usize, j: usize| w.data()[((o * cg + c) * ws[2] + i) * ws[3] + j];
    let mut terms = Vec::new();
    let mut biases = Vec::new();
    for n in 0..xs[0] {
        for (o, &bias_o) in bias.iter().enumerate() {
            let g = o / (m / group);
            for y in 0..ay.output {
                for xo in 0..ax.output {
                    let mut row = Vec::new();
                    for c in 0..cg {
                        for (i, ih) in ay.taps(y) {
                            for (j, iw) in ax.taps(xo) {
                                if let (Some(ih), Some(iw)) = (ih, iw) {
                                    row.push((flat(&xs, n, g * cg + c, ih, iw), wf(o, c, i, j)));
                                }
                            }
                        }
                    }
                    terms.push(row);
                    biases.push(bias_o);
                }
            }
        }
    }
    Ok(vec![ctx.add(
        FloatOp::Linear {
            terms,
            bias: biases,
        },
        vec![x],
        out_shape,
    )])
}

pub fn conv_transpose(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let ConvOperands {
        x,
        xs,
        w,
        ws,
        hw: [h, wd],
        group,
    } = conv_operands(ctx, "[C, M/group, kH, kW]")?;
    let (c_in, mg) = (ws[0], ws[1]);
    if xs[1] != c_in || c_in % group != 0 {
        return Err(channel_mismatch(xs[1], &ws, group));
    }
    let m = mg * group;
    let bias = conv_bias(ctx, m)?;
    let stride = pair(ctx, "strides", 1)?;
    let dilation = pair(ctx, "dilations", 1)?;
    let out_pad = ctx
        .attr_ints("output_padding")
        .unwrap_or_else(|| vec![0, 0]);
    let pads = ctx.attr_ints("pads").unwrap_or_else(|| vec![0; 4]);
    let out_shape_attr = ctx.attr_ints("output_shape");
    let auto = ctx.attr_string("auto_pad", "NOTSET");
    let mut axes = [Axis {
        input: 0,
        kernel: 0,
        stride: 1,
        dilation: 1,
        begin: 0,
        end: 0,
        output: 0,
    }; 2];
    for a in 0..2 {
        let input = [h, wd][a];
        let span = ((ws[2 + a] - 1) * dilation[a] + 1) as i64;
        let full = (stride[a] * (input - 1)) as i64 + out_pad.get(a).copied().unwrap_or(0) + span;
        let explicit = os_at(&out_shape_attr, a);
        let (begin, end, out) = if explicit.is_some() || auto != "NOTSET" {
            let target = explicit.unwrap_or((input * stride[a]) as i64);
            let total = full - target;
            let small = total / 2;
            if auto == "SAME_LOWER" {
                (total - small, small, target)
            } else {
                (small, total - small, target)
            }
        } else {
            let b = pads.get(a).copied().unwrap_or(0);
            let e = pads.get(a + 2).copied().unwrap_or(0);
            (b, e, full - b - e)
        };
        if out < 1 {
            return Err(format!("output size {out} along spatial axis {a}"));
        }
        axes[a] = Axis {
            input,
            kernel: ws[2 + a],
            stride: stride[a],
            dilation: dilation[a],
            begin,
            end,
            output: out as usize,
        };
    }
    let [ay, ax] = axes;
    let out_shape = vec![xs[0], m, ay.output, ax.output];
    let mut terms: Vec<Vec<(usize, f64)>> = vec![Vec::new(); out_shape.iter().product()];
    let cg = c_in / group;
    for n in 0..xs[0] {
        for c in 0..c_in {
            let g = c / cg;
            for ih in 0..h {
                for iw in 0..wd {
                    for o in 0..mg {
                        for i in 0..ws[2] {
                            let oy = (ih * ay.stride + i * ay.dilation) as i64 - ay.begin;
                            if !(0..ay.output as i64).contains(&oy) {
                                continue;
                            }
                            for j in 0..ws[3] {
                                let ox = (iw * ax.stride + j * ax.dilation) as i64 - ax.begin;
                                if !(0..ax.output as i64).contains(&ox) {
                                    continue;
                                }
                                let wv = w.data()[((c * mg + o) * ws[2] + i) * ws[3] + j];
                                let out = flat(&out_shape, n, g * mg + o, oy as usize, ox as usize);
                                terms[out].push((flat(&xs, n, c, ih, iw), wv));
                            }
                        }
                    }
                }
            }
        }
    }
    let inner = ay.output * ax.output;
    let bias = (0..terms.len()).map(|j| bias[(j / inner) % m]).collect();
    Ok(vec![ctx.add(
        FloatOp::Linear { terms, bias },
        vec![x],
        out_shape,
    )])
}

fn os_at(v: &Option<Vec<i64>>, a: usize) -> Option<i64> {
    v.as_ref().and_then(|v| {
        let off = v.len().saturating_sub(2);
        v.get(off + a).copied()
    })
}

/// The input elements of one pooling window and how many positions of the padded input it
/// covers.
type PoolWindow = (Vec<usize>, usize);

/// Output positions and, for each, the input elements of its window and how many positions
/// of the padded input it covers.
fn pool_windows(
    ctx: &Ctx<'_>,
    xs: &[usize],
    kernel: [usize; 2],
) -> Result<(Vec<usize>, Vec<PoolWindow>), String> {
    let [h, w] = spatial_dims(xs)?;
    let [ay, ax] = windows(ctx, [h, w], kernel)?;
    let out_shape = vec![xs[0], xs[1], ay.output, ax.output];
    let mut out = Vec::new();
    for n in 0..xs[0] {
        for c in 0..xs[1] {
            for y in 0..ay.output {
                for xo in 0..ax.output {
                    let mut win = Vec::new();
                    for (_, ih) in ay.taps(y) {
                        for (_, iw) in ax.taps(xo) {
                            if let (Some(ih), Some(iw)) = (ih, iw) {
                                win.push(flat(xs, n, c, ih, iw));
                            }
                        }
                    }
                    out.push((win, ay.padded_taps(y) * ax.padded_taps(xo)));
                }
            }
        }
    }
    Ok((out_shape, out))
}

fn kernel_attr(ctx: &Ctx<'_>) -> Result<[usize; 2], String> {
    match ctx.attr_ints("kernel_shape") {
        Some(k) if k.len() == 2 && k.iter().all(|&v| v >= 1) => Ok([k[0] as usize, k[1] as usize]),
        other => Err(format!(
            "kernel_shape {other:?} is not two positive integers"
        )),
    }
}

pub fn max_pool(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    if ctx.node.output.len() > 1 && ctx.uses.get(&ctx.node.output[1]).copied().unwrap_or(0) > 0 {
        return Err("the Indices output of MaxPool is not supported".into());
    }
    if ctx.attr_int("storage_order", 0) != 0 {
        return Err("storage_order = 1 is not supported".into());
    }
    let (x, xs) = input_node(ctx)?;
    let (shape, wins) = pool_windows(ctx, &xs, kernel_attr(ctx)?)?;
    if wins.iter().any(|(w, _)| w.is_empty()) {
        return Err("a pooling window lies entirely in the padding".into());
    }
    let windows = wins.into_iter().map(|(w, _)| w).collect();
    Ok(vec![ctx.add(FloatOp::Max(windows), vec![x], shape)])
}

pub fn average_pool(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let (x, xs) = input_node(ctx)?;
    let include_pad = ctx.attr_int("count_include_pad", 0) != 0;
    let (shape, wins) = pool_windows(ctx, &xs, kernel_attr(ctx)?)?;
    let mut terms = Vec::with_capacity(wins.len());
    let mut counts = Vec::with_capacity(wins.len());
    for (w, padded) in wins {
        let count = if include_pad { padded } else { w.len() };
        if count == 0 {
            return Err("a pooling window lies entirely in the padding".into());
        }
        terms.push(w.into_iter().map(|i| (i, 1.0)).collect::<Vec<_>>());
        counts.push(count);
    }
    Ok(vec![mean(ctx, x, terms, counts, shape)?])
}

/// The sum over each window (a linear map with unit weights, exact) divided by its count with
/// the rounded-division chip.
pub fn mean(
    ctx: &mut Ctx<'_>,
    x: usize,
    terms: Vec<Vec<(usize, f64)>>,
    counts: Vec<usize>,
    shape: Vec<usize>,
) -> Result<Value, String> {
    let bias = vec![0.0; terms.len()];
    let Value::Node(sum) = ctx.add(FloatOp::Linear { terms, bias }, vec![x], shape.clone()) else {
        return Err("internal: a sum produced a constant".into());
    };
    Ok(ctx.add(FloatOp::Mean(counts), vec![sum], shape))
}

pub fn global_average_pool(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let (x, xs) = input_node(ctx)?;
    if xs.len() < 3 {
        return Err(format!("expected [N, C, spatial...], got {xs:?}"));
    }
    let inner: usize = xs[2..].iter().product();
    let outer = xs[0] * xs[1];
    let terms = (0..outer)
        .map(|o| (0..inner).map(|i| (o * inner + i, 1.0)).collect())
        .collect();
    let mut shape = xs[..2].to_vec();
    shape.extend(std::iter::repeat_n(1, xs.len() - 2));
    Ok(vec![mean(ctx, x, terms, vec![inner; outer], shape)?])
}

/// Per-channel `scale · (x − mean) / sqrt(var + eps) + B`, folded into the Conv or Gemm
/// before it when that node has no other reader, else an affine node.
pub fn batch_norm(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let eps = ctx.attr_float("epsilon", 1e-5) as f64;
    if ctx.attr_int("training_mode", 0) != 0 {
        return Err("training_mode = 1 is not supported (inference only)".into());
    }
    let [scale, b, mean, var] =
        [1, 2, 3, 4].map(|i| ctx.const_input(i, "a BatchNormalization parameter"));
    let (scale, b, mean, var) = (scale?, b?, mean?, var?);
    let channels = scale.len();
    let mul: Vec<f64> = (0..channels)
        .map(|c| scale.data()[c] / (var.data()[c] + eps).sqrt())
        .collect();
    let add: Vec<f64> = (0..channels)
        .map(|c| b.data()[c] - mean.data()[c] * mul[c])
        .collect();
    let x = ctx.node_input(0)?;
    let xs = ctx.graph.nodes[x].shape.clone();
    if xs.len() < 2 || xs[1] != channels {
        return Err(format!(
            "input of shape {xs:?} does not have {channels} channels on axis 1"
        ));
    }
    let inner: usize = xs[2..].iter().product();
    let channel = |j: usize| (j / inner) % channels;
    if ctx.single_use(0) {
        if let FloatOp::Linear { terms, bias } = &mut ctx.graph.nodes[x].op {
            for (j, (row, b)) in terms.iter_mut().zip(bias.iter_mut()).enumerate() {
                let c = channel(j);
                for t in row.iter_mut() {
                    t.1 *= mul[c];
                }
                *b = *b * mul[c] + add[c];
            }
            return Ok(vec![Value::Node(x)]);
        }
    }
    let n: usize = xs.iter().product();
    let mul_t = Tensor::new(xs.clone(), (0..n).map(|j| mul[channel(j)]).collect())
        .map_err(|e| e.to_string())?;
    let add_t = Tensor::new(xs.clone(), (0..n).map(|j| add[channel(j)]).collect())
        .map_err(|e| e.to_string())?;
    Ok(vec![ctx.add(
        FloatOp::Affine {
            mul: mul_t,
            add: add_t,
        },
        vec![x],
        xs,
    )])
}

/// Pad: each output element is an input element (constant, reflect or edge mode) or the pad
/// value (constant mode).
pub fn pad(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let mode = ctx.attr_string("mode", "constant");
    if !["constant", "reflect", "edge"].contains(&mode.as_str()) {
        return Err(format!(
            "mode {mode} is not supported (constant, reflect, edge)"
        ));
    }
    let (x, xs) = input_node(ctx)?;
    let rank = xs.len();
    let (pads, value, axes): (Vec<i64>, f64, Vec<usize>) = if ctx.opset < 11 {
        (
            ctx.attr_ints("pads").unwrap_or_default(),
            ctx.attr_float("value", 0.0) as f64,
            (0..rank).collect(),
        )
    } else {
        let pads = ctx
            .const_input(1, "pads")?
            .data()
            .iter()
            .map(|&v| v as i64)
            .collect();
        let value = match ctx.optional(2) {
            Some(Value::Const(t)) => t.data().first().copied().unwrap_or(0.0),
            Some(Value::Node(_)) => {
                return Err("constant_value (input 2) must be a constant".into())
            }
            None => 0.0,
        };
        let axes = match ctx.optional(3) {
            Some(Value::Const(t)) => t
                .data()
                .iter()
                .map(|&a| super::axis(a as i64, rank))
                .collect::<Result<_, _>>()?,
            Some(Value::Node(_)) => return Err("axes (input 3) must be a constant".into()),
            None => (0..rank).collect(),
        };
        (pads, value, axes)
    };
    if pads.len() != 2 * axes.len() {
        return Err(format!("pads {pads:?} do not match {} axes", axes.len()));
    }
    let mut begin = vec![0i64; rank];
    let mut end = vec![0i64; rank];
    for (k, &a) in axes.iter().enumerate() {
        begin[a] = pads[k];
        end[a] = pads[k + axes.len()];
    }
    let shape: Vec<usize> = (0..rank)
        .map(|a| (xs[a] as i64 + begin[a] + end[a]).max(0) as usize)
        .collect();
    let out_strides = zkinfer_ir::strides(&shape);
    let in_strides = zkinfer_ir::strides(&xs);
    let len: usize = shape.iter().product();
    let mut terms = Vec::with_capacity(len);
    let mut bias = Vec::with_capacity(len);
    for flat_o in 0..len {
        let mut idx = Some(0usize);
        for a in 0..rank {
            let o = (flat_o / out_strides[a]) % shape[a];
            let d = xs[a] as i64;
            let mut i = o as i64 - begin[a];
            if mode == "edge" {
                i = i.clamp(0, d - 1);
            } else if mode == "reflect" && d > 1 {
                let period = 2 * (d - 1);
                i = i.rem_euclid(period);
                if i >= d {
                    i = period - i;
                }
            }
            idx = match idx {
                Some(acc) if (0..xs[a] as i64).contains(&i) => {
                    Some(acc + i as usize * in_strides[a])
                }
                _ => None,
            };
        }
        match idx {
            Some(i) => {
                terms.push(vec![(i, 1.0)]);
                bias.push(0.0);
            }
            None => {
                terms.push(Vec::new());
                bias.push(value);
            }
        }
    }
    Ok(vec![ctx.add(
        FloatOp::Linear { terms, bias },
        vec![x],
        shape,
    )])
}
