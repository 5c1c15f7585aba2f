//! Float graph → quantized graph: power-of-two scales per tensor, rescales inserted after
//! products and fused with the activation that follows, table sizes and bit bounds from
//! calibration data.

use zkinfer_ir::{
    eval, Affine, ArgMax, Binary, BinaryKind, Concat, Dense, Div, Graph, Input, Linear, Mean, Node,
    Op, Rescale, Softmax, TableBounds, TableFn, Tensor, Windows,
};

mod bounds;
mod exact;
mod rescales;
mod scales;
mod variance;

use crate::float::{FloatGraph, FloatOp};
use crate::ImportError;
use bounds::{public_needs, set_bounds, set_extents, table_bounds, table_needs, Needs};
use scales::{bits, const_scale, q, SOFTMAX_EXTRA_BITS};

/// Quantization choices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuantConfig {
    /// Fractional bits of activations and inputs.
    pub scale: u32,
    /// Bits (with sign) of the largest quantized weight in each layer (weights are fixed
    /// columns: their width costs nothing but accumulator bits).
    pub weight_bits: u32,
    /// Headroom over the calibrated ranges, in bits (1 = twice the largest value seen).
    pub margin_bits: u32,
    /// Largest rescale shift: a remainder is range-checked in at most two limbs, so the
    /// planner's limbs are at least half of it wide.
    pub max_shift: u32,
    /// Fractional bits of the graph inputs (default: `scale`). Raw features that a model
    /// standardizes or compares against fine thresholds need more than its activations.
    pub input_scale: Option<u32>,
    /// The public values will be packed several to an instance (`compile --evm`): the tables
    /// must also hold every input and output value, which the packing range-checks.
    pub pack_public: bool,
}

impl Default for QuantConfig {
    fn default() -> Self {
        Self {
            scale: 7,
            weight_bits: 18,
            margin_bits: 1,
            max_shift: 24,
            input_scale: None,
            pack_public: false,
        }
    }
}

impl QuantConfig {
    /// Table headroom for `n` calibration samples: 2 bits (4x the largest value seen) when
    /// there are fewer than 16, since a handful of samples rarely shows the extremes; 1 bit
    /// otherwise.
    pub fn margin_for_samples(n: usize) -> u32 {
        if n < 16 {
            2
        } else {
            1
        }
    }
}

/// A quantized graph and the extents of its lookup tables.
#[derive(Clone, Debug, PartialEq)]
pub struct Quantized {
    pub graph: Graph,
    pub table: TableBounds,
}

struct Lowering<'a> {
    fg: &'a FloatGraph,
    cfg: &'a QuantConfig,
    nodes: Vec<Node>,
    /// float node → IR node holding its value.
    map: Vec<usize>,
    /// IR nodes that are a rescale inserted for one float node read by one consumer only, so
    /// an activation may be fused into them.
    fusable: Vec<bool>,
    /// Per float node, the calibrated `(min, max)` of its values.
    ranges: Vec<(f64, f64)>,
}

