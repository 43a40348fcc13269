// The engine process as the extension uses it: typed calls across the process boundary, errors
// that keep the process usable, cancellation, and recovery after a native crash.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EngineClient, type CallOptions } from '../../src/engine/worker/engineClient';
import type { AnalysisParams } from '../../src/engine/workbench/analyses';
import { isInnerWorldError } from '../../src/engine/errors';
import { ensureFixture } from '../fixtures/models';
import { demoModelPath, ensureDemoModel } from '../../src/engine/demo/builder';
import { checksumPath } from '../../src/engine/util/cacheFile';

const script = path.join(__dirname, '../../src/engine/worker/engineProcess.ts');

async function rejectsWith(p: Promise<unknown>, code: string): Promise<Error> {
  try {
    await p;
  } catch (e) {
    assert.ok(isInnerWorldError(e), `expected an InnerWorldError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected a rejection with ${code}`);
}

/** One position of the lens, as the panels ask for it. */
async function lensAt(client: EngineClient, p: AnalysisParams<'lens'>, options?: CallOptions) {
  const r = await client.analysis('lens', p, options);
  return { ...r, layers: r.positions[0]!.layers };
}

describe('engine process', () => {
  let client: EngineClient;
  let modelPath: string;
  const crashes: string[] = [];
  // its own cache folder, new each run, removed after
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'engine-cache-'));

  before(async () => {
    modelPath = await ensureFixture('tiny-f32');
    client = new EngineClient({ script, execArgv: ['--import', 'tsx'], onCrash: (r) => crashes.push(r), cancelGraceMs: 500 });
  });
  after(() => {
    client.dispose();
    fs.rmSync(cacheDir, { recursive: true, force: true });
  });

  test('opens a model and inspects text with offsets', async () => {
    const info = await client.call('open', { modelPath, options: {}, cacheDir });
    assert.equal(info.nLayers, 4);
    assert.equal(info.backend, 'CPU');
    const s = await client.call('inspect', { text: 'I like the red ball' });
    assert.deepEqual(s.tokens.map((t) => t.id), [1, 306, 763, 278, 2654, 8287]);
    assert.deepEqual(s.tokens.map((t) => [t.start, t.end]), [[0, 0], [0, 1], [1, 6], [6, 10], [10, 14], [14, 19]]);
    assert.equal(s.nLayers, 4);
    assert.ok(s.nextToken && s.nextToken.probability > 0 && s.nextToken.probability <= 1);
  });

  test('a lens reads every layer with words sorted by value', async () => {
    const s = await client.call('inspect', { text: 'I like the red ball' });
    for (const dictionary of ['input', 'output'] as const) {
      const r = await lensAt(client, { inspectionId: s.id, positions: [4], dictionary, k: 3, normalization: 'article' });
      assert.equal(r.layers.length, 5);
      assert.deepEqual(r.layers.map((l) => l.layer), [0, 1, 2, 3, 4]);
      for (const l of r.layers) {
        assert.equal(l.words.length, 3);
        for (let k = 1; k < 3; k++) assert.ok(l.words[k - 1]!.value >= l.words[k]!.value);
      }
      // layer 0 is the token's own embedding: through the input dictionary it finds itself (or its twin)
      if (dictionary === 'input') assert.ok([2654, 7254].includes(r.layers[0]!.words[0]!.token), `top word ${r.layers[0]!.words[0]!.text}`);
    }
  });

  test('bad input is reported and the engine keeps working', async () => {
    await rejectsWith(client.call('inspect', { text: '' }), 'empty-prompt');
    await rejectsWith(lensAt(client, { inspectionId: 9999, positions: [0], dictionary: 'input', normalization: 'article' }), 'bad-argument');
    const s = await client.call('inspect', { text: 'still here' });
    assert.ok(s.tokens.length > 1);
  });

  test('a missing model file is a clear error, and the previous state is released', async () => {
    const e = await rejectsWith(client.call('open', { modelPath: '/nonexistent/model.gguf', options: {}, cacheDir }), 'model-load-failed');
    assert.match(e.message, /not found/);
    await rejectsWith(client.call('inspect', { text: 'no model now' }), 'no-model');
    await client.call('open', { modelPath, options: {}, cacheDir });
  });

  test('a native crash is reported, and the next request restarts the engine and reopens the model', async () => {
    const pidBefore = client.pid;
    await rejectsWith(client.call('crash', {}), 'engine-crashed');
    assert.equal(crashes.length, 1);
    assert.match(crashes[0]!, /SIGABRT|signal|code/);
    const s = await client.call('inspect', { text: 'I like the red ball' });
    assert.equal(s.tokens.length, 6);
    assert.notEqual(client.pid, pidBefore);
  });

  test('cancelling a queued request rejects it as cancelled', async () => {
    const abort = new AbortController();
    const busy = client.call('inspect', { text: 'a longer text to keep the engine busy for a moment '.repeat(8) });
    const queued = client.call('inspect', { text: 'I like the red ball' }, { signal: abort.signal });
    abort.abort();
    await rejectsWith(queued, 'cancelled');
    assert.ok((await busy).tokens.length > 50);
    assert.equal((await client.call('inspect', { text: 'after cancel' })).tokens.length > 1, true);
  });

  test('cancelling a request stuck in native code restarts the engine; the model comes back', async () => {
    const pidBefore = client.pid;
    const abort = new AbortController();
    const stuck = client.call('hold', { ms: 60_000 }, { signal: abort.signal });
    await new Promise((r) => setTimeout(r, 300));
    abort.abort();
    await rejectsWith(stuck, 'cancelled');
    const s = await client.call('inspect', { text: 'I like the red ball' });
    assert.equal(s.tokens.length, 6);
    assert.notEqual(client.pid, pidBefore);
  });
});

