//! Import tests on models built in memory.

use crate::float::FloatOp;
use crate::proto::build::{self, node, tensor_f32, tensor_i64};
use crate::proto::*;
use crate::{import_onnx, ImportError};

pub(super) fn value_info(name: &str, dims: &[Option<i64>]) -> ValueInfoProto {
    build::value_info(name, data_type::FLOAT, dims)
}

pub(super) fn model(
    nodes: Vec<NodeProto>,
    init: Vec<TensorProto>,
    input: ValueInfoProto,
    output: &str,
) -> Vec<u8> {
    build::model(nodes, init, vec![input], vec![value_info(output, &[])], 17)
}

#[test]
fn shape_arithmetic_feeding_a_reshape_is_folded_and_batch_becomes_one() {
    // x[batch, 2, 3] → Shape → Gather(0) → Unsqueeze → Concat([-1]) → Reshape(x, ·) = x[1, 6]
    let bytes = model(
        vec![
            node("Shape", "shape", &["x"], &["s"], vec![]),
            node("Gather", "gather", &["s", "zero"], &["b"], vec![]),
            node("Unsqueeze", "unsq", &["b", "axes"], &["b1"], vec![]),
            node(
                "Concat",
                "concat",
                &["b1", "minus_one"],
                &["target"],
                vec![AttributeProto {
                    name: "axis".into(),
                    i: 0,
                    ..Default::default()
                }],
            ),
            node("Reshape", "reshape", &["x", "target"], &["y"], vec![]),
            node("Relu", "relu", &["y"], &["out"], vec![]),
        ],
        vec![
            tensor_i64("zero", &[], &[0]),
            tensor_i64("axes", &[1], &[0]),
            tensor_i64("minus_one", &[1], &[-1]),
        ],
        value_info("x", &[None, Some(2), Some(3)]),
        "out",
    );
    let g = import_onnx(&bytes, "mem.onnx").unwrap();
    assert_eq!(g.nodes[g.inputs[0]].shape, vec![1, 2, 3]);
    // Input, one Reshape, Relu: the whole shape computation folded away.
    assert_eq!(
        g.nodes.len(),
        3,
        "{:?}",
        g.nodes.iter().map(|n| &n.op).collect::<Vec<_>>()
    );
    assert_eq!(g.nodes[1].shape, vec![1, 6]);
    assert!(matches!(g.nodes[2].op, FloatOp::Relu));
}

#[test]
fn every_unsupported_operator_is_reported_at_once_with_its_node() {
    let bytes = model(
        vec![
            node("LpPool", "pool_a", &["x"], &["a"], vec![]),
            node("Relu", "ok", &["a"], &["b"], vec![]),
            node("Hardmax", "hm", &["b"], &["out"], vec![]),
        ],
        vec![],
        value_info("x", &[Some(1), Some(4)]),
        "out",
    );
    match import_onnx(&bytes, "mem.onnx") {
        Err(ImportError::Unsupported { path, items }) => {
            assert_eq!(path, "mem.onnx");
            let names: Vec<(&str, &str)> = items
                .iter()
                .map(|u| (u.node.as_str(), u.op.as_str()))
                .collect();
            assert_eq!(names, vec![("pool_a", "LpPool"), ("hm", "Hardmax")]);
        }
        other => panic!("expected an Unsupported error, got {other:?}"),
    }
}

#[test]
fn unsupported_configurations_of_known_operators_are_listed_too() {
    // ReduceSum over computed axes and Pad in wrap mode.
    let bytes = model(
        vec![
            node("ReduceSum", "rs", &["x", "x"], &["a"], vec![]),
            node(
                "Pad",
                "pad",
                &["x"],
                &["out"],
                vec![AttributeProto {
                    name: "mode".into(),
                    s: b"wrap".to_vec(),
                    ..Default::default()
                }],
            ),
        ],
        vec![],
        value_info("x", &[Some(4), Some(4)]),
        "out",
    );
    let err = import_onnx(&bytes, "mem.onnx").unwrap_err().to_string();
    assert!(
        err.contains("node `rs` (ReduceSum)")
            && err.contains("axes")
            && err.contains("node `pad` (Pad)")
            && err.contains("wrap"),
        "{err}"
    );
}

