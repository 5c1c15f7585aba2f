//! On-chain verification fixtures: models compiled for the EVM and proven, a 28×28 MNIST-sized
//! CNN built here, and an in-process chain with zkinfer's verifier deployed.

use std::path::{Path, PathBuf};

use zkinfer_onnx::proto::build::{attr_int, attr_ints, model, node, tensor_f32, value_info};
use zkinfer_prover::{
    compile_with, load_srs, prove, prove_trace, read_inputs, setup, split_model, witness,
    witness_quantized, Activations, Backend, CompileOptions, Cuts,
};
use zkinfer_verifier::evm::{self, Chain, EvmError, Key};
use zkinfer_verifier::{Bundle, ProofFile};

use crate::corpus;

/// One proof of one model, ready for the chain.
pub struct Case {
    pub name: String,
    pub bundle: Bundle,
    pub proof: ProofFile,
}

/// Compiles `onnx` for the EVM (packed public values) calibrated on `input`, sets up and proves.
pub fn evm_case(name: &str, onnx: &Path, input: &[Vec<f32>]) -> anyhow::Result<Case> {
    let opts = CompileOptions {
        evm: true,
        ..CompileOptions::default()
    };
    let compiled = compile_with(onnx, &[input.to_vec()], &opts)?;
    let model = compiled.model;
    let (params, srs) = load_srs(model.settings.k, None)?;
    let keys = setup(&model, &params, srs)?;
    let proof = prove(&model, &keys, &params, input, None)?;
    Ok(Case {
        name: name.into(),
        bundle: keys.bundle,
        proof,
    })
}

/// [`evm_case`] of a corpus entry on its `input.json`.
pub fn corpus_case(entry: &str) -> anyhow::Result<Case> {
    let dir = corpus().join(entry);
    let input = read_inputs(&dir.join("input.json"))?;
    evm_case(entry, &dir.join("model.onnx"), &input)
}

/// A corpus entry split into `n` shards (compiled without packing, as `split` requires), each
/// proven from the previous shard's activations.
pub fn shard_cases(entry: &str, n: usize) -> anyhow::Result<Vec<Case>> {
    let dir = corpus().join(entry);
    let input = read_inputs(&dir.join("input.json"))?;
    let compiled = compile_with(
        &dir.join("model.onnx"),
        std::slice::from_ref(&input),
        &CompileOptions::default(),
    )?;
    let shards = split_model(&compiled.model, &Cuts::Balanced(n), false)?;
    let mut cases = Vec::new();
    let mut activations: Option<Activations> = None;
    for (i, shard) in shards.iter().enumerate() {
        let m = &shard.model;
        let trace = match &activations {
            None => witness(m, &input)?,
            Some(a) => witness_quantized(m, &a.inputs_for(m, "activations")?)?,
        };
        let (params, srs) = load_srs(m.settings.k, None)?;
        let keys = setup(m, &params, srs)?;
        let trace = std::sync::Arc::new(trace);
        let proof = prove_trace(Backend::Cpu, m, &keys, &params, trace.clone(), None)?;
        activations = Some(Activations::from_trace(m, &trace));
        cases.push(Case {
            name: format!("{entry} shard {}/{n}", i + 1),
            bundle: keys.bundle,
            proof,
        });
    }
    Ok(cases)
}

/// Deterministic weights in `[-scale, scale]`.
fn weights(seed: u64, n: usize, scale: f32) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
        })
        .collect()
}

