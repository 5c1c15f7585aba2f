//! The integer reference evaluator: exactly what the circuit constrains. The prover's witness
//! comes from here, chips are tested against it, and accuracy is measured with it.

use crate::graph::{Graph, Node};
use crate::op::{ArgMax, Div, Linear, MatMulDims, Windows};
use crate::op::{Op, Rescale, Softmax};
use crate::table::{TableBounds, TableFn};
use crate::tensor::{broadcast_indices, Tensor};
use crate::IrError;

mod product;

use product::{dense_product, product};

/// The value of every node for one set of inputs.
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    pub values: Vec<Tensor<i64>>,
}

impl Trace {
    /// The graph outputs, in order.
    pub fn outputs(&self, graph: &Graph) -> Vec<Tensor<i64>> {
        graph
            .outputs
            .iter()
            .map(|&o| self.values[o].clone())
            .collect()
    }
}

/// What a rescale row holds: `x + half = q · 2^shift + r` and `f = table(q)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RescaleWitness {
    pub q: i64,
    pub r: i64,
    pub f: i64,
}

/// Rescales element `i` of value `x`, checking that `q` lies in the table's domain.
pub fn rescale(
    x: i64,
    i: usize,
    op: &Rescale,
    bounds: &TableBounds,
    node: &str,
) -> Result<RescaleWitness, IrError> {
    let shifted = x
        .checked_add(op.half(i))
        .ok_or_else(|| IrError::Overflow { node: node.into() })?;
    let q = shifted >> op.shift(i);
    let r = shifted - (q << op.shift(i));
    check_domain(&op.table, q, bounds, node)?;
    Ok(RescaleWitness {
        q,
        r,
        f: op.table.output(q, bounds),
    })
}

/// [`rescale`]'s outputs for every element, the table's domain worked out once.
fn rescale_all(
    x: &[i64],
    op: &Rescale,
    bounds: &TableBounds,
    node: &str,
) -> Result<Vec<i64>, IrError> {
    let table = op.table.prepared(bounds);
    x.iter()
        .enumerate()
        .map(|(i, &x)| {
            let shifted = x
                .checked_add(op.half(i))
                .ok_or_else(|| IrError::Overflow { node: node.into() })?;
            let q = shifted >> op.shift(i);
            if !table.contains(q) {
                check_domain(&op.table, q, bounds, node)?;
            }
            Ok(table.output(q))
        })
        .collect()
}

fn check_domain(table: &TableFn, x: i64, bounds: &TableBounds, node: &str) -> Result<(), IrError> {
    if table.contains(x, bounds) {
        return Ok(());
    }
    let (min, max) = table.domain(bounds);
    Err(IrError::OutsideTable {
        node: node.into(),
        table: table.name(),
        value: x,
        min,
        max,
    })
}

/// Everything the softmax chip assigns for one row `z` of the last axis.
///
/// `m = max z`, `d_i = m - z_i`, clamped as `c_i = min(d_i, cmax)` with overflow
/// `o_i = d_i - c_i`, `e_i = exp(c_i)` (by the split tables of [`crate::ExpSplit`]; `e` is 0
/// from `cmax` on, so clamping changes nothing), `s = Σ e_i`, and `2·e_i·2^out + s = p_i · 2s + r_i` with
/// `0 ≤ r_i < 2s`, so `p_i = round(e_i · 2^out / s)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SoftmaxWitness {
    pub max: i64,
    pub d: Vec<i64>,
    pub clamped: Vec<i64>,
    pub overflow: Vec<i64>,
    pub e: Vec<i64>,
    pub sum: i64,
    pub p: Vec<i64>,
    pub r: Vec<i64>,
}

/// Bits of the range check on the softmax division remainder for a row of `n` elements.
pub fn softmax_range_bits(op: &Softmax, n: usize) -> u32 {
    let e_max = op.split().apply(0).max(1) as u64;
    let two_sum = e_max.saturating_mul(2).saturating_mul(n as u64);
    64 - two_sum.leading_zeros()
}