#[test]
fn gemm_folds_alpha_beta_and_transposes_into_the_constant_weights() {
    let attrs = vec![
        AttributeProto {
            name: "alpha".into(),
            f: 0.5,
            ..Default::default()
        },
        AttributeProto {
            name: "beta".into(),
            f: 2.0,
            ..Default::default()
        },
        AttributeProto {
            name: "transB".into(),
            i: 1,
            ..Default::default()
        },
    ];
    let bytes = model(
        vec![node("Gemm", "fc", &["x", "w", "c"], &["out"], attrs)],
        vec![
            tensor_f32("w", &[3, 2], &[1., 2., 3., 4., 5., 6.]),
            tensor_f32("c", &[3], &[1., 1., 1.]),
        ],
        value_info("x", &[Some(1), Some(2)]),
        "out",
    );
    let g = import_onnx(&bytes, "mem.onnx").unwrap();
    let vals = g.eval(&[vec![1.0, -1.0]]).unwrap();
    // 0.5 · [1·1 - 2, 3 - 4, 5 - 6] + 2 = [1.5, 1.5, 1.5]
    assert_eq!(vals[g.outputs[0]], vec![1.5, 1.5, 1.5]);
}

#[test]
fn malformed_bytes_are_a_typed_error_naming_the_file() {
    let err = import_onnx(b"\x08\x01\x12garbage", "broken.onnx").unwrap_err();
    assert!(
        matches!(err, ImportError::Malformed { ref path, .. } if path == "broken.onnx"),
        "{err}"
    );
}

/// A causal mask written as `Where(mask, scores, -inf)` before a Softmax: one affine select,
/// and the Softmax takes the `-inf` entries as masked (exactly 0, no infinite constant left).
#[test]
fn a_where_mask_before_a_softmax_becomes_masked_entries() {
    let causal: Vec<f32> = (0..3)
        .flat_map(|i| (0..3).map(move |j| if j <= i { 1.0 } else { 0.0 }))
        .collect();
    let bytes = model(
        vec![
            node("Where", "mask", &["keep", "x", "fill"], &["s"], vec![]),
            node("Softmax", "sm", &["s"], &["out"], vec![]),
        ],
        vec![
            tensor_f32("keep", &[3, 3], &causal),
            tensor_f32("fill", &[1], &[f32::NEG_INFINITY]),
        ],
        value_info("x", &[Some(3), Some(3)]),
        "out",
    );
    let g = import_onnx(&bytes, "mem.onnx").unwrap();
    let mask: Vec<bool> = causal.iter().map(|&c| c == 0.0).collect();
    let sm = g
        .nodes
        .iter()
        .find(|n| matches!(n.op, FloatOp::Softmax(_)))
        .unwrap();
    assert_eq!(sm.op, FloatOp::Softmax(mask));
    for n in &g.nodes {
        if let FloatOp::Affine { add, .. } = &n.op {
            assert!(add.data().iter().all(|v| v.is_finite()), "{:?}", n.op);
        }
    }
    let x: Vec<f32> = (0..9).map(|i| i as f32 * 0.25).collect();
    let out = g.eval(std::slice::from_ref(&x)).unwrap();
    let y = &out[g.outputs[0]];
    for i in 0..3 {
        let row: Vec<f64> = (0..=i).map(|j| f64::from(x[i * 3 + j]).exp()).collect();
        let sum: f64 = row.iter().sum();
        for j in 0..3 {
            let want = if j <= i { row[j] / sum } else { 0.0 };
            assert!((y[i * 3 + j] - want).abs() < 1e-9, "[{i},{j}]");
        }
    }
}

// Regressions of the fuzzing campaign (tests/tests/fuzz.rs).

#[test]
fn an_input_too_large_for_any_circuit_is_refused_before_allocation() {
    // 2^20 · 2^20 elements: once a shape product that overflowed in debug builds.
    for dims in [
        vec![Some(1 << 20), Some(1 << 20)],
        vec![Some(1 << 40), Some(1 << 40)],
    ] {
        let bytes = model(
            vec![node("Relu", "relu", &["x"], &["out"], vec![])],
            vec![],
            value_info("x", &dims),
            "out",
        );
        let err = import_onnx(&bytes, "mem.onnx").unwrap_err().to_string();
        assert!(err.contains("`x`") && err.contains("elements"), "{err}");
    }
}

