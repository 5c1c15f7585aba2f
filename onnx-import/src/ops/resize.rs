//! Resize and Upsample. Nearest is an index map (free); linear (bilinear, trilinear) is a
//! fixed-weight linear map, separable per axis. The coordinate transformations and nearest
//! rounding modes are ONNX's (crop-and-resize and antialiased downsampling included); cubic
//! is refused by name.

use zkinfer_ir::strides;

use super::{Ctx, Value};
use crate::float::FloatOp;

/// How an output coordinate maps back to the input.
#[derive(Clone, Copy)]
enum Coord {
    HalfPixel,
    HalfPixelSymmetric,
    PytorchHalfPixel,
    Asymmetric,
    AlignCorners,
    /// TensorFlow's crop and resize: the region of interest's start and end (fractions of
    /// the axis) per axis; outside it the output is the extrapolation value.
    TfCropAndResize,
}

impl Coord {
    /// The input coordinate of output index `x`, or `None` outside the input (crop and
    /// resize only).
    fn source(self, x: usize, scale: f64, lens: (usize, usize), roi: (f64, f64)) -> Option<f64> {
        let (in_len, out_len) = lens;
        let x = x as f64;
        Some(match self {
            Coord::HalfPixel => (x + 0.5) / scale - 0.5,
            Coord::HalfPixelSymmetric => {
                let adjustment = out_len as f64 / (scale * in_len as f64);
                let offset = in_len as f64 / 2.0 * (1.0 - adjustment);
                offset + (x + 0.5) / scale - 0.5
            }
            Coord::PytorchHalfPixel if out_len > 1 => (x + 0.5) / scale - 0.5,
            Coord::PytorchHalfPixel => 0.0,
            Coord::Asymmetric => x / scale,
            Coord::AlignCorners if out_len > 1 => {
                x * (in_len as f64 - 1.0) / (out_len as f64 - 1.0)
            }
            Coord::AlignCorners => 0.0,
            Coord::TfCropAndResize => {
                let span = in_len as f64 - 1.0;
                let (start, end) = roi;
                let src = match out_len > 1 {
                    true => start * span + x * (end - start) * span / (out_len as f64 - 1.0),
                    false => 0.5 * (start + end) * span,
                };
                if !(0.0..=span).contains(&src) {
                    return None;
                }
                src
            }
        })
    }
}

/// The input indices an output element reads along one axis, with their weights.
type Taps = Vec<(usize, f64)>;

/// How one axis is resampled.
struct AxisPlan {
    scale: f64,
    coord: Coord,
    roi: (f64, f64),
    linear: bool,
    antialias: bool,
}

/// Per output index along one axis, the input indices and their weights (`None`: outside the
/// cropped input, where the output is the extrapolation value).
fn axis_terms(
    in_len: usize,
    out_len: usize,
    plan: &AxisPlan,
    nearest: &str,
) -> Result<Vec<Option<Taps>>, String> {
    let last = in_len as i64 - 1;
    let clamp = |i: i64| i.clamp(0, last) as usize;
    (0..out_len)
        .map(|x| {
            let Some(src) = plan
                .coord
                .source(x, plan.scale, (in_len, out_len), plan.roi)
            else {
                return Ok(None);
            };
            if plan.linear && plan.antialias && plan.scale < 1.0 {
                return Ok(Some(antialias_terms(src, plan.scale, clamp)));
            }
            if plan.linear {
                let lo = src.floor();
                let frac = src - lo;
                let (i0, i1) = (clamp(lo as i64), clamp(lo as i64 + 1));
                return Ok(Some(if i0 == i1 || frac == 0.0 {
                    vec![(i0, 1.0)]
                } else {
                    vec![(i0, 1.0 - frac), (i1, frac)]
                }));
            }
            let i = match nearest {
                "round_prefer_floor" if src.fract() == 0.5 => src.floor(),
                "round_prefer_floor" => src.round(),
                "round_prefer_ceil" => (src + 0.5).floor(),
                "floor" => src.floor(),
                "ceil" => src.ceil(),
                other => return Err(format!("nearest_mode `{other}`")),
            };
            Ok(Some(vec![(clamp(i as i64), 1.0)]))
        })
        .collect()
}

