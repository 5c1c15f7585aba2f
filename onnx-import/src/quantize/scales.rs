//! Scales: bit widths, the resolution a table is looked up at, and constants' scales.

use zkinfer_ir::TableFn;

/// Bits needed to hold magnitudes up to `v`: `v < 2^bits`.
pub(super) fn bits(v: u128) -> u32 {
    128 - v.leading_zeros()
}

fn ceil_log2(v: f64) -> i32 {
    if v <= 0.0 {
        i32::MIN / 2
    } else {
        v.log2().ceil() as i32
    }
}

/// Fractional bits of softmax probabilities beyond the activations'.
pub(super) const SOFTMAX_EXTRA_BITS: u32 = 2;

/// The input resolution (fractional bits) a function's table is looked up at: finer inputs
/// are rescaled to it in the same row, so the table does not grow with the activation scale.
/// Sigmoid's slope is at most 1/4, so its input can be 2 bits coarser than its output at no
/// loss. Tanh, erf and GELU (slope up to 1.13) and the square root keep the output's
/// resolution up to 2^-9 and are 2 bits coarser beyond (at most 2^-9): an input error of
/// 2^-(out-1) moves them by about one output unit, and their tables stay a few thousand rows
/// at fine scales.
pub(super) fn table_resolution(f: &TableFn) -> Option<u32> {
    let coarse = |out: u32| if out <= 9 { out } else { (out - 2).max(9) };
    match *f {
        TableFn::Sigmoid { out_scale, .. } => Some(out_scale.saturating_sub(2)),
        // The exponential's slope reaches 1 (at 0): its input keeps the activation's
        // resolution; below its table its output is 0 (see `Saturation::Below`).
        TableFn::Map {
            g: zkinfer_ir::MapFn::Exp,
            ..
        } => None,
        TableFn::Map { out_scale, .. } if f.saturation() != zkinfer_ir::Saturation::None => {
            Some(coarse(out_scale))
        }
        TableFn::Map {
            g: zkinfer_ir::MapFn::Sqrt | zkinfer_ir::MapFn::StdDev { .. },
            out_scale,
            ..
        } => Some(coarse(out_scale)),
        _ => None,
    }
}

/// Fractional bits for a constant tensor so that its largest magnitude fits `total_bits` bits
/// with sign; integer tensors get 0.
pub(super) fn const_scale(values: &[f64], total_bits: u32) -> u32 {
    if values.iter().all(|v| v.fract() == 0.0 && v.abs() < 1e6) {
        return 0;
    }
    let max = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    (total_bits as i32 - 1 - ceil_log2(max)).clamp(0, 24) as u32
}

pub(super) fn q(v: f64, scale: u32) -> i64 {
    (v * (1u64 << scale) as f64).round() as i64
}