#[test]
fn a_graph_whose_values_disagree_with_its_shapes_is_an_error_not_a_panic() {
    use crate::float::{FloatGraph, FloatNode};
    // A reshape that claims three elements of a two-element input, then a matmul that would
    // index past the values by the claimed shape.
    let mut g = FloatGraph::default();
    let node = |name: &str, op: FloatOp, inputs: Vec<usize>, shape: Vec<usize>| FloatNode {
        name: name.into(),
        op,
        inputs,
        shape,
        dtype: Default::default(),
    };
    let x = g.push(node("x", FloatOp::Input(0), vec![], vec![2]));
    let r = g.push(node(
        "bad",
        FloatOp::IndexMap(zkinfer_ir::Op::Reshape),
        vec![x],
        vec![1, 3],
    ));
    let m = g.push(node("mm", FloatOp::MatMul, vec![r, r], vec![1, 1]));
    g.inputs = vec![x];
    g.outputs = vec![m];
    let err = g.eval(&[vec![1.0, 2.0]]).unwrap_err().to_string();
    assert!(
        err.contains("`bad`") && err.contains("inconsistent"),
        "{err}"
    );
}

/// An RMSNorm as the dynamo exporter writes it: `x · Reciprocal(Sqrt(mean(x·x) + ε))`.
fn rms_norm_model() -> Vec<u8> {
    let axes = AttributeProto {
        name: "axes".into(),
        ints: vec![-1],
        ..Default::default()
    };
    model(
        vec![
            node("Mul", "square", &["x", "x"], &["sq"], vec![]),
            node("ReduceMean", "mean", &["sq"], &["var"], vec![axes]),
            node("Add", "eps", &["var", "epsilon"], &["var_eps"], vec![]),
            node("Sqrt", "sqrt", &["var_eps"], &["std"], vec![]),
            node("Reciprocal", "recip", &["std"], &["inv"], vec![]),
            node("Mul", "normalize", &["x", "inv"], &["out"], vec![]),
        ],
        vec![tensor_f32("epsilon", &[], &[1e-6])],
        value_info("x", &[Some(1), Some(4), Some(8)]),
        "out",
    )
}

#[test]
fn a_reciprocal_deviation_times_x_is_one_division() {
    let g = import_onnx(&rms_norm_model(), "mem.onnx").unwrap();
    let ops: Vec<&FloatOp> = g.nodes.iter().map(|n| &n.op).collect();
    assert!(ops.iter().any(|op| matches!(op, FloatOp::Div)), "{ops:?}");
    assert!(
        !ops.iter()
            .any(|op| matches!(op, FloatOp::Map(zkinfer_ir::MapFn::Reciprocal))),
        "{ops:?}"
    );
    // Still the RMS normalization.
    let x: Vec<f32> = (0..32)
        .map(|i| ((i * 7 % 11) as f32 - 5.0) * 0.01)
        .collect();
    let got = g.eval(std::slice::from_ref(&x)).unwrap();
    let out = &got[g.outputs[0]];
    for row in 0..4 {
        let xs = &x[row * 8..][..8];
        let rms = (xs.iter().map(|v| (v * v) as f64).sum::<f64>() / 8.0 + 1e-6).sqrt();
        for (j, v) in xs.iter().enumerate() {
            assert!((out[row * 8 + j] - *v as f64 / rms).abs() < 1e-5);
        }
    }
}

/// The largest difference between the quantized graph's output on `x` (its integer reference)
/// and the float graph's.
pub(super) fn quantized_error(g: &crate::FloatGraph, q: &crate::Quantized, x: &[f32]) -> f64 {
    let want = &g.eval(&[x.to_vec()]).unwrap()[g.outputs[0]];
    let input = &q.graph.nodes[q.graph.inputs[0]];
    let qx =
        zkinfer_ir::Tensor::new(input.shape.clone(), zkinfer_ir::quantize(x, input.scale)).unwrap();
    let trace = zkinfer_ir::eval(&q.graph, &q.table, &[qx]).unwrap();
    let out = q.graph.outputs[0];
    let scale = (1u64 << q.graph.nodes[out].scale) as f64;
    trace.values[out]
        .data()
        .iter()
        .zip(want)
        .map(|(&a, b)| (a as f64 / scale - b).abs())
        .fold(0.0, f64::max)
}

