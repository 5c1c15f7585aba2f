//! Negative tests for every gate and lookup: an honest witness passes the MockProver, and a
//! corrupted one fails on the named constraint. The chips themselves live in `layout/`.

#[cfg(test)]
mod audit_tests;
#[cfg(test)]
mod bound_tests;
#[cfg(test)]
mod cnn_tests;
#[cfg(test)]
mod dense_tests;
#[cfg(test)]
mod integer_tests;
#[cfg(test)]
mod matmul_tests;
#[cfg(test)]
mod poseidon_tests;
#[cfg(test)]
mod range_tests;
#[cfg(test)]
mod select_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod topk_tests;
