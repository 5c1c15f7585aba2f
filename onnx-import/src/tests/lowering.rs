//! Import tests of lowerings chosen by size or structure: an embedding table's lookup and a
//! residual stream's range checks.

use super::tests::{model, ops, quantized_error, value_info};
use crate::float::FloatOp;
use crate::import_onnx;
use crate::proto::build::{self, node, tensor_f32};
use crate::proto::*;

/// `table[ids]` for a constant `[rows, 4]` table and int64 token ids `[1, 4]`.
fn embedding(rows: usize) -> Vec<u8> {
    let table: Vec<f32> = (0..rows * 4)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.01)
        .collect();
    build::model(
        vec![node("Gather", "wte", &["table", "ids"], &["emb"], vec![])],
        vec![tensor_f32("table", &[rows as i64, 4], &table)],
        vec![build::value_info(
            "ids",
            data_type::INT64,
            &[Some(1), Some(4)],
        )],
        vec![value_info("emb", &[])],
        17,
    )
}

#[test]
fn a_large_embedding_table_is_a_one_hot_product_and_a_small_one_a_selection() {
    use zkinfer_ir::Op;
    let ids = vec![0.0, 1499.0, 7.0, 7.0];
    let g = import_onnx(&embedding(1500), "mem.onnx").unwrap();
    assert!(
        ops(&g).contains(&&FloatOp::OneHot { depth: 1500 }),
        "{:?}",
        ops(&g)
    );
    let cfg = crate::QuantConfig {
        scale: 12,
        ..Default::default()
    };
    let q = crate::quantize(&g, &[vec![ids.clone()]], &cfg).unwrap();
    let names: Vec<&str> = q.graph.nodes.iter().map(|n| n.op.name()).collect();
    assert!(
        names.contains(&"OneHot") && names.contains(&"Dense"),
        "{names:?}"
    );
    assert!(!names.contains(&"Select"), "{names:?}");
    let hot = q.graph.nodes.iter().find(|n| matches!(n.op, Op::OneHot(_)));
    assert_eq!(hot.map(|n| (n.scale, n.bound)), Some((0, 1)));
    // The product of the one-hot rows and the table picks the rows.
    let worst = quantized_error(&g, &q, &ids);
    assert!(worst <= 0.5 / 4096.0, "max error {worst}");
    // At most 1024 rows, each element selects among the rows.
    let g = import_onnx(&embedding(1000), "mem.onnx").unwrap();
    assert!(
        ops(&g)
            .iter()
            .any(|op| matches!(op, FloatOp::Select { .. })),
        "{:?}",
        ops(&g)
    );
}

/// A residual stream: `s1 = x + x`, `s2 = s1 + x`, `s3 = s2 + x`, `s4 = s3 + s3`.
fn residual_sums() -> Vec<u8> {
    model(
        vec![
            node("Add", "s1", &["x", "x"], &["s1"], vec![]),
            node("Add", "s2", &["s1", "x"], &["s2"], vec![]),
            node("Add", "s3", &["s2", "x"], &["s3"], vec![]),
            node("Add", "s4", &["s3", "s3"], &["s4"], vec![]),
        ],
        vec![],
        value_info("x", &[Some(1), Some(4)]),
        "s4",
    )
}

#[test]
fn a_sum_of_a_sum_is_checked_into_the_activation_range() {
    use zkinfer_ir::{Op, TableFn};
    let g = import_onnx(&residual_sums(), "mem.onnx").unwrap();
    let x = vec![0.5, -1.0, 0.25, 2.0];
    let q = crate::quantize(&g, &[x.clone()].map(|v| vec![v]), &Default::default()).unwrap();
    let signed = q.table.signed_bits();
    let checks: Vec<(&str, u32)> = q
        .graph
        .nodes
        .iter()
        .filter(|n| {
            matches!(&n.op, Op::Rescale(rs)
                if rs.table == TableFn::Identity && rs.shifts.iter().all(|&s| s == 0))
        })
        .map(|n| (n.name.as_str(), n.bound))
        .collect();
    // s2 sums a sum (s1) and s4 sums one (s3 = the checked s2 + x); s1 and s3 do not.
    assert_eq!(checks, [("s2", signed), ("s4", signed)]);
    // Past a check, the stream's bound stays within two sums' bits of the activation range
    // (here x = 10, checks 13, s3 = 14, s4 = 15), not one more bit per sum.
    let bounds: Vec<(&str, u32)> = q
        .graph
        .nodes
        .iter()
        .map(|n| (n.name.as_str(), n.bound))
        .collect();
    let bx = bounds[0].1;
    assert_eq!(bounds.last(), Some(&("s4", signed)), "{bounds:?}");
    assert!(
        bounds.iter().all(|&(_, b)| b <= bx.max(signed) + 2),
        "{bounds:?}"
    );
    let worst = quantized_error(&g, &q, &x);
    assert!(worst < 0.001, "max error {worst}");
}