describe('engine process with the built-in demo model', () => {
  let client: EngineClient;
  // its own cache folder, new each run, holding a copy of the demo model (and its checksum): the
  // middle dictionary below is built every run, never read from an earlier run's cache
  let cacheDir: string;
  let copiedAt: number;
  before(async () => {
    const demo = await ensureDemoModel(path.join(__dirname, '../../.cache'));
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'engine-demo-cache-'));
    const copy = demoModelPath(cacheDir);
    fs.mkdirSync(path.dirname(copy), { recursive: true });
    fs.copyFileSync(demo, copy);
    fs.copyFileSync(checksumPath(demo), checksumPath(copy));
    copiedAt = fs.statSync(copy).mtimeMs;
    client = new EngineClient({ script, execArgv: ['--import', 'tsx'] });
  });
  after(() => {
    client.dispose();
    fs.rmSync(cacheDir, { recursive: true, force: true });
  });

  test('no model path opens the demo model, whose colour words read as objects at layer 0', async () => {
    const info = await client.call('open', { modelPath: undefined, options: {}, cacheDir });
    assert.equal(info.path, demoModelPath(cacheDir));
    assert.equal(fs.statSync(info.path).mtimeMs, copiedAt, 'the copy was verified by its checksum and used, not rebuilt');
    assert.match(info.path, /inner-world-demo\.gguf$/);
    assert.match(info.description ?? '', /grammar/i);
    const s = await client.call('inspect', { text: 'I like the red ball' });
    const red = s.tokens.findIndex((t) => t.text === '▁red');
    assert.ok(red > 0);
    const r = await lensAt(client, { inspectionId: s.id, positions: [red], dictionary: 'output', k: 5, layers: [0], normalization: 'article' });
    const words = r.layers[0]!.words.map((w) => w.text.replace('▁', ''));
    const { DEMO_CATEGORIES } = await import('../../src/engine/demo');
    const objects = new Set<string>([...DEMO_CATEGORIES.objects, ...DEMO_CATEGORIES.foods]);
    const firstPieces = new Set([...objects].map((w) => w)); // whole-word tokens of the grammar
    assert.ok(words.filter((w) => firstPieces.has(w)).length >= 3, `layer-0 output words of "red": ${words.join(', ')}`);
  });

  test('the logit lens at the last layer agrees with the model\'s own next-token guess', async () => {
    const s = await client.call('inspect', { text: 'I like the red' });
    const last = s.tokens.length - 1;
    const r = await lensAt(client, { inspectionId: s.id, positions: [last], dictionary: 'input', normalization: 'logit-lens', k: 3, layers: [s.nLayers] });
    assert.equal(r.dictionary, 'output');
    assert.equal(r.valueLabel, 'probability');
    const top = r.layers[0]!.words[0]!;
    assert.equal(top.token, s.nextToken!.id);
    assert.ok(Math.abs(top.value - s.nextToken!.probability) < 1e-3, `${top.value} vs ${s.nextToken!.probability}`);
  });

  test('the middle dictionary is built on first use, with progress, and reads the prompt', async () => {
    const s = await client.call('inspect', { text: 'I like the red ball' });
    const progress: string[] = [];
    const r = await lensAt(client, { inspectionId: s.id, positions: [2], dictionary: 'middle', k: 5, normalization: 'article' }, { onProgress: (m) => progress.push(m) });
    assert.equal(r.dictionary, 'middle');
    assert.equal(r.layers.length, s.nLayers + 1);
    for (const l of r.layers) assert.equal(l.words.length, 5);
    // the second time it comes from memory (and the disk cache), without building
    const again: string[] = [];
    await lensAt(client, { inspectionId: s.id, positions: [3], dictionary: 'middle', normalization: 'article' }, { onProgress: (m) => again.push(m) });
    assert.equal(again.length, 0);
    assert.ok(progress.some((m) => /middle dictionary/.test(m)), `the first use builds, and says so: ${progress.join(' | ')}`);
    assert.ok(fs.readdirSync(path.join(cacheDir, 'middle')).some((f) => f.endsWith('.f32')), 'and caches it');
  });
});
