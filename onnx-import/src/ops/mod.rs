//! One small builder per ONNX operator, registered by name. A builder reads typed attributes
//! (errors name the node), folds constants, and adds float nodes.

mod activation;
mod arith;
mod cnn;
mod cnn1d;
mod compare;
mod computed_index;
mod einsum;
mod integer;
mod linear;
mod norm;
mod rearrange;
mod recurrent;
mod reduce;
mod resize;
mod select;
mod shape;

use std::collections::HashMap;

use zkinfer_ir::{broadcast_indices, broadcast_shape, ElemType, Tensor};

use crate::float::{FloatGraph, FloatNode, FloatOp};
use crate::proto::{AttributeProto, NodeProto};
use crate::tensor_proto::tensor_from_proto;

/// What an ONNX value is during import: a folded constant or a node of the float graph.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Const(Tensor<f64>),
    Node(usize),
}

/// A builder's view of one ONNX node.
pub struct Ctx<'a> {
    pub node: &'a NodeProto,
    pub graph: &'a mut FloatGraph,
    /// Resolved inputs; `None` for an omitted optional input.
    pub inputs: Vec<Option<Value>>,
    /// How many nodes and graph outputs read each ONNX tensor name.
    pub uses: &'a HashMap<String, usize>,
    pub opset: i64,
    /// The element type of each input (`float` for an omitted one).
    pub types: Vec<ElemType>,
}

