// The WebAssembly verifier in a headless Chromium (Debian's `chromium`, driven by
// playwright-core from npm): the example page (examples/web/) loads wasm/pkg, verifies a
// proof the CLI made and shows its outputs and digests; a tampered proof shows the failure.
// The test reads the page and takes screenshots into its temporary directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(path.join(root, '.tools/package.json'));
const { chromium } = require('playwright-core');
const fx = process.env.ZKINFER_FIXTURES || path.join(root, 'target/wasm-fixtures');
const MLP = 'mlp2_relu_digits_stdops';
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };

function serve() {
  // The repository root, read-only, for the page and wasm/pkg.
  const server = http.createServer((req, res) => {
    const file = path.join(root, decodeURIComponent(new URL(req.url, 'http://x').pathname));
    if (!file.startsWith(root) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server)));
}

const executablePath = process.env.CHROMIUM || ['/usr/bin/chromium', '/usr/bin/chromium-browser']
  .find((p) => fs.existsSync(p));

test('the example page verifies a proof in Chromium and shows a tampered one failing', async () => {
  assert.ok(executablePath, 'Chromium not found: apt-get install chromium (or set CHROMIUM)');
  const shots = fs.mkdtempSync(path.join(os.tmpdir(), 'zkinfer-browser-'));
  const server = await serve();
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage();
    const url = `http://127.0.0.1:${server.address().port}/examples/web/index.html`;
    await page.goto(url);
    await page.waitForSelector('body[data-ready="1"]');
    const bundle = path.join(fx, MLP, 'keys/bundle.bin');
    const proofPath = path.join(fx, MLP, 'proof.json');
    await page.setInputFiles('#bundle', bundle);
    await page.setInputFiles('#proof', proofPath);
    const times = [];
    for (let i = 0; i < 5; i++) {
      await page.click('#verify');
      await page.waitForSelector('#status.valid');
      times.push(Number(await page.getAttribute('body', 'data-ms')));
    }
    const outputs = JSON.parse(await page.textContent('#outputs'));
    const want = JSON.parse(fs.readFileSync(proofPath, 'utf8'));
    assert.equal(outputs[0].length, 10);
    for (let i = 0; i < 10; i++) assert.ok(Math.abs(outputs[0][i] - want.outputs[0][i]) < 1e-6);
    assert.equal(await page.textContent('#model'), want.model_digest);
    assert.equal(await page.textContent('#vk'), want.vk_digest);
    await page.screenshot({ path: path.join(shots, 'valid.png') });

    // The same proof with one byte flipped.
    const bad = JSON.parse(fs.readFileSync(proofPath, 'utf8'));
    bad.proof = bad.proof.slice(0, 40) + (bad.proof[40] === '0' ? '1' : '0') + bad.proof.slice(41);
    const badPath = path.join(shots, 'tampered.json');
    fs.writeFileSync(badPath, JSON.stringify(bad));
    await page.setInputFiles('#proof', badPath);
    await page.click('#verify');
    await page.waitForSelector('#status.rejected');
    assert.match(await page.textContent('#status'), /REJECTED: .*(invalid|proof bytes|point)/);
    assert.equal(await page.textContent('#outputs'), '');
    await page.screenshot({ path: path.join(shots, 'rejected.png') });
    // The transformer block's proof, for the timing table.
    const rows = [{ model: MLP, chromium_ms: median(times) }];
    const block = 'tiny_block_op17';
    await page.setInputFiles('#bundle', path.join(fx, block, 'keys/bundle.bin'));
    await page.setInputFiles('#proof', path.join(fx, block, 'proof.json'));
    const blockTimes = [];
    for (let i = 0; i < 5; i++) {
      await page.click('#verify');
      await page.waitForSelector('#status.valid');
      blockTimes.push(Number(await page.getAttribute('body', 'data-ms')));
    }
    rows.push({ model: block, chromium_ms: median(blockTimes) });
    fs.writeFileSync(path.join(fx, 'browser-times.json'), JSON.stringify(rows));
    console.log(rows.map((r) => `${r.model}: ${r.chromium_ms.toFixed(1)} ms in Chromium`).join('\n'));
    console.log(`screenshots in ${shots}`);
    assert.ok(fs.statSync(path.join(shots, 'valid.png')).size > 1000);
  } finally {
    await browser.close();
    server.close();
  }
});
