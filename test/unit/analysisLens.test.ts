// The lens on a synthetic float32 dictionary with the plain engine: planted states are found, and
// every value equals a direct computation.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { f32Dictionary } from '../../src/engine/analysis/dictionary';
import { lens, lensLayers, lensQuery } from '../../src/engine/analysis/lens';
import { middleRow } from '../../src/engine/analysis/middle';
import { cosine, dot, norm } from '../../src/engine/analysis/math';
import { ReferenceEngine } from '../../src/engine/analysis/reference/projection';
import { Rng } from '../../src/engine/util/random';

const D = 48;
const V = 60;
const rng = new Rng(17);
const rows = new Float32Array(V * D);
for (let r = 0; r < V; r++) {
  const scale = 0.5 + (r % 5) * 0.3; // row norms differ: the article's lens keeps them raw
  for (let i = 0; i < D; i++) rows[r * D + i] = (scale * rng.normal()) / Math.sqrt(D);
}
const dict = f32Dictionary('input', rows, D, Int32Array.from({ length: V }, (_, i) => i), 'synthetic');
const row = (r: number) => rows.subarray(r * D, (r + 1) * D);
const text = (id: number) => `w${id}`;

/** states[l][pos]: position p at layer l is 2 row(tokens[p]) + l row(7) + small noise */
const tokens = [0, 11, 12, 13, 11];
const nLayers = 4;
const states = Array.from({ length: nLayers + 1 }, (_, l) =>
  tokens.map((t) => {
    const v = new Float32Array(D);
    for (let i = 0; i < D; i++) v[i] = 2 * row(t)[i]! + l * row(7)[i]! + 0.01 * rng.normal();
    return v;
  }),
);
const source = { tokens, state: (l: number, p: number) => states[l]![p]! };
const engine = new ReferenceEngine();

