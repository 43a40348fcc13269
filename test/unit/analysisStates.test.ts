// The state-vector analyses on synthetic states built to satisfy the article's assumptions.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { articleLayerSimilarity, layerGapSimilarity, sameLayerSimilarity } from '../../src/engine/analysis/states';
import { cosine } from '../../src/engine/analysis/math';
import { Rng } from '../../src/engine/util/random';

/** states[l][t] as a StateSource */
function source(states: Float32Array[][]) {
  return { tokens: states[0]!.map((_, t) => t), state: (l: number, t: number) => states[l]![t]! };
}

/** A random orthonormal set of `count` vectors in d dimensions (Gram-Schmidt on Gaussians). */
function orthonormal(rng: Rng, count: number, d: number): Float64Array[] {
  const out: Float64Array[] = [];
  while (out.length < count) {
    const v = Float64Array.from(rng.normals(d));
    for (const u of out) {
      let p = 0;
      for (let i = 0; i < d; i++) p += u[i]! * v[i]!;
      for (let i = 0; i < d; i++) v[i]! -= p * u[i]!;
    }
    const n = Math.hypot(...v);
    out.push(v.map((x) => x / n));
  }
  return out;
}

describe('state-vector analyses', () => {
  test("the article's next-layer similarity sqrt((3i+1)/(3i+4)) is reproduced on states built to its assumptions", () => {
    // Each token's state after layer i holds 3i + 1 orthogonal token vectors of equal amplitude:
    // layer i + 1 adds three new ones. Scale each layer arbitrarily (normalization must not matter).
    const nLayers = 8;
    const nPos = 5;
    const d = 3 * nLayers + 1 + 4;
    const rng = new Rng(21);
    const states: Float32Array[][] = Array.from({ length: nLayers + 1 }, () => []);
    for (let t = 0; t < nPos; t++) {
      const basis = orthonormal(rng, 3 * nLayers + 1, d);
      for (let l = 0; l <= nLayers; l++) {
        const v = new Float32Array(d);
        const scale = 1 + l * 0.7;
        for (let j = 0; j < 3 * l + 1; j++) for (let i = 0; i < d; i++) v[i]! += scale * basis[j]![i]!;
        states[l]!.push(v);
      }
    }
    const res = layerGapSimilarity(source(states), nLayers, [1, 3], { skipFirst: false });
    const one = res.curves[0]!;
    assert.deepEqual(one.layers, [0, 1, 2, 3, 4, 5, 6, 7]);
    one.mean.forEach((m, i) => assert.ok(Math.abs(m - articleLayerSimilarity(i)) < 1e-5, `layer ${i}: ${m} vs ${articleLayerSimilarity(i)}`));
    assert.ok(Math.abs(articleLayerSimilarity(0) - 0.5) < 1e-12);
    assert.ok(Math.abs(articleLayerSimilarity(1) - Math.sqrt(4 / 7)) < 1e-12); // 0.756: the article's 0.76
    assert.ok(Math.abs(articleLayerSimilarity(2) - Math.sqrt(7 / 10)) < 1e-12); // 0.837: 0.84
    assert.ok(one.sd.every((s) => s < 1e-5), 'every token follows the model exactly');
    // under these assumptions the gap-g similarity is sqrt((3i+1)/(3(i+g)+1)), which is exactly the
    // product of the single gaps: the article's prediction curve is exact here
    const three = res.curves[1]!;
    three.mean.forEach((m, i) => {
      assert.ok(Math.abs(m - Math.sqrt((3 * i + 1) / (3 * (i + 3) + 1))) < 1e-5);
      assert.ok(Math.abs(three.prediction[i]! - m) < 1e-5);
    });
  });

  test('gap curves: first and last token, prediction as the product of single-gap means', () => {
    const rng = new Rng(4);
    const nLayers = 6;
    const states: Float32Array[][] = [];
    let prev = Array.from({ length: 4 }, () => rng.normals(16));
    for (let l = 0; l <= nLayers; l++) {
      states.push(prev.map((v) => Float32Array.from(v)));
      prev = prev.map((v) => v.map((x) => x + 0.5 * rng.normal()));
    }
    const res = layerGapSimilarity(source(states), nLayers, [1, 2]);
    const [g1, g2] = res.curves;
    assert.equal(res.skipFirst, true);
    assert.ok(Math.abs(g1!.first[2]! - cosine(states[2]![0]!, states[3]![0]!)) < 1e-12);
    assert.ok(Math.abs(g2!.last[1]! - cosine(states[1]![3]!, states[3]![3]!)) < 1e-12);
    const mean12 = [1, 2, 3].map((t) => cosine(states[1]![t]!, states[3]![t]!)).reduce((a, b) => a + b) / 3;
    assert.ok(Math.abs(g2!.mean[1]! - mean12) < 1e-12, 'mean leaves position 0 out');
    assert.ok(Math.abs(g2!.prediction[1]! - g1!.mean[1]! * g1!.mean[2]!) < 1e-12);
    assert.equal(g2!.layers.length, nLayers - 1);
    assert.throws(() => layerGapSimilarity(source(states), nLayers, [0]), /gap/);
  });

  test('same-layer similarity: neighbours, next neighbours, all pairs', () => {
    // planted: within a layer, state t = common + noise_t, with neighbour sharing extra
    const rng = new Rng(8);
    const d = 400;
    const nPos = 7;
    const common = rng.normals(d);
    const states: Float32Array[][] = [[]];
    for (let t = 0; t < nPos; t++) states[0]!.push(common.map((c) => c + (t === 0 ? 10 : 1) * rng.normal()));
    const res = sameLayerSimilarity(source(states), 0);
    const h = states[0]!;
    const plain = (gap: number) => {
      const c: number[] = [];
      for (let t = 1; t + gap < nPos; t++) c.push(cosine(h[t]!, h[t + gap]!));
      return c.reduce((a, b) => a + b) / c.length;
    };
    assert.ok(Math.abs(res.neighbour[0]! - plain(1)) < 1e-12);
    assert.ok(Math.abs(res.nextNeighbour[0]! - plain(2)) < 1e-12);
    let s = 0;
    let n = 0;
    for (let i = 1; i < nPos; i++) for (let j = i + 1; j < nPos; j++) { s += cosine(h[i]!, h[j]!); n++; }
    assert.ok(Math.abs(res.allPairs[0]! - s / n) < 1e-12);
    assert.ok(res.allPairs[0]! > 0.4 && res.allPairs[0]! < 0.6, 'half the variance is shared');
    assert.equal(res.meanPairDistance, 7 / 3);
  });
});
