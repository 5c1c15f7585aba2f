#!/usr/bin/env bash
# Builds the WebAssembly verifier (crate `wasm/`, over zkinfer-verifier alone):
#   wasm/pkg/       ES module for browsers (wasm-bindgen --target web): npm package
#                   `@zkinfer/verifier-web`
#   wasm/pkg-node/  CommonJS module for Node (--target nodejs): npm package `@zkinfer/verifier`
# Each folder gets a package.json (name, version, main/module, types, files), so that
# `npm pack wasm/pkg-node` makes a tarball anyone can `npm install`.
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
pkg_version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
node - "$pkg_version" <<'JS'
const fs = require('fs');
const version = process.argv[2];
const files = ['zkinfer_wasm.js', 'zkinfer_wasm.d.ts', 'zkinfer_wasm_bg.wasm', 'zkinfer_wasm_bg.wasm.d.ts'];
const common = {
  version,
  description: "zkinfer's verifier: checks a zkinfer proof of a model's inference (halo2, KZG on BN254) in WebAssembly",
  license: 'MIT OR Apache-2.0',
  types: 'zkinfer_wasm.d.ts',
  files,
  sideEffects: false,
};
const packages = {
  'wasm/pkg-node': { name: '@zkinfer/verifier', ...common, main: 'zkinfer_wasm.js' },
  // The web build is an ES module: `import init, { verify } from '@zkinfer/verifier-web'`,
  // then `await init()` (or `initSync({ module: bytes })`).
  'wasm/pkg': { name: '@zkinfer/verifier-web', ...common, type: 'module', module: 'zkinfer_wasm.js',
                main: 'zkinfer_wasm.js', exports: { '.': { types: './zkinfer_wasm.d.ts', default: './zkinfer_wasm.js' },
                                                    './zkinfer_wasm_bg.wasm': './zkinfer_wasm_bg.wasm' } },
};
for (const [dir, pkg] of Object.entries(packages)) {
  fs.writeFileSync(`${dir}/package.json`, JSON.stringify(pkg, null, 2) + '\n');
}
JS
raw=$(stat -c %s wasm/pkg/zkinfer_wasm_bg.wasm)
gz=$(gzip -9 -c wasm/pkg/zkinfer_wasm_bg.wasm | wc -c)
echo "wasm/pkg/zkinfer_wasm_bg.wasm: $raw bytes, $gz gzipped"
