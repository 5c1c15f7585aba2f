#!/usr/bin/env bash
# Builds the WebAssembly verifier (crate `wasm/`, over zkinfer-verifier alone):
#   wasm/pkg/       ES module for browsers (wasm-bindgen --target web)
#   wasm/pkg-node/  CommonJS module for Node (--target nodejs)
# Installs the wasm32-unknown-unknown target and wasm-bindgen-cli (the version Cargo.lock pins
# for wasm-bindgen) when missing, and prints the .wasm's size, raw and gzipped.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target list --installed 2>/dev/null | grep -q wasm32-unknown-unknown \
  || rustup target add wasm32-unknown-unknown
version=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"$/\1/p')
if ! wasm-bindgen --version 2>/dev/null | grep -q " $version$"; then
  echo "installing wasm-bindgen-cli $version"
  # Its own Cargo.lock first; when a version it pins is gone from the registry (webpki-roots
  # 1.0.11, seen 2026-12-01), the newest compatible dependencies instead.
  cargo install --locked wasm-bindgen-cli --version "$version" \
    || cargo install wasm-bindgen-cli --version "$version"
fi
cargo build --profile wasm -p zkinfer-wasm --target wasm32-unknown-unknown
wasm=target/wasm32-unknown-unknown/wasm/zkinfer_wasm.wasm
rm -rf wasm/pkg wasm/pkg-node
wasm-bindgen --target web --out-dir wasm/pkg "$wasm"
wasm-bindgen --target nodejs --out-dir wasm/pkg-node "$wasm"
raw=$(stat -c %s wasm/pkg/zkinfer_wasm_bg.wasm)
gz=$(gzip -9 -c wasm/pkg/zkinfer_wasm_bg.wasm | wc -c)
echo "wasm/pkg/zkinfer_wasm_bg.wasm: $raw bytes, $gz gzipped"
