//! The patterns of real exports (issue 39): two-sided broadcasting, `IsNaN`/`IsInf`, a
//! padding mask computed from an input, and symbolic input dimensions.

use crate::float::FloatOp;
use crate::proto::build::{self, attr_int, node, tensor_f32};
use crate::proto::*;
use crate::{import_onnx, import_onnx_with, quantize, ImportError, InputShapes, QuantConfig};

fn float_input(name: &str, dims: &[i64]) -> ValueInfoProto {
    build::value_info(
        name,
        data_type::FLOAT,
        &dims.iter().map(|&d| Some(d)).collect::<Vec<_>>(),
    )
}

/// An input whose dimensions are named symbols (`dynamic_axes`) or fixed sizes.
fn symbolic_input(name: &str, elem_type: i32, dims: &[Result<i64, &str>]) -> ValueInfoProto {
    let mut vi = build::value_info(name, elem_type, &vec![Some(1); dims.len()]);
    let shape = vi
        .r#type
        .as_mut()
        .and_then(|t| t.tensor_type.as_mut())
        .and_then(|t| t.shape.as_mut())
        .unwrap();
    for (d, want) in shape.dim.iter_mut().zip(dims) {
        *d = match want {
            Ok(v) => Dimension {
                dim_value: Some(*v),
                dim_param: None,
            },
            Err(p) => Dimension {
                dim_value: None,
                dim_param: Some(p.to_string()),
            },
        };
    }
    vi
}

fn out(name: &str) -> ValueInfoProto {
    build::value_info(name, data_type::FLOAT, &[])
}

#[test]
fn a_constant_wider_than_the_node_broadcasts_both_ways() {
    // x[1, 1, 1, 4] + c[1, 1, 3, 1] = y[1, 1, 3, 4] (T5's mask `And` has this shape pair).
    let bytes = build::model(
        vec![node("Add", "add", &["x", "c"], &["y"], vec![])],
        vec![tensor_f32("c", &[1, 1, 3, 1], &[10., 20., 30.])],
        vec![float_input("x", &[1, 1, 1, 4])],
        vec![out("y")],
        17,
    );
    let g = import_onnx(&bytes, "mem.onnx").unwrap();
    assert_eq!(g.nodes[g.outputs[0]].shape, vec![1, 1, 3, 4]);
    let v = g.eval(&[vec![1., 2., 3., 4.]]).unwrap();
    assert_eq!(
        v[g.outputs[0]],
        vec![11., 12., 13., 14., 21., 22., 23., 24., 31., 32., 33., 34.]
    );
}

#[test]
fn isnan_and_isinf_of_computed_values_are_false_and_fold_their_guards_away() {
    // where(isnan(x), 0, x) and where(isinf(x), 0, x): the circuit's values are finite, so
    // both are x and no Where is left; over a constant, IsInf looks at each element.
    let bytes = build::model(
        vec![
            node("IsNaN", "nan", &["x"], &["n"], vec![]),
            node("Where", "w1", &["n", "zero", "x"], &["a"], vec![]),
            node("IsInf", "inf", &["a"], &["i"], vec![]),
            node("Where", "w2", &["i", "zero", "a"], &["b"], vec![]),
            node(
                "IsInf",
                "const_inf",
                &["k"],
                &["ki"],
                vec![attr_int("detect_positive", 0)],
            ),
            node("Cast", "cast", &["ki"], &["kf"], vec![attr_int("to", 1)]),
            node("Add", "add", &["b", "kf"], &["y"], vec![]),
        ],
        vec![
            tensor_f32("zero", &[], &[0.]),
            tensor_f32("k", &[3], &[f32::NEG_INFINITY, 1., f32::INFINITY]),
        ],
        vec![float_input("x", &[3])],
        vec![out("y")],
        17,
    );
    let g = import_onnx(&bytes, "mem.onnx").unwrap();
    assert!(
        !g.nodes.iter().any(|n| n.op == FloatOp::Where),
        "{:?}",
        g.nodes.iter().map(|n| &n.op).collect::<Vec<_>>()
    );
    let v = g.eval(&[vec![-1., 0.5, 2.]]).unwrap();
    // Only −∞ counts with detect_positive = 0.
    assert_eq!(v[g.outputs[0]], vec![0., 0.5, 2.]);
}

