//! Implementations of common circuit floor planners.

pub(super) mod single_pass;

//mod v1;
//pub use v1::{V1Pass, V1};
