//! Hugging Face models exported the ordinary way (`tests/hf-exports`, made by
//! `scripts/gen_hf_exports.py`): BERT, DistilBERT, RoBERTa, GPT-2, Llama, Qwen2, Mistral, the T5
//! encoder, ViT and the Whisper encoder, each through the TorchScript exporter (opset 17) and
//! the dynamo exporter (opset 20), with dynamic batch and sequence axes and the
//! `attention_mask` a tokenizer returns. Each compiles as `zkinfer compile --calibrate
//! samples.json` does (the sequence fixed by the sample), and the integer reference (what the
//! proof states) is compared with onnxruntime on a padded and an unpadded sample: the argmax
//! at every unmasked position and every output there within the tolerance. Proving and
//! verifying each through the CLI is `benches/hf_exports.sh`; here two are proven.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use zkinfer_ir::CompiledModel;
use zkinfer_prover::{compile_with, outputs, read_samples, witness, CompileOptions};
use zkinfer_tests::{prove_and_verify, tolerance};

fn entries() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("hf-exports");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("model.onnx").is_file())
        .collect();
    dirs.sort();
    dirs
}

fn name(dir: &Path) -> String {
    dir.file_name().unwrap().to_string_lossy().into_owned()
}

/// `samples.json`: the samples, onnxruntime's outputs on each, and each sample's unmasked
/// positions (`None`: every position).
struct Samples {
    inputs: Vec<Vec<Vec<f32>>>,
    expected: Vec<Vec<Vec<f32>>>,
    unmasked: Vec<Option<Vec<usize>>>,
}

fn samples(dir: &Path) -> Samples {
    let path = dir.join("samples.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let floats = |v: &serde_json::Value| -> Vec<f32> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect()
    };
    Samples {
        inputs: read_samples(&path).unwrap(),
        expected: v["expected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_array().unwrap().iter().map(floats).collect())
            .collect(),
        unmasked: v["unmasked"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| {
                u.as_array()
                    .map(|p| p.iter().map(|i| i.as_u64().unwrap() as usize).collect())
            })
            .collect(),
    }
}

/// The activation scale every export is compiled at (`--scale 12`).
const SCALE: u32 = 12;

fn compile(dir: &Path, s: &Samples) -> CompiledModel {
    let opts = CompileOptions {
        scale: Some(SCALE),
        ..CompileOptions::default()
    };
    compile_with(&dir.join("model.onnx"), &s.inputs, &opts)
        .unwrap_or_else(|e| panic!("{}: {e:#}", name(dir)))
        .model
}

/// Index of the largest value.
fn argmax(v: &[f32]) -> usize {
    (0..v.len()).fold(0, |b, i| if v[i] > v[b] { i } else { b })
}

/// What one output compares to onnxruntime's over the unmasked rows (positions): the rows
/// whose argmax differs, the largest error, and the elements past the tolerance.
struct Comparison {
    argmax_differs: Vec<usize>,
    /// Rows where onnxruntime's best two outputs tie within two tolerances.
    ties: usize,
    max_error: f32,
    outside: usize,
    checked: usize,
}

fn compare(
    got: &[f32],
    want: &[f32],
    width: usize,
    unmasked: Option<&[usize]>,
    scale: u32,
) -> Comparison {
    let rows = want.len() / width;
    let keep: Vec<usize> = unmasked.map_or_else(|| (0..rows).collect(), <[usize]>::to_vec);
    let mut c = Comparison {
        argmax_differs: Vec::new(),
        ties: 0,
        max_error: 0.0,
        outside: 0,
        checked: 0,
    };
    for &row in keep.iter().filter(|&&r| r < rows) {
        let (g, w) = (
            &got[row * width..(row + 1) * width],
            &want[row * width..(row + 1) * width],
        );
        // Random-init logits: where onnxruntime's best two are within two tolerances of each
        // other, either is the answer (a tie to float noise); elsewhere the argmax must agree.
        let best = argmax(w);
        let second = (0..width)
            .filter(|&j| j != best)
            .map(|j| w[j])
            .fold(f32::NEG_INFINITY, f32::max);
        if w[best] - second < 2.0 * tolerance(scale, w[best]) {
            c.ties += 1;
        } else if argmax(g) != best {
            c.argmax_differs.push(row);
        }
        for (a, b) in g.iter().zip(w) {
            c.max_error = c.max_error.max((a - b).abs());
            c.outside += usize::from((a - b).abs() > tolerance(scale, *b));
            c.checked += 1;
        }
    }
    c
}

#[test]
fn every_hugging_face_export_matches_onnxruntime_at_every_unmasked_position() {
    let dirs = entries();
    assert!(dirs.len() >= 20, "only {} exports", dirs.len());
    let mut failures = Vec::new();
    for dir in &dirs {
        let s = samples(dir);
        let model = compile(dir, &s);
        let out = model.graph.outputs[0];
        let node = &model.graph.nodes[out];
        let width = node.shape.last().copied().unwrap_or(1);
        let mut line = Vec::new();
        let (mut ties, mut positions) = (0, 0);
        for (i, input) in s.inputs.iter().enumerate() {
            let got = match witness(&model, input) {
                Ok(t) => outputs(&model, &t),
                Err(e) => {
                    failures.push(format!("{} sample {i}: {e:#}", name(dir)));
                    continue;
                }
            };
            let c = compare(
                &got[0],
                &s.expected[i][0],
                width,
                s.unmasked[i].as_deref(),
                node.scale,
            );
            if !c.argmax_differs.is_empty() {
                failures.push(format!(
                    "{} sample {i}: the argmax differs from onnxruntime's at positions {:?}",
                    name(dir),
                    c.argmax_differs
                ));
            }
            if c.outside > 0 {
                failures.push(format!(
                    "{} sample {i}: {} of {} outputs past the tolerance (max |error| {:.4})",
                    name(dir),
                    c.outside,
                    c.checked,
                    c.max_error
                ));
            }
            line.push(format!("{:.4}", c.max_error));
            ties += c.ties;
            positions += c.checked / width;
        }
        println!(
            "{}: k = {}, scale 2^-{}, max |error| (padded, unpadded) {}; argmax compared at {} of {positions} unmasked positions ({ties} ties)",
            name(dir),
            model.settings.k,
            node.scale,
            line.join(", "),
            positions - ties
        );
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn padded_text_models_prove_and_verify() {
    // A decoder (causal and padding masks combined) and an encoder through the other
    // exporter, each proven on its padded sample and verified; the verified output is the
    // integer reference's.
    for entry in ["gpt2_op17", "bert_dynamo"] {
        let dir = entries().into_iter().find(|d| name(d) == entry).unwrap();
        let s = samples(&dir);
        let model = compile(&dir, &s);
        let verified = prove_and_verify(&model, &dir.join("input.json"))
            .unwrap_or_else(|e| panic!("{entry}: {e:#}"));
        let reference = outputs(&model, &witness(&model, &s.inputs[0]).unwrap());
        assert_eq!(verified.outputs, reference, "{entry}");
        println!("{entry}: proven and verified at k = {}", model.settings.k);
    }
}