/// The classic MNIST convolutional classifier at a small width: a 1×1×28×28 image, Conv 3×3
/// (4 channels), ReLU, MaxPool 2, Conv 3×3 (8 channels), ReLU, MaxPool 2, Flatten, Gemm to 10
/// logits; deterministic weights.
pub fn mnist_cnn_onnx() -> Vec<u8> {
    let f = 1; // ONNX FLOAT
    let nodes = vec![
        node("Conv", "conv1", &["image", "w1", "b1"], &["c1"], vec![]),
        node("Relu", "relu1", &["c1"], &["r1"], vec![]),
        node(
            "MaxPool",
            "pool1",
            &["r1"],
            &["p1"],
            vec![
                attr_ints("kernel_shape", &[2, 2]),
                attr_ints("strides", &[2, 2]),
            ],
        ),
        node("Conv", "conv2", &["p1", "w2", "b2"], &["c2"], vec![]),
        node("Relu", "relu2", &["c2"], &["r2"], vec![]),
        node(
            "MaxPool",
            "pool2",
            &["r2"],
            &["p2"],
            vec![
                attr_ints("kernel_shape", &[2, 2]),
                attr_ints("strides", &[2, 2]),
            ],
        ),
        node(
            "Flatten",
            "flatten",
            &["p2"],
            &["flat"],
            vec![attr_int("axis", 1)],
        ),
        node("Gemm", "fc", &["flat", "w3", "b3"], &["logits"], vec![]),
    ];
    let init = vec![
        tensor_f32("w1", &[4, 1, 3, 3], &weights(1, 36, 0.5)),
        tensor_f32("b1", &[4], &weights(2, 4, 0.1)),
        tensor_f32("w2", &[8, 4, 3, 3], &weights(3, 288, 0.25)),
        tensor_f32("b2", &[8], &weights(4, 8, 0.1)),
        tensor_f32("w3", &[200, 10], &weights(5, 2000, 0.15)),
        tensor_f32("b3", &[10], &weights(6, 10, 0.1)),
    ];
    model(
        nodes,
        init,
        vec![value_info(
            "image",
            f,
            &[Some(1), Some(1), Some(28), Some(28)],
        )],
        vec![value_info("logits", f, &[Some(1), Some(10)])],
        17,
    )
}

/// A 28×28 image: a ring, as a handwritten zero, in `[0, 1]`.
pub fn mnist_image() -> Vec<f32> {
    (0..28 * 28)
        .map(|i| {
            let (y, x) = ((i / 28) as f32 - 13.5, (i % 28) as f32 - 13.5);
            let r = (x * x / 49.0 + y * y / 100.0).sqrt();
            (1.0 - (r - 1.0).abs() * 4.0).clamp(0.0, 1.0)
        })
        .collect()
}

/// [`mnist_cnn_onnx`] written under `dir`, compiled for the EVM and proven on [`mnist_image`].
pub fn mnist_case(dir: &Path) -> anyhow::Result<Case> {
    std::fs::create_dir_all(dir)?;
    let onnx: PathBuf = dir.join("mnist_cnn.onnx");
    std::fs::write(&onnx, mnist_cnn_onnx())?;
    evm_case("mnist_cnn (28×28, built here)", &onnx, &[mnist_image()])
}

/// An in-process chain with zkinfer's verifier deployed (compiled with solc's optimizer).
pub struct Onchain {
    pub chain: Chain,
    pub verifier: evm::Address,
    pub verifier_code: usize,
}

impl Onchain {
    pub fn new() -> Result<Self, EvmError> {
        let compiled = evm::verifier(true)?;
        let mut chain = Chain::new();
        let verifier = chain.deploy(compiled.deployment)?;
        Ok(Self {
            chain,
            verifier,
            verifier_code: compiled.runtime.len(),
        })
    }

    /// Deploys a key contract whose runtime code is `runtime`.
    pub fn deploy_key_code(&mut self, runtime: &[u8]) -> Result<evm::Address, EvmError> {
        self.chain.deploy(evm::key::deployment_of(runtime))
    }

    pub fn deploy_key(&mut self, key: &Key) -> Result<evm::Address, EvmError> {
        self.deploy_key_code(&key.runtime_code())
    }

    /// Calls the verifier with raw calldata: the gas when it returned the success word.
    pub fn call(&mut self, calldata: Vec<u8>) -> Result<u64, EvmError> {
        let call = self.chain.call(self.verifier, calldata)?;
        match call.output.as_slice() {
            [zeros @ .., 1] if zeros.len() == 31 && zeros.iter().all(|&b| b == 0) => Ok(call.gas),
            other => Err(EvmError::Rejected(format!("returned {other:?}"))),
        }
    }

    /// Calls the verifier with `proof` against the key at `key`.
    pub fn verify(&mut self, key: &evm::Address, proof: &ProofFile) -> Result<u64, EvmError> {
        let data = evm::calldata(key.as_ref(), proof)?;
        self.call(data)
    }
}