pub fn softmax_row(
    z: &[i64],
    op: &Softmax,
    bounds: &TableBounds,
    node: &str,
) -> Result<SoftmaxWitness, IrError> {
    let max = z.iter().copied().max().unwrap_or(0);
    let d: Vec<i64> = z
        .iter()
        .map(|&v| max.checked_sub(v))
        .collect::<Option<_>>()
        .ok_or_else(|| IrError::Overflow { node: node.into() })?;
    let split = op.split();
    let last = split.cmax();
    let clamped: Vec<i64> = d.iter().map(|&di| di.min(last)).collect();
    let overflow: Vec<i64> = d.iter().zip(&clamped).map(|(a, b)| a - b).collect();
    for &o in &overflow {
        // The circuit range-checks the overflow to the activation range.
        if o >= bounds.range_max() {
            return Err(IrError::OutsideTable {
                node: node.into(),
                table: "softmax spread".into(),
                value: o + last,
                min: 0,
                max: bounds.range_max() + last,
            });
        }
    }
    let e: Vec<i64> = clamped.iter().map(|&c| split.apply(c)).collect();
    let sum: i64 = e.iter().fold(0i64, |a, &x| a.saturating_add(x));
    let two_sum = sum.saturating_mul(2);
    // The circuit range-checks the division remainder to the activation range.
    if two_sum > bounds.range_max() {
        return Err(IrError::OutsideTable {
            node: node.into(),
            table: "softmax remainder".into(),
            value: two_sum,
            min: 0,
            max: bounds.range_max(),
        });
    }
    let (mut p, mut r) = (Vec::with_capacity(z.len()), Vec::with_capacity(z.len()));
    for &ei in &e {
        let w = div_round(ei, sum, op.out_scale, bounds, node)?;
        p.push(w.p);
        r.push(w.r);
    }
    Ok(SoftmaxWitness {
        max,
        d,
        clamped,
        overflow,
        e,
        sum,
        p,
        r,
    })
}

/// A rounded division row: `2·a·2^shift + b = p·2b + r` with `0 ≤ r < 2b`, so
/// `p = round(a · 2^shift / b)`; `slack = 2b − 1 − r ≥ 0` is range-checked too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DivWitness {
    pub p: i64,
    pub r: i64,
    pub slack: i64,
}

/// Divides `a · 2^shift` by `b` with rounding. The circuit range-checks `r` and the slack
/// to `[0, 2^m)` (the activation range), so `2b` must not exceed `2^m`; `b` must be positive.
pub fn div_round(
    a: i64,
    b: i64,
    shift: u32,
    bounds: &TableBounds,
    node: &str,
) -> Result<DivWitness, IrError> {
    // `2b > 2^m`, without overflowing for a huge divisor.
    if b < 1 || b > bounds.range_max() / 2 {
        return Err(IrError::OutsideTable {
            node: node.into(),
            table: "divisor".into(),
            value: b,
            min: 1,
            max: bounds.range_max() / 2 + 1,
        });
    }
    let num = a
        .checked_mul(1i64 << shift)
        .and_then(|v| v.checked_mul(2))
        .and_then(|v| v.checked_add(b))
        .ok_or_else(|| IrError::Overflow { node: node.into() })?;
    let p = num.div_euclid(2 * b);
    let r = num.rem_euclid(2 * b);
    Ok(DivWitness {
        p,
        r,
        slack: 2 * b - 1 - r,
    })
}

/// The maximum of a window and its position (the first or the last maximal one). The
/// circuit range-checks every `max − z_i` to `[0, 2^m)`.
pub fn window_max(
    z: &[i64],
    last: bool,
    bounds: &TableBounds,
    node: &str,
) -> Result<(i64, usize), IrError> {
    let max = z.iter().copied().max().unwrap_or(0);
    let min = z.iter().copied().min().unwrap_or(0);
    if max - min >= bounds.range_max() {
        return Err(IrError::OutsideTable {
            node: node.into(),
            table: "max spread".into(),
            value: max - min,
            min: 0,
            max: bounds.range_max(),
        });
    }
    let mut at = z.iter().position(|&v| v == max).unwrap_or(0);
    if last {
        at = z.iter().rposition(|&v| v == max).unwrap_or(0);
    }
    Ok((max, at))
}

