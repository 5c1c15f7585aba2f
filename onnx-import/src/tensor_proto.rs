//! Decoding ONNX `TensorProto` payloads.

use zkinfer_ir::Tensor;

use crate::proto::{data_type, TensorProto};

/// A constant tensor as `f64` (exact for floats and for integers below 2^53).
pub fn tensor_from_proto(t: &TensorProto) -> Result<Tensor<f64>, String> {
    if t.data_location == 1 {
        return Err(format!(
            "tensor `{}` stores its data externally, which is not supported",
            t.name
        ));
    }
    let shape = t
        .dims
        .iter()
        .map(|&d| {
            usize::try_from(d)
                .map_err(|_| format!("tensor `{}` has negative dimension {d}", t.name))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let raw = &t.raw_data;
    let chunks = |n: usize| raw.chunks_exact(n);
    let data: Vec<f64> = match t.data_type {
        data_type::FLOAT if !raw.is_empty() => chunks(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
            .collect(),
        data_type::FLOAT => t.float_data.iter().map(|&v| v as f64).collect(),
        data_type::DOUBLE if !raw.is_empty() => chunks(8)
            .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect(),
        data_type::DOUBLE => t.double_data.clone(),
        data_type::INT64 if !raw.is_empty() => chunks(8)
            .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f64)
            .collect(),
        data_type::INT64 => t.int64_data.iter().map(|&v| v as f64).collect(),
        data_type::INT32 if !raw.is_empty() => chunks(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
            .collect(),
        data_type::INT32 | data_type::UINT8 | data_type::INT8 | data_type::BOOL
            if raw.is_empty() =>
        {
            t.int32_data.iter().map(|&v| v as f64).collect()
        }
        data_type::UINT8 | data_type::BOOL => raw.iter().map(|&b| b as f64).collect(),
        data_type::INT8 => raw.iter().map(|&b| b as i8 as f64).collect(),
        other => {
            return Err(format!(
                "tensor `{}` has unsupported data type {other}",
                t.name
            ))
        }
    };
    Tensor::new(shape, data).map_err(|e| format!("tensor `{}`: {e}", t.name))
}