/// Antialiased linear downsampling (ONNX's reference): the triangle filter stretched by
/// `1/scale`, normalized, over the inputs it covers (edges repeated).
fn antialias_terms(src: f64, scale: f64, clamp: impl Fn(i64) -> usize) -> Vec<(usize, f64)> {
    let floor = src.floor();
    // The ratio lies in (0, 1]: an integral coordinate counts from the input before it.
    let (base, ratio) = match src == floor {
        true => (floor as i64 - 1, 1.0),
        false => (floor as i64, src - floor),
    };
    let start = (-1.0 / scale).floor() as i64 + 1;
    let footprint = 2 - 2 * start;
    let taps: Vec<(usize, f64)> = (start..start + footprint)
        .map(|k| {
            let w = (1.0 - ((k as f64 - ratio) * scale).abs()).clamp(0.0, 1.0);
            (clamp(base + k), w)
        })
        .collect();
    let total: f64 = taps.iter().map(|t| t.1).sum();
    let mut merged: Vec<(usize, f64)> = Vec::new();
    for (i, w) in taps.into_iter().filter(|t| t.1 > 0.0) {
        match merged.iter_mut().find(|m| m.0 == i) {
            Some(m) => m.1 += w / total,
            None => merged.push((i, w / total)),
        }
    }
    merged
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
    let antialias = ctx.attr_int("antialias", 0) != 0;
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
        (false, "half_pixel_symmetric") => Coord::HalfPixelSymmetric,
        (false, "tf_crop_and_resize") => Coord::TfCropAndResize,
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
    // The region of interest (crop and resize): starts then ends, per listed axis.
    let mut roi = vec![(0.0, 1.0); rank];
    if matches!(coord, Coord::TfCropAndResize) {
        let given = match upsample {
            true => None,
            false => const_of(1)?,
        };
        let r = given.ok_or("tf_crop_and_resize needs a constant roi (input 1)")?;
        if r.len() != 2 * n {
            return Err(format!(
                "roi has {} values; {} axes need {}",
                r.len(),
                n,
                2 * n
            ));
        }
        for (k, &a) in axes.iter().enumerate() {
            roi[a] = (r[k], r[n + k]);
        }
    }
    let extrapolation = ctx.attr_float("extrapolation_value", 0.0) as f64;
    let per_axis: Vec<Vec<Option<Taps>>> = (0..rank)
        .map(|a| {
            let plan = AxisPlan {
                scale: scales[a],
                coord,
                roi: roi[a],
                linear,
                antialias,
            };
            axis_terms(shape[a], out_shape[a], &plan, &nearest)
        })
        .collect::<Result<_, _>>()?;
    let in_st = strides(&shape);
    let out_st = strides(&out_shape);
    let len: usize = out_shape.iter().product();
    let mut terms: Vec<Vec<(usize, f64)>> = Vec::with_capacity(len);
    let mut bias = vec![0.0; len];
    for (flat, b) in bias.iter_mut().enumerate() {
        let mut acc: Vec<(usize, f64)> = vec![(0, 1.0)];
        for a in 0..rank {
            let o = (flat / out_st[a]) % out_shape[a];
            let stride = in_st[a];
            let Some(taps) = &per_axis[a][o] else {
                // Outside the crop: the extrapolation value, no input term.
                acc.clear();
                *b = extrapolation;
                break;
            };
            acc = acc
                .iter()
                .flat_map(|&(base, w)| taps.iter().map(move |&(i, wi)| (base + i * stride, w * wi)))
                .collect();
        }
        terms.push(acc);
    }
    if terms.iter().all(|t| t.len() == 1 && t[0].1 == 1.0) {
        let map = terms.iter().map(|t| (0, t[0].0)).collect();
        return Ok(vec![super::rearrange::remap(ctx, vec![x], map, out_shape)]);
    }
    Ok(vec![ctx.add(
        FloatOp::Linear { terms, bias },
        vec![x],
        out_shape,
    )])
}
