// Head key/query word maps: the planted key rows map to their tokens, grouped-query heads share
// their kv head's map, and every value equals |<token|M_r>| computed plainly.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TOK } from '../fixtures/models';
import { useCompute } from '../fixtures/compute';
import { dictionaryRows, inputDictionary } from '../../src/engine/analysis/dictionary';
import { headWordMap } from '../../src/engine/analysis/headMap';
import { dot, norm } from '../../src/engine/analysis/math';
import { ReferenceEngine } from '../../src/engine/analysis/reference/projection';

describe('head word maps', () => {
  const ref = new ReferenceEngine();
  const compute = useCompute();

  test('tiny-f32 layer 0 head 1: the planted key rows map to ball, court, play, game', async () => {
    const file = await compute.open('tiny-f32');
    const text = (id: number) => file.tokens[id]!;
    const planted = [TOK.ball, TOK.court, TOK.play, TOK.game];
    for (const engine of [ref, compute.fast()]) {
      const map = headWordMap(engine, file, { layer: 0, head: 1, matrix: 'W_K', top: 3, tokenText: text });
      assert.equal(map.rows.length, 16);
      assert.equal(map.kvHead, 1);
      const top4 = map.rows.slice(0, 4);
      assert.deepEqual(top4.map((r) => r.row).sort(), [0, 1, 2, 3], 'the planted rows come first');
      for (const r of top4) {
        assert.equal(r.tokens[0]!.token, planted[r.row], `${engine.label}: row ${r.row} -> ${r.tokens[0]!.text}`);
        const e = dictionaryRows(inputDictionary(file), planted[r.row]!, 1);
        assert.ok(Math.abs(r.tokens[0]!.value - 3 * dot(e, e)) < 0.01 * 3 * dot(e, e), 'value |<token|3 token>| = 3 ||E_token||^2');
        assert.ok(Math.abs(r.norm - 3 * norm(e)) < 1e-4 * r.norm);
      }
      for (let i = 1; i < map.rows.length; i++) assert.ok(map.rows[i]!.tokens[0]!.value <= map.rows[i - 1]!.tokens[0]!.value, 'sorted by value');
    }
  });

  test('values are |<token|M_r>|, with and without the RMSNorm gain folded in', async () => {
    const file = await compute.open('tiny-f32');
    const text = (id: number) => file.tokens[id]!;
    const E = inputDictionary(file);
    const g = file.full(file.weight('ln1', 2));
    for (const foldNorm of [false, true]) {
      const map = headWordMap(ref, file, { layer: 2, head: 3, matrix: 'W_Q', foldNorm, top: 2, tokenText: text });
      const M = file.headSlice('W_Q', 2, 3);
      const d = file.hparams.dModel;
      for (const r of map.rows) {
        const m = M.subarray(r.row * d, (r.row + 1) * d).map((x, i) => (foldNorm ? x * g[i]! : x));
        assert.ok(Math.abs(r.norm - norm(m)) < 1e-5 * r.norm);
        for (const t of r.tokens) assert.ok(Math.abs(t.value - Math.abs(dot(dictionaryRows(E, t.token, 1), m))) < 1e-5);
      }
      // the best token of row 0 beats every other token
      const row0 = map.rows.find((r) => r.row === 0)!;
      const m0 = M.subarray(0, d).map((x, i) => (foldNorm ? x * g[i]! : x));
      let best = 0;
      for (let t = 0; t < E.nRows; t++) best = Math.max(best, Math.abs(dot(dictionaryRows(E, t, 1), m0)));
      assert.ok(Math.abs(row0.tokens[0]!.value - best) < 1e-5);
    }
    const plain = headWordMap(ref, file, { layer: 2, head: 3, matrix: 'W_Q', tokenText: text });
    const folded = headWordMap(ref, file, { layer: 2, head: 3, matrix: 'W_Q', foldNorm: true, tokenText: text });
    assert.notDeepEqual(plain.rows.map((r) => r.norm), folded.rows.map((r) => r.norm), 'the gain changes the rows');
  });

  test('grouped-query attention: heads 4 and 5 share kv head 1, whose rows point at red and cat', async () => {
    const file = await compute.open('tiny-gqa-f16');
    const text = (id: number) => file.tokens[id]!;
    const h5 = headWordMap(compute.fast(), file, { layer: 1, head: 5, matrix: 'W_K', tokenText: text });
    const h4 = headWordMap(compute.fast(), file, { layer: 1, head: 4, matrix: 'W_K', tokenText: text });
    const h3 = headWordMap(compute.fast(), file, { layer: 1, head: 3, matrix: 'W_K', tokenText: text });
    assert.equal(h5.kvHead, 1);
    assert.equal(h4.kvHead, 1);
    assert.equal(h3.kvHead, 0);
    const byRow = (m: typeof h5) => new Map(m.rows.map((r) => [r.row, r.tokens[0]!.token]));
    assert.equal(byRow(h5).get(0), TOK.red);
    assert.equal(byRow(h5).get(1), TOK.cat);
    assert.deepEqual(h4.rows, h5.rows);
    assert.ok(![TOK.red, TOK.cat].includes(byRow(h3).get(0) as 2654), 'another kv head has no planted rows');
    assert.throws(() => headWordMap(compute.fast(), file, { layer: 2, head: 0, matrix: 'W_K', tokenText: text }), /layer 2/);
    assert.throws(() => headWordMap(compute.fast(), file, { layer: 0, head: 8, matrix: 'W_K', tokenText: text }), /head 8/);
  });
});
