//! Normalizations at a precision relative to their variance. `(x − μ) / sqrt(var + eps)`
//! divides by a standard deviation that may be small (an embedding's is about 0.1): looked up
//! at the activation scale, the variance would keep only a few significant bits and the
//! normalized values lose percents. So the square feeding a variance is rescaled only to the
//! finest resolution the variance's calibrated domain allows within [`VARIANCE_TABLE_BITS`]
//! table rows, the mean of squares stays there, and the square-root table is looked up at it,
//! with an output scale fine enough for the smallest deviation seen.

use zkinfer_ir::MapFn;

use crate::float::{FloatGraph, FloatOp};
use zkinfer_ir::BinaryKind;

/// Rows (as a power of two) a variance's square-root table may take.
pub(super) const VARIANCE_TABLE_BITS: i32 = 14;

/// Finer output bits than the activations' a standard deviation may take.
const MAX_EXTRA_OUT_BITS: i32 = 8;

/// Per float node that is a square `x·x` read only by a mean read only by a
/// standard-deviation table (a variance): that table's node and the mean's.
pub(super) fn variance_squares(fg: &FloatGraph, uses: &[usize]) -> Vec<Option<(usize, usize)>> {
    let mut marked = vec![None; fg.nodes.len()];
    for (std, n) in fg.nodes.iter().enumerate() {
        if !matches!(n.op, FloatOp::Map(MapFn::StdDev { .. })) {
            continue;
        }
        let Some(&mean) = n.inputs.first() else {
            continue;
        };
        if uses[mean] != 1 || !matches!(fg.nodes[mean].op, FloatOp::Mean(_)) {
            continue;
        }
        let Some(&first) = fg.nodes[mean].inputs.first() else {
            continue;
        };
        let mut square = first;
        // The mean is an exact sum (unit weights) and a division by the count.
        if let FloatOp::Linear { terms, bias } = &fg.nodes[square].op {
            let unit = terms.iter().flatten().all(|&(_, w)| w == 1.0);
            if !unit || bias.iter().any(|&b| b != 0.0) || uses[square] != 1 {
                continue;
            }
            match fg.nodes[square].inputs.first() {
                Some(&i) => square = i,
                None => continue,
            }
        }
        let s = &fg.nodes[square];
        let is_square = matches!(s.op, FloatOp::Binary(BinaryKind::Mul))
            && s.inputs.len() == 2
            && s.inputs[0] == s.inputs[1];
        if is_square && uses[square] == 1 {
            marked[square] = Some((std, mean));
        }
    }
    marked
}

/// `(input scale, output scale)` of the square-root table of a variance whose calibrated
/// values reach `max_var`, giving deviations down to `min_std`, for activations at `scale`
/// and a variance held at `var_scale` fractional bits.
pub(super) fn stddev_scales(scale: u32, var_scale: u32, max_var: f64, min_std: f64) -> (u32, u32) {
    let max_var = max_var.max(1e-12);
    let in_scale = (VARIANCE_TABLE_BITS as f64 - max_var.log2()).floor() as i32;
    let in_scale = in_scale.clamp(scale as i32 - 2, var_scale as i32) as u32;
    let extra = match min_std > 0.0 {
        true => (-min_std.log2()).ceil() as i32 + 1,
        false => MAX_EXTRA_OUT_BITS,
    };
    (in_scale, scale + extra.clamp(0, MAX_EXTRA_OUT_BITS) as u32)
}