impl Lowering<'_> {
    fn push(
        &mut self,
        name: &str,
        op: Op,
        inputs: Vec<usize>,
        shape: Vec<usize>,
        scale: u32,
    ) -> usize {
        self.nodes.push(Node {
            name: name.into(),
            op,
            inputs,
            shape,
            scale,
            bound: 0,
            dtype: Default::default(),
        });
        self.fusable.push(false);
        self.nodes.len() - 1
    }

    /// Whether node `id` is a sum of two tensors at one scale that nothing has checked into
    /// the activation range.
    fn unchecked_sum(&self, id: usize) -> bool {
        matches!(&self.nodes[id].op, Op::Binary(b)
            if b.kind == BinaryKind::Add && b.lhs_shift == 0 && b.rhs_shift == 0)
    }

    fn lower(&mut self, uses: &[usize]) -> Result<(), ImportError> {
        let cfg = self.cfg.clone();
        let variance_squares = variance::variance_squares(self.fg, uses);
        // Standard deviations of a variance: (their table's input scale, output scale).
        let mut fine_std: std::collections::HashMap<usize, (u32, u32)> = Default::default();
        for (fid, fnode) in self.fg.nodes.iter().enumerate() {
            let name = fnode.name.as_str();
            let single = uses[fid] == 1;
            let arg = |i: usize| self.map[fnode.inputs[i]];
            let shape = fnode.shape.clone();
            let to_i64 = |t: &Tensor<f64>, s: u32| -> Result<Tensor<i64>, ImportError> {
                Ok(Tensor::new(
                    t.shape().to_vec(),
                    t.data().iter().map(|&v| q(v, s)).collect(),
                )?)
            };
            let id = match &fnode.op {
                FloatOp::Input(index) => {
                    let scale = match fnode.dtype.is_exact() {
                        true => 0,
                        false => cfg.input_scale.unwrap_or(cfg.scale),
                    };
                    let op = Op::Input(Input { index: *index });
                    self.push(name, op, vec![], shape, scale)
                }
                FloatOp::Dense { weight, side, bias } => {
                    let x = arg(0);
                    let sx = self.nodes[x].scale;
                    let sw = const_scale(weight.data(), cfg.weight_bits)
                        .min(cfg.max_shift + cfg.scale.saturating_sub(sx));
                    let acc_scale = sx + sw;
                    let op = Op::Dense(Dense {
                        weight: to_i64(weight, sw)?,
                        side: *side,
                        bias: bias.as_ref().map(|b| to_i64(b, acc_scale)).transpose()?,
                    });
                    let d = self.push(name, op, vec![x], shape, acc_scale);
                    self.product_output(name, d, sw, single)
                }
                FloatOp::Affine { mul, add } => {
                    // Each multiplier gets its own fractional bits (a feature scaler spans
                    // orders of magnitude); the rescale that follows shifts each element back.
                    let x = arg(0);
                    let sx = self.nodes[x].scale;
                    let sm: Vec<u32> = mul
                        .data()
                        .iter()
                        .map(|&m| {
                            const_scale(&[m], cfg.weight_bits)
                                .min(cfg.max_shift + cfg.scale.saturating_sub(sx))
                        })
                        .collect();
                    let top = sm.iter().copied().max().unwrap_or(0);
                    let op = Op::Affine(Affine {
                        mul: Tensor::new(
                            shape.clone(),
                            mul.data().iter().zip(&sm).map(|(&m, &s)| q(m, s)).collect(),
                        )?,
                        add: Tensor::new(
                            shape.clone(),
                            add.data()
                                .iter()
                                .zip(&sm)
                                .map(|(&a, &s)| q(a, sx + s))
                                .collect(),
                        )?,
                    });
                    let a = self.push(name, op, vec![x], shape.clone(), sx + top);
                    if top == 0 {
                        a
                    } else {
                        let shifts = sm
                            .iter()
                            .map(|&s| (sx + s).saturating_sub(cfg.scale))
                            .collect();
                        let rs = Op::Rescale(Rescale {
                            shifts,
                            table: TableFn::Identity,
                            floor: false,
                        });
                        let id = self.push(name, rs, vec![a], shape, cfg.scale.min(sx));
                        self.fusable[id] = single;
                        id
                    }
                }
                FloatOp::Binary(kind) => {
                    let (a, b) = (arg(0), arg(1));
                    let (sa, sb) = (self.nodes[a].scale, self.nodes[b].scale);
                    match kind {
                        BinaryKind::Mul => {
                            let op = Op::Binary(Binary {
                                kind: *kind,
                                lhs_shift: 0,
                                rhs_shift: 0,
                            });
                            let m = self.push(name, op, vec![a, b], shape.clone(), sa + sb);
                            match variance_squares[fid] {
                                Some((std, mean)) => {
                                    let scales = variance::stddev_scales(
                                        cfg.scale,
                                        sa + sb,
                                        self.ranges[mean].1,
                                        self.ranges[std].0,
                                    );
                                    fine_std.insert(std, scales);
                                    let shift = sa + sb - scales.0;
                                    let rs =
                                        Op::Rescale(Rescale::uniform(shift, TableFn::Identity));
                                    self.push(name, rs, vec![m], shape, scales.0)
                                }
                                None => self.rescale_to_act(name, m, single),
                            }
                        }
                        BinaryKind::Add | BinaryKind::Sub => {
                            let s = sa.max(sb);
                            let op = Op::Binary(Binary {
                                kind: *kind,
                                lhs_shift: s - sa,
                                rhs_shift: s - sb,
                            });
                            let sum = self.push(name, op, vec![a, b], shape.clone(), s);
                            if *kind == BinaryKind::Add
                                && s == cfg.scale
                                && (self.unchecked_sum(a) || self.unchecked_sum(b))
                            {
                                // A sum of a sum (a residual stream): its bound would grow by
                                // a bit per sum, block after block, until a LayerNorm's
                                // squares wrap the field. Checked into the activation range
                                // instead, where calibration puts it (a value beyond fails to
                                // prove, as one beyond a table does).
                                let check = Op::Rescale(Rescale::uniform(0, TableFn::Identity));
                                self.push(name, check, vec![sum], shape, s)
                            } else {
                                sum
                            }
                        }
                    }
                }
                FloatOp::Relu => self.activation(name, arg(0), |_| TableFn::Relu),
                FloatOp::Sigmoid => {
                    let out_scale = cfg.scale;
                    self.activation(name, arg(0), |in_scale| TableFn::Sigmoid {
                        in_scale,
                        out_scale,
                    })
                }
                FloatOp::Softmax(mask) => {
                    // Probabilities lie in [0, 1]: two more fractional bits than the
                    // activations cost a few rows of the split exponential's tables.
                    let x = arg(0);
                    let out_scale = cfg.scale + SOFTMAX_EXTRA_BITS;
                    let op = Op::Softmax(Softmax {
                        exp: TableFn::ExpNeg {
                            in_scale: self.nodes[x].scale,
                            out_scale,
                        },
                        out_scale,
                        mask: mask.clone(),
                    });
                    self.push(name, op, vec![x], shape, out_scale)
                }
                FloatOp::Linear { terms, bias } if fnode.inputs.is_empty() => {
                    let scale = match fnode.dtype.is_exact() {
                        true => 0,
                        false => cfg.scale,
                    };
                    let op = Op::Linear(Linear {
                        terms: vec![Vec::new(); terms.len()],
                        bias: bias.iter().map(|&b| q(b, scale)).collect(),
                    });
                    self.push(name, op, vec![], shape, scale)
                }
                FloatOp::Linear { terms, bias } => {
                    let x = arg(0);
                    let sx = self.nodes[x].scale;
                    let all: Vec<f64> = terms.iter().flatten().map(|&(_, w)| w).collect();
                    let sw = const_scale(&all, cfg.weight_bits)
                        .min(cfg.max_shift + cfg.scale.saturating_sub(sx));
                    let acc_scale = sx + sw;
                    let op = Op::Linear(Linear {
                        terms: terms
                            .iter()
                            .map(|row| row.iter().map(|&(i, w)| (i, q(w, sw))).collect())
                            .collect(),
                        bias: bias.iter().map(|&b| q(b, acc_scale)).collect(),
                    });
                    let d = self.push(name, op, vec![x], shape, acc_scale);
                    self.product_output(name, d, sw, single)
                }
                FloatOp::Max(windows) => {
                    let x = arg(0);
                    let op = Op::Max(Windows {
                        windows: windows.clone(),
                    });
                    let s = self.nodes[x].scale;
                    self.push(name, op, vec![x], shape, s)
                }
                FloatOp::ArgMax { windows, last } => {
                    let op = Op::ArgMax(ArgMax {
                        windows: windows.clone(),
                        last: *last,
                    });
                    self.push(name, op, vec![arg(0)], shape, 0)
                }
                FloatOp::MatMul => {
                    let (a, b) = (arg(0), arg(1));
                    let scale = self.nodes[a].scale + self.nodes[b].scale;
                    let m = self.push(name, Op::MatMul, vec![a, b], shape, scale);
                    self.rescale_to_act(name, m, single)
                }
                FloatOp::Div => {
                    let (a, b) = (arg(0), arg(1));
                    let (sa, sb) = (self.nodes[a].scale, self.nodes[b].scale);
                    let shift = (cfg.scale + sb).saturating_sub(sa);
                    let op = Op::Div(Div { shift });
                    self.push(name, op, vec![a, b], shape, (sa + shift).saturating_sub(sb))
                }
                FloatOp::Mean(counts) => {
                    let x = arg(0);
                    let op = Op::Mean(Mean {
                        counts: counts.iter().map(|&n| n as i64).collect(),
                    });
                    let s = self.nodes[x].scale;
                    self.push(name, op, vec![x], shape, s)
                }
                FloatOp::Map(g @ zkinfer_ir::MapFn::StdDev { .. })
                    if fine_std.contains_key(&fid) =>
                {
                    // A variance at its own resolution (see `variance`).
                    let x = arg(0);
                    let x_scale = self.nodes[x].scale;
                    let (in_scale, out_scale) = fine_std[&fid];
                    let in_scale = in_scale.min(x_scale);
                    let table = TableFn::Map {
                        g: *g,
                        in_scale,
                        out_scale,
                        extent: None,
                    };
                    let rs = Op::Rescale(Rescale::uniform(x_scale - in_scale, table));
                    self.push(name, rs, vec![x], shape, out_scale)
                }
                FloatOp::Map(g) => {
                    let out_scale = cfg.scale;
                    let g = *g;
                    self.activation(name, arg(0), |in_scale| TableFn::Map {
                        g,
                        in_scale,
                        out_scale,
                        extent: None,
                    })
                }
                FloatOp::Clip { lo, hi } => {
                    let clamp =
                        |v: f64, s: u32| q(v.clamp(-1e12, 1e12), s).clamp(-(1 << 40), 1 << 40);
                    let (lo, hi) = (*lo, *hi);
                    self.activation(name, arg(0), |s| TableFn::Clip {
                        lo: clamp(lo, s),
                        hi: clamp(hi, s),
                    })
                }
                FloatOp::Negative => {
                    let x = arg(0);
                    let sx = self.nodes[x].scale;
                    // floor(x / 2^t) < 0 exactly when x < 0, for any t: the shift only keeps
                    // the quotient within the table.
                    let op = Op::Rescale(Rescale {
                        shifts: vec![sx.min(cfg.max_shift)],
                        table: TableFn::Negative,
                        floor: true,
                    });
                    self.push(name, op, vec![x], shape, 0)
                }
                FloatOp::IntDiv { floor, remainder } => {
                    let (a, b) = (arg(0), arg(1));
                    self.int_div(name, a, b, *floor, *remainder, shape)?
                }
                FloatOp::ToInt | FloatOp::Floor { .. } => {
                    let x = arg(0);
                    self.rounding(name, fnode, x, shape)?
                }
                FloatOp::TopK(t) => {
                    let id = self.push(name, Op::TopK(t.clone()), vec![arg(0)], shape, 0);
                    self.nodes[id].dtype = zkinfer_ir::ElemType::Int64;
                    id
                }
                FloatOp::Where => {
                    let cxy = [arg(0), arg(1), arg(2)];
                    self.where_(name, cxy, shape, single)
                }
                FloatOp::OneHot { depth } => {
                    if self.nodes[arg(0)].scale != 0 {
                        return Err(ImportError::Node {
                            node: name.into(),
                            op: "Gather".into(),
                            reason: "the indices are not integers".into(),
                        });
                    }
                    let op = Op::OneHot(zkinfer_ir::OneHot { depth: *depth });
                    let id = self.push(name, op, vec![arg(0)], shape, 0);
                    self.nodes[id].dtype = zkinfer_ir::ElemType::Bool;
                    id
                }
                FloatOp::Select { index, choices } => {
                    let idx = arg(0);
                    let data = fnode.inputs.get(1).map(|_| arg(1));
                    self.select(name, fnode, (idx, data), index, choices, shape)?
                }
                FloatOp::IndexMap(op) => {
                    let mut ins: Vec<usize> = (0..fnode.inputs.len()).map(arg).collect();
                    let scale = ins
                        .iter()
                        .map(|&i| self.nodes[i].scale)
                        .max()
                        .unwrap_or(cfg.scale);
                    if matches!(op, Op::Concat(Concat { .. }) | Op::Remap(_)) {
                        for i in ins.iter_mut() {
                            *i = self.align(name, *i, scale)?;
                        }
                    }
                    let view = matches!(op, Op::Reshape | Op::Transpose(_))
                        && ins.len() == 1
                        && self.fusable[ins[0]];
                    let id = self.push(name, op.clone(), ins, shape, scale);
                    // A view of a rescale read only by it: an activation read only by the view
                    // fuses into that rescale (see `activation`).
                    self.fusable[id] = view && single;
                    // An integer viewed as a float (`Cast`) takes the activation scale, so
                    // that float arithmetic after it keeps its fractions.
                    let from_exact = fnode
                        .inputs
                        .iter()
                        .all(|&i| self.fg.nodes[i].dtype.is_exact());
                    match fnode.dtype.is_float() && from_exact {
                        true => self.align(name, id, cfg.scale)?,
                        false => id,
                    }
                }
            };
            // The IR node holding the float node's value takes its element type.
            if fnode.dtype.is_exact() {
                self.nodes[id].dtype = fnode.dtype;
            }
            self.map.push(id);
        }
        Ok(())
    }
}

