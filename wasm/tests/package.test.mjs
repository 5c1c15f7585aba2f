// The verifier as people install it: `npm pack` of wasm/pkg-node (`@zkinfer/verifier`,
// CommonJS) and wasm/pkg (`@zkinfer/verifier-web`, an ES module), each tarball installed into
// an empty folder with `npm install` (offline: the packages have no dependencies), then a
// proof the CLI made verified through `require` and through `import` (the web build
// initialized from its own .wasm bytes, as a bundler would), and a flipped byte refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fx = process.env.ZKINFER_FIXTURES || path.join(root, 'target/wasm-fixtures');
const MLP = 'mlp2_relu_digits_stdops';
const bundle = () => new Uint8Array(fs.readFileSync(path.join(fx, MLP, 'keys/bundle.bin')));
const proof = () => fs.readFileSync(path.join(fx, MLP, 'proof.json'), 'utf8');
const npm = (args, cwd) =>
  execFileSync('npm', [...args, '--silent', '--no-audit', '--no-fund', '--offline'], { cwd, encoding: 'utf8' });

// An empty project with both tarballs installed; the packages' names.
function installed() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkinfer-npm-'));
  const tarballs = ['wasm/pkg-node', 'wasm/pkg'].map((p) => {
    const name = npm(['pack', path.join(root, p), '--pack-destination', dir], dir).trim().split('\n').pop();
    return path.join(dir, name);
  });
  fs.writeFileSync(path.join(dir, 'package.json'), '{"name": "consumer", "private": true}\n');
  npm(['install', ...tarballs], dir);
  return dir;
}

const dir = installed();

test('the Node package installs from its tarball and verifies through require', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'wasm/pkg-node/package.json'), 'utf8'));
  assert.equal(pkg.name, '@zkinfer/verifier');
  const require = createRequire(path.join(dir, 'index.js'));
  const zk = require('@zkinfer/verifier');
  assert.ok(require.resolve('@zkinfer/verifier').startsWith(path.join(dir, 'node_modules')));
  assert.equal(zk.version(), pkg.version);
  const r = zk.verify(bundle(), proof());
  assert.equal(r.outputs[0].length, 10);
  assert.equal(r.modelDigest, JSON.parse(proof()).model_digest);
  const p = JSON.parse(proof());
  const at = p.proof.length >> 1;
  p.proof = p.proof.slice(0, at) + (p.proof[at] === '0' ? '1' : '0') + p.proof.slice(at + 1);
  assert.throws(() => zk.verify(bundle(), JSON.stringify(p)));
});

test('the web package installs from its tarball and verifies through import', async () => {
  const entry = path.join(dir, 'node_modules/@zkinfer/verifier-web/zkinfer_wasm.js');
  assert.ok(fs.existsSync(entry), 'installed under node_modules');
  const web = await import(pathToFileURL(entry).href);
  const wasm = fs.readFileSync(path.join(path.dirname(entry), 'zkinfer_wasm_bg.wasm'));
  web.initSync({ module: wasm });
  const r = web.verify(bundle(), proof());
  assert.equal(r.outputs[0].length, 10);
  assert.equal(r.vkDigest, JSON.parse(proof()).vk_digest);
});

test.after(() => fs.rmSync(dir, { recursive: true, force: true }));
