//! The float reference output from onnxruntime, loaded at run time (`ort` with
//! `load-dynamic`). The library is found through `ORT_DYLIB_PATH`, a `.venv` next to the
//! working directory or the executable, `$VIRTUAL_ENV`, or the `python3` on PATH.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::value::TensorElementType;
use zkinfer_ir::CompiledModel;

use crate::{ProveError, ReferenceRun};

fn glob_lib(site: &Path) -> Option<PathBuf> {
    let capi = site.join("onnxruntime").join("capi");
    let entries = std::fs::read_dir(&capi).ok()?;
    let mut libs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.starts_with("libonnxruntime.so.")
                    || n == "libonnxruntime.so"
                    || n.starts_with("libonnxruntime.") && n.ends_with(".dylib")
            })
        })
        .collect();
    libs.sort();
    libs.pop()
}

fn venv_site_packages(venv: &Path) -> Vec<PathBuf> {
    let lib = venv.join("lib");
    std::fs::read_dir(&lib)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path().join("site-packages"))
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default()
}

/// Finds `libonnxruntime`, or says where it looked.
pub fn find_onnxruntime() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH") {
        let p = PathBuf::from(p);
        return if p.exists() {
            Ok(p)
        } else {
            Err(format!("ORT_DYLIB_PATH={} does not exist", p.display()))
        };
    }
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        roots.extend(cwd.ancestors().map(|a| a.join(".venv")));
    }
    if let Ok(exe) = std::env::current_exe() {
        roots.extend(exe.ancestors().map(|a| a.join(".venv")));
    }
    if let Some(v) = std::env::var_os("VIRTUAL_ENV") {
        roots.push(PathBuf::from(v));
    }
    for root in &roots {
        for site in venv_site_packages(root) {
            if let Some(lib) = glob_lib(&site) {
                return Ok(lib);
            }
        }
    }
    let out = std::process::Command::new("python3")
        .args(["-c", "import site,sys; print('\\n'.join(site.getsitepackages()+[site.getusersitepackages()]))"])
        .output();
    if let Ok(out) = out {
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if let Some(lib) = glob_lib(Path::new(line.trim())) {
                return Ok(lib);
            }
        }
    }
    Err("libonnxruntime was not found (looked at ORT_DYLIB_PATH, .venv folders, $VIRTUAL_ENV and python3's site-packages)".into())
}

static ENV: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();

fn environment() -> Result<&'static ort::environment::Environment, ProveError> {
    let r = ENV.get_or_init(|| {
        let lib = find_onnxruntime()?;
        let fail = |e: &dyn std::fmt::Display| format!("{}: {e}", lib.display());
        ort::init_from(&lib)
            .map_err(|e| fail(&e))?
            .with_name("zkinfer")
            .build()
            .map_err(|e| fail(&e))
    });
    r.as_ref().map_err(|reason| ProveError::OnnxRuntimeMissing {
        reason: reason.clone(),
    })
}

/// An input tensor of the element type the session declares for it.
fn typed_input(
    ty: Option<TensorElementType>,
    shape: Vec<i64>,
    data: &[f32],
) -> Result<ort::session::SessionInputValue<'static>, ort::Error> {
    use ort::value::Tensor;
    fn make<T: ort::value::PrimitiveTensorElementType + std::fmt::Debug + Clone + 'static>(
        shape: Vec<i64>,
        data: Vec<T>,
    ) -> Result<ort::session::SessionInputValue<'static>, ort::Error> {
        Ok(Tensor::from_array((shape, data))?.into())
    }
    let ints = |f: fn(f32) -> i64| data.iter().map(|&v| f(v)).collect::<Vec<i64>>();
    let int = |v: f32| v as i64;
    match ty {
        Some(TensorElementType::Bool) => make(shape, data.iter().map(|&v| v != 0.0).collect()),
        Some(TensorElementType::Int8) => make(shape, ints(int).iter().map(|&v| v as i8).collect()),
        Some(TensorElementType::Int16) => {
            make(shape, ints(int).iter().map(|&v| v as i16).collect())
        }
        Some(TensorElementType::Int32) => {
            make(shape, ints(int).iter().map(|&v| v as i32).collect())
        }
        Some(TensorElementType::Int64) => make(shape, ints(int)),
        Some(TensorElementType::Uint8) => make(shape, ints(int).iter().map(|&v| v as u8).collect()),
        Some(TensorElementType::Uint16) => {
            make(shape, ints(int).iter().map(|&v| v as u16).collect())
        }
        Some(TensorElementType::Uint32) => {
            make(shape, ints(int).iter().map(|&v| v as u32).collect())
        }
        Some(TensorElementType::Uint64) => {
            make(shape, ints(int).iter().map(|&v| v as u64).collect())
        }
        Some(TensorElementType::Float64) => {
            make(shape, data.iter().map(|&v| f64::from(v)).collect())
        }
        _ => make(shape, data.to_vec()),
    }
}

