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
        data_type::INT16 | data_type::UINT16 | data_type::FLOAT16 | data_type::BFLOAT16
            if raw.is_empty() =>
        {
            let bits = t.int32_data.iter().map(|&v| v as u16);
            bits.map(|b| half_bits(t.data_type, b)).collect()
        }
        data_type::INT16 | data_type::UINT16 | data_type::FLOAT16 | data_type::BFLOAT16 => {
            chunks(2)
                .map(|c| half_bits(t.data_type, u16::from_le_bytes([c[0], c[1]])))
                .collect()
        }
        data_type::UINT32 | data_type::UINT64 if raw.is_empty() => {
            t.uint64_data.iter().map(|&v| v as f64).collect()
        }
        data_type::UINT32 => chunks(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
            .collect(),
        data_type::UINT64 => chunks(8)
            .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f64)
            .collect(),
        other => {
            return Err(format!(
                "tensor `{}` has unsupported data type {other}",
                t.name
            ))
        }
    };
    Tensor::new(shape, data).map_err(|e| format!("tensor `{}`: {e}", t.name))
}

/// A 16-bit element: int16, uint16, or the bits of a float16 or bfloat16.
fn half_bits(data_type: i32, b: u16) -> f64 {
    match data_type {
        data_type::INT16 => b as i16 as f64,
        data_type::UINT16 => b as f64,
        data_type::BFLOAT16 => f32::from_bits((b as u32) << 16) as f64,
        _ => {
            // IEEE half: sign, 5 exponent bits, 10 fraction bits.
            let sign = if b >> 15 == 1 { -1.0 } else { 1.0 };
            let exp = ((b >> 10) & 0x1f) as i32;
            let frac = (b & 0x3ff) as f64;
            sign * match exp {
                0 => frac * 2f64.powi(-24),
                31 if frac == 0.0 => f64::INFINITY,
                31 => f64::NAN,
                e => (1.0 + frac / 1024.0) * 2f64.powi(e - 15),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(data_type: i32, dims: &[i64], raw_data: Vec<u8>) -> TensorProto {
        TensorProto {
            dims: dims.to_vec(),
            data_type,
            raw_data,
            ..Default::default()
        }
    }

    #[test]
    fn every_integer_and_half_float_type_decodes() {
        let int16 = raw(
            data_type::INT16,
            &[2],
            [-3i16, 500].iter().flat_map(|v| v.to_le_bytes()).collect(),
        );
        assert_eq!(tensor_from_proto(&int16).unwrap().data(), &[-3.0, 500.0]);
        let u32s = raw(
            data_type::UINT32,
            &[1],
            4_000_000_000u32.to_le_bytes().to_vec(),
        );
        assert_eq!(tensor_from_proto(&u32s).unwrap().data(), &[4e9]);
        // float16 1.5 = 0x3E00, −2 = 0xC000; bfloat16 1.5 = 0x3FC0.
        let f16 = raw(
            data_type::FLOAT16,
            &[2],
            [0x3E00u16, 0xC000]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
        );
        assert_eq!(tensor_from_proto(&f16).unwrap().data(), &[1.5, -2.0]);
        let bf16 = raw(data_type::BFLOAT16, &[1], 0x3FC0u16.to_le_bytes().to_vec());
        assert_eq!(tensor_from_proto(&bf16).unwrap().data(), &[1.5]);
    }
}