/// Builds a node's outputs, or says why the node cannot be lowered.
pub type Build = fn(&mut Ctx<'_>) -> Result<Vec<Value>, String>;

/// The registry: ONNX operator name to builder.
pub fn builder(op_type: &str) -> Option<Build> {
    Some(match op_type {
        "Gemm" => linear::gemm,
        "MatMul" => linear::matmul,
        "Add" => arith::add,
        "Sub" => arith::sub,
        "Mul" => arith::mul,
        "Div" => arith::div,
        "Mod" => integer::modulo,
        "Max" => arith::max,
        "Min" => arith::min,
        "Sum" => arith::sum,
        "Mean" => arith::mean,
        "Floor" => integer::floor,
        "Ceil" => integer::ceil,
        "Round" => integer::round,
        "BitShift" => integer::bit_shift,
        "Not" => integer::not,
        "And" => integer::and,
        "Or" => integer::or,
        "Xor" => integer::xor,
        "Relu" => activation::relu,
        "Sigmoid" => activation::sigmoid,
        "Softmax" => activation::softmax,
        "Flatten" => shape::flatten,
        "Reshape" => shape::reshape,
        "Identity" | "Dropout" => shape::identity,
        "Cast" => shape::cast,
        "Constant" => shape::constant,
        "Shape" => shape::shape,
        "Gather" => shape::gather,
        "GatherElements" => select::gather_elements,
        "NonZero" => select::non_zero,
        "TopK" => select::top_k,
        "Unsqueeze" => shape::unsqueeze,
        "Squeeze" => shape::squeeze,
        "Concat" => shape::concat,
        "Transpose" => shape::transpose,
        "Slice" => shape::slice,
        "Expand" => rearrange::expand_op,
        "Tile" => rearrange::tile,
        "ConstantOfShape" => shape::constant_of_shape,
        "Range" => shape::range,
        "Split" => rearrange::split,
        "Trilu" => rearrange::trilu,
        "DepthToSpace" => rearrange::depth_to_space,
        "SpaceToDepth" => rearrange::space_to_depth,
        "Size" => shape::size,
        "GatherND" => rearrange::gather_nd,
        "ScatterElements" | "Scatter" => rearrange::scatter_elements,
        "ScatterND" => rearrange::scatter_nd,
        "LSTM" => recurrent::lstm,
        "GRU" => recurrent::gru,
        "RNN" => recurrent::rnn,
        "Conv" => cnn1d::conv_any,
        "ConvTranspose" => cnn1d::conv_transpose_any,
        "MaxPool" => cnn1d::max_pool_any,
        "AveragePool" => cnn1d::average_pool_any,
        "GlobalAveragePool" => cnn::global_average_pool,
        "BatchNormalization" => cnn::batch_norm,
        "Pad" => cnn::pad,
        "ReduceSum" => reduce::reduce_sum,
        "ReduceMean" => reduce::reduce_mean,
        "ReduceMax" => reduce::reduce_max,
        "ReduceMin" => reduce::reduce_min,
        "ReduceL1" => reduce::reduce_l1,
        "ReduceL2" => reduce::reduce_l2,
        "ReduceSumSquare" => reduce::reduce_sum_square,
        "ReduceLogSum" => reduce::reduce_log_sum,
        "ReduceLogSumExp" => reduce::reduce_log_sum_exp,
        "ArgMax" => reduce::arg_max,
        "LogSoftmax" => reduce::log_softmax,
        "Less" => compare::less,
        "Greater" => compare::greater,
        "LessOrEqual" => compare::less_or_equal,
        "GreaterOrEqual" => compare::greater_or_equal,
        "Equal" => compare::equal,
        "Where" => compare::where_,
        "IsNaN" => compare::is_nan,
        "IsInf" => compare::is_inf,
        "Shrink" => compare::shrink,
        "Einsum" => einsum::einsum,
        "OneHot" => compare::one_hot,
        "Tanh" => activation::tanh,
        "Exp" => activation::exp,
        "Sqrt" => activation::sqrt,
        "Erf" => activation::erf,
        "Abs" => activation::abs,
        "Sign" => activation::sign,
        "Neg" => activation::neg,
        "LeakyRelu" => activation::leaky_relu,
        "Softplus" | "Softsign" | "Mish" | "HardSwish" | "Log" | "Reciprocal" | "Sin" | "Cos"
        | "Tan" | "Asin" | "Acos" | "Atan" | "Sinh" | "Cosh" | "Asinh" | "Acosh" | "Atanh" => {
            activation::named
        }
        "HardSigmoid" => activation::hard_sigmoid,
        "Elu" => activation::elu,
        "Celu" => activation::celu,
        "Selu" => activation::selu,
        "ThresholdedRelu" => activation::thresholded_relu,
        "PRelu" => activation::prelu,
        "Clip" => activation::clip,
        "Pow" => activation::pow,
        "Gelu" => activation::gelu,
        "LayerNormalization" => norm::layer_norm,
        "InstanceNormalization" => norm::instance_norm,
        "MeanVarianceNormalization" => norm::mean_variance_norm,
        "RMSNormalization" => norm::rms_norm,
        "LpNormalization" => norm::lp_norm,
        "CumSum" => reduce::cum_sum,
        "ReduceProd" => reduce::reduce_prod,
        "Resize" | "Upsample" => resize::resize,
        "GroupNormalization" => norm::group_norm,
        _ => return None,
    })
}

impl Ctx<'_> {
    fn attr(&self, name: &str) -> Option<&AttributeProto> {
        self.node.attribute.iter().find(|a| a.name == name)
    }

    pub fn attr_int(&self, name: &str, default: i64) -> i64 {
        self.attr(name).map_or(default, |a| a.i)
    }

    pub fn attr_float(&self, name: &str, default: f32) -> f32 {
        self.attr(name).map_or(default, |a| a.f)
    }

    pub fn attr_ints(&self, name: &str) -> Option<Vec<i64>> {
        self.attr(name).map(|a| a.ints.clone())
    }

    pub fn attr_floats(&self, name: &str) -> Option<Vec<f32>> {
        self.attr(name).map(|a| a.floats.clone())
    }

    pub fn attr_tensor(&self, name: &str) -> Option<Result<Tensor<f64>, String>> {
        self.attr(name)
            .and_then(|a| a.t.as_ref())
            .map(tensor_from_proto)
    }

    pub fn attr_string(&self, name: &str, default: &str) -> String {
        self.attr(name).map_or(default.into(), |a| {
            String::from_utf8_lossy(&a.s).into_owned()
        })
    }

    pub fn attr_strings(&self, name: &str) -> Option<Vec<String>> {
        self.attr(name).map(|a| {
            a.strings
                .iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect()
        })
    }

    pub fn has_attr(&self, name: &str) -> bool {
        self.attr(name).is_some()
    }

    pub fn input(&self, i: usize) -> Result<&Value, String> {
        self.inputs
            .get(i)
            .and_then(Option::as_ref)
            .ok_or_else(|| format!("missing input {i}"))
    }

    pub fn optional(&self, i: usize) -> Option<&Value> {
        self.inputs.get(i).and_then(Option::as_ref)
    }

    /// A constant input, or an error saying that this operand must be constant.
    pub fn const_input(&self, i: usize, what: &str) -> Result<Tensor<f64>, String> {
        match self.input(i)? {
            Value::Const(t) => Ok(t.clone()),
            Value::Node(_) => Err(format!("{what} (input {i}) must be a constant")),
        }
    }

    /// The ONNX tensor name of input `i`.
    pub fn input_name(&self, i: usize) -> &str {
        self.node.input.get(i).map_or("", String::as_str)
    }

    /// Whether input `i` is read by this node alone (so it can be fused into it).
    pub fn single_use(&self, i: usize) -> bool {
        self.uses.get(self.input_name(i)).copied().unwrap_or(0) == 1
    }

    pub fn shape_of(&self, v: &Value) -> Vec<usize> {
        match v {
            Value::Const(t) => t.shape().to_vec(),
            Value::Node(id) => self.graph.nodes[*id].shape.clone(),
        }
    }

    pub fn name(&self) -> String {
        if self.node.name.is_empty() {
            self.node.output.first().cloned().unwrap_or_default()
        } else {
            self.node.name.clone()
        }
    }

    /// The input as a node: a constant becomes a node holding it (a linear map with no terms,
    /// so its values are fixed in the circuit; an integral one is exact).
    pub fn as_node(&mut self, v: Value) -> usize {
        match v {
            Value::Node(x) => x,
            Value::Const(t) => {
                let shape = t.shape().to_vec();
                // Integral constants are exact at scale 2^0 (an integer tensor's divisor).
                let integral = t.data().iter().all(|v| v.fract() == 0.0 && v.abs() < 1e15);
                let dtype = match integral {
                    true => ElemType::Int64,
                    false => ElemType::Float32,
                };
                let op = FloatOp::Linear {
                    terms: vec![Vec::new(); t.len()],
                    bias: t.into_data(),
                };
                match self.add_typed(op, vec![], shape, dtype) {
                    Value::Node(x) => x,
                    Value::Const(_) => 0,
                }
            }
        }
    }

    /// A node input or an error naming what must be computed.
    pub fn node_input(&self, i: usize) -> Result<usize, String> {
        match self.input(i)? {
            Value::Node(x) => Ok(*x),
            Value::Const(_) => Err(format!("input {i} is a constant; fold it before this node")),
        }
    }

    /// Adds a float node named after this ONNX node. Its type is that of an intermediate
    /// value of its inputs (the importer gives the node's outputs their declared type).
    pub fn add(&mut self, op: FloatOp, inputs: Vec<usize>, shape: Vec<usize>) -> Value {
        let types: Vec<ElemType> = inputs.iter().map(|&i| self.graph.nodes[i].dtype).collect();
        let dtype = ElemType::intermediate(&types);
        self.add_typed(op, inputs, shape, dtype)
    }

    /// [`Self::add`] with an explicit element type.
    pub fn add_typed(
        &mut self,
        op: FloatOp,
        inputs: Vec<usize>,
        shape: Vec<usize>,
        dtype: ElemType,
    ) -> Value {
        let name = self.name();
        Value::Node(self.graph.push(FloatNode {
            name,
            op,
            inputs,
            shape,
            dtype,
        }))
    }

    /// The element type of input `i`.
    pub fn dtype(&self, i: usize) -> ElemType {
        self.types.get(i).copied().unwrap_or_default()
    }

    /// Whether any input is an integer or boolean tensor.
    pub fn exact(&self) -> bool {
        self.types.iter().any(|t| t.is_exact())
    }
}

