//! Examples live in this crate as `cargo run --example NAME`.
