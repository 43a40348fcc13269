// The middle dictionary: each row follows the recipe (checked against a plain single-prompt run),
// the cache is reused, and rebuilt when the model file or the recipe changes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureFixture, TOK } from '../fixtures/models';
import { ModelSession } from '../../src/engine/llama/session';
import { stateHook } from '../../src/engine/hookNames';
import { MiddleDictionary, middleRow } from '../../src/engine/analysis/middle';
import { commonWordTokens } from '../../src/engine/analysis/wordList';
import { dictionaryRows } from '../../src/engine/analysis/dictionary';
import { lens } from '../../src/engine/analysis/lens';
import { dot, normalized } from '../../src/engine/analysis/math';
import { ReferenceEngine } from '../../src/engine/analysis/reference/projection';
import { DEMO_MODEL_FILE, demoModelIsCurrent, ensureDemoModel } from '../../src/engine/demo/builder';
import { projectCacheDir } from '../../src/engine/assets';
import { checksumPath } from '../../src/engine/util/cacheFile';

describe('middle dictionary', () => {
  let dir: string;
  let model: string;
  let session: ModelSession;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'middle-'));
    model = path.join(dir, 'model.gguf');
    fs.copyFileSync(await ensureFixture('tiny-f32'), model); // a copy whose mtime the test may change
    session = await ModelSession.open(model, { threads: 2 });
  });
  after(() => {
    session?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('rows follow the recipe: [<s>, w] to layer 2, <s> and the word removed, normalized', () => {
    const cacheDir = path.join(dir, 'cache-a');
    const m = MiddleDictionary.open(session, { cacheDir, words: 40 });
    assert.equal(m.fromCache, false);
    assert.deepEqual(m.tokenIds, commonWordTokens(session.file.tokens, 40));
    assert.equal(m.size, 40);
    const dict = m.dictionary();
    assert.equal(dict.name, 'middle');
    assert.equal(dict.nRows, 40);
    const d = session.info.dModel;
    for (const i of [0, 17, 39]) {
      const w = m.tokenIds[i]!;
      // independent: one plain decode of [<s>, w], the state after block 1
      const cache = session.run([1, w], { hooks: [stateHook(2)] });
      const want = middleRow(cache.state(2, 1), normalized(cache.state(2, 0)), session.file.rows(session.file.W_E, w, 1));
      const got = dictionaryRows(dict, i, 1);
      for (let j = 0; j < d; j++) assert.ok(Math.abs(got[j]! - want[j]!) < 1e-4, `row of ${session.file.tokens[w]} element ${j}`);
      assert.ok(Math.abs(dot(got, got) - 1) < 1e-5);
      assert.ok(Math.abs(dot(got, normalized(session.file.rows(session.file.W_E, w, 1)))) < 1e-5, 'no component along its own input row');
    }
    assert.ok(fs.readdirSync(cacheDir).some((f) => f.endsWith('.json')));
  });

  test('the cache is reused; the prompt tokens are added and kept', () => {
    const cacheDir = path.join(dir, 'cache-b');
    const first = MiddleDictionary.open(session, { cacheDir, words: 20 });
    const again = MiddleDictionary.open(session, { cacheDir, words: 20 });
    assert.equal(again.fromCache, true);
    assert.deepEqual(dictionaryRows(again.dictionary(), 0, 20), dictionaryRows(first.dictionary(), 0, 20));
    const prompt = [1, TOK.red, TOK.ball, TOK.red, 2];
    again.ensureTokens(prompt);
    assert.equal(again.size, 22, '<s> and </s> are never rows; red and ball are added once');
    assert.deepEqual(again.tokenIds.slice(20), [TOK.red, TOK.ball]);
    const third = MiddleDictionary.open(session, { cacheDir, words: 20, extraTokens: prompt });
    assert.equal(third.fromCache, true);
    assert.equal(third.size, 22);
    // the lens over the middle dictionary never shows <s>
    const cache = session.run(prompt.slice(0, 4), { hooks: (n) => /resid_post|hook_embed/.test(n) });
    const res = lens(new ReferenceEngine(), third.dictionary(), cache, { positions: [2], nLayers: session.info.nLayers, k: 22, basis: 'prompt', tokenText: (id) => session.file.tokens[id]! });
    const words = res.positions[0]!.layers[2]!.words.map((w) => w.token).sort();
    assert.deepEqual(words, [TOK.red, TOK.ball].sort());
  });

  test('rebuilt when the recipe or the model file changes', () => {
    const cacheDir = path.join(dir, 'cache-c');
    const a = MiddleDictionary.open(session, { cacheDir, words: 10 });
    const b = MiddleDictionary.open(session, { cacheDir, words: 10, layer: 3 });
    assert.equal(b.fromCache, false);
    assert.notEqual(a.key, b.key);
    assert.ok(Math.abs(dot(dictionaryRows(a.dictionary(), 0, 1), dictionaryRows(b.dictionary(), 0, 1)) - 1) > 1e-3, 'another layer, other rows');
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(model, later, later);
    const c = MiddleDictionary.open(session, { cacheDir, words: 10 });
    assert.equal(c.fromCache, false);
    assert.notEqual(c.key, a.key);
    assert.equal(MiddleDictionary.open(session, { cacheDir, words: 10 }).fromCache, true);
    // a damaged cache file is rebuilt, not trusted
    const rows = fs.readdirSync(cacheDir).filter((f) => f.startsWith(`middle-${c.key}`) && f.endsWith('.f32'));
    fs.writeFileSync(path.join(cacheDir, rows[0]!), Buffer.alloc(12));
    assert.equal(MiddleDictionary.open(session, { cacheDir, words: 10 }).fromCache, false);
  });

  test('a corrupt or truncated cache is detected by its checksum and rebuilt, never read', () => {
    const cacheDir = path.join(dir, 'cache-d');
    const built = MiddleDictionary.open(session, { cacheDir, words: 12 });
    const want = dictionaryRows(built.dictionary(), 0, 12);
    const files = fs.readdirSync(cacheDir);
    assert.deepEqual(files.filter((f) => f.includes('.tmp-')), [], 'no temporary file left behind');
    const rows = path.join(cacheDir, files.find((f) => f.endsWith('.f32'))!);
    const meta = path.join(cacheDir, files.find((f) => f.endsWith('.json'))!);
    const good = fs.readFileSync(rows);
    const goodMeta = fs.readFileSync(meta);
    const damages: Array<[string, () => void]> = [
      ['one flipped bit in the rows', () => fs.writeFileSync(rows, Buffer.from(good).fill(good[100]! ^ 1, 100, 101))],
      ['rows cut short', () => fs.writeFileSync(rows, good.subarray(0, good.byteLength - 4))],
      ['rows grown', () => fs.writeFileSync(rows, Buffer.concat([good, Buffer.alloc(4)]))],
      ['metadata cut short', () => fs.writeFileSync(meta, goodMeta.subarray(0, goodMeta.byteLength >> 1))],
      ['metadata without its checksum', () => { const m = JSON.parse(goodMeta.toString('utf8')) as Record<string, unknown>; delete m['rowsSha256']; fs.writeFileSync(meta, JSON.stringify(m)); }],
      ['rows file gone', () => fs.rmSync(rows)],
    ];
    for (const [what, damage] of damages) {
      damage();
      const progress: number[] = [];
      const again = MiddleDictionary.open(session, { cacheDir, words: 12, onProgress: (done) => progress.push(done) });
      assert.equal(again.fromCache, false, `${what}: rebuilt`);
      assert.ok(progress.length > 0 && progress[progress.length - 1] === 12, `${what}: the rebuild reports progress to the end: ${progress.join(',')}`);
      assert.deepEqual(dictionaryRows(again.dictionary(), 0, 12), want, `${what}: the same rows`);
      // and the rewritten cache is whole again
      assert.equal(MiddleDictionary.open(session, { cacheDir, words: 12 }).fromCache, true, `${what}: the rebuilt cache is read`);
      assert.ok(fs.readFileSync(rows).equals(good), `${what}: rows rewritten`);
    }
  });

  test('the demo model: a truncated or damaged file is not current (ensureDemoModel rebuilds it)', async () => {
    const demo = await ensureDemoModel(projectCacheDir());
    assert.ok(demoModelIsCurrent(demo));
    const copy = path.join(dir, DEMO_MODEL_FILE);
    const bytes = fs.readFileSync(demo);
    const place = (b: Uint8Array, withChecksum = true): void => {
      fs.writeFileSync(copy, b);
      if (withChecksum) fs.copyFileSync(checksumPath(demo), checksumPath(copy));
      else fs.rmSync(checksumPath(copy), { force: true });
    };
    place(bytes);
    assert.ok(demoModelIsCurrent(copy), 'an exact copy with its checksum is current');
    place(bytes.subarray(0, bytes.byteLength - 1000));
    assert.equal(demoModelIsCurrent(copy), false, 'truncated');
    const flipped = Buffer.from(bytes);
    flipped[bytes.byteLength - 5000] ^= 0x10; // in the tensor data: the header still parses
    place(flipped);
    assert.equal(demoModelIsCurrent(copy), false, 'one flipped bit in the weights');
    place(bytes, false);
    assert.equal(demoModelIsCurrent(copy), false, 'no checksum: not trusted');
  });

  test('bad recipes are refused', () => {
    assert.throws(() => MiddleDictionary.open(session, { layer: 0 }), /layer 0/);
    assert.throws(() => MiddleDictionary.open(session, { layer: 5 }), /layer 5/);
    assert.throws(() => MiddleDictionary.open(session, { words: -1 }), /word count/);
  });
});
