import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cosine, dot, erf, erfc, meanSd, norm, normalized, pearson, sampleIndices, sigmaOverMeanAbs, topKIndices, GAUSSIAN_SIGMA_OVER_MEAN_ABS } from '../../src/engine/analysis/math';
import { expectedNoiseWords, noiseFloor } from '../../src/engine/analysis/lens';
import { Rng } from '../../src/engine/util/random';

describe('analysis math', () => {
  // the lens, states and middle-dictionary tests compare against results computed with these
  // helpers; so the helpers themselves are pinned to values worked out by hand
  test('dot, norm, normalized and cosine give hand-computed values', () => {
    assert.equal(dot([1, 2, 3], [4, -5, 6]), 12); // 4 - 10 + 18
    assert.equal(dot([9, 1, 2, 3], [0, 4, -5, 6, 7], 3, 1, 1), 12, 'n and offsets select the same three pairs');
    assert.equal(dot([1e8, 1, -1e8], [1, 1, 1]), 1, 'summed in float64: the 1 survives between 1e8 and -1e8');
    assert.equal(norm([3, 4]), 5);
    assert.equal(norm([0, 3, 4, 12], 3, 1), 13);
    assert.deepEqual([...normalized([3, 4])], [Math.fround(0.6), Math.fround(0.8)]);
    assert.deepEqual([...normalized([0, 0, 0])], [0, 0, 0], 'the zero vector stays zero, no NaN');
    assert.equal(cosine([1, 0], [0, 5]), 0);
    assert.equal(cosine([2, 0], [-7, 0]), -1);
    assert.equal(cosine([1, 1], [1, 0]), 1 / Math.sqrt(2));
    assert.equal(cosine([3, 4], [4, 3]), 24 / 25);
    assert.equal(cosine([0, 0], [1, 2]), 0, 'a zero vector is orthogonal to everything, not NaN');
    const f32 = new Float32Array([0.1, 0.2, 0.3]);
    assert.equal(dot(f32, f32), Math.fround(0.1) ** 2 + Math.fround(0.2) ** 2 + Math.fround(0.3) ** 2, 'float32 inputs, float64 sum');
  });

  test('erfc matches tabulated values, including the far tail', () => {
    // Abramowitz & Stegun / high-precision values
    const table: Array<[number, number]> = [
      [0, 1],
      [0.5, 0.4795001221869535],
      [1, 0.15729920705028513],
      [2, 0.004677734981047266],
      [2.5, 0.0004069520174449590],
      [3, 2.209049699858544e-5],
      [4, 1.541725790028002e-8],
    ];
    for (const [x, want] of table) assert.ok(Math.abs(erfc(x) - want) <= 2e-7 * want + 1e-15, `erfc(${x}) = ${erfc(x)}, want ${want}`);
    assert.ok(Math.abs(erf(-1) + 0.8427007929497149) < 2e-7);
  });

  test('noise floor: the expected noise count at F is 1, and F is about 0.055 (≈ 0.06) at d = 4096', () => {
    const f = noiseFloor(4096);
    assert.ok(Math.abs(expectedNoiseWords(4096, f) - 1) < 1e-9, `expected count at F is ${expectedNoiseWords(4096, f)}`);
    // erfc(x) = 2/4096 at x = 2.4654...: F = x / sqrt(2048)
    assert.ok(Math.abs(f - 0.05449) < 5e-4, `F = ${f}`);
    assert.ok(f > 0.05 && f < 0.07, 'the article quotes about 0.06 to 0.07');
    // smaller models have a higher floor
    assert.ok(noiseFloor(128) > f);
  });

  test('noise floor agrees with a simulation of random unit vectors', () => {
    // count components of random unit vectors above F: on average 1 per vector (one-sided)
    const d = 1024;
    const f = noiseFloor(d);
    const rng = new Rng(5);
    let above = 0;
    const trials = 400;
    for (let t = 0; t < trials; t++) {
      const v = rng.normals(d);
      const n = Math.hypot(...v);
      for (const x of v) if (x / n > f) above++;
    }
    const mean = above / trials;
    assert.ok(mean > 0.8 && mean < 1.2, `mean count above F: ${mean}`);
  });

  test('topKIndices keeps the k largest, best first, skipping excluded and NaN', () => {
    const v = [0.1, 5, -2, 5, 3, NaN, 4];
    assert.deepEqual(topKIndices(v, 3), [1, 3, 6]);
    assert.deepEqual(topKIndices(v, 2, new Set([1])), [3, 6]);
    assert.deepEqual(topKIndices(v, 0), []);
    assert.deepEqual(topKIndices(v, 10).length, 6);
  });

  test('sampleIndices is seeded, distinct, sorted and in range', () => {
    const a = sampleIndices(1000, 50, 3);
    assert.deepEqual(a, sampleIndices(1000, 50, 3));
    assert.notDeepEqual(a, sampleIndices(1000, 50, 4));
    assert.equal(new Set(a).size, 50);
    assert.ok(a.every((x, i) => x >= 0 && x < 1000 && (i === 0 || a[i - 1]! < x)));
    assert.deepEqual(sampleIndices(5, 10, 1), [0, 1, 2, 3, 4]);
  });

  test('pearson and sigma over mean |x|', () => {
    // centred: [-1, 0, 1] and [-13/6, -1/6, 14/6]: r = 4.5 / sqrt(2 * 366/36)
    assert.ok(Math.abs(pearson([1, 2, 3], [2, 4, 6.5]) - 4.5 / Math.sqrt((2 * 366) / 36)) < 1e-12);
    assert.ok(Math.abs(pearson([1, 2, 3], [3, 2, 1]) + 1) < 1e-12);
    const rng = new Rng(9);
    const x = rng.normals(200000);
    let s = 0, s2 = 0, sa = 0;
    for (const v of x) { s += v; s2 += v * v; sa += Math.abs(v); }
    const r = sigmaOverMeanAbs(x.length, s, s2, sa);
    assert.ok(Math.abs(r - GAUSSIAN_SIGMA_OVER_MEAN_ABS) < 0.01, `Gaussian sd/mean|x| = ${r}`);
    const { mean, sd } = meanSd([1, 2, 3, 4]);
    assert.equal(mean, 2.5);
    assert.ok(Math.abs(sd - Math.sqrt(1.25)) < 1e-12);
  });
});
