//! Lowering of the exact operations: integer division and remainder, truncation and
//! floor/ceiling of floats, the computed-condition `Where`, and selection by a computed index.

use zkinfer_ir::{Affine, Binary, BinaryKind, IntDiv, Linear, Node, Op, Select, Source, Tensor};

use super::{q, Lowering};
use crate::float::{FloatNode, FloatOp, Pick};
use crate::ImportError;

impl Lowering<'_> {
    /// `−x`, exactly.
    fn negate(&mut self, name: &str, x: usize) -> Result<usize, ImportError> {
        let shape = self.nodes[x].shape.clone();
        let n: usize = shape.iter().product();
        let op = Op::Affine(Affine {
            mul: Tensor::new(shape.clone(), vec![-1; n])?,
            add: Tensor::new(shape.clone(), vec![0; n])?,
        });
        let s = self.nodes[x].scale;
        Ok(self.push(name, op, vec![x], shape, s))
    }

    /// ONNX's integer division of `a` by `b`, exact on operands at a common scale: the
    /// quotient is an integer, the remainder keeps the scale (a float `fmod`).
    pub(super) fn int_div(
        &mut self,
        name: &str,
        a: usize,
        b: usize,
        floor: bool,
        remainder: bool,
        shape: Vec<usize>,
    ) -> Result<usize, ImportError> {
        let s = self.nodes[a].scale.max(self.nodes[b].scale);
        let a = self.align(name, a, s)?;
        let b = self.align(name, b, s)?;
        let op = Op::IntDiv(IntDiv { floor, remainder });
        let out_scale = if remainder { s } else { 0 };
        Ok(self.push(name, op, vec![a, b], shape, out_scale))
    }

    /// trunc(x / 2^s) (`Cast` to an integer) or ⌊x / 2^s⌋ (`Floor`; ⌈x⌉ = −⌊−x⌋): the
    /// integer division by the constant 2^s. A float result continues at the activation
    /// scale.
    pub(super) fn rounding(
        &mut self,
        name: &str,
        fnode: &FloatNode,
        x: usize,
        shape: Vec<usize>,
    ) -> Result<usize, ImportError> {
        let sx = self.nodes[x].scale;
        let (floor, ceil) = match fnode.op {
            FloatOp::Floor { ceil } => (true, ceil),
            _ => (false, false),
        };
        if sx == 0 {
            return Ok(self.push(name, Op::Reshape, vec![x], shape, 0));
        }
        let x = match ceil {
            true => self.negate(name, x)?,
            false => x,
        };
        let unit = Op::Linear(Linear {
            terms: vec![Vec::new()],
            bias: vec![1i64 << sx],
        });
        let d = self.push(name, unit, vec![], vec![1], 0);
        self.nodes[d].dtype = zkinfer_ir::ElemType::Int64;
        let op = Op::IntDiv(IntDiv {
            floor,
            remainder: false,
        });
        let q = self.push(name, op, vec![x, d], shape, 0);
        let q = match ceil {
            true => self.negate(name, q)?,
            false => q,
        };
        match fnode.dtype.is_float() {
            true => self.align(name, q, self.cfg.scale),
            false => Ok(q),
        }
    }

    /// `Where(c, x, y)` of a computed condition: `y + c·(x − y)`, at the finer of x's and
    /// y's scales.
    pub(super) fn where_(
        &mut self,
        name: &str,
        [c, x, y]: [usize; 3],
        shape: Vec<usize>,
        single: bool,
    ) -> usize {
        let (sx, sy) = (self.nodes[x].scale, self.nodes[y].scale);
        let s = sx.max(sy);
        let shape_of = |a: usize, b: usize, nodes: &[Node]| {
            zkinfer_ir::broadcast_shape(&nodes[a].shape, &nodes[b].shape).unwrap_or_default()
        };
        let bin = |kind, lhs_shift, rhs_shift| {
            Op::Binary(Binary {
                kind,
                lhs_shift,
                rhs_shift,
            })
        };
        let ds = shape_of(x, y, &self.nodes);
        let d = self.push(
            name,
            bin(BinaryKind::Sub, s - sx, s - sy),
            vec![x, y],
            ds,
            s,
        );
        let ms = shape_of(c, d, &self.nodes);
        let sc = self.nodes[c].scale;
        let m = self.push(name, bin(BinaryKind::Mul, 0, 0), vec![c, d], ms, sc + s);
        let out = self.push(
            name,
            bin(BinaryKind::Add, 0, sc + s - sy),
            vec![m, y],
            shape,
            sc + s,
        );
        self.rescale_to_act(name, out, single)
    }

    /// Selection by the integer index `idx`: constants quantized at the selected tensor's
    /// scale (or, selecting among constants, at the activation or input scale, whichever is
    /// finer; 0 for integers).
    pub(super) fn select(
        &mut self,
        name: &str,
        fnode: &FloatNode,
        (idx, data): (usize, Option<usize>),
        index: &[usize],
        choices: &[Vec<(i64, Pick)>],
        shape: Vec<usize>,
    ) -> Result<usize, ImportError> {
        if self.nodes[idx].scale != 0 {
            return Err(ImportError::Node {
                node: name.into(),
                op: "Gather".into(),
                reason: "the indices are not integers".into(),
            });
        }
        let cfg = self.cfg;
        let scale = match data {
            Some(d) => self.nodes[d].scale,
            None if fnode.dtype.is_exact() => 0,
            None => cfg.scale.max(cfg.input_scale.unwrap_or(cfg.scale)),
        };
        let choices = choices
            .iter()
            .map(|c| {
                c.iter()
                    .map(|&(k, p)| {
                        let s = match p {
                            Pick::Const(v) => Source::Const(q(v, scale)),
                            Pick::Data(i) => Source::Data(i),
                        };
                        (k, s)
                    })
                    .collect()
            })
            .collect();
        let mut ins = vec![idx];
        ins.extend(data);
        let op = Op::Select(Select {
            index: index.to_vec(),
            choices,
        });
        Ok(self.push(name, op, ins, shape, scale))
    }
}