/// Quantizes `fg`. `calibration` holds samples, each one flat float tensor per graph input;
/// scales, table size and input bounds are chosen so that every sample fits with
/// `margin_bits` of headroom.
pub fn quantize(
    fg: &FloatGraph,
    calibration: &[Vec<Vec<f32>>],
    cfg: &QuantConfig,
) -> Result<Quantized, ImportError> {
    if calibration.is_empty() {
        return Err(ImportError::Calibration {
            reason: "at least one calibration sample is needed".into(),
        });
    }
    let uses = fg.consumers();
    let mut ranges = vec![(f64::INFINITY, f64::NEG_INFINITY); fg.nodes.len()];
    for sample in calibration {
        for (r, values) in ranges.iter_mut().zip(fg.eval(sample)?) {
            for v in values {
                *r = (r.0.min(v), r.1.max(v));
            }
        }
    }
    let mut low = Lowering {
        fg,
        cfg,
        nodes: Vec::new(),
        map: Vec::new(),
        fusable: Vec::new(),
        ranges,
    };
    low.lower(&uses)?;
    let mut graph = Graph {
        nodes: low.nodes,
        inputs: fg.inputs.iter().map(|&i| low.map[i]).collect(),
        outputs: fg.outputs.iter().map(|&o| low.map[o]).collect(),
        input_names: fg.input_names.clone(),
        output_names: fg.output_names.clone(),
    };

    // Inputs: bounds from the calibration data, with headroom.
    let mut input_max = vec![0u64; graph.inputs.len()];
    let mut quantized_samples = Vec::with_capacity(calibration.len());
    for sample in calibration {
        let mut ts = Vec::with_capacity(sample.len());
        for (i, values) in sample.iter().enumerate() {
            let node = &graph.nodes[graph.inputs[i]];
            let qs = zkinfer_ir::quantize(values, node.scale);
            input_max[i] = input_max[i].max(qs.iter().map(|v| v.unsigned_abs()).max().unwrap_or(0));
            ts.push(Tensor::new(node.shape.clone(), qs)?);
        }
        quantized_samples.push(ts);
    }
    let input_bounds: Vec<u32> = input_max
        .iter()
        .map(|&m| bits(m as u128) + cfg.margin_bits.max(1))
        .collect();

    // Table extents: run the integer graph with unbounded tables and measure.
    let unbounded = TableBounds {
        neg: 1 << 40,
        pos: 1 << 40,
        exp: 1 << 40,
        limb_bits: 0,
    };
    set_bounds(&mut graph, &unbounded, &input_bounds);
    let mut needs = Needs::default();
    for ts in &quantized_samples {
        let trace = eval(&graph, &unbounded, ts)?;
        table_needs(&graph, &trace.values, &mut needs);
        if cfg.pack_public {
            public_needs(&graph, &trace.values, &mut needs);
        }
    }
    let table = table_bounds(&graph, &needs, cfg.margin_bits);
    set_extents(&mut graph, &needs, &table, cfg.margin_bits);
    if table.signed_bits() > 30 || table.exp > 1 << 30 {
        return Err(ImportError::Calibration {
            reason: format!(
                "activations need tables of 2^{} rows; lower --scale",
                table.signed_bits() + 1
            ),
        });
    }
    set_bounds(&mut graph, &table, &input_bounds);
    graph.check()?;
    Ok(Quantized { graph, table })
}
