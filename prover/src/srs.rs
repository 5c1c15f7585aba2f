//! The structured reference string. `--srs FILE` reads a halo2-format KZG SRS (as EZKL and the
//! PSE ceremony files are); without it a local SRS is generated once per k, cached under the
//! user's cache directory, and labelled insecure everywhere it is used.

use std::path::{Path, PathBuf};

use halo2_axiom::halo2curves::bn256::Bn256;
use halo2_axiom::poly::commitment::Params;
use halo2_axiom::poly::kzg::commitment::ParamsKZG;
use halo2_axiom::SerdeFormat;
use zkinfer_verifier::SrsInfo;

use crate::ProveError;

/// The warning every command that uses a local SRS prints.
pub const INSECURE_WARNING: &str = "warning: using a locally generated SRS; it is INSECURE and for testing only (pass --srs FILE with a ceremony SRS for real use)";

/// The cache directory: `$ZKINFER_CACHE`, else `$XDG_CACHE_HOME/zkinfer`, else `~/.cache/zkinfer`.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("ZKINFER_CACHE") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(d).join("zkinfer");
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".cache").join("zkinfer")
}

fn local_path(k: u32) -> PathBuf {
    cache_dir()
        .join("srs")
        .join(format!("insecure-bn254-k{k}.srs"))
}

fn read_params(path: &Path, format: SerdeFormat) -> Result<ParamsKZG<Bn256>, ProveError> {
    let bytes = zkinfer_ir::read_file(path)?;
    let name = path.display().to_string();
    std::panic::catch_unwind(|| ParamsKZG::<Bn256>::read_custom(&mut &bytes[..], format))
        .map_err(|_| ProveError::Srs {
            path: name.clone(),
            reason: "malformed SRS file".into(),
        })?
        .map_err(|e| ProveError::Srs {
            path: name,
            reason: format!("not a halo2 KZG SRS: {e}"),
        })
}

/// Loads an SRS for `2^k` rows: from `srs` when given (downsized if larger), else the cached
/// local one, generating it the first time.
pub fn load_srs(k: u32, srs: Option<&Path>) -> Result<(ParamsKZG<Bn256>, SrsInfo), ProveError> {
    if let Some(path) = srs {
        let mut params = read_params(path, SerdeFormat::RawBytes)?;
        if params.k() < k {
            return Err(ProveError::Srs {
                path: path.display().to_string(),
                reason: format!("holds 2^{} points; the circuit needs 2^{k}", params.k()),
            });
        }
        if params.k() > k {
            params.downsize(k);
        }
        return Ok((
            params,
            SrsInfo {
                k,
                insecure: false,
                source: path.display().to_string(),
            },
        ));
    }
    let path = local_path(k);
    let params = if path.exists() {
        read_params(&path, SerdeFormat::RawBytesUnchecked)?
    } else {
        let params = ParamsKZG::<Bn256>::setup(k, rand::rngs::OsRng);
        let mut bytes = Vec::new();
        params
            .write_custom(&mut bytes, SerdeFormat::RawBytesUnchecked)
            .map_err(|e| ProveError::Srs {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
        // Write to a temporary name first so a concurrent reader never sees half a file.
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        zkinfer_ir::write_file(&tmp, &bytes)?;
        std::fs::rename(&tmp, &path).map_err(|e| ProveError::Srs {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        params
    };
    Ok((
        params,
        SrsInfo {
            k,
            insecure: true,
            source: path.display().to_string(),
        },
    ))
}
