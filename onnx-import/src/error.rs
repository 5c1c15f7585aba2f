//! The one error type of `zkinfer-onnx`.

use thiserror::Error;

/// One unsupported operator occurrence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsupported {
    pub node: String,
    pub op: String,
    pub reason: String,
}

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "  node `{}` ({}): {}", self.node, self.op, self.reason)
    }
}

fn list(items: &[Unsupported]) -> String {
    items
        .iter()
        .map(|u| u.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[derive(Debug, Error)]
pub enum ImportError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a valid ONNX model: {reason}")]
    Malformed { path: String, reason: String },
    #[error("{path}: {} unsupported operator(s):\n{}", .items.len(), list(.items))]
    Unsupported {
        path: String,
        items: Vec<Unsupported>,
    },
    #[error("node `{node}` ({op}): {reason}")]
    Node {
        node: String,
        op: String,
        reason: String,
    },
    #[error("input `{name}`: {reason}")]
    Input { name: String, reason: String },
    #[error("calibration: {reason}")]
    Calibration { reason: String },
    #[error(transparent)]
    Ir(#[from] zkinfer_ir::IrError),
    /// An error about part of a model, with the model's file. Its message includes the
    /// error's (not a `source`, which `{:#}` would print a second time).
    #[error("{path}: {error}")]
    InFile {
        path: String,
        error: Box<ImportError>,
    },
}

impl ImportError {
    /// `self`, naming the model file `path` unless it already does.
    pub fn in_file(self, path: &str) -> Self {
        match self {
            e @ (ImportError::Io { .. }
            | ImportError::Malformed { .. }
            | ImportError::Unsupported { .. }
            | ImportError::InFile { .. }) => e,
            e => ImportError::InFile {
                path: path.into(),
                error: Box::new(e),
            },
        }
    }
}
