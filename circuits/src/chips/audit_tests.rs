//! The audit itself: it passes an honest circuit, and finds the cell a forgotten selector
//! leaves unbound, naming its node, part and column.

use std::sync::Arc;

use zkinfer_ir::eval;

use super::tests::{dense_relu, rows_of, TB};
use crate::audit::{audit, AuditConfig, Kind, Outcome};
use crate::grid::{Adv, Sel, SKIP_ENABLE};
use crate::{plan, CircuitParams, ModelCircuit};

fn run_audit() -> crate::audit::AuditReport {
    let (g, x) = dense_relu();
    let trace = eval(&g, &TB, &x).unwrap();
    let p = plan(&g, &TB).unwrap();
    let circuit = ModelCircuit::new(
        Arc::new(g.clone()),
        &TB,
        CircuitParams::for_graph(&g, p.lanes),
    )
    .with_trace(Arc::new(trace.clone()));
    let instances = ModelCircuit::instances(&g, &trace);
    audit(&circuit, p.k, &instances, AuditConfig::default()).unwrap()
}

#[test]
fn an_honest_circuit_has_no_escape_and_every_cell_is_tried() {
    let r = run_audit();
    assert!(r.exhaustive);
    let cells = r.mutations.iter().filter(|m| m.kind == Kind::Cell).count();
    assert!(cells == r.classes && r.classes > 10);
    assert!(r.escaped().is_empty(), "{:?}", r.escaped());
    let ops = r.by_op();
    assert!(ops["Dense"].caught > 0 && ops["Rescale"].caught > 0 && ops["Input"].caught > 0);
}

#[test]
fn a_forgotten_rescale_selector_is_found() {
    let (g, _) = dense_relu();
    // The ReLU of element 1 without its rescale gate: q is bound only by its range unit, so
    // any value in range proves.
    let row = rows_of(&g, 2, "rescale")[1];
    SKIP_ENABLE.with(|s| *s.borrow_mut() = Some((Sel::Rescale, row)));
    let r = run_audit();
    SKIP_ENABLE.with(|s| *s.borrow_mut() = None);
    let escaped = r.escaped();
    assert!(!escaped.is_empty(), "the audit missed the unbound cell");
    assert!(
        escaped
            .iter()
            .all(|m| m.node_name == "act" && m.op == "Rescale"),
        "{escaped:?}"
    );
    assert!(
        escaped.iter().any(|m| m.col == Adv::Q || m.col == Adv::R),
        "{escaped:?}"
    );
    assert_eq!(r.by_op()["Rescale"].escaped, escaped.len());
    assert!(escaped.iter().all(|m| m.outcome == Outcome::Escaped));
}
