//! Resize and Upsample. Nearest is an index map (free); linear (bilinear, trilinear) is a
//! fixed-weight linear map, separable per axis. The coordinate transformations and nearest
//! rounding modes are ONNX's; cubic, antialiasing and crop-and-resize are refused by name.

use zkinfer_ir::strides;

use super::{Ctx, Value};
use crate::float::FloatOp;

/// How an output coordinate maps back to the input.
#[derive(Clone, Copy)]
enum Coord {
    HalfPixel,
    PytorchHalfPixel,
    Asymmetric,
    AlignCorners,
}

impl Coord {
    fn source(self, x: usize, scale: f64, in_len: usize, out_len: usize) -> f64 {
        let x = x as f64;
        match self {
            Coord::HalfPixel => (x + 0.5) / scale - 0.5,
            Coord::PytorchHalfPixel if out_len > 1 => (x + 0.5) / scale - 0.5,
            Coord::PytorchHalfPixel => 0.0,
            Coord::Asymmetric => x / scale,
            Coord::AlignCorners if out_len > 1 => {
                x * (in_len as f64 - 1.0) / (out_len as f64 - 1.0)
            }
            Coord::AlignCorners => 0.0,
        }
    }
}

/// Per output index along one axis, the input indices and their weights.
fn axis_terms(
    in_len: usize,
    out_len: usize,
    scale: f64,
    coord: Coord,
    linear: bool,
    nearest: &str,
) -> Result<Vec<Vec<(usize, f64)>>, String> {
    let last = in_len as i64 - 1;
    let clamp = |i: i64| i.clamp(0, last) as usize;
    (0..out_len)
        .map(|x| {
            let src = coord.source(x, scale, in_len, out_len);
            if linear {
                let lo = src.floor();
                let frac = src - lo;
                let (i0, i1) = (clamp(lo as i64), clamp(lo as i64 + 1));
                return Ok(if i0 == i1 || frac == 0.0 {
                    vec![(i0, 1.0)]
                } else {
                    vec![(i0, 1.0 - frac), (i1, frac)]
                });
            }
            let i = match nearest {
                "round_prefer_floor" if src.fract() == 0.5 => src.floor(),
                "round_prefer_floor" => src.round(),
                "round_prefer_ceil" => (src + 0.5).floor(),
                "floor" => src.floor(),
                "ceil" => src.ceil(),
                other => return Err(format!("nearest_mode `{other}`")),
            };
            Ok(vec![(clamp(i as i64), 1.0)])
        })
        .collect()
}

