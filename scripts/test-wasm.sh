#!/usr/bin/env bash
# The WebAssembly verifier's tests (run by scripts/test.sh): builds wasm/pkg and wasm/pkg-node,
# makes proofs with the CLI (target/wasm-fixtures: the MLP, LeNet, the transformer block),
# then `node --test` in Node and in a headless Chromium (Debian's chromium via apt-get when
# missing, playwright-core from npm into .tools; no browser download).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-wasm.sh
cargo build --release --bin zkinfer
zk=target/release/zkinfer
fx=target/wasm-fixtures
for entry in sklearn/mlp2_relu_digits_stdops cnn/lenet_digits transformer/tiny_block_op17; do
  name=$(basename "$entry") src=../shared/corpus/$entry
  mkdir -p "$fx/$name"
  if [ ! -s "$fx/$name/proof.json" ]; then
    $zk compile "$src/model.onnx" -o "$fx/$name/model.zkc" --input "$src/input.json" >/dev/null
    $zk setup "$fx/$name/model.zkc" -o "$fx/$name/keys" >/dev/null
    $zk prove "$fx/$name/model.zkc" --keys "$fx/$name/keys" --input "$src/input.json" \
      -o "$fx/$name/proof.json" --no-reference >/dev/null
  fi
  # The native verifier's time, for the comparison the tests print.
  $zk verify --keys "$fx/$name/keys" --proof "$fx/$name/proof.json" | grep "verified in"
done
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  echo "installing chromium (apt)"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null
fi
if [ ! -d .tools/node_modules/playwright-core ]; then
  mkdir -p .tools
  npm install --silent --no-audit --no-fund --prefix .tools playwright-core
fi
# The attack proofs the verifiers must refuse (written by the on-chain entry's test).
[ -s target/attack-fixtures/input-out-of-bound/proof.json ] ||
  cargo test -q -p zkinfer-tests --test onchain_entry inputs_outside >/dev/null
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 node --test wasm/tests/
