// A setting only a new engine process can take (innerWorld.gpu: llama.cpp's build is fixed per
// process) restarts the process on purpose: no crash is reported, a request in flight fails as
// cancelled, the next call runs in a new process with no model open (the extension then opens
// the model with the new setting itself).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isInnerWorldError } from '../../src/engine/errors';
import { EngineClient } from '../../src/engine/worker/engineClient';
import { ensureFixture } from '../fixtures/models';

const script = path.join(__dirname, '../../src/engine/worker/engineProcess.ts');
const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'engine-restart-'));
const crashes: string[] = [];
const client = new EngineClient({ script, execArgv: ['--import', 'tsx'], onCrash: (r) => crashes.push(r) });
after(() => {
  client.dispose();
  fs.rmSync(cacheDir, { recursive: true, force: true });
});

test('restart() ends the process without a crash report; the next process starts with no model', async () => {
  const modelPath = await ensureFixture('tiny-f32');
  await client.call('open', { modelPath, options: { gpu: 'cpu' }, cacheDir });
  const first = client.pid;
  assert.ok(first);
  const inFlight = client.call('inspect', { text: 'I like the red ball' });
  client.restart();
  await assert.rejects(inFlight, (e) => isInnerWorldError(e) && e.code === 'cancelled');
  assert.equal(client.running, false);
  await assert.rejects(client.call('inspect', { text: 'I like the red ball' }), (e) => isInnerWorldError(e) && e.code === 'no-model');
  assert.ok(client.pid && client.pid !== first, 'the same process answered');
  const info = await client.call('open', { modelPath, options: { gpu: 'cpu' }, cacheDir });
  assert.equal(info.nLayers, 4);
  assert.deepEqual(crashes, []);
});
