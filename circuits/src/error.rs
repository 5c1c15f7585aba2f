//! The one error type of `zkinfer-circuits`.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum CircuitError {
    #[error("halo2: {0}")]
    Halo2(String),
    #[error("node `{node}`: {reason}")]
    Layout { node: String, reason: String },
    #[error("the circuit needs 2^{k} rows, more than the supported maximum 2^{max}")]
    TooLarge { k: u32, max: u32 },
    #[error(transparent)]
    Ir(#[from] zkinfer_ir::IrError),
}

impl From<halo2_axiom::plonk::Error> for CircuitError {
    fn from(e: halo2_axiom::plonk::Error) -> Self {
        CircuitError::Halo2(format!("{e:?}"))
    }
}
