//! The float reference output from onnxruntime, loaded at run time (`ort` with
//! `load-dynamic`). The library is found through `ORT_DYLIB_PATH`, a `.venv` next to the
//! working directory or the executable, `$VIRTUAL_ENV`, or the `python3` on PATH.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::ProveError;

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

/// Runs `onnx` on float inputs with onnxruntime and returns every graph output as f32.
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
    let names: Vec<String> = session
        .inputs()
        .iter()
        .map(|i| i.name().to_string())
        .collect();
    let out_names: Vec<String> = session
        .outputs()
        .iter()
        .map(|o| o.name().to_string())
        .collect();
    let mut feed = Vec::with_capacity(inputs.len());
    for (name, (shape, data)) in names.iter().zip(inputs) {
        let shape: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
        let t = ort::value::Tensor::from_array((shape, data.clone())).map_err(err)?;
        feed.push((
            std::borrow::Cow::from(name.as_str()),
            ort::session::SessionInputValue::from(t),
        ));
    }
    let outputs = session.run(feed).map_err(err)?;
    out_names
        .iter()
        .map(|n| {
            let (_, data) = outputs[n.as_str()]
                .try_extract_tensor::<f32>()
                .map_err(err)?;
            Ok(data.to_vec())
        })
        .collect()
}