#[test]
fn a_small_variance_is_normalized_to_the_activation_precision() {
    // Inputs of magnitude 0.05: a deviation near 0.03. Looked up at the activation scale the
    // variance would keep two or three significant bits (an error of 0.031 here); at its
    // own resolution the normalized values are within a few units of 2^-13.
    let g = import_onnx(&rms_norm_model(), "mem.onnx").unwrap();
    let sample = |seed: usize| -> Vec<f32> {
        (0..32)
            .map(|i| (((i + seed) * 7 % 11) as f32 - 5.0) * 0.01)
            .collect()
    };
    let calibration: Vec<Vec<Vec<f32>>> = (0..4).map(|s| vec![sample(s)]).collect();
    let cfg = crate::QuantConfig {
        scale: 13,
        ..Default::default()
    };
    let q = crate::quantize(&g, &calibration, &cfg).unwrap();
    let worst = quantized_error(&g, &q, &sample(1));
    assert!(worst < 8.0 / 8192.0, "max error {worst}");
}

/// GPT-2's tanh-GELU as the TorchScript exporter writes it, with `c` in place of 0.044715
/// and the operands of the last Mul in the given order.
fn gelu_chain(c: f32, swap: bool) -> Vec<u8> {
    let last: [&str; 2] = if swap {
        ["one", "half"]
    } else {
        ["half", "one"]
    };
    model(
        vec![
            node("Mul", "half", &["x", "c_half"], &["half"], vec![]),
            node("Pow", "pow", &["x", "c_three"], &["cube"], vec![]),
            node("Mul", "mul1", &["cube", "c_cube"], &["cube_c"], vec![]),
            node("Add", "add", &["x", "cube_c"], &["inner"], vec![]),
            node("Mul", "mul2", &["inner", "c_sqrt"], &["scaled"], vec![]),
            node("Tanh", "tanh", &["scaled"], &["th"], vec![]),
            node("Add", "add1", &["th", "c_one"], &["one"], vec![]),
            node("Mul", "mul3", &last, &["out"], vec![]),
        ],
        vec![
            tensor_f32("c_half", &[], &[0.5]),
            tensor_f32("c_three", &[], &[3.0]),
            tensor_f32("c_cube", &[], &[c]),
            tensor_f32("c_sqrt", &[], &[(2.0 / std::f32::consts::PI).sqrt()]),
            tensor_f32("c_one", &[], &[1.0]),
        ],
        value_info("x", &[Some(2), Some(8)]),
        "out",
    )
}

pub(super) fn ops(g: &crate::FloatGraph) -> Vec<&FloatOp> {
    g.nodes.iter().map(|n| &n.op).collect()
}

#[test]
fn an_exported_tanh_gelu_chain_is_one_table() {
    use zkinfer_ir::MapFn;
    for swap in [false, true] {
        let g = import_onnx(&gelu_chain(0.044715, swap), "mem.onnx").unwrap();
        // Input and one GELU lookup: no cube, no tanh left.
        assert_eq!(
            ops(&g),
            vec![&FloatOp::Input(0), &FloatOp::Map(MapFn::GeluTanh)]
        );
        let x: Vec<f32> = (0..16).map(|i| (i as f32 - 8.0) * 0.7).collect();
        let out = &g.eval(std::slice::from_ref(&x)).unwrap()[g.outputs[0]];
        for (v, y) in x.iter().zip(out) {
            let v = *v as f64;
            let want = 0.5
                * v
                * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (v + 0.044715 * v * v * v)).tanh());
            assert!((y - want).abs() < 1e-6, "{v}: {y} vs {want}");
        }
    }
}

#[test]
fn a_chain_that_computes_another_function_is_left_alone() {
    // 0.05 instead of 0.044715: close to GELU, but not it.
    let g = import_onnx(&gelu_chain(0.05, false), "mem.onnx").unwrap();
    assert!(
        ops(&g)
            .iter()
            .any(|op| matches!(op, FloatOp::Map(zkinfer_ir::MapFn::Tanh))),
        "{:?}",
        ops(&g)
    );
    assert!(!ops(&g)
        .iter()
        .any(|op| matches!(op, FloatOp::Map(zkinfer_ir::MapFn::GeluTanh))));
}