/// `bias + Σ w · x` for every output of a term-by-term linear map.
pub fn linear(op: &Linear, x: &[i64], node: &str) -> Result<Vec<i64>, IrError> {
    op.terms
        .iter()
        .zip(&op.bias)
        .map(|(row, &b)| {
            let acc = row
                .iter()
                .fold(b as i128, |acc, &(xi, w)| acc + x[xi] as i128 * w as i128);
            i64::try_from(acc).map_err(|_| IrError::Overflow { node: node.into() })
        })
        .collect()
}

fn div_op(
    op: &Div,
    a: &Tensor<i64>,
    b: &Tensor<i64>,
    shape: &[usize],
    bounds: &TableBounds,
    node: &str,
) -> Result<Vec<i64>, IrError> {
    let ia = broadcast_indices(a.shape(), shape);
    let ib = broadcast_indices(b.shape(), shape);
    ia.iter()
        .zip(&ib)
        .map(|(&i, &j)| div_round(a.data()[i], b.data()[j], op.shift, bounds, node).map(|w| w.p))
        .collect()
}

/// Evaluates `graph` on integer inputs (already quantized at the input scales).
pub fn eval(graph: &Graph, bounds: &TableBounds, inputs: &[Tensor<i64>]) -> Result<Trace, IrError> {
    if inputs.len() != graph.inputs.len() {
        return Err(IrError::InputCount {
            expected: graph.inputs.len(),
            got: inputs.len(),
        });
    }
    let mut values: Vec<Tensor<i64>> = Vec::with_capacity(graph.nodes.len());
    for (id, node) in graph.nodes.iter().enumerate() {
        let arg = |i: usize| &values[node.inputs[i]];
        let overflow = || IrError::Overflow {
            node: node.name.clone(),
        };
        let data: Vec<i64> = match &node.op {
            Op::Input(input) => {
                let given = &inputs[input.index];
                if given.len() != node.len() {
                    return Err(IrError::InputShape {
                        index: input.index,
                        name: node.name.clone(),
                        shape: node.shape.clone(),
                        expected: node.len(),
                        got: given.len(),
                    });
                }
                check_input_bounds(node, input.index, given.data())?;
                given.data().to_vec()
            }
            Op::Dense(dense) => dense_product(dense, arg(0), &node.name)?,
            Op::Binary(bin) => elementwise(arg(0), arg(1), &node.shape, |x, y| {
                bin.apply(x, y).ok_or_else(overflow)
            })?,
            Op::Affine(aff) => arg(0)
                .data()
                .iter()
                .zip(aff.mul.data().iter().zip(aff.add.data()))
                .map(|(&x, (&m, &a))| {
                    x.checked_mul(m)
                        .and_then(|v| v.checked_add(a))
                        .ok_or_else(overflow)
                })
                .collect::<Result<_, _>>()?,
            Op::Rescale(rs) => rescale_all(arg(0).data(), rs, bounds, &node.name)?,
            Op::Softmax(sm) => {
                let x = arg(0).data();
                let n = node.shape.last().copied().unwrap_or(1).max(1);
                let mut out = vec![0; x.len()];
                for start in (0..x.len()).step_by(n) {
                    let kept = sm.kept(start, n);
                    let z: Vec<i64> = kept.iter().map(|&j| x[start + j]).collect();
                    let p = softmax_row(&z, sm, bounds, &node.name)?.p;
                    for (&j, v) in kept.iter().zip(p) {
                        out[start + j] = v;
                    }
                }
                out
            }
            Op::Linear(lin) => {
                // A linear map without an input is a constant.
                let x = node.inputs.first().map_or(&[][..], |&i| values[i].data());
                linear(lin, x, &node.name)?
            }
            Op::Max(Windows { windows }) | Op::ArgMax(ArgMax { windows, .. }) => {
                let x = arg(0).data();
                let last = matches!(&node.op, Op::ArgMax(am) if am.last);
                windows
                    .iter()
                    .map(|win| {
                        let z: Vec<i64> = win.iter().map(|&i| x[i]).collect();
                        let (m, at) = window_max(&z, last, bounds, &node.name)?;
                        Ok(if matches!(node.op, Op::ArgMax(_)) {
                            at as i64
                        } else {
                            m
                        })
                    })
                    .collect::<Result<_, IrError>>()?
            }
            Op::Div(d) => div_op(d, arg(0), arg(1), &node.shape, bounds, &node.name)?,
            Op::Select(sel) => {
                let idx = arg(0).data();
                let data = node.inputs.get(1).map_or(&[][..], |&i| values[i].data());
                (0..sel.choices.len())
                    .map(|o| {
                        let k = idx[sel.index[o]];
                        sel.apply(o, k, data).ok_or_else(|| IrError::InvalidNode {
                            node: node.name.clone(),
                            reason: format!(
                                "index {k} of element {o} is none of the {} positions it may select",
                                sel.choices[o].len()
                            ),
                        })
                    })
                    .collect::<Result<_, _>>()?
            }
            Op::TopK(t) => {
                let x = arg(0).data();
                let mut out = Vec::with_capacity(t.windows.len() * t.k);
                for w in &t.windows {
                    let vals: Vec<i64> = w.iter().map(|&i| x[i]).collect();
                    out.extend(t.positions(&vals).into_iter().map(|p| p as i64));
                }
                out
            }
            Op::OneHot(h) => {
                let mut out = vec![0; arg(0).len() * h.depth];
                for (p, &k) in arg(0).data().iter().enumerate() {
                    let at = usize::try_from(k)
                        .ok()
                        .filter(|&k| k < h.depth)
                        .ok_or_else(|| IrError::InvalidNode {
                            node: node.name.clone(),
                            reason: format!("index {k} of element {p} is outside 0..{}", h.depth),
                        })?;
                    out[p * h.depth + at] = 1;
                }
                out
            }
            Op::IntDiv(d) => elementwise(arg(0), arg(1), &node.shape, |x, y| {
                d.apply(x, y).ok_or_else(|| IrError::DivisionByZero {
                    node: node.name.clone(),
                })
            })?,
            Op::MatMul => {
                let (a, b) = (arg(0), arg(1));
                let dims = MatMulDims::new(a.shape(), b.shape()).map_err(|reason| {
                    IrError::InvalidNode {
                        node: node.name.clone(),
                        reason,
                    }
                })?;
                let (m, n, p) = (dims.m, dims.n, dims.p);
                let mut out = Vec::with_capacity(dims.blocks.len() * m * p);
                for &(ba, bb) in &dims.blocks {
                    let a = &a.data()[ba * m * n..(ba + 1) * m * n];
                    let b = &b.data()[bb * n * p..(bb + 1) * n * p];
                    out.extend(product(a, b, (m, n, p), None, &node.name)?);
                }
                out
            }
            Op::Mean(m) => arg(0)
                .data()
                .iter()
                .zip(&m.counts)
                .map(|(&x, &n)| div_round(x, n, 0, bounds, &node.name).map(|w| w.p))
                .collect::<Result<_, _>>()?,
            Op::Reshape | Op::Transpose(_) | Op::Concat(_) | Op::Gather(_) | Op::Remap(_) => {
                let map = graph.index_map(id).unwrap_or_default();
                map.iter()
                    .map(|&(which, idx)| values[node.inputs[which]].data()[idx])
                    .collect()
            }
        };
        check_type_range(node, &data)?;
        values.push(Tensor::new(node.shape.clone(), data)?);
    }
    Ok(Trace { values })
}

