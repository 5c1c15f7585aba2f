//! `--backend cuda` refuses, before any work, what the CUDA prover cannot prove: a circuit
//! with Freivalds' second phase (halo2-axiom-gpu 1.0.1 proves single-phase circuits only).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use zkinfer_onnx::QuantConfig;
use zkinfer_prover::{check_backend, Backend, CUDA_BUILT};
use zkinfer_tests::corpus;

fn settings(entry: &str) -> zkinfer_ir::Settings {
    let dir = corpus().join(entry);
    let samples = zkinfer_prover::read_samples(&dir.join("input.json")).unwrap();
    let (model, _) =
        zkinfer_prover::compile(&dir.join("model.onnx"), &samples, &QuantConfig::default())
            .unwrap();
    model.settings
}

#[test]
fn two_phase_circuits_are_refused_on_cuda_and_prove_on_cpu() {
    let block = settings("transformer/tiny_block_op17");
    assert!(block.freivalds, "the block multiplies two computed tensors");
    let err = check_backend(Backend::Cuda, &block)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("single-phase") && err.contains("--backend cpu"),
        "{err}"
    );
    check_backend(Backend::Cpu, &block).unwrap();

    let mlp = settings("sklearn/mlp2_relu_digits_stdops");
    assert!(!mlp.freivalds);
    match CUDA_BUILT {
        true => check_backend(Backend::Cuda, &mlp).unwrap(),
        false => {
            let err = check_backend(Backend::Cuda, &mlp).unwrap_err().to_string();
            assert!(err.contains("built without CUDA"), "{err}");
        }
    }
}