/// scores x[1, 4] + (1 − float(mask)) · lowest → Softmax, as BERT-style exports write it.
fn padded_softmax() -> Vec<u8> {
    build::model(
        vec![
            node("Cast", "cast", &["mask"], &["m"], vec![attr_int("to", 1)]),
            node("Sub", "inv", &["one", "m"], &["inv"], vec![]),
            node("Mul", "fill", &["inv", "lowest"], &["bias"], vec![]),
            node("Add", "add", &["x", "bias"], &["s"], vec![]),
            node(
                "Softmax",
                "softmax",
                &["s"],
                &["p"],
                vec![attr_int("axis", -1)],
            ),
        ],
        vec![
            tensor_f32("one", &[], &[1.]),
            tensor_f32("lowest", &[], &[f32::MIN]),
        ],
        vec![
            float_input("x", &[1, 4]),
            build::value_info("mask", data_type::INT64, &[Some(1), Some(4)]),
        ],
        vec![out("p")],
        17,
    )
}

#[test]
fn a_computed_padding_mask_gives_masked_positions_exactly_zero_probability() {
    let g = import_onnx(&padded_softmax(), "mem.onnx").unwrap();
    let sample = vec![vec![0.5, -0.25, 3.0, 2.0], vec![1., 1., 0., 0.]];
    let v = g.eval(&sample).unwrap();
    let p = &v[g.outputs[0]];
    assert!(p[2] < 1e-20 && p[3] < 1e-20, "{p:?}");
    assert!((p[0] + p[1] - 1.0).abs() < 1e-9, "{p:?}");
    // The integer evaluation (what the circuit proves) gives exactly 0 where the mask is 0,
    // with the masked scores above the kept ones, on every mask.
    let q = quantize(&g, std::slice::from_ref(&sample), &QuantConfig::default()).unwrap();
    for mask in [[1., 1., 0., 0.], [1., 0., 1., 0.], [0., 0., 0., 1.]] {
        let inputs: Vec<zkinfer_ir::Tensor<i64>> = [sample[0].clone(), mask.to_vec()]
            .iter()
            .zip(&q.graph.inputs)
            .map(|(x, &i)| {
                let n = &q.graph.nodes[i];
                zkinfer_ir::Tensor::new(n.shape.clone(), zkinfer_ir::quantize(x, n.scale)).unwrap()
            })
            .collect();
        let trace = zkinfer_ir::eval(&q.graph, &q.table, &inputs).unwrap();
        let out = trace.values[q.graph.outputs[0]].data();
        for (j, &m) in mask.iter().enumerate() {
            assert_eq!(out[j] == 0, m == 0.0, "mask {mask:?}: {out:?}");
        }
    }
}

#[test]
fn symbolic_dimensions_are_fixed_by_shape_then_by_the_sample_then_to_one() {
    let bytes = build::model(
        vec![
            node("Relu", "r", &["x"], &["y"], vec![]),
            node("Cast", "c", &["m"], &["z"], vec![attr_int("to", 1)]),
        ],
        vec![],
        vec![
            symbolic_input(
                "x",
                data_type::FLOAT,
                &[Err("batch"), Err("sequence"), Ok(4)],
            ),
            symbolic_input("m", data_type::INT64, &[Err("batch"), Err("sequence")]),
        ],
        vec![out("y"), out("z")],
        17,
    );
    let import = |how: InputShapes| import_onnx_with(&bytes, "mem.onnx", &how);
    let shapes = |g: &crate::FloatGraph| -> Vec<Vec<usize>> {
        g.inputs.iter().map(|&i| g.nodes[i].shape.clone()).collect()
    };
    // By the sample: x's 32 values fix the sequence at 8 and the batch, before it, at 1.
    let g = import(InputShapes {
        named: vec![],
        lengths: Some(vec![32, 8]),
    })
    .unwrap();
    assert_eq!(shapes(&g), vec![vec![1, 8, 4], vec![1, 8]]);
    let said: Vec<String> = g.fixed.iter().map(ToString::to_string).collect();
    assert_eq!(
        said,
        vec![
            "batch = 1 (the sample's x, leading)",
            "sequence = 8 (the sample's x)"
        ]
    );
    // By name first: the sample then has to agree.
    let g = import(InputShapes {
        named: vec![("m".into(), vec![2, 3])],
        lengths: Some(vec![24, 6]),
    })
    .unwrap();
    assert_eq!(shapes(&g), vec![vec![2, 3, 4], vec![2, 3]]);
    // Nothing given: every symbol is 1, and said so.
    let g = import(InputShapes::default()).unwrap();
    assert_eq!(shapes(&g), vec![vec![1, 1, 4], vec![1, 1]]);
    assert!(g.fixed.iter().all(|f| f.by == "nothing fixed it"));
    // Refusals name the input and say why.
    let refused = |how: InputShapes, name: &str, why: &str| match import(how) {
        Err(e @ ImportError::InFile { .. }) => {
            let said = e.to_string();
            assert!(
                said.starts_with("mem.onnx: ")
                    && said.contains(&format!("input `{name}`"))
                    && said.contains(why),
                "{said}"
            )
        }
        other => panic!("expected an input error, got {other:?}"),
    };
    refused(
        InputShapes {
            named: vec![("x".into(), vec![1, 8, 5])],
            lengths: None,
        },
        "x",
        "the model fixes it at 4",
    );
    refused(
        InputShapes {
            named: vec![("ids".into(), vec![1, 8])],
            lengths: None,
        },
        "ids",
        "names no graph input",
    );
    refused(
        InputShapes {
            named: vec![],
            lengths: Some(vec![30, 8]),
        },
        "x",
        "do not fill",
    );
    refused(
        InputShapes {
            named: vec![],
            lengths: Some(vec![32, 6]),
        },
        "m",
        "the sample has 6 values; its shape [1, 8] holds 8",
    );
}

