//! Rescales back to the activation scale, and table activations fused into them.

use zkinfer_ir::{Affine, Op, Rescale, TableFn, Tensor};

use super::scales::table_resolution;
use super::Lowering;
use crate::ImportError;

impl Lowering<'_> {
    /// Rescales `x` down to the activation scale if it is above it.
    pub(super) fn rescale_to_act(&mut self, name: &str, x: usize, single_use: bool) -> usize {
        let scale = self.nodes[x].scale;
        if scale <= self.cfg.scale {
            return x;
        }
        let shift = scale - self.cfg.scale;
        let shape = self.nodes[x].shape.clone();
        let id = self.push(
            name,
            Op::Rescale(Rescale::uniform(shift, TableFn::Identity)),
            vec![x],
            shape,
            self.cfg.scale,
        );
        self.fusable[id] = single_use;
        id
    }

    /// The output of a product with constant weights at `weight_scale` fractional bits:
    /// integer weights (a selection, a sum) keep the operand's scale exactly, others are
    /// rescaled to the activation scale.
    pub(super) fn product_output(
        &mut self,
        name: &str,
        d: usize,
        weight_scale: u32,
        single: bool,
    ) -> usize {
        if weight_scale == 0 {
            d
        } else {
            self.rescale_to_act(name, d, single)
        }
    }

    /// Applies a table activation to `x`, fused into its rescale when possible. A saturating
    /// function is looked up at its own input resolution: `x` is rescaled to it in the same
    /// row, so its table does not grow with the activation scale.
    pub(super) fn activation(
        &mut self,
        name: &str,
        x: usize,
        make: impl Fn(u32) -> TableFn,
    ) -> usize {
        let x_scale = self.nodes[x].scale;
        let in_scale = table_resolution(&make(x_scale)).map_or(x_scale, |t| t.min(x_scale));
        let extra = x_scale - in_scale;
        let table = make(in_scale);
        let out_scale = match table {
            TableFn::Sigmoid { out_scale, .. } | TableFn::Map { out_scale, .. } => out_scale,
            TableFn::Negative => 0,
            _ => in_scale,
        };
        // A view (reshape, transpose) read only here of a rescale read only by the view: the
        // table applies elementwise, so it fuses into the rescale behind the view.
        let target = match self.nodes[x].op {
            Op::Reshape | Op::Transpose(_) if self.fusable[x] => self.nodes[x].inputs[0],
            _ => x,
        };
        if self.fusable[target] {
            if let Op::Rescale(rs) = &mut self.nodes[target].op {
                if rs.table == TableFn::Identity {
                    rs.table = table;
                    for s in rs.shifts.iter_mut() {
                        *s += extra;
                    }
                    for id in [target, x] {
                        self.nodes[id].scale = out_scale;
                        self.fusable[id] = false;
                    }
                    return x;
                }
            }
        }
        let shape = self.nodes[x].shape.clone();
        self.push(
            name,
            Op::Rescale(Rescale::uniform(extra, table)),
            vec![x],
            shape,
            out_scale,
        )
    }

    /// Brings `x` up to `scale` fractional bits (exact: a multiplication by a power of two).
    pub(super) fn align(&mut self, name: &str, x: usize, scale: u32) -> Result<usize, ImportError> {
        let have = self.nodes[x].scale;
        if have >= scale {
            return Ok(x);
        }
        let shape = self.nodes[x].shape.clone();
        let n: usize = shape.iter().product();
        let mul = Tensor::new(shape.clone(), vec![1i64 << (scale - have); n])?;
        let add = Tensor::new(shape.clone(), vec![0; n])?;
        let op = Op::Affine(Affine { mul, add });
        Ok(self.push(name, op, vec![x], shape, scale))
    }
}
