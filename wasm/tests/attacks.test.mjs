// The WebAssembly verifier on attack proofs that `cargo test -p zkinfer-tests --test
// onchain_entry` writes to target/attack-fixtures (scripts/test-wasm.sh runs it when they are
// missing): each is refused for the same reason as by the Rust verifier and the EVM entry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const zk = require(path.join(root, 'wasm/pkg-node/zkinfer_wasm.js'));
const attacks = path.join(root, 'target/attack-fixtures');

test('a valid proof of inputs outside their bounds is refused', () => {
  const dir = path.join(attacks, 'input-out-of-bound');
  assert.ok(fs.existsSync(path.join(dir, 'proof.json')),
    `${dir}: run \`cargo test -p zkinfer-tests --test onchain_entry\` first`);
  const bundle = new Uint8Array(fs.readFileSync(path.join(dir, 'bundle.bin')));
  const proof = fs.readFileSync(path.join(dir, 'proof.json'), 'utf8');
  assert.throws(() => zk.verify(bundle, proof), (e) => e.reason === 'InstanceOutOfRange');
});
