//! Element types of tensors, from the ONNX model to the verified outputs. Integer and boolean
//! tensors are exact integers (at scale 2^0 unless an operation aligns them finer); floats
//! are fixed-point approximations.

use serde::{Deserialize, Serialize};

/// The element type of a tensor, as ONNX declares it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ElemType {
    Bool,
    Int8,
    Int16,
    Int32,
    Int64,
    Uint8,
    Uint16,
    Uint32,
    Uint64,
    Float16,
    BFloat16,
    #[default]
    Float32,
    Float64,
}

impl ElemType {
    /// The type of ONNX's `TensorProto.DataType` code, or `None` for strings, complex numbers
    /// and the 4- and 8-bit float formats.
    pub fn from_onnx(code: i32) -> Option<Self> {
        Some(match code {
            1 => Self::Float32,
            2 => Self::Uint8,
            3 => Self::Int8,
            4 => Self::Uint16,
            5 => Self::Int16,
            6 => Self::Int32,
            7 => Self::Int64,
            9 => Self::Bool,
            10 => Self::Float16,
            11 => Self::Float64,
            12 => Self::Uint32,
            13 => Self::Uint64,
            16 => Self::BFloat16,
            _ => return None,
        })
    }

    /// ONNX's name of the type (`int32`, `bool`, `float`, …).
    pub fn name(self) -> &'static str {
        match self {
            Self::Bool => "bool",
            Self::Int8 => "int8",
            Self::Int16 => "int16",
            Self::Int32 => "int32",
            Self::Int64 => "int64",
            Self::Uint8 => "uint8",
            Self::Uint16 => "uint16",
            Self::Uint32 => "uint32",
            Self::Uint64 => "uint64",
            Self::Float16 => "float16",
            Self::BFloat16 => "bfloat16",
            Self::Float32 => "float",
            Self::Float64 => "double",
        }
    }

    /// Integers and booleans: values are exact, with ONNX's integer semantics.
    pub fn is_exact(self) -> bool {
        !self.is_float()
    }

    pub fn is_float(self) -> bool {
        matches!(
            self,
            Self::Float16 | Self::BFloat16 | Self::Float32 | Self::Float64
        )
    }

    pub fn is_bool(self) -> bool {
        self == Self::Bool
    }

    pub fn is_unsigned(self) -> bool {
        matches!(
            self,
            Self::Bool | Self::Uint8 | Self::Uint16 | Self::Uint32 | Self::Uint64
        )
    }

    /// The values the type holds, `[min, max]`, for exact types.
    pub fn range(self) -> Option<(i128, i128)> {
        let signed = |bits: u32| (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1);
        let unsigned = |bits: u32| (0, (1i128 << bits) - 1);
        Some(match self {
            Self::Bool => (0, 1),
            Self::Int8 => signed(8),
            Self::Int16 => signed(16),
            Self::Int32 => signed(32),
            Self::Int64 => signed(64),
            Self::Uint8 => unsigned(8),
            Self::Uint16 => unsigned(16),
            Self::Uint32 => unsigned(32),
            Self::Uint64 => unsigned(64),
            _ => return None,
        })
    }

    /// Whether the type holds every value of magnitude below `2^bits`, so that values within
    /// that bound need no check against its range. Never for an unsigned type (the bound says
    /// nothing of the sign).
    pub fn holds_bits(self, bits: u32) -> bool {
        match self.range() {
            None => true,
            Some((0, _)) => false,
            Some((min, max)) => {
                let m = 1i128 << bits.min(100);
                min <= 1 - m && max >= m - 1
            }
        }
    }

    /// The type an intermediate value of an operation on these types takes: float if any
    /// operand is, a wide signed integer otherwise (intermediates never wrap).
    pub fn intermediate(types: &[ElemType]) -> ElemType {
        match types.iter().find(|t| t.is_float()) {
            Some(&f) => f,
            None if types.is_empty() => ElemType::Float32,
            None => ElemType::Int64,
        }
    }

    fn is_default(&self) -> bool {
        *self == ElemType::Float32
    }
}

/// `serde(skip_serializing_if)` helper: float tensors (the common case) omit their type.
pub fn is_float32(t: &ElemType) -> bool {
    t.is_default()
}

/// ONNX's integer division and remainder, which the circuit proves exactly: the quotient of
/// `a / b` truncated toward zero (`Div` on integers, `Mod` with `fmod = 1`) or rounded toward
/// −∞ (`Mod` with `fmod = 0`: the remainder takes the divisor's sign).
pub fn int_div(a: i64, b: i64, floor: bool) -> Option<(i64, i64)> {
    if b == 0 {
        return None;
    }
    let q = a.checked_div(b)?;
    let r = a - q * b;
    if floor && r != 0 && ((r < 0) != (b < 0)) {
        Some((q - 1, r + b))
    } else {
        Some((q, r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_division_truncates_and_the_floor_remainder_takes_the_divisor_sign() {
        assert_eq!(int_div(7, 2, false), Some((3, 1)));
        assert_eq!(int_div(-7, 2, false), Some((-3, -1)));
        assert_eq!(int_div(7, -2, false), Some((-3, 1)));
        assert_eq!(int_div(-7, 2, true), Some((-4, 1)));
        assert_eq!(int_div(7, -2, true), Some((-4, -1)));
        assert_eq!(int_div(-7, -2, true), Some((3, -1)));
        assert_eq!(int_div(6, -3, true), Some((-2, 0)));
        assert_eq!(int_div(1, 0, false), None);
    }

    #[test]
    fn ranges_and_codes() {
        assert_eq!(ElemType::from_onnx(7), Some(ElemType::Int64));
        assert_eq!(ElemType::Int8.range(), Some((-128, 127)));
        assert!(ElemType::Int8.holds_bits(7));
        assert!(!ElemType::Int8.holds_bits(8));
        assert!(
            !ElemType::Uint8.holds_bits(1),
            "uint8 holds no negative value"
        );
        assert!(ElemType::Float32.holds_bits(60));
    }
}