/// `f(a, b)` element by element over `shape`, each operand broadcast to it (without index
/// lists where an operand already has the shape or is one value).
fn elementwise(
    a: &Tensor<i64>,
    b: &Tensor<i64>,
    shape: &[usize],
    f: impl Fn(i64, i64) -> Result<i64, IrError>,
) -> Result<Vec<i64>, IrError> {
    let n: usize = shape.iter().product();
    let direct = |t: &Tensor<i64>| t.shape() == shape || t.len() == 1;
    if direct(a) && direct(b) {
        let at = |t: &Tensor<i64>, i: usize| t.data()[if t.len() == 1 { 0 } else { i }];
        return (0..n).map(|i| f(at(a, i), at(b, i))).collect();
    }
    let ia = broadcast_indices(a.shape(), shape);
    let ib = broadcast_indices(b.shape(), shape);
    ia.iter()
        .zip(&ib)
        .map(|(&i, &j)| f(a.data()[i], b.data()[j]))
        .collect()
}

/// The range of an exact type's values at the node's scale, when its bound does not already
/// keep them inside it (the circuit checks the same range).
pub fn type_range(node: &Node) -> Option<(i128, i128)> {
    if node.dtype.holds_bits(node.bound) {
        return None;
    }
    let (min, max) = node.dtype.range()?;
    let unit = 1i128 << node.scale.min(62);
    Some((min.saturating_mul(unit), max.saturating_mul(unit)))
}

