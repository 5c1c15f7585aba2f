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

test('a bundle other than the pinned statement is refused', () => {
  const fx = process.env.ZKINFER_FIXTURES || path.join(root, 'target/wasm-fixtures');
  const m = 'mlp2_relu_digits_stdops';
  const bundle = new Uint8Array(fs.readFileSync(path.join(fx, m, 'keys/bundle.bin')));
  const proof = fs.readFileSync(path.join(fx, m, 'proof.json'), 'utf8');
  const r = zk.verify(bundle, proof);
  assert.match(r.statementDigest, /^sha256:[0-9a-f]{64}$/);
  assert.equal(r.statementDigest, JSON.parse(proof).statement_digest);
  assert.equal(zk.verify(bundle, proof, undefined, r.statementDigest).statementDigest, r.statementDigest);
  assert.throws(() => zk.verify(bundle, proof, undefined, 'sha256:' + '0'.repeat(64)),
    (e) => e.reason === 'WrongStatement');
});