#[test]
fn an_empty_slice_is_an_empty_constant_and_concat_skips_it() {
    // The shape [1, 3] sliced from 5 on is empty; concatenated with [-1] it is [-1], which
    // reshapes x[1, 3] to [3] (nn.MultiheadAttention's export computes a shape this way).
    let bytes = build::model(
        vec![
            node("Shape", "shape", &["x"], &["s"], vec![]),
            node("Slice", "slice", &["s", "five", "end"], &["e"], vec![]),
            node(
                "Concat",
                "concat",
                &["e", "minus_one"],
                &["target"],
                vec![attr_int("axis", 0)],
            ),
            node("Reshape", "reshape", &["x", "target"], &["y"], vec![]),
        ],
        vec![
            build::tensor_i64("five", &[1], &[5]),
            build::tensor_i64("end", &[1], &[i64::MAX]),
            build::tensor_i64("minus_one", &[1], &[-1]),
        ],
        vec![float_input("x", &[1, 3])],
        vec![out("y")],
        17,
    );
    let g = import_onnx(&bytes, "mem.onnx").unwrap();
    assert_eq!(g.nodes[g.outputs[0]].shape, vec![3]);
}

/// A model whose weight `w` is stored externally: `location`, `offset` and `length`.
fn external_weight(location: &str, offset: usize) -> Vec<u8> {
    let mut w = tensor_f32("w", &[2], &[0., 0.]);
    w.raw_data.clear();
    w.data_location = 1;
    w.external_data = [
        ("location", location.to_string()),
        ("offset", offset.to_string()),
        ("length", "8".to_string()),
    ]
    .into_iter()
    .map(|(key, value)| StringStringEntryProto {
        key: key.into(),
        value,
    })
    .collect();
    build::model(
        vec![node("Mul", "mul", &["x", "w"], &["y"], vec![])],
        vec![w],
        vec![float_input("x", &[2])],
        vec![out("y")],
        17,
    )
}

