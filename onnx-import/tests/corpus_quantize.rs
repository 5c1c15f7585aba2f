//! The importer and quantizer against `../shared/corpus`: the integer reference, dequantized,
//! matches onnxruntime's recorded output.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use zkinfer_ir::{dequantize, eval, quantize as quantize_values, Tensor};
use zkinfer_onnx::{load_onnx, quantize, QuantConfig};

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus")
}

fn read_data(path: &PathBuf, key: &str) -> Vec<Vec<f32>> {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    v[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            a.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect()
        })
        .collect()
}

fn max_error(model: &str) -> (f32, zkinfer_ir::TableBounds) {
    let dir = corpus().join(model);
    let fg = load_onnx(&dir.join("model.onnx")).unwrap();
    let input = read_data(&dir.join("input.json"), "input_data");
    let expected = read_data(&dir.join("expected_output.json"), "output_data");
    let q = quantize(&fg, std::slice::from_ref(&input), &QuantConfig::default()).unwrap();
    let g = &q.graph;
    let ts: Vec<Tensor<i64>> = g
        .inputs
        .iter()
        .zip(&input)
        .map(|(&id, v)| {
            Tensor::new(
                g.nodes[id].shape.clone(),
                quantize_values(v, g.nodes[id].scale),
            )
            .unwrap()
        })
        .collect();
    let trace = eval(g, &q.table, &ts).unwrap();
    let mut worst = 0f32;
    for (o, exp) in g.outputs.iter().zip(&expected) {
        let got = dequantize(trace.values[*o].data(), g.nodes[*o].scale);
        for (a, b) in got.iter().zip(exp) {
            worst = worst.max((a - b).abs());
        }
    }
    (worst, q.table)
}

#[test]
fn sklearn_models_quantize_close_to_onnxruntime() {
    for m in [
        "sklearn/logreg_iris_stdops",
        "sklearn/mlp1_relu_digits_stdops",
        "sklearn/mlp2_relu_digits_stdops",
        "sklearn/mlp2_relu_scaled_breast_cancer_stdops",
    ] {
        let (err, tb) = max_error(m);
        eprintln!("{m}: max abs error {err}, table {tb:?}");
        assert!(err < 0.05, "{m}: {err}");
    }
}