pub fn resize(ctx: &mut Ctx<'_>) -> Result<Vec<Value>, String> {
    let upsample = ctx.node.op_type == "Upsample";
    let x = ctx.node_input(0)?;
    let shape = ctx.graph.nodes[x].shape.clone();
    let rank = shape.len();
    let mode = ctx.attr_string("mode", "nearest");
    let linear = match mode.as_str() {
        "nearest" => false,
        "linear" | "bilinear" | "trilinear" => true,
        other => return Err(format!("mode `{other}` (nearest or linear)")),
    };
    if ctx.attr_int("antialias", 0) != 0 {
        return Err("antialias is not supported".into());
    }
    // The axes that scales or sizes list (all by default).
    let axes: Vec<usize> = match ctx.attr_ints("axes") {
        Some(a) => a
            .iter()
            .map(|&v| super::axis(v, rank))
            .collect::<Result<_, _>>()?,
        None => (0..rank).collect(),
    };
    let policy = ctx.attr_string("keep_aspect_ratio_policy", "stretch");
    let coord = match (
        upsample || ctx.opset < 11,
        ctx.attr_string("coordinate_transformation_mode", "half_pixel")
            .as_str(),
    ) {
        (true, _) => Coord::Asymmetric,
        (false, "half_pixel") => Coord::HalfPixel,
        (false, "pytorch_half_pixel") => Coord::PytorchHalfPixel,
        (false, "asymmetric") => Coord::Asymmetric,
        (false, "align_corners") => Coord::AlignCorners,
        (false, other) => return Err(format!("coordinate_transformation_mode `{other}`")),
    };
    let nearest = match upsample || ctx.opset < 11 {
        true => "floor".to_string(),
        false => ctx.attr_string("nearest_mode", "round_prefer_floor"),
    };
    // Scales from an input (Resize: input 2, Upsample: input 1) or the attribute; sizes from
    // Resize's input 3.
    let const_of = |i: usize| -> Result<Option<Vec<f64>>, String> {
        match ctx.optional(i) {
            Some(Value::Const(t)) if !t.is_empty() => Ok(Some(t.data().to_vec())),
            Some(Value::Const(_)) | None => Ok(None),
            Some(Value::Node(_)) => Err(format!("input {i} must be a constant")),
        }
    };
    let (scales, sizes) = match upsample {
        true => (
            const_of(1)?.or_else(|| {
                ctx.attr_floats("scales")
                    .map(|v| v.iter().map(|&s| s as f64).collect())
            }),
            None,
        ),
        false => (const_of(2)?, const_of(3)?),
    };
    let n = axes.len();
    let (out_shape, scales): (Vec<usize>, Vec<f64>) = match (sizes, scales) {
        (Some(sz), _) if sz.len() == n => {
            let ratio = |k: usize| sz[k] / shape[axes[k]] as f64;
            let common = match policy.as_str() {
                "stretch" => None,
                "not_larger" => Some((0..n).map(ratio).fold(f64::INFINITY, f64::min)),
                "not_smaller" => Some((0..n).map(ratio).fold(0.0, f64::max)),
                other => return Err(format!("keep_aspect_ratio_policy `{other}`")),
            };
            let (mut out, mut sc) = (shape.clone(), vec![1.0; rank]);
            for (k, &a) in axes.iter().enumerate() {
                match common {
                    None => {
                        out[a] = sz[k] as usize;
                        sc[a] = ratio(k);
                    }
                    Some(c) => {
                        out[a] = (shape[a] as f64 * c).round() as usize;
                        sc[a] = c;
                    }
                }
            }
            (out, sc)
        }
        (None, Some(given)) if given.len() == n => {
            let (mut out, mut sc) = (shape.clone(), vec![1.0; rank]);
            for (k, &a) in axes.iter().enumerate() {
                out[a] = (shape[a] as f64 * given[k]).floor() as usize;
                sc[a] = given[k];
            }
            (out, sc)
        }
        _ => return Err(format!("scales or sizes for {n} axes are required")),
    };
    let per_axis: Vec<Vec<Vec<(usize, f64)>>> = (0..rank)
        .map(|a| axis_terms(shape[a], out_shape[a], scales[a], coord, linear, &nearest))
        .collect::<Result<_, _>>()?;
    let in_st = strides(&shape);
    let out_st = strides(&out_shape);
    let len: usize = out_shape.iter().product();
    let mut terms: Vec<Vec<(usize, f64)>> = Vec::with_capacity(len);
    for flat in 0..len {
        let mut acc: Vec<(usize, f64)> = vec![(0, 1.0)];
        for a in 0..rank {
            let o = (flat / out_st[a]) % out_shape[a];
            let stride = in_st[a];
            acc = acc
                .iter()
                .flat_map(|&(base, w)| {
                    per_axis[a][o]
                        .iter()
                        .map(move |&(i, wi)| (base + i * stride, w * wi))
                })
                .collect();
        }
        terms.push(acc);
    }
    if terms.iter().all(|t| t.len() == 1 && t[0].1 == 1.0) {
        let map = terms.iter().map(|t| (0, t[0].0)).collect();
        return Ok(vec![super::rearrange::remap(ctx, vec![x], map, out_shape)]);
    }
    let bias = vec![0.0; len];
    Ok(vec![ctx.add(
        FloatOp::Linear { terms, bias },
        vec![x],
        out_shape,
    )])
}
