//! ONNX import for zkinfer: protobuf → float graph (constant folding, shape inference with
//! symbolic dimensions set to 1, Add-into-bias, affine and activation fusion) → quantized IR graph.

mod error;
mod float;
mod fuse;
mod model;
mod ops;
pub mod proto;
mod quantize;
mod tensor_proto;

pub use error::{ImportError, Unsupported};
pub use float::{FloatGraph, FloatNode, FloatOp, Pick};
pub use model::{import_onnx, import_onnx_with, load_onnx, load_onnx_with, FixedDim, InputShapes};
pub use quantize::{quantize, QuantConfig, Quantized};
