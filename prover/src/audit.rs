//! `zkinfer audit`: the model's own circuit, with the witness of one input, under automatic
//! witness mutation (see `zkinfer_circuits::audit`).

use std::sync::Arc;

use zkinfer_circuits::audit::{audit as mutate, AuditConfig, AuditReport};
use zkinfer_ir::CompiledModel;

use crate::{check_witness, circuit_for, witness, ProveError};

/// Mutates the advice cells of `model`'s circuit laid out for `inputs` (all of them, or the
/// sample `cfg` sets) and reports which mutations every constraint still accepts.
pub fn audit(
    model: &CompiledModel,
    inputs: &[Vec<f32>],
    cfg: AuditConfig,
) -> Result<AuditReport, ProveError> {
    let trace = Arc::new(witness(model, inputs)?);
    check_witness(model, &trace)?;
    let circuit = circuit_for(model).with_trace(trace.clone());
    let instances = crate::prove::public_instances(model, &trace)?;
    Ok(mutate(&circuit, model.settings.k, &instances, cfg)?)
}
