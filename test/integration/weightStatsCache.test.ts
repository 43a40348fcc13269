// Weight statistics kept across sessions: a second run (a new cache object, as after a restart)
// reads every matrix's numbers from the disk without reading a weight; a cache that was damaged
// (a changed number, a cut file) or belongs to another version of the model file is not trusted:
// the numbers are computed again, equal the plain reference, and the file is rewritten.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureFixture } from '../fixtures/models';
import { LlamaModelFile } from '../../src/engine/gguf/llamaModel';
import { weightStats, type TensorReducer, type WeightStats } from '../../src/engine/analysis/weightStats';
import { WeightStatsCache } from '../../src/engine/analysis/weightStatsCache';
import { referenceReducer } from '../../src/engine/analysis/reference/reducer';
import { blockSumsReducer } from '../../src/engine/compute/blockSums';
import { ANALYSES } from '../../src/engine/workbench/analyses';
import { Workbench } from '../../src/engine/workbench/workbench';

/** block sums that count the matrices they read */
function counting(): TensorReducer & { calls: number } {
  const r = { calls: 0, label: blockSumsReducer.label, reduce: (f: LlamaModelFile, t: Parameters<TensorReducer['reduce']>[1]) => (r.calls++, blockSumsReducer.reduce(f, t)) };
  return r;
}

function assertStatsClose(got: WeightStats, want: WeightStats, what: string): void {
  assert.equal(got.entries.length, want.entries.length, what);
  got.entries.forEach((e, i) => {
    const w = want.entries[i]!;
    assert.equal(`${e.layer} ${e.role} ${e.acrossAxis}`, `${w.layer} ${w.role} ${w.acrossAxis}`, what);
    for (const k of ['alongModel', 'across', 'whole'] as const) assert.ok(Math.abs(e[k] - w[k]) <= 1e-6 * Math.abs(w[k]), `${what}: layer ${e.layer} ${e.role} ${k} ${e[k]} vs ${w[k]}`);
  });
}

describe('weight statistics cached per model file', () => {
  test('a second session reads the cache; a damaged or outdated one is rebuilt', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-cache-'));
    // a copy of the fixture: its modification time is changed below
    const model = path.join(dir, 'model.gguf');
    fs.copyFileSync(await ensureFixture('small-q4k'), model);
    const file = LlamaModelFile.open(model);
    t.after(() => {
      file.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    const cacheDir = path.join(dir, 'cache');
    const plain = weightStats(file, referenceReducer);
    const n = plain.entries.length;
    assert.equal(n, 7 * file.hparams.nLayers);

    const first = counting();
    const fresh = new WeightStatsCache(cacheDir, model);
    assert.equal(fresh.loaded, false);
    const s1 = weightStats(file, first, { cache: fresh });
    assert.equal(first.calls, n);
    assert.equal(s1.fromCache, 0);
    assertStatsClose(s1, plain, 'first run');
    assert.ok(fs.existsSync(fresh.file), 'the cache file is written');
    assert.equal(fs.readdirSync(cacheDir).filter((f) => f.includes('.tmp-')).length, 0, 'no temporary file is left');

    // a new session: nothing is read from the weights, the numbers are the same
    const second = counting();
    const again = new WeightStatsCache(cacheDir, model);
    assert.equal(again.loaded, true);
    const s2 = weightStats(file, second, { cache: again });
    assert.equal(second.calls, 0, 'no matrix is read again');
    assert.equal(s2.fromCache, n);
    assert.deepEqual(s2.entries, s1.entries);
    assert.equal(s2.reducer, s1.reducer, 'the cached numbers say which reducer computed them');
    // a subset of the matrices is served from the same file
    const subset = weightStats(file, second, { cache: again, roles: ['W_K'], layers: [1] });
    assert.equal(second.calls, 0);
    assert.deepEqual(subset.entries, s1.entries.filter((e) => e.layer === 1 && e.role === 'W_K'));

    // one number changed on disk (valid JSON): the checksum refuses it, every matrix is read again
    const text = fs.readFileSync(fresh.file, 'utf8');
    const e0 = s1.entries[0]!;
    const changed = text.replace(String(e0.alongModel), String(e0.alongModel * 2));
    assert.notEqual(changed, text);
    fs.writeFileSync(fresh.file, changed);
    const third = counting();
    const damaged = new WeightStatsCache(cacheDir, model);
    assert.equal(damaged.loaded, false);
    const s3 = weightStats(file, third, { cache: damaged });
    assert.equal(third.calls, n);
    assertStatsClose(s3, plain, 'after a changed number');
    assert.equal(new WeightStatsCache(cacheDir, model).loaded, true, 'the rebuilt cache is valid again');

    // a cut file (not JSON) is rebuilt too
    fs.writeFileSync(fresh.file, fs.readFileSync(fresh.file).subarray(0, 100));
    const fourth = counting();
    const cut = new WeightStatsCache(cacheDir, model);
    assert.equal(cut.loaded, false);
    assertStatsClose(weightStats(file, fourth, { cache: cut }), plain, 'after a cut file');
    assert.equal(fourth.calls, n);

    // the model file changed (another modification time): the old numbers are not used
    const later = new Date(Date.now() + 60_000);
    fs.utimesSync(model, later, later);
    assert.equal(new WeightStatsCache(cacheDir, model).loaded, false);
  });

  test('the Workbench keeps them in its cache folder: a reopened model answers from the disk', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-cache-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const model = await ensureFixture('tiny-tied-q8');
    const ctx = { progress: () => undefined };
    const run = async () => {
      const wb = new Workbench(model, { cacheDir: dir, gpu: 'cpu' });
      try {
        return await ANALYSES['weight-stats'].run(wb, {}, ctx);
      } finally {
        wb.dispose();
      }
    };
    const a = await run();
    const b = await run();
    assert.equal(a.fromCache, 0);
    assert.equal(b.fromCache, b.entries.length);
    assert.deepEqual(b.entries, a.entries);
    assert.ok(fs.readdirSync(path.join(dir, 'weight-stats')).some((f) => /^weight-stats-[0-9a-f]{20}\.json$/.test(f)));
    // the reference path checks the numbers: it never reads the cache
    const wb = new Workbench(model, { cacheDir: dir, gpu: 'cpu', reference: true });
    try {
      assert.equal(wb.weightStatsCache(), undefined);
      assert.equal((await ANALYSES['weight-stats'].run(wb, {}, ctx)).fromCache, 0);
    } finally {
      wb.dispose();
    }
  });
});