/// An output of any numeric element type, as `f32`.
fn output_as_f32(value: &ort::value::DynValue) -> Result<Vec<f32>, ort::Error> {
    fn read<T: ort::value::PrimitiveTensorElementType + Copy>(
        value: &ort::value::DynValue,
        f: impl Fn(T) -> f32,
    ) -> Result<Vec<f32>, ort::Error> {
        let (_, d) = value.try_extract_tensor::<T>()?;
        Ok(d.iter().map(|&v| f(v)).collect())
    }
    match value.dtype().tensor_type() {
        Some(TensorElementType::Float64) => read(value, |v: f64| v as f32),
        Some(TensorElementType::Int8) => read(value, |v: i8| f32::from(v)),
        Some(TensorElementType::Int16) => read(value, |v: i16| f32::from(v)),
        Some(TensorElementType::Int32) => read(value, |v: i32| v as f32),
        Some(TensorElementType::Int64) => read(value, |v: i64| v as f32),
        Some(TensorElementType::Uint8) => read(value, |v: u8| f32::from(v)),
        Some(TensorElementType::Uint16) => read(value, |v: u16| f32::from(v)),
        Some(TensorElementType::Uint32) => read(value, |v: u32| v as f32),
        Some(TensorElementType::Uint64) => read(value, |v: u64| v as f32),
        Some(TensorElementType::Bool) => read(value, |v: bool| f32::from(u8::from(v))),
        // f32, and the error that names any other type.
        _ => read(value, |v: f32| v),
    }
}

/// Runs `onnx` with onnxruntime on inputs given as floats (each converted to the element type
/// the model declares: integers, booleans, floats) and returns every graph output as f32.
pub fn onnxruntime_outputs(
    onnx: &Path,
    inputs: &[(Vec<usize>, Vec<f32>)],
) -> Result<Vec<Vec<f32>>, ProveError> {
    let env = environment()?;
    let err = |e: ort::Error| ProveError::OnnxRuntime(e.to_string());
    let mut session = ort::session::Session::builder(env)
        .map_err(err)?
        .commit_from_file(onnx)
        .map_err(err)?;
    let declared: Vec<(String, Option<TensorElementType>)> = session
        .inputs()
        .iter()
        .map(|i| (i.name().to_string(), i.dtype().tensor_type()))
        .collect();
    let out_names: Vec<String> = session
        .outputs()
        .iter()
        .map(|o| o.name().to_string())
        .collect();
    let mut feed = Vec::with_capacity(inputs.len());
    for ((name, ty), (shape, data)) in declared.iter().zip(inputs) {
        let shape: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
        let t = typed_input(*ty, shape, data).map_err(err)?;
        feed.push((std::borrow::Cow::from(name.clone()), t));
    }
    let outputs = session.run(feed).map_err(err)?;
    out_names
        .iter()
        .map(|n| output_as_f32(&outputs[n.as_str()]).map_err(err))
        .collect()
}

/// The engine a proof's reference names.
pub const REFERENCE_ENGINE: &str = "onnxruntime 1.31 (CPU)";

/// The onnxruntime outputs on `inputs`, from the ONNX file `compiled` (read from
/// `model_path`) was compiled from, checked by digest, or from `onnx` when given. The
/// reference is unverified information beside the proof: when it fails, the run records why
/// and the proof is made anyway.
pub fn reference_run(
    compiled: &CompiledModel,
    model_path: &Path,
    onnx: Option<&Path>,
    inputs: &[Vec<f32>],
) -> ReferenceRun {
    let ran = source_onnx(compiled, model_path, onnx).and_then(|path| {
        let feeds: Vec<(Vec<usize>, Vec<f32>)> = compiled
            .settings
            .inputs
            .iter()
            .map(|i| i.shape.clone())
            .zip(inputs.iter().cloned())
            .collect();
        onnxruntime_outputs(&path, &feeds).map_err(|e| e.to_string())
    });
    (REFERENCE_ENGINE.to_string(), ran)
}

/// The ONNX file to run: `onnx`, or the recorded source if it is unchanged.
fn source_onnx(
    compiled: &CompiledModel,
    model_path: &Path,
    onnx: Option<&Path>,
) -> Result<PathBuf, String> {
    let model = model_path.display();
    match (onnx, &compiled.source) {
        (Some(p), _) => Ok(p.to_path_buf()),
        (None, None) => Err(format!(
            "{model}: no source ONNX recorded; pass --onnx MODEL.onnx or --no-reference"
        )),
        (None, Some(s)) => {
            let path = PathBuf::from(&s.path);
            let bytes = std::fs::read(&path).map_err(|e| {
                format!(
                    "{}: the source ONNX of {model} (pass --onnx or --no-reference): {e}",
                    path.display()
                )
            })?;
            if zkinfer_ir::digest(&bytes) != s.digest {
                return Err(format!(
                    "{}: changed since {model} was compiled; recompile, or pass --no-reference",
                    path.display()
                ));
            }
            Ok(path)
        }
    }
}