#[test]
fn external_tensor_data_is_read_from_beside_the_model_and_nowhere_else() {
    let dir = std::env::temp_dir().join(format!("zkinfer-external-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut data = vec![0u8; 4];
    data.extend(2.0f32.to_le_bytes());
    data.extend(3.0f32.to_le_bytes());
    std::fs::write(dir.join("model.onnx.data"), &data).unwrap();
    let path = dir.join("model.onnx");
    std::fs::write(&path, external_weight("model.onnx.data", 4)).unwrap();
    let g = crate::load_onnx(&path).unwrap();
    assert_eq!(g.eval(&[vec![1., 1.]]).unwrap()[g.outputs[0]], vec![2., 3.]);
    // Refused, each naming the tensor: a file outside the folder, bytes past the end, and
    // external data without a file to be beside.
    for (bytes, why) in [
        (
            external_weight("../model.onnx.data", 4),
            "not inside the model's folder",
        ),
        (external_weight("model.onnx.data", 8), "past the end"),
    ] {
        std::fs::write(&path, bytes).unwrap();
        let err = crate::load_onnx(&path).unwrap_err().to_string();
        assert!(err.contains("tensor `w`") && err.contains(why), "{err}");
    }
    let err = import_onnx(&external_weight("model.onnx.data", 4), "mem.onnx")
        .unwrap_err()
        .to_string();
    assert!(err.contains("import the model from its file"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The integer evaluation (what the circuit proves) of `g`'s first output on `sample`,
/// quantized as calibrated on it; `Err` when the evaluator refuses the sample.
fn integer_outputs(
    g: &crate::FloatGraph,
    calibration: &[Vec<f32>],
    sample: &[Vec<f32>],
) -> Result<Vec<f32>, String> {
    let q = quantize(g, &[calibration.to_vec()], &QuantConfig::default()).unwrap();
    let inputs: Vec<zkinfer_ir::Tensor<i64>> = sample
        .iter()
        .zip(&q.graph.inputs)
        .map(|(x, &i)| {
            let n = &q.graph.nodes[i];
            zkinfer_ir::Tensor::new(n.shape.clone(), zkinfer_ir::quantize(x, n.scale)).unwrap()
        })
        .collect();
    let trace = zkinfer_ir::eval(&q.graph, &q.table, &inputs).map_err(|e| e.to_string())?;
    let out = q.graph.outputs[0];
    Ok(zkinfer_ir::dequantize(
        trace.values[out].data(),
        q.graph.nodes[out].scale,
    ))
}

fn int_input(name: &str, dims: &[i64]) -> ValueInfoProto {
    build::value_info(
        name,
        data_type::INT64,
        &dims.iter().map(|&d| Some(d)).collect::<Vec<_>>(),
    )
}

#[test]
fn gather_nd_and_scatter_by_computed_indices_pick_what_onnx_says() {
    // GatherND: rows of x[3, 2] by the index input; ScatterElements along axis 1 and
    // ScatterND write an updates input where the index input says.
    let gather = build::model(
        vec![node("GatherND", "g", &["x", "i"], &["y"], vec![])],
        vec![],
        vec![float_input("x", &[3, 2]), int_input("i", &[2, 1])],
        vec![out("y")],
        17,
    );
    let scatter = build::model(
        vec![node(
            "ScatterElements",
            "s",
            &["x", "i", "u"],
            &["y"],
            vec![attr_int("axis", 1)],
        )],
        vec![],
        vec![
            float_input("x", &[2, 3]),
            int_input("i", &[2, 1]),
            float_input("u", &[2, 1]),
        ],
        vec![out("y")],
        17,
    );
    let scatter_nd = build::model(
        vec![node("ScatterND", "s", &["zeros", "i", "u"], &["y"], vec![])],
        vec![tensor_f32("zeros", &[4], &[0.; 4])],
        vec![int_input("i", &[2, 1]), float_input("u", &[2])],
        vec![out("y")],
        17,
    );
    let x = vec![0.5, -0.25, 1.0, 2.0, -1.5, 0.75];
    type Case<'a> = (&'a [u8], Vec<Vec<f32>>, Vec<f32>);
    let cases: [Case<'_>; 3] = [
        (
            &gather,
            vec![x.clone(), vec![2., 0.]],
            vec![-1.5, 0.75, 0.5, -0.25],
        ),
        (
            &scatter,
            vec![x.clone(), vec![2., 0.], vec![9., -9.]],
            vec![0.5, -0.25, 9.0, -9.0, -1.5, 0.75],
        ),
        (
            &scatter_nd,
            vec![vec![3., 1.], vec![1.5, -2.]],
            vec![0., -2., 0., 1.5],
        ),
    ];
    for (bytes, sample, want) in cases {
        let g = import_onnx(bytes, "mem.onnx").unwrap();
        let float = g.eval(&sample).unwrap();
        let got: Vec<f32> = float[g.outputs[0]].iter().map(|&v| v as f32).collect();
        assert_eq!(got, want);
        assert_eq!(integer_outputs(&g, &sample, &sample).unwrap(), want);
    }
    // Updates of another shape than ONNX's for those indices are refused, naming the node.
    let wrong = build::model(
        vec![node("ScatterND", "s", &["zeros", "i", "u"], &["y"], vec![])],
        vec![tensor_f32("zeros", &[4], &[0.; 4])],
        vec![int_input("i", &[2, 1]), float_input("u", &[3])],
        vec![out("y")],
        17,
    );
    let err = import_onnx(&wrong, "mem.onnx").unwrap_err().to_string();
    assert!(
        err.contains("node `s` (ScatterND)") && err.contains("ONNX wants [2]"),
        "{err}"
    );
    // An index past the axis is refused by the integer evaluation (and so by the prover),
    // not wrapped or clamped.
    let g = import_onnx(&gather, "mem.onnx").unwrap();
    let calib = vec![x.clone(), vec![2., 0.]];
    assert!(integer_outputs(&g, &calib, &[x.clone(), vec![3., 0.]]).is_err());
    let g = import_onnx(&scatter, "mem.onnx").unwrap();
    let calib = vec![x.clone(), vec![2., 0.], vec![9., -9.]];
    assert!(integer_outputs(&g, &calib, &[x, vec![3., 0.], vec![9., -9.]]).is_err());
}

#[test]
fn pow_of_a_constant_base_by_a_computed_exponent_is_an_exponential() {
    let pow = |base: f32| {
        build::model(
            vec![node("Pow", "pow", &["b", "y"], &["z"], vec![])],
            vec![tensor_f32("b", &[], &[base])],
            vec![float_input("y", &[4])],
            vec![out("z")],
            17,
        )
    };
    let g = import_onnx(&pow(10.0), "mem.onnx").unwrap();
    let y = vec![0.0, 0.5, -1.0, 1.25];
    let want: Vec<f32> = y.iter().map(|&v| 10f32.powf(v)).collect();
    let float = g.eval(std::slice::from_ref(&y)).unwrap();
    for (g, w) in float[g.outputs[0]].iter().zip(&want) {
        assert!((*g as f32 - w).abs() < 1e-4 * w, "{g} vs {w}");
    }
    let got = integer_outputs(&g, std::slice::from_ref(&y), std::slice::from_ref(&y)).unwrap();
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < 0.02 * w.max(1.0), "{got:?} vs {want:?}");
    }
    let err = import_onnx(&pow(-2.0), "mem.onnx").unwrap_err().to_string();
    assert!(
        err.contains("node `pow` (Pow)") && err.contains("positive base"),
        "{err}"
    );
}

#[test]
fn pow_of_a_computed_base_by_a_computed_exponent_goes_through_its_logarithm() {
    let bytes = build::model(
        vec![node("Pow", "pow", &["x", "y"], &["z"], vec![])],
        vec![],
        vec![float_input("x", &[5]), float_input("y", &[5])],
        vec![out("z")],
        17,
    );
    let g = import_onnx(&bytes, "mem.onnx").unwrap();
    assert!(
        g.nodes
            .iter()
            .any(|n| matches!(n.op, FloatOp::Map(zkinfer_ir::MapFn::Log))),
        "x^y with both computed is exp(y ln x)"
    );
    let x: Vec<f32> = vec![0.0, 0.5, 2.0, 3.0, 7.0];
    let y: Vec<f32> = vec![1.5, -1.0, 0.5, 2.0, 1.25];
    // A zero base gives 0 (0^1.5), not exp(1.5 · ln 0's table value).
    let want: Vec<f32> = x.iter().zip(&y).map(|(a, b)| a.powf(*b)).collect();
    let inputs = [x, y];
    let got = integer_outputs(&g, &inputs, &inputs).unwrap();
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < 0.03 * w.max(1.0), "{got:?} vs {want:?}");
    }
}