#[test]
fn silu_fuses_unless_its_sigmoid_is_read_elsewhere() {
    use zkinfer_ir::MapFn;
    let silu = |extra_reader: bool| {
        let mut nodes = vec![
            node("Sigmoid", "sig", &["x"], &["s"], vec![]),
            node("Mul", "silu", &["x", "s"], &["y"], vec![]),
        ];
        if extra_reader {
            nodes.push(node("Add", "use_s", &["y", "s"], &["out"], vec![]));
        } else {
            nodes.push(node("Relu", "relu", &["y"], &["out"], vec![]));
        }
        model(nodes, vec![], value_info("x", &[Some(1), Some(8)]), "out")
    };
    let g = import_onnx(&silu(false), "mem.onnx").unwrap();
    assert_eq!(
        ops(&g),
        vec![
            &FloatOp::Input(0),
            &FloatOp::Map(MapFn::Silu),
            &FloatOp::Relu
        ]
    );
    // The sigmoid's value is needed by another node: the chain is not only SiLU's.
    let g = import_onnx(&silu(true), "mem.onnx").unwrap();
    assert!(ops(&g).contains(&&FloatOp::Sigmoid), "{:?}", ops(&g));
}

/// `x·W` reshaped, then GPT-2's GELU chain on the reshaped product (as GPT-2's exporter writes
/// its MLP: Gemm, Reshape, GELU).
fn gemm_reshape_gelu() -> Vec<u8> {
    let w: Vec<f32> = (0..48)
        .map(|i| ((i * 5 % 13) as f32 - 6.0) * 0.05)
        .collect();
    let mut nodes = vec![
        node("Gemm", "fc", &["x", "w"], &["y"], vec![]),
        node("Reshape", "view", &["y", "shape"], &["v"], vec![]),
    ];
    let gelu = [
        ("Mul", "half", vec!["v", "c_half"], "half"),
        ("Pow", "pow", vec!["v", "c_three"], "cube"),
        ("Mul", "mul1", vec!["cube", "c_cube"], "cube_c"),
        ("Add", "add", vec!["v", "cube_c"], "inner"),
        ("Mul", "mul2", vec!["inner", "c_sqrt"], "scaled"),
        ("Tanh", "tanh", vec!["scaled"], "th"),
        ("Add", "add1", vec!["th", "c_one"], "one"),
        ("Mul", "mul3", vec!["half", "one"], "out"),
    ];
    for (op, name, ins, out) in gelu {
        nodes.push(node(op, name, &ins, &[out], vec![]));
    }
    model(
        nodes,
        vec![
            tensor_f32("w", &[8, 6], &w),
            tensor_i64("shape", &[3], &[1, 2, 6]),
            tensor_f32("c_half", &[], &[0.5]),
            tensor_f32("c_three", &[], &[3.0]),
            tensor_f32("c_cube", &[], &[0.044715]),
            tensor_f32("c_sqrt", &[], &[(2.0 / std::f32::consts::PI).sqrt()]),
            tensor_f32("c_one", &[], &[1.0]),
        ],
        value_info("x", &[Some(2), Some(8)]),
        "out",
    )
}

#[test]
fn an_activation_behind_a_reshape_fuses_into_the_products_rescale() {
    use zkinfer_ir::{Op, TableFn};
    let g = import_onnx(&gemm_reshape_gelu(), "mem.onnx").unwrap();
    let sample = |seed: usize| -> Vec<f32> {
        (0..16)
            .map(|i| (((i + seed) * 7 % 11) as f32 - 5.0) * 0.3)
            .collect()
    };
    let calibration: Vec<Vec<Vec<f32>>> = (0..4).map(|s| vec![sample(s)]).collect();
    let cfg = crate::QuantConfig {
        scale: 10,
        ..Default::default()
    };
    let q = crate::quantize(&g, &calibration, &cfg).unwrap();
    // One rescale, after the product, and it carries GELU's table: the reshape between them
    // does not leave an identity rescale and a second one for the activation.
    let rescales: Vec<&TableFn> = q
        .graph
        .nodes
        .iter()
        .filter_map(|n| match &n.op {
            Op::Rescale(rs) => Some(&rs.table),
            _ => None,
        })
        .collect();
    assert_eq!(rescales.len(), 1, "{:?}", q.graph.nodes);
    assert!(matches!(rescales[0], TableFn::Map { .. }), "{rescales:?}");
    // And the quantized graph still computes GELU of the product.
    let worst = quantized_error(&g, &q, &sample(2));
    assert!(worst < 0.01, "max error {worst}");
}
