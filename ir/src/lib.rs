//! zkinfer's intermediate representation: the quantized graph with its closed set of
//! operations, the integer reference evaluator that defines exactly what the circuit proves,
//! the settings of a compiled model, and the versioned artifact envelope.

mod artifact;
mod dtype;
mod error;
mod eval;
mod exp_split;
mod graph;
mod input;
mod mapfn;
mod op;
mod packing;
mod settings;
mod split;
mod table;
mod tensor;

pub use artifact::{
    digest, digest_of_writes, read_file, write_file, write_streamed, ArtifactKind, CompiledModel,
    Envelope, SourceInfo, StreamedArtifact, TeeReader, BINARY_VERSION, MAGIC, MODEL_FORMAT,
    MODEL_VERSION,
};
pub use dtype::{int_div, ElemType};
pub use error::IrError;
pub use eval::{
    dequantize, div_round, eval, linear, quantize, rescale, softmax_range_bits, softmax_row,
    type_range, window_max, DivWitness, RescaleWitness, SoftmaxWitness, Trace,
};
pub use graph::{index_map, Graph, Node, NodeId};
pub use input::{flatten_json_values, inputs_digest, quantize_inputs, INPUTS_DIGEST_TAG};
pub use op::{
    dense_terms, Affine, ArgMax, Binary, BinaryKind, Concat, Dense, DenseTerms, Div, Gather, Input,
    IntDiv, Linear, MatMulDims, Mean, OneHot, Op, Remap, Rescale, Select, Softmax, Source, TopK,
    Transpose, WeightSide, Windows,
};
pub use packing::{Limbs, Packing};
pub use settings::{Settings, ShardInfo, TensorInfo};
pub use split::{check_cuts, first_cut, live_at, split, subgraph};
pub use table::{
    erf, ExpSplit, MapFn, PreparedTable, Saturation, TableBounds, TableFn, DEFAULT_LIMB_BITS,
    EXP_GUARD_BITS,
};
pub use tensor::{broadcast_indices, broadcast_shape, strides, transpose_indices, Tensor};

/// The largest bit bound a tensor may have. BN254's scalar field has 254 bits; values are kept
/// below 2^62 so the integer reference runs in `i64` and no sum or product can wrap the field.
pub const MAX_BOUND_BITS: u32 = 62;
