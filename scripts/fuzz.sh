#!/usr/bin/env bash
# Fuzzing campaigns over every parser of files from strangers (ONNX import through
# quantization, .zkc, bundle and proving key, proof JSON with verify, activations, input JSON).
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
# With a nightly toolchain: cargo-fuzz (libFuzzer, coverage-guided, installed from crates.io
# when missing), seeded from the corpus and the artifacts the tests make, 2 GiB RSS and 1 GiB
# per allocation at most; crashes land in fuzz/artifacts/TARGET/. Without nightly: the stable
# mutational campaign of `cargo test` (tests/tests/fuzz.rs) for that long per target.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(onnx zkc keys pk proof activations input)
bash scripts/ensure-onnxruntime.sh >/dev/null
if rustup toolchain list 2>/dev/null | grep -q nightly; then
  command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
  cargo test --release -p zkinfer-tests --test fuzz write_seeds -- --ignored --quiet
  for t in "${targets[@]}"; do
    echo "== $t: ${seconds}s"
    cargo +nightly fuzz run --fuzz-dir fuzz "$t" "fuzz/corpus/$t" -- \
      -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 \
      -print_final_stats=1 2>&1 | grep -E "stat::number_of_executed_units|stat::peak_rss_mb|ERROR|SUMMARY|crash-" || true
  done
else
  echo "no nightly toolchain: the stable campaign, ${seconds}s per target"
  FUZZ_SECONDS="$seconds" cargo test --release -p zkinfer-tests --test fuzz a_short_campaign -- --nocapture
fi
