// Which llama.cpp build a process loads, and how: where no GPU library exists the CPU build is
// loaded directly, without node-llama-cpp's getLlama() (its package import and binary-test child
// process were most of a model load, bench/results/peer.md); anywhere a GPU may exist it decides.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gpuLibrariesMayExist } from '../../src/engine/llama/backend';

test('a GPU library in any searched folder sends the choice to node-llama-cpp; other platforms always go there', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iw-gpu-libs-'));
  try {
    const without = gpuLibrariesMayExist('linux', { LD_LIBRARY_PATH: dir });
    for (const lib of ['libvulkan.so.1', 'libcuda.so', 'libnvidia-ml.so.1']) {
      fs.writeFileSync(path.join(dir, lib), '');
      assert.equal(gpuLibrariesMayExist('linux', { LD_LIBRARY_PATH: `/nonexistent:${dir}` }), true, lib);
      fs.rmSync(path.join(dir, lib));
    }
    // a name that only looks like one is not a GPU library
    fs.writeFileSync(path.join(dir, 'libvulkanish.so'), '');
    assert.equal(gpuLibrariesMayExist('linux', { LD_LIBRARY_PATH: dir }), without);
    assert.equal(gpuLibrariesMayExist('darwin', {}), true);
    assert.equal(gpuLibrariesMayExist('win32', {}), true);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the 'cpu' preference loads the CPU build directly: node-llama-cpp's addon only when its own API is asked for", () => {
  const script = `
    const { getBackend } = require('./src/engine/llama/backend');
    const maps = () => require('node:fs').readFileSync('/proc/self/maps', 'utf8');
    getBackend('cpu').then(async (b) => {
      const first = { gpu: b.gpu, label: b.label, addon: maps().includes('llama-addon.node'), ggml: maps().includes('libggml-base'), devices: b.native.ggml.ggml_backend_dev_count() };
      // node-llama-cpp's own API, asked for afterwards, starts on the same build without registering its backends twice
      const llama = await b.nodeLlama();
      const later = { addon: maps().includes('llama-addon.node'), gpu: llama.gpu, devices: b.native.ggml.ggml_backend_dev_count() };
      process.stdout.write(JSON.stringify({ first, later }));
    });`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: path.join(__dirname, '..', '..'), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout) as Record<string, unknown>;
  const { first, later } = got as { first: { devices: number }; later: unknown };
  assert.deepEqual(first, { gpu: false, label: 'CPU', addon: false, ggml: true, devices: first.devices });
  assert.ok(first.devices >= 1);
  assert.deepEqual(later, { addon: true, gpu: false, devices: first.devices });
});
