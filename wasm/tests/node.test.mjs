// The WebAssembly verifier in Node (`node --test wasm/tests/`), on proofs the CLI made
// (scripts/test-wasm.sh writes them to target/wasm-fixtures): the valid one is accepted with
// its outputs and digests; a flipped proof byte, an altered instance, another model's bundle,
// a truncated file, a wrong format version and another input than the proven one are each
// rejected with a reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const zk = require(path.join(root, 'wasm/pkg-node/zkinfer_wasm.js'));
const fx = process.env.ZKINFER_FIXTURES || path.join(root, 'target/wasm-fixtures');
const bundle = (m) => new Uint8Array(fs.readFileSync(path.join(fx, m, 'keys/bundle.bin')));
const proof = (m) => fs.readFileSync(path.join(fx, m, 'proof.json'), 'utf8');
const MLP = 'mlp2_relu_digits_stdops';

test('a valid proof is accepted, with its outputs and digests', () => {
  const p = JSON.parse(proof(MLP));
  const r = zk.verify(bundle(MLP), proof(MLP));
  assert.equal(r.outputs.length, 1);
  assert.equal(r.outputs[0].length, 10);
  for (let i = 0; i < 10; i++) assert.ok(Math.abs(r.outputs[0][i] - p.outputs[0][i]) < 1e-6);
  assert.equal(r.quantizedOutputs[0].length, 10);
  assert.equal(r.modelDigest, p.model_digest);
  assert.equal(r.vkDigest, p.vk_digest);
});

test('the proven input is checked against the callers, naming the first differing element', () => {
  // The fixture proves the corpus input A; a caller who asked about B (one pixel changed)
  // must not accept it.
  const a = JSON.parse(fs.readFileSync(path.join(root, '../shared/corpus/sklearn', MLP, 'input.json'), 'utf8'));
  const r = zk.verify(bundle(MLP), proof(MLP), a);
  assert.match(r.inputsDigest, /^sha256:[0-9a-f]{64}$/);
  assert.equal(r.quantizedInputs[0].length, 64);
  assert.equal(zk.verify(bundle(MLP), proof(MLP)).inputsDigest, r.inputsDigest);
  assert.equal(zk.verify(bundle(MLP), proof(MLP), a.input_data).inputsDigest, r.inputsDigest);
  const b = structuredClone(a);
  b.input_data[0][7] += 1;
  assert.throws(
    () => zk.verify(bundle(MLP), proof(MLP), b),
    (e) => e.reason === 'InputMismatch' && /element 7/.test(e.message),
  );
});

test('a flipped proof byte is rejected', () => {
  const p = JSON.parse(proof(MLP));
  const at = 40;
  const c = p.proof[at] === '0' ? '1' : '0';
  p.proof = p.proof.slice(0, at) + c + p.proof.slice(at + 1);
  assert.throws(() => zk.verify(bundle(MLP), JSON.stringify(p)), /proof is invalid|proof bytes|not a canonical|point/);
});

test('an altered public instance is rejected', () => {
  const p = JSON.parse(proof(MLP));
  const last = p.instances[0].length - 1;
  const h = p.instances[0][last];
  p.instances[0][last] = h.slice(0, -1) + (h.endsWith('1') ? '2' : '1');
  assert.throws(() => zk.verify(bundle(MLP), JSON.stringify(p)), /proof is invalid|do not match/);
});

test("another model's bundle is rejected", () => {
  assert.throws(() => zk.verify(bundle('lenet_digits'), proof(MLP)), /model/);
});

test('truncated files are rejected', () => {
  const b = bundle(MLP);
  assert.throws(() => zk.verify(b.slice(0, b.length >> 1), proof(MLP)), /bundle/);
  const text = proof(MLP);
  assert.throws(() => zk.verify(b, text.slice(0, text.length >> 1)), /proof/);
});

test('a wrong format version is rejected', () => {
  const p = JSON.parse(proof(MLP));
  p.version = 999;
  assert.throws(() => zk.verify(bundle(MLP), JSON.stringify(p)), /version 999/);
  const b = bundle(MLP).slice();
  b[9] ^= 0x7f; // the bundle's binary version word
  assert.throws(() => zk.verify(b, proof(MLP)), /version/);
});

test('verify time (median of 5) against the native CLI', () => {
  const rows = [];
  for (const m of [MLP, 'tiny_block_op17']) {
    const b = bundle(m), p = proof(m);
    zk.verify(b, p);
    const times = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      zk.verify(b, p);
      times.push(performance.now() - t);
    }
    times.sort((x, y) => x - y);
    rows.push({ model: m, node_ms: times[2] });
  }
  fs.writeFileSync(path.join(fx, 'node-times.json'), JSON.stringify(rows));
  console.log(rows.map((r) => `${r.model}: ${r.node_ms.toFixed(1)} ms in Node`).join('\n'));
});
