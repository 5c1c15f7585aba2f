//! The one error type of `zkinfer-ir`.

use thiserror::Error;

/// Errors raised while building, checking or evaluating a quantized graph, or while reading an
/// artifact.
#[derive(Debug, Error)]
pub enum IrError {
    #[error("tensor shape {shape:?} holds {expected} elements but {got} were given")]
    ShapeData {
        shape: Vec<usize>,
        expected: usize,
        got: usize,
    },
    #[error("node `{node}`: {reason}")]
    InvalidNode { node: String, reason: String },
    #[error("graph input {index} (`{name}`): expected {expected} elements for shape {shape:?}, got {got}")]
    InputShape {
        index: usize,
        name: String,
        shape: Vec<usize>,
        expected: usize,
        got: usize,
    },
    #[error("graph input {index} (`{name}`), element {at}: {reason}")]
    InputValue {
        index: usize,
        name: String,
        at: usize,
        reason: String,
    },
    #[error("the graph takes {expected} inputs but {got} were given")]
    InputCount { expected: usize, got: usize },
    #[error("graph input {index} (`{name}`): value {value} is outside the declared bound of {bits} bits; recompile with --calibrate on inputs like this one")]
    InputOutOfRange {
        index: usize,
        name: String,
        value: i64,
        bits: u32,
    },
    #[error("node `{node}`: value {value} falls outside the {table} table domain [{min}, {max}); recompile with --calibrate on inputs like this one")]
    OutsideTable {
        node: String,
        table: String,
        value: i64,
        min: i64,
        max: i64,
    },
    #[error("node `{node}`: value {value} overflows {dtype} {range}; zkinfer refuses integer overflow instead of wrapping it")]
    TypeRange {
        node: String,
        dtype: &'static str,
        value: i64,
        /// `[min, max]`, at the node's scale.
        range: String,
    },
    #[error("node `{node}`: integer division by zero")]
    DivisionByZero { node: String },
    #[error("node `{node}`: arithmetic overflow in the integer reference")]
    Overflow { node: String },
    #[error("{path}: not a {expected} file ({reason})")]
    ArtifactFormat {
        path: String,
        expected: String,
        reason: String,
    },
    #[error("{path}: {kind} format version {got} is not supported (this build reads version {supported}); regenerate it with this zkinfer")]
    ArtifactVersion {
        path: String,
        kind: String,
        got: u32,
        supported: u32,
    },
    #[error("{path}: {what} digest mismatch: expected {expected}, found {got}; {hint}")]
    DigestMismatch {
        path: String,
        what: String,
        expected: String,
        got: String,
        hint: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: invalid JSON: {source}")]
    Json {
        path: String,
        #[source]
        source: serde_json::Error,
    },
}
