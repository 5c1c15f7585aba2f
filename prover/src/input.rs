//! Input files in EZKL's shape: `{"input_data": [[flat floats], ...]}`, one list per graph
//! input (nested lists are flattened row-major; booleans read as 0 and 1, and each value is
//! checked against its input's element type when it is quantized).

use std::path::Path;

use crate::ProveError;

use zkinfer_ir::flatten_json_values as flatten;

/// Parses `{"input_data": [[...], ...]}` (or `[[...], ...]` directly).
pub fn parse_inputs(bytes: &[u8], path: &str) -> Result<Vec<Vec<f32>>, ProveError> {
    let bad = |reason: String| ProveError::InputFile {
        path: path.into(),
        reason,
    };
    let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    let list = match &v {
        serde_json::Value::Object(m) => m
            .get("input_data")
            .ok_or_else(|| bad("missing the `input_data` field".into()))?,
        other => other,
    };
    let items = list
        .as_array()
        .ok_or_else(|| bad("`input_data` must be a list with one list per graph input".into()))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let mut out = Vec::new();
            flatten(item, &mut out).map_err(|e| bad(format!("input {i}: {e}")))?;
            Ok(out)
        })
        .collect()
}

pub fn read_inputs(path: &Path) -> Result<Vec<Vec<f32>>, ProveError> {
    let bytes = zkinfer_ir::read_file(path)?;
    parse_inputs(&bytes, &path.display().to_string())
}

/// Several samples: a file with `{"input_data": ...}` is one sample; a file with
/// `{"samples": [flat, ...]}` (as the corpus's `inputs_batch.json`) gives one sample per entry
/// for a single-input model, and `{"samples": [{"input_data": [...]}, ...]}` one sample per
/// entry for any model (each entry an input file's object, one list per graph input).
pub fn read_samples(path: &Path) -> Result<Vec<Vec<Vec<f32>>>, ProveError> {
    let bytes = zkinfer_ir::read_file(path)?;
    let name = path.display().to_string();
    let v: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| ProveError::InputFile {
            path: name.clone(),
            reason: e.to_string(),
        })?;
    if let Some(samples) = v.get("samples").and_then(|s| s.as_array()) {
        return samples
            .iter()
            .enumerate()
            .map(|(i, s)| {
                if s.is_object() {
                    let bytes = serde_json::to_vec(s).map_err(|e| ProveError::InputFile {
                        path: name.clone(),
                        reason: e.to_string(),
                    })?;
                    return parse_inputs(&bytes, &format!("{name}, sample {i}"));
                }
                let mut out = Vec::new();
                flatten(s, &mut out).map_err(|reason| ProveError::InputFile {
                    path: name.clone(),
                    reason,
                })?;
                Ok(vec![out])
            })
            .collect();
    }
    Ok(vec![parse_inputs(&bytes, &name)?])
}
