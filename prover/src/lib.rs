//! zkinfer's prover: SRS handling, key generation, proving (CPU), and the onnxruntime float
//! reference recorded next to each proof.

mod audit;
mod backend;
mod compile;
mod cosets;
mod error;
mod input;
mod inspect;
mod keys;
mod optimistic;
mod profile;
mod prove;
mod reference;
mod shard;
mod srs;

pub use audit::audit;
pub use backend::{built_without_cuda, check_backend, cuda_status, Backend, CUDA_BUILT};
pub use compile::{
    choose_quantization, compile, compile_finest, compile_with, default_calibration, Choice,
    CompileError, CompileOptions, Compiled, Target, DEFAULT_SCALES,
};
pub use cosets::{
    attach_cosets, write_cosets, CosetsFile, CosetsHeader, CosetsReadError, COSETS_FILE,
    COSETS_VERSION,
};
pub use error::ProveError;
pub use input::{parse_inputs, read_inputs, read_samples};
pub use inspect::{
    format_row_parts, inspect, inspect_model, row_parts, Inspection, TableInfo, EVM_CODE_LIMIT,
};
pub use keys::{circuit_for, setup, KeyHeader, Keys, BUNDLE_FILE, PK_FILE, VK_FILE};
pub use optimistic::{
    check_claim, check_segments, claim, dispute, disputed_segment, evaluate, name_keys,
    read_segments, Alteration, Evaluation, Segments,
};
pub use profile::{Category, SectionProfiler, Sections};
pub use prove::{
    check_witness, outputs, prove, prove_on, prove_trace, quantize_inputs, witness,
    witness_quantized, ReferenceRun,
};
pub use reference::{find_onnxruntime, onnxruntime_outputs, reference_run, REFERENCE_ENGINE};
pub use shard::{
    cut_points, split_model, ActivationTensor, Activations, CutPoint, Cuts, Shard,
    ACTIVATIONS_FORMAT, ACTIVATIONS_VERSION,
};
pub use srs::{cache_dir, load_srs, INSECURE_WARNING};
