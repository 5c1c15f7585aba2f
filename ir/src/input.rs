//! A model's float inputs as the circuit proves them: checked and quantized at the inputs'
//! scales (what the prover does before proving and what a verifier does to compare an input
//! with the proven one), and the digest that names the proven input.

use sha2::{Digest, Sha256};

use crate::settings::TensorInfo;
use crate::IrError;

/// Appends the numbers of `v` (a number, a boolean read as 0 or 1, or nested arrays of them,
/// row-major) to `out`: how an input file's or a caller's JSON list becomes one input's values.
pub fn flatten_json_values(v: &serde_json::Value, out: &mut Vec<f32>) -> Result<(), String> {
    match v {
        serde_json::Value::Number(n) => {
            out.push(n.as_f64().ok_or("not a finite number")? as f32);
            Ok(())
        }
        // Boolean inputs as EZKL writes them.
        serde_json::Value::Bool(b) => {
            out.push(f32::from(u8::from(*b)));
            Ok(())
        }
        serde_json::Value::Array(items) => {
            items.iter().try_for_each(|i| flatten_json_values(i, out))
        }
        other => Err(format!("expected numbers or booleans, found {other}")),
    }
}

/// Domain tag that starts the bytes [`inputs_digest`] hashes.
pub const INPUTS_DIGEST_TAG: &[u8] = b"zkinfer-inputs/1";

/// Quantizes float inputs (one flat list per graph input) at `infos`' scales, as the prover
/// does: the count and every input's size must match, every value must be finite, and an
/// integer or boolean input must hold exact values of its type. Round half away from zero
/// ([`crate::quantize`]).
pub fn quantize_inputs(
    infos: &[TensorInfo],
    inputs: &[Vec<f32>],
) -> Result<Vec<Vec<i64>>, IrError> {
    if inputs.len() != infos.len() {
        return Err(IrError::InputCount {
            expected: infos.len(),
            got: inputs.len(),
        });
    }
    infos
        .iter()
        .zip(inputs)
        .enumerate()
        .map(|(index, (info, values))| {
            if values.len() != info.len() {
                return Err(IrError::InputShape {
                    index,
                    name: info.name.clone(),
                    shape: info.shape.clone(),
                    expected: info.len(),
                    got: values.len(),
                });
            }
            check_input_values(index, info, values)?;
            Ok(crate::quantize(values, info.scale))
        })
        .collect()
}

/// Integer and boolean inputs take exact values of their type: a fractional value, or one
/// outside the type's range, is an error naming the input and the index.
fn check_input_values(index: usize, info: &TensorInfo, values: &[f32]) -> Result<(), IrError> {
    let bad = |at: usize, reason: String| IrError::InputValue {
        index,
        name: info.name.clone(),
        at,
        reason,
    };
    // A value past float32's range (1e308 in the JSON) reads as infinite.
    if let Some(at) = values.iter().position(|v| !v.is_finite()) {
        return Err(bad(at, format!("{} is not a finite number", values[at])));
    }
    let Some((min, max)) = info.dtype.range() else {
        return Ok(());
    };
    for (at, &v) in values.iter().enumerate() {
        if v.fract() != 0.0 {
            return Err(bad(
                at,
                format!("{v} is not an integer ({} input)", info.dtype.name()),
            ));
        }
        if !(min as f64..=max as f64).contains(&(v as f64)) {
            return Err(bad(
                at,
                format!(
                    "{v} is outside the range of {} [{min}, {max}]",
                    info.dtype.name()
                ),
            ));
        }
    }
    Ok(())
}

/// `sha256:…` of quantized input values (one list per graph input), in this canonical
/// encoding: the tag `zkinfer-inputs/1`, the number of inputs as a little-endian `u64`, then
/// per input its element count as a little-endian `u64` followed by each value as a
/// little-endian `i64`. Equal digests mean equal proven inputs: a client can compare the one
/// `zkinfer verify` prints with its own input's (`zkinfer prove` prints it too).
pub fn inputs_digest(values: &[Vec<i64>]) -> String {
    let mut h = Sha256::new();
    h.update(INPUTS_DIGEST_TAG);
    h.update((values.len() as u64).to_le_bytes());
    for v in values {
        h.update((v.len() as u64).to_le_bytes());
        for x in v {
            h.update(x.to_le_bytes());
        }
    }
    format!("sha256:{}", hex::encode(h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ElemType;

    fn info(name: &str, shape: Vec<usize>, scale: u32, dtype: ElemType) -> TensorInfo {
        TensorInfo {
            name: name.into(),
            shape,
            scale,
            bound: 20,
            dtype,
        }
    }

    #[test]
    fn inputs_quantize_at_their_own_scales_and_refuse_bad_sizes_and_values() {
        let infos = [
            info("x", vec![2], 4, ElemType::default()),
            info("i", vec![1], 0, ElemType::Int64),
        ];
        let q = quantize_inputs(&infos, &[vec![0.5, -1.03], vec![3.0]]);
        assert_eq!(q.ok(), Some(vec![vec![8, -16], vec![3]]));
        assert!(matches!(
            quantize_inputs(&infos, &[vec![0.5, 1.0]]),
            Err(IrError::InputCount {
                expected: 2,
                got: 1
            })
        ));
        assert!(matches!(
            quantize_inputs(&infos, &[vec![0.5], vec![3.0]]),
            Err(IrError::InputShape { index: 0, .. })
        ));
        assert!(matches!(
            quantize_inputs(&infos, &[vec![0.5, f32::NAN], vec![3.0]]),
            Err(IrError::InputValue {
                index: 0,
                at: 1,
                ..
            })
        ));
        assert!(matches!(
            quantize_inputs(&infos, &[vec![0.5, 1.0], vec![2.5]]),
            Err(IrError::InputValue {
                index: 1,
                at: 0,
                ..
            })
        ));
    }

    #[test]
    fn the_inputs_digest_tells_apart_values_and_where_a_tensor_ends() {
        let d = inputs_digest(&[vec![1, 2], vec![3]]);
        assert!(d.starts_with("sha256:") && d.len() == 7 + 64, "{d}");
        assert_eq!(d, inputs_digest(&[vec![1, 2], vec![3]]));
        assert_ne!(d, inputs_digest(&[vec![1, 2], vec![4]]));
        assert_ne!(d, inputs_digest(&[vec![1], vec![2, 3]]));
        assert_ne!(d, inputs_digest(&[vec![1, 2, 3]]));
    }
}