/// Elementwise `f(a, b)` of two constants with numpy broadcasting.
pub fn broadcast_const(
    a: &Tensor<f64>,
    b: &Tensor<f64>,
    f: impl Fn(f64, f64) -> f64,
) -> Result<Tensor<f64>, String> {
    let shape = broadcast_shape(a.shape(), b.shape()).ok_or_else(|| {
        format!(
            "shapes {:?} and {:?} do not broadcast",
            a.shape(),
            b.shape()
        )
    })?;
    let ia = broadcast_indices(a.shape(), &shape);
    let ib = broadcast_indices(b.shape(), &shape);
    let data = ia
        .iter()
        .zip(&ib)
        .map(|(&i, &j)| f(a.data()[i], b.data()[j]))
        .collect();
    Tensor::new(shape, data).map_err(|e| e.to_string())
}

/// `t` broadcast to `shape`.
pub fn expand(t: &Tensor<f64>, shape: &[usize]) -> Result<Tensor<f64>, String> {
    match broadcast_shape(t.shape(), shape) {
        Some(s) if s == shape => {
            let idx = broadcast_indices(t.shape(), shape);
            Tensor::new(shape.to_vec(), idx.iter().map(|&i| t.data()[i]).collect())
                .map_err(|e| e.to_string())
        }
        _ => Err(format!(
            "constant of shape {:?} does not broadcast to {:?}",
            t.shape(),
            shape
        )),
    }
}

/// Normalizes a possibly negative axis for a tensor of rank `rank`.
pub fn axis(a: i64, rank: usize) -> Result<usize, String> {
    let r = rank as i64;
    let n = if a < 0 { a + r } else { a };
    if (0..r.max(1)).contains(&n) {
        Ok(n as usize)
    } else {
        Err(format!("axis {a} is out of range for rank {rank}"))
    }
}