describe('lens', () => {
  test("article normalization: state normalized, rows raw; the planted words lead", () => {
    const res = lens(engine, dict, source, { positions: [2], nLayers, k: 3, tokenText: text });
    assert.equal(res.valueLabel, 'amplitude');
    assert.equal(res.positions[0]!.token, 12);
    const l0 = res.positions[0]!.layers[0]!;
    assert.equal(l0.words[0]!.token, 12, 'layer 0 reads the token itself');
    const l4 = res.positions[0]!.layers[4]!;
    assert.ok(l4.words.slice(0, 2).some((w) => w.token === 7), 'the added word shows by layer 4');
    for (const L of res.positions[0]!.layers) {
      const h = states[L.layer]![2]!;
      for (const w of L.words) assert.ok(Math.abs(w.value - dot(row(w.token), h) / norm(h)) < 1e-6);
      // and nothing outside the list is larger
      const kth = L.words[L.words.length - 1]!.value;
      for (let r = 0; r < V; r++) if (!L.words.some((w) => w.token === r)) assert.ok(dot(row(r), h) / norm(h) <= kth + 1e-9);
    }
  });

  test('cosine normalization divides by the row norm', () => {
    const res = lens(engine, dict, source, { positions: [1], nLayers, k: 4, normalization: 'cosine', tokenText: text });
    for (const L of res.positions[0]!.layers) for (const w of L.words) assert.ok(Math.abs(w.value - cosine(row(w.token), states[L.layer]![1]!)) < 1e-6);
    assert.equal(res.positions[0]!.layers[0]!.words[0]!.token, 11);
    assert.ok(res.positions[0]!.layers[0]!.words[0]!.value > 0.95, `cosine of the token with itself plus noise: ${res.positions[0]!.layers[0]!.words[0]!.value}`);
  });

  test('logit lens: final RMSNorm with gain, softmax probabilities', () => {
    const gain = Float32Array.from({ length: D }, (_, i) => 0.5 + i / D);
    const res = lens(engine, dict, source, { positions: [3], nLayers, k: V, normalization: 'logit-lens', lnFinal: gain, rmsEps: 1e-5, tokenText: text });
    assert.equal(res.valueLabel, 'probability');
    const L = res.positions[0]!.layers[2]!;
    const h = states[2]![3]!;
    const rms = Math.sqrt(h.reduce((s, x) => s + x * x, 0) / D + 1e-5);
    const logits = Array.from({ length: V }, (_, r) => row(r).reduce((s, x, i) => s + (x * h[i]! * gain[i]!) / rms, 0));
    const m = Math.max(...logits);
    const z = logits.reduce((s, x) => s + Math.exp(x - m), 0);
    for (const w of L.words) assert.ok(Math.abs(w.value - Math.exp(logits[w.token]! - m) / z) < 1e-6);
    assert.ok(Math.abs(L.words.reduce((s, w) => s + w.value, 0) - 1) < 1e-5, 'k = vocabulary: probabilities sum to 1');
    assert.throws(() => lens(engine, dict, source, { positions: [3], nLayers, normalization: 'logit-lens', tokenText: text }), /gain/);
  });

  test("prompt basis: only the prompt's unique tokens, optionally without <s>", () => {
    const res = lens(engine, dict, source, { positions: [4], nLayers, k: 10, basis: 'prompt', tokenText: text });
    const got = res.positions[0]!.layers[1]!.words.map((w) => w.token).sort((a, b) => a - b);
    assert.deepEqual(got, [0, 11, 12, 13]);
    const noBos = lens(engine, dict, source, { positions: [4], nLayers, k: 10, basis: 'prompt', excludeBos: true, bos: 0, tokenText: text });
    assert.deepEqual(noBos.positions[0]!.layers[1]!.words.map((w) => w.token).sort((a, b) => a - b), [11, 12, 13]);
  });

  test('layers: all, every k-th (the last always), or a list', () => {
    assert.deepEqual(lensLayers(32, { every: 4 }), [0, 4, 8, 12, 16, 20, 24, 28, 32]);
    assert.deepEqual(lensLayers(10, { every: 4 }), [0, 4, 8, 10]);
    assert.deepEqual(lensLayers(3, undefined), [0, 1, 2, 3]);
    assert.throws(() => lensLayers(3, [4]), /outside/);
    const res = lens(engine, dict, source, { positions: [0, 1], nLayers, layers: { every: 2 }, k: 2, tokenText: text });
    assert.deepEqual(res.positions.map((p) => p.layers.map((l) => l.layer)), [[0, 2, 4], [0, 2, 4]]);
    assert.throws(() => lens(engine, dict, source, { positions: [5], nLayers, tokenText: text }), /position 5/);
  });

  test('lensQuery normalizes (article, cosine) or RMS-normalizes with gain (logit lens)', () => {
    const h = Float32Array.from([3, 4]);
    assert.deepEqual(Array.from(lensQuery(h, 'article')), [0.6000000238418579, 0.800000011920929]);
    const g = Float32Array.from([2, 1]);
    const q = lensQuery(h, 'logit-lens', g, 0);
    const rms = Math.sqrt(12.5);
    assert.ok(Math.abs(q[0]! - (3 / rms) * 2) < 1e-6 && Math.abs(q[1]! - 4 / rms) < 1e-6);
  });

  test('middle row: orthogonal to the <s> direction removed first, then exactly to the word', () => {
    const v = rng.normals(D);
    const sink = rng.normals(D);
    const sinkUnit = sink.map((x) => x / norm(sink));
    const e = rng.normals(D);
    const m = middleRow(v, sinkUnit, e);
    assert.ok(Math.abs(norm(m) - 1) < 1e-6);
    assert.ok(Math.abs(dot(m, e)) < 1e-6, 'no component along the word');
    // removing the word afterwards can re-introduce a little of the sink direction: the recipe's order
    const x = v.map((t) => t / norm(v));
    const a = dot(sinkUnit, x);
    const step1 = x.map((t, i) => t - a * sinkUnit[i]!);
    assert.ok(Math.abs(dot(step1, sinkUnit)) < 1e-6);
    assert.ok(cosine(m, step1) > 0.5);
  });
});
