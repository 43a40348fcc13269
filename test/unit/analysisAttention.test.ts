import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { endsSentence, headPattern, lastQueryRow, previousTokenHeads, sinkMap } from '../../src/engine/analysis/attention';

/** Causal patterns [head, q, k] for n positions: head 0 a sink, head 1 previous-token, head 2 uniform. */
function planted(n: number) {
  const data = new Float32Array(3 * n * n);
  for (let q = 0; q < n; q++) {
    data[(0 * n + q) * n + 0] = 1; // head 0: everything on the first token
    if (q === 0) data[(1 * n + q) * n] = 1;
    else data[(1 * n + q) * n + q - 1] = 1; // head 1: the previous token
    for (let k = 0; k <= q; k++) data[(2 * n + q) * n + k] = 1 / (q + 1); // head 2: uniform
  }
  return { tokens: Array.from({ length: n }, (_, i) => i), pattern: () => ({ shape: [3, n, n], data }) };
}

const TEXTS = ['<s>', '▁Hey', ',', '▁are', '▁you', '▁conscious', '?', '▁Can', '▁you', '▁talk', '.', '<0x0A>'];
const text = (id: number) => TEXTS[id]!;

describe('attention analyses', () => {
  test('sink map: A[h][q][0] per head and query, sentence ends, sink and previous-token scores', () => {
    const n = TEXTS.length;
    const m = sinkMap(planted(n), 5, text);
    assert.equal(m.layer, 5);
    assert.equal(m.nHeads, 3);
    assert.equal(m.nPos, n);
    assert.equal(m.values.length, 3 * n);
    assert.ok(m.values.slice(0, n).every((v) => v === 1));
    assert.equal(m.values[n + 1], 1); // head 1 at q = 1: its previous token is the first
    assert.equal(m.values[n + 2], 0);
    assert.ok(Math.abs(m.values[2 * n + 3]! - 1 / 4) < 1e-7);
    assert.deepEqual(m.sentenceEnds, [6, 10, 11]);
    let uniformSink = 0;
    for (let q = 1; q < n; q++) uniformSink += 1 / (q + 1);
    assert.equal(m.meanSink[0], 1);
    assert.ok(Math.abs(m.meanSink[1]! - 1 / (n - 1)) < 1e-7);
    assert.ok(Math.abs(m.meanSink[2]! - uniformSink / (n - 1)) < 1e-7);
    assert.equal(m.previousToken[1], 1);
    assert.equal(m.previousToken[0], 0);
  });

  test('previous-token heads are found first', () => {
    const ranked = previousTokenHeads(planted(12), [0, 1], text);
    assert.equal(ranked.length, 6);
    assert.equal(ranked[0]!.head, 1);
    assert.equal(ranked[0]!.score, 1);
    assert.equal(ranked[1]!.head, 1);
    assert.ok(ranked[2]!.score < 0.5);
  });

  test('full pattern of one head and the last query row', () => {
    const n = 6;
    const p = headPattern(planted(n), 0, 1);
    assert.equal(p.values.length, n * n);
    assert.equal(p.values[3 * n + 2], 1);
    assert.throws(() => headPattern(planted(n), 0, 3), /head 3/);
    const last = lastQueryRow(planted(n), 0);
    assert.equal(last.query, n - 1);
    assert.deepEqual(last.values.slice(0, n), [1, 0, 0, 0, 0, 0]);
    assert.deepEqual(last.values.slice(n, 2 * n), [0, 0, 0, 0, 1, 0]);
    assert.ok(last.values.slice(2 * n).every((v) => Math.abs(v - 1 / n) < 1e-7));
  });

  test('sentence ends from token texts', () => {
    for (const t of ['.', '▁ball.', '?', '!', '."', '?”', '<0x0A>', '▁end).']) assert.ok(endsSentence(t), t);
    for (const t of ['▁ball', ',', '▁Mr', '<s>', '▁"']) assert.ok(!endsSentence(t), t);
  });

  test('a layer held head by head (made on request) reads as the same numbers as the whole tensor, and only the heads read are made', () => {
    const n = TEXTS.length;
    const whole = planted(n);
    const data = whole.pattern().data;
    const made: string[] = [];
    const lazy = {
      tokens: whole.tokens,
      pattern: () => {
        throw new Error('the whole tensor is not read when the layer is held head by head');
      },
      patternHeads: (layer: number) =>
        layer === 5
          ? {
              nHeads: 3,
              nPos: n,
              bytes: 0,
              head: (h: number) => (made.push(`head ${h}`), data.slice(h * n * n, (h + 1) * n * n)),
              row: (h: number, q: number) => (made.push(`row ${h} ${q}`), data.slice((h * n + q) * n, (h * n + q + 1) * n)),
            }
          : undefined,
    };
    assert.deepEqual(sinkMap(lazy, 5, text), sinkMap(whole, 5, text));
    assert.deepEqual(lastQueryRow(lazy, 5), lastQueryRow(whole, 5));
    made.length = 0;
    assert.deepEqual(headPattern(lazy, 5, 1), headPattern(whole, 5, 1));
    assert.deepEqual(made, ['head 1'], 'one head made, not the layer');
    assert.throws(() => headPattern(lazy, 5, 3), /head 3 is outside 0\.\.2/);
  });
});