#[test]
fn nonzero_of_a_fixed_pattern_folds_and_of_computed_values_is_refused() {
    // The coordinates of k's nonzero elements, added to x: [[0, 1], [0, 1]] + x.
    let bytes = build::model(
        vec![
            node("NonZero", "nz", &["k"], &["n"], vec![]),
            node("Cast", "cast", &["n"], &["f"], vec![attr_int("to", 1)]),
            node("Add", "add", &["x", "f"], &["y"], vec![]),
        ],
        vec![tensor_f32("k", &[2, 2], &[1., 0., 0., 3.])],
        vec![float_input("x", &[2, 2])],
        vec![out("y")],
        17,
    );
    let g = import_onnx(&bytes, "mem.onnx").unwrap();
    let v = g.eval(&[vec![0.5; 4]]).unwrap();
    assert_eq!(v[g.outputs[0]], vec![0.5, 1.5, 0.5, 1.5]);
    let bytes = build::model(
        vec![node("NonZero", "nz", &["x"], &["y"], vec![])],
        vec![],
        vec![float_input("x", &[4])],
        vec![out("y")],
        17,
    );
    let err = import_onnx(&bytes, "mem.onnx").unwrap_err().to_string();
    assert!(
        err.contains("node `nz` (NonZero)") && err.contains("depends on them"),
        "{err}"
    );
}
