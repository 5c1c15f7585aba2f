#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| zkinfer_tests::fuzz::pk(data));
