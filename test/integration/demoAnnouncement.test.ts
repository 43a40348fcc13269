// The engine announces "Building the demo model" only when it really builds it: `npm start` and the
// fixtures build it beforehand, and then opening it must not claim a build.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { projectCacheDir } from '../../src/engine/assets';
import { demoModelPath } from '../../src/engine/demo';
import { EngineService } from '../../src/engine/worker/engineService';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'inner-world-demo-announce-'));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

test('opening the demo model that is there announces no build', { timeout: 120_000 }, async () => {
  assert.ok(fs.existsSync(demoModelPath(projectCacheDir())), 'prepared by test/fixtures/prepare.ts');
  const service = new EngineService();
  const said: string[] = [];
  const info = await service.open({ modelPath: undefined, options: {}, cacheDir: projectCacheDir() }, (m) => said.push(m));
  service.release();
  assert.match(info.name, /demo/i);
  assert.deepEqual(said.filter((m) => /Building the demo model/.test(m)), []);
  assert.ok(said.some((m) => /^Loading inner-world-demo/.test(m)), said.join(' | '));
});

test('opening it with no demo model in the cache builds it and says so', { timeout: 300_000 }, async () => {
  // the extracted vocabulary is reused; the model itself is not there
  fs.symlinkSync(path.join(projectCacheDir(), 'llama.cpp'), path.join(scratch, 'llama.cpp'), 'dir');
  const service = new EngineService();
  const said: string[] = [];
  await service.open({ modelPath: undefined, options: {}, cacheDir: scratch }, (m) => said.push(m));
  service.release();
  assert.ok(fs.existsSync(demoModelPath(scratch)));
  const building = said.filter((m) => /^Building the demo model \(first run only\): /.test(m));
  assert.ok(building.length >= 1, said.join(' | '));
  assert.ok(said.indexOf(building[0]!) < said.findIndex((m) => m.startsWith('Loading')), 'the build is announced before the load');
});