/// Integer and boolean values must fit their type: an overflow is refused, never wrapped.
fn check_type_range(node: &Node, data: &[i64]) -> Result<(), IrError> {
    let Some((min, max)) = type_range(node) else {
        return Ok(());
    };
    match data.iter().find(|&&v| !(min..=max).contains(&(v as i128))) {
        Some(&value) => Err(IrError::TypeRange {
            node: node.name.clone(),
            dtype: node.dtype.name(),
            value,
            range: format!("[{min}, {max}]"),
        }),
        None => Ok(()),
    }
}

fn check_input_bounds(node: &Node, index: usize, data: &[i64]) -> Result<(), IrError> {
    let limit = 1u64 << node.bound.min(63);
    match data.iter().find(|v| v.unsigned_abs() >= limit) {
        Some(&value) => Err(IrError::InputOutOfRange {
            index,
            name: node.name.clone(),
            value,
            bits: node.bound,
        }),
        None => Ok(()),
    }
}

/// Quantizes float values at `scale` fractional bits (round half away from zero).
pub fn quantize(values: &[f32], scale: u32) -> Vec<i64> {
    // 2^scale without a shift: a hostile settings file may carry any scale.
    let m = 2f64.powi(scale.min(1023) as i32);
    values
        .iter()
        .map(|&v| (v as f64 * m).round() as i64)
        .collect()
}

/// Dequantizes integers at `scale` fractional bits.
pub fn dequantize(values: &[i64], scale: u32) -> Vec<f32> {
    let m = 2f64.powi(scale.min(1023) as i32);
    values.iter().map(|&v| (v as f64 / m) as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: TableBounds = TableBounds {
        neg: 2048,
        pos: 2048,
        exp: 4096,
        limb_bits: 8,
    };

    #[test]
    fn rescale_rounds_half_up_and_applies_the_table() {
        let rs = Rescale::uniform(4, TableFn::Relu);
        assert_eq!(rescale(24, 0, &rs, &B, "n").map(|w| w.f).ok(), Some(2)); // 1.5 -> 2
        assert_eq!(
            rescale(-24, 0, &rs, &B, "n").map(|w| (w.q, w.f)).ok(),
            Some((-1, 0))
        );
        let w = rescale(23, 0, &rs, &B, "n").ok();
        assert_eq!(w.map(|w| (w.q, w.r)), Some((1, 15)));
        assert!(rescale(1 << 20, 0, &rs, &B, "n").is_err());
        let per = Rescale {
            shifts: vec![0, 2],
            table: TableFn::Identity,
            floor: false,
        };
        assert_eq!(rescale(6, 1, &per, &B, "n").map(|w| w.q).ok(), Some(2));
        assert_eq!(rescale(6, 0, &per, &B, "n").map(|w| w.q).ok(), Some(6));
    }

    #[test]
    fn softmax_row_sums_to_about_one() {
        let sm = Softmax {
            exp: TableFn::ExpNeg {
                in_scale: 8,
                out_scale: 8,
            },
            out_scale: 8,
            mask: Vec::new(),
        };
        let w = softmax_row(&[256, 0, -256], &sm, &B, "s").ok();
        let p = w.map(|w| w.p).unwrap_or_default();
        let total: i64 = p.iter().sum();
        assert!((total - 256).abs() <= 2, "{p:?}");
        assert!(p[0] > p[1] && p[1] > p[2]);
    }
}
