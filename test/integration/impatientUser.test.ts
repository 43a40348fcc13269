// The engine process under an impatient user and a model file that changes under it: ten
// inspections fired at once (only the last counts, the engine is not restarted), the model file
// deleted or replaced while loaded (the loaded model keeps answering; a restart that cannot find
// the file says what to do), and the next inspection succeeding after each.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EngineClient, sameModelFile } from '../../src/engine/worker/engineClient';
import type { ModelInfo } from '../../src/engine/llama/session';
import { LatestOnly } from '../../src/engine/worker/latestOnly';
import { isInnerWorldError } from '../../src/engine/errors';
import { ensureFixture } from '../fixtures/models';

const script = path.join(__dirname, '../../src/engine/worker/engineProcess.ts');

function codeOf(e: unknown): string {
  return isInnerWorldError(e) ? e.code : `not an InnerWorldError: ${String(e)}`;
}

describe('impatient user, changing model file (engine process)', () => {
  let client: EngineClient;
  let dir: string;
  let modelCopy: string;
  const crashes: string[] = [];
  const logs: string[] = [];
  const reopened: ModelInfo[] = [];
  /** what the last explicit open returned */
  let loadedInfo: ModelInfo | undefined;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'impatient-'));
    modelCopy = path.join(dir, 'model.gguf');
    fs.copyFileSync(await ensureFixture('tiny-f32'), modelCopy);
    // a short grace: a cancel that would restart the engine shows up at once
    client = new EngineClient({ script, execArgv: ['--import', 'tsx'], onCrash: (r) => crashes.push(r), onLog: (l) => logs.push(l), onReopen: (i) => reopened.push(i), cancelGraceMs: 300 });
    await client.call('open', { modelPath: modelCopy, options: {}, cacheDir: dir });
  });
  after(() => {
    client.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('ten inspections in quick succession: only the last answers, nine are cancelled, the engine keeps its process', async () => {
    const pid = client.pid;
    assert.ok(pid);
    const latest = new LatestOnly();
    // each a bit longer than the one before, so a result names the request it answers
    const texts = Array.from({ length: 10 }, (_, i) => `I like the red ball${' and the blue ball'.repeat(i * 4)}`);
    const all = texts.map((text) => latest.run((superseded) => client.call('inspect', { text }, { supersede: superseded })));
    const settled = await Promise.allSettled(all);
    const last = settled.at(-1)!;
    assert.equal(last.status, 'fulfilled', last.status === 'rejected' ? String(last.reason) : '');
    const expected = await client.call('inspect', { text: texts.at(-1)! });
    assert.equal((last as PromiseFulfilledResult<typeof expected>).value.tokens.length, expected.tokens.length);
    for (const [i, r] of settled.slice(0, -1).entries()) {
      assert.equal(r.status, 'rejected', `request ${i} was superseded`);
      assert.equal(codeOf((r as PromiseRejectedResult).reason), 'cancelled', `request ${i}`);
    }
    assert.equal(client.pid, pid, 'the engine process was not restarted');
    assert.deepEqual(crashes, []);
    assert.deepEqual(logs.filter((l) => /restarting the engine/.test(l)), []);
  });

  test('the model file deleted while loaded: the loaded model keeps answering, with the same numbers', async () => {
    const before = await client.call('inspect', { text: 'I like the red ball' });
    const lensBefore = await client.analysis('lens', { inspectionId: before.id, positions: [4], dictionary: 'output', k: 3, normalization: 'article' });
    fs.rmSync(modelCopy);
    const after = await client.call('inspect', { text: 'I like the red ball' });
    assert.deepEqual(after.tokens.map((t) => t.id), before.tokens.map((t) => t.id));
    const lensAfter = await client.analysis('lens', { inspectionId: after.id, positions: [4], dictionary: 'output', k: 3, normalization: 'article' });
    assert.deepEqual(lensAfter.positions, lensBefore.positions);
  });

  test('a restart that cannot find the deleted file says so and what to do; loading another model works', async () => {
    const pid = client.pid;
    await assert.rejects(client.call('crash', {}), (e) => codeOf(e) === 'engine-crashed');
    let message = '';
    await assert.rejects(client.call('inspect', { text: 'I like the red ball' }), (e) => {
      message = (e as Error).message;
      return codeOf(e) === 'model-load-failed';
    });
    // the reason first (with the path, quoted), then what to do
    assert.match(message, /^Model file not found: ".*model\.gguf"\. It was moved, renamed or deleted: load it again .*Load Model/);
    assert.notEqual(client.pid, pid);
    fs.copyFileSync(await ensureFixture('tiny-gqa-f16'), modelCopy);
    const info = await client.call('open', { modelPath: modelCopy, options: {}, cacheDir: dir });
    loadedInfo = info;
    assert.equal(info.nLayers, 2);
    assert.ok((await client.call('inspect', { text: 'I like the red ball' })).tokens.length > 1);
  });

  test('the model file replaced by another model while loaded: the loaded one keeps answering as before', async () => {
    const before = await client.call('inspect', { text: 'the red ball' });
    const lensBefore = await client.analysis('lens', { inspectionId: before.id, positions: [2], dictionary: 'input', k: 3, normalization: 'article' });
    // another model renamed over it (as a download or a copy tool does)
    const other = path.join(dir, 'other.gguf.part');
    fs.copyFileSync(await ensureFixture('tiny-f32'), other);
    fs.renameSync(other, modelCopy);
    const after = await client.call('inspect', { text: 'the red ball' });
    assert.equal(after.nLayers, 2, 'still the loaded two-layer model');
    const lensAfter = await client.analysis('lens', { inspectionId: after.id, positions: [2], dictionary: 'input', k: 3, normalization: 'article' });
    assert.deepEqual(lensAfter.positions, lensBefore.positions);
  });

  test('after the replaced file, an engine restart opens the new file and says it is another one', async () => {
    assert.ok(loadedInfo, 'the test before loaded a model');
    assert.equal(reopened.length, 0, 'no reopen yet');
    await assert.rejects(client.call('crash', {}), (e) => codeOf(e) === 'engine-crashed');
    const after = await client.call('inspect', { text: 'the red ball' });
    assert.equal(reopened.length, 1, 'the client reported the reopen');
    const now = reopened[0];
    assert.equal(now.path, loadedInfo.path);
    assert.equal(sameModelFile(loadedInfo, now), false, `the reopened file is another model (${loadedInfo.name}, ${loadedInfo.nKvHeads} kv heads -> ${now.name}, ${now.nKvHeads})`);
    assert.equal(sameModelFile(now, { ...now }), true);
    assert.equal(after.nLayers, now.nLayers);
    // the inspection now answers from the new file: its token count matches a fresh open of it
    const fresh = await client.call('open', { modelPath: modelCopy, options: {}, cacheDir: dir });
    assert.equal(sameModelFile(fresh, now), true, 'a fresh open of the same file is the same model file');
  });
});
