//! A dense, row-major tensor and the broadcasting rules of ONNX (numpy).

use serde::{Deserialize, Serialize};

use crate::IrError;

/// A dense row-major tensor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tensor<T> {
    shape: Vec<usize>,
    data: Vec<T>,
}

impl<T> Tensor<T> {
    /// Builds a tensor, checking that `data` holds exactly the product of `shape` elements.
    pub fn new(shape: Vec<usize>, data: Vec<T>) -> Result<Self, IrError> {
        // A shape whose product overflows holds no data.
        let expected = shape
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d))
            .unwrap_or(usize::MAX);
        if expected != data.len() {
            return Err(IrError::ShapeData {
                shape,
                expected,
                got: data.len(),
            });
        }
        Ok(Self { shape, data })
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn data(&self) -> &[T] {
        &self.data
    }

    pub fn data_mut(&mut self) -> &mut [T] {
        &mut self.data
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn into_data(self) -> Vec<T> {
        self.data
    }

    /// Applies `f` to every element, keeping the shape.
    pub fn map<U>(&self, f: impl FnMut(&T) -> U) -> Tensor<U> {
        Tensor {
            shape: self.shape.clone(),
            data: self.data.iter().map(f).collect(),
        }
    }
}

/// Row-major strides of `shape`.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut out = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        out[i] = out[i + 1] * shape[i + 1];
    }
    out
}

/// The numpy broadcast of two shapes, or `None` when they are incompatible.
pub fn broadcast_shape(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for i in 0..rank {
        let da = if i + a.len() >= rank {
            a[i + a.len() - rank]
        } else {
            1
        };
        let db = if i + b.len() >= rank {
            b[i + b.len() - rank]
        } else {
            1
        };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

/// For every element of `out_shape`, the flat index of the element of a tensor of shape
/// `in_shape` that broadcasts onto it. `in_shape` must broadcast to `out_shape`.
pub fn broadcast_indices(in_shape: &[usize], out_shape: &[usize]) -> Vec<usize> {
    let n: usize = out_shape.iter().product();
    let rank = out_shape.len();
    let offset = rank - in_shape.len();
    let in_strides = strides(in_shape);
    let out_strides = strides(out_shape);
    (0..n)
        .map(|flat| {
            let mut idx = 0;
            for (axis, &os) in out_strides.iter().enumerate() {
                let coord = (flat / os) % out_shape[axis].max(1);
                if axis >= offset {
                    let ia = axis - offset;
                    if in_shape[ia] != 1 {
                        idx += coord * in_strides[ia];
                    }
                }
            }
            idx
        })
        .collect()
}

/// For a transpose of a tensor of shape `shape` by `perm`, the flat input index of each output
/// element.
pub fn transpose_indices(shape: &[usize], perm: &[usize]) -> Vec<usize> {
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let in_strides = strides(shape);
    let out_strides = strides(&out_shape);
    let n: usize = shape.iter().product();
    (0..n)
        .map(|flat| {
            perm.iter()
                .enumerate()
                .map(|(axis, &p)| ((flat / out_strides[axis]) % out_shape[axis]) * in_strides[p])
                .sum()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_rules_follow_numpy() {
        assert_eq!(broadcast_shape(&[3, 4, 5], &[5]), Some(vec![3, 4, 5]));
        assert_eq!(broadcast_shape(&[1, 4], &[3, 1]), Some(vec![3, 4]));
        assert_eq!(broadcast_shape(&[2], &[3]), None);
        assert_eq!(broadcast_indices(&[2, 1], &[2, 3]), vec![0, 0, 0, 1, 1, 1]);
        assert_eq!(broadcast_indices(&[3], &[2, 3]), vec![0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn transpose_of_a_matrix_swaps_rows_and_columns() {
        // [[0,1,2],[3,4,5]]^T = [[0,3],[1,4],[2,5]]
        assert_eq!(transpose_indices(&[2, 3], &[1, 0]), vec![0, 3, 1, 4, 2, 5]);
    }

    #[test]
    fn a_tensor_rejects_data_of_the_wrong_length() {
        assert!(Tensor::new(vec![2, 2], vec![1, 2, 3]).is_err());
    }
}

#[cfg(test)]
mod overflow_tests {
    /// Fuzzing regression: a shape whose element count overflows is an error, not a panic.
    #[test]
    fn a_shape_product_that_overflows_is_refused() {
        let t = super::Tensor::<i64>::new(vec![1 << 40, 1 << 40], vec![0; 4]);
        assert!(t.is_err());
    }
}

#[cfg(test)]
mod hostile_value_tests {
    use crate::{eval::div_round, TableBounds};

    /// Fuzzing regression: a divisor near i64::MAX is refused, not doubled into an overflow.
    #[test]
    fn a_huge_divisor_is_refused() {
        let tb = TableBounds {
            neg: 128,
            pos: 128,
            exp: 1,
            limb_bits: 8,
        };
        assert!(div_round(5, i64::MAX - 3, 4, &tb, "d").is_err());
        assert!(div_round(5, 3, 4, &tb, "d").is_ok());
    }
}
