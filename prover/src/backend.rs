//! Where proving runs: the CPU (always built), or an NVIDIA GPU through `halo2-axiom-gpu`
//! (feature `cuda`). Both write proofs in the same transcript for the same keys, which the
//! ordinary CPU verifier checks (the GPU crate's order of commitments and squeezes is halo2-
//! axiom's for single-phase circuits; on a GPU `benches/gpu.sh` checks it). A CUDA request on
//! a build without the feature, or for a two-phase circuit ([`check_backend`]), is an error,
//! never a silent fallback to the CPU.

use std::fmt;
use std::str::FromStr;

use halo2_axiom::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_axiom::plonk::ProvingKey;
use halo2_axiom::poly::kzg::commitment::ParamsKZG;
use zkinfer_circuits::ModelCircuit;
use zkinfer_verifier::KeccakWrite;

use crate::ProveError;

/// The proving backend.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Backend {
    #[default]
    Cpu,
    Cuda,
}

impl FromStr for Backend {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "cpu" => Ok(Self::Cpu),
            "cuda" => Ok(Self::Cuda),
            other => Err(format!("unknown backend `{other}` (cpu or cuda)")),
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Cpu => "cpu",
            Self::Cuda => "cuda",
        })
    }
}

/// Whether this build can prove on CUDA.
pub const CUDA_BUILT: bool = cfg!(feature = "cuda");

/// The error for `--backend cuda` on a build without the `cuda` feature.
pub fn built_without_cuda() -> ProveError {
    ProveError::Backend(
        "this zkinfer was built without CUDA: rebuild it with the `cuda` feature \
         (`bash scripts/build-cuda.sh`, see README \"Proving on a GPU\"), or use --backend cpu"
            .into(),
    )
}

/// Why `model` cannot prove on `backend`, before any work: halo2-axiom-gpu 1.0.1 proves
/// single-phase circuits only. Its `create_proof` asserts one phase before synthesis
/// (`plonk/witness.rs`, `synthesize_advice_columns`) and commits every advice column at once,
/// so a circuit with Freivalds' second-phase challenge (a MatMul of two computed tensors)
/// would abort there.
pub fn check_backend(backend: Backend, settings: &zkinfer_ir::Settings) -> Result<(), ProveError> {
    if backend == Backend::Cuda && settings.freivalds {
        return Err(ProveError::Backend(
            "--backend cuda: this model multiplies two computed tensors (MatMul), which zkinfer \
             proves with Freivalds' check in a second circuit phase, and the CUDA prover \
             (halo2-axiom-gpu 1.0.1) proves single-phase circuits only; prove it with \
             --backend cpu"
                .into(),
        ));
    }
    if backend == Backend::Cuda && !CUDA_BUILT {
        return Err(built_without_cuda());
    }
    Ok(())
}

/// `create_proof` of halo2-axiom or halo2-axiom-gpu (`$krate`): the same signature, each
/// with its own commitment-scheme types.
macro_rules! create_proof_with {
    ($krate:ident, $params:expr, $pk:expr, $circuit:expr, $instances:expr, $transcript:expr) => {
        $krate::plonk::create_proof::<
            $krate::poly::kzg::commitment::KZGCommitmentScheme<Bn256>,
            $krate::poly::kzg::multiopen::ProverSHPLONK<'_, Bn256>,
            zkinfer_verifier::KeccakChallenge,
            _,
            _,
            _,
        >(
            $params,
            $pk,
            &[$circuit],
            &[&[$instances]],
            rand::rngs::OsRng,
            $transcript,
        )
    };
}

/// Creates the proof of `circuit` with `instances` on `backend`.
pub(crate) fn create(
    backend: Backend,
    params: &ParamsKZG<Bn256>,
    pk: &ProvingKey<G1Affine>,
    circuit: ModelCircuit,
    instances: &[Fr],
    transcript: &mut KeccakWrite<Vec<u8>>,
) -> Result<(), ProveError> {
    match backend {
        Backend::Cpu => create_proof_with!(halo2_axiom, params, pk, circuit, instances, transcript)
            .map_err(|e| {
                crate::cosets::coset_error_of(&e)
                    .unwrap_or_else(|| ProveError::Halo2(format!("{e:?}")))
            }),
        Backend::Cuda => cuda(params, pk, circuit, instances, transcript),
    }
}

#[cfg(feature = "cuda")]
fn cuda(
    params: &ParamsKZG<Bn256>,
    pk: &ProvingKey<G1Affine>,
    circuit: ModelCircuit,
    instances: &[Fr],
    transcript: &mut KeccakWrite<Vec<u8>>,
) -> Result<(), ProveError> {
    use halo2_axiom::SerdeFormat;
    // The GPU prover keeps its own copy of the SRS (with device mirrors); same bytes.
    let mut bytes = Vec::new();
    params
        .write_custom(&mut bytes, SerdeFormat::RawBytes)
        .map_err(|e| ProveError::Halo2(format!("CUDA: SRS: {e}")))?;
    let gpu_params = halo2_axiom_gpu::poly::kzg::commitment::ParamsKZG::<Bn256>::read_custom(
        &mut &bytes[..],
        SerdeFormat::RawBytes,
    )
    .map_err(|e| ProveError::Halo2(format!("CUDA: SRS: {e}")))?;
    create_proof_with!(
        halo2_axiom_gpu,
        &gpu_params,
        pk,
        circuit,
        instances,
        transcript
    )
    .map_err(|e| ProveError::Halo2(format!("CUDA: {e:?}")))
}

/// Without the `cuda` feature a CUDA request never reaches here (`prove_on` refuses it first).
#[cfg(not(feature = "cuda"))]
fn cuda(
    _: &ParamsKZG<Bn256>,
    _: &ProvingKey<G1Affine>,
    _: ModelCircuit,
    _: &[Fr],
    _: &mut KeccakWrite<Vec<u8>>,
) -> Result<(), ProveError> {
    Err(built_without_cuda())
}

/// What `zkinfer inspect` says about CUDA: whether this build has it and a device is usable.
pub fn cuda_status() -> String {
    #[cfg(feature = "cuda")]
    {
        match openvm_cuda_common::common::set_device() {
            Ok(id) => {
                let smi = std::process::Command::new("nvidia-smi")
                    .args(["--query-gpu=name,memory.total", "--format=csv,noheader"])
                    .output()
                    .ok()
                    .map(|o| {
                        String::from_utf8_lossy(&o.stdout)
                            .trim()
                            .replace('\n', "; ")
                    });
                format!("usable (device {id}: {})", smi.unwrap_or_default())
            }
            Err(e) => format!("built with CUDA, but no usable device: {e}"),
        }
    }
    #[cfg(not(feature = "cuda"))]
    {
        "not built with CUDA (feature `cuda`; see README \"Proving on a GPU\")".into()
    }
}
