// Dictionary analyses on fixtures: planted twins are each other's nearest neighbours, the
// similarity matrix equals plain cosines, dictionary statistics agree between the compute.fast() and the
// plain engine, and the singular values are those of the matrix.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TOK } from '../fixtures/models';
import { useCompute } from '../fixtures/compute';
import { dictionaryRows, f32Dictionary, inputDictionary, outputDictionary } from '../../src/engine/analysis/dictionary';
import { nearestNeighbours, similarityMatrix } from '../../src/engine/analysis/similarity';
import { dictionaryStats, leadingSingularValues } from '../../src/engine/analysis/dictStats';
import { cosine } from '../../src/engine/analysis/math';
import { symmetricEigenvalues } from '../../src/engine/analysis/linalg';
import { ReferenceEngine } from '../../src/engine/analysis/reference/projection';
import { Rng } from '../../src/engine/util/random';

describe('dictionary analyses', () => {
  const ref = new ReferenceEngine();
  const compute = useCompute();
  const open = compute.open;

  test('planted twins are nearest neighbours in the input dictionary (both engines)', async () => {
    const file = await open('tiny-f32');
    const input = inputDictionary(file);
    const text = (id: number) => file.tokens[id]!;
    for (const [a, b] of [[TOK.red, TOK.blue], [TOK.blue, TOK.red], [TOK.cat, TOK.dog], [TOK.dog, TOK.cat]] as const) {
      for (const engine of [compute.fast(), ref]) {
        const n = nearestNeighbours(engine, input, input, { token: a, text: text(a) }, { k: 5, tokenText: text });
        assert.equal(n.normalization, 'cosine');
        assert.equal(n.neighbours[0]!.token, b, `${text(a)} -> ${n.neighbours.map((x) => x.text).join(', ')} (${engine.label})`);
        assert.ok(n.neighbours[0]!.value > 0.99);
        assert.ok(n.neighbours.every((x) => x.token !== a), 'the word itself is left out');
        assert.ok(n.neighbours[1]!.value < 0.6, 'the rest are random rows');
      }
    }
    const fastN = nearestNeighbours(compute.fast(), input, input, { token: TOK.ball, text: '▁ball' }, { k: 8, tokenText: text });
    const refN = nearestNeighbours(ref, input, input, { token: TOK.ball, text: '▁ball' }, { k: 8, tokenText: text });
    fastN.neighbours.forEach((x, i) => assert.ok(Math.abs(x.value - refN.neighbours[i]!.value) < 0.01));
  });

  test('across dictionaries: the input row read in the output dictionary (article normalization)', async () => {
    const file = await open('tiny-f32');
    const input = inputDictionary(file);
    const output = outputDictionary(file);
    const text = (id: number) => file.tokens[id]!;
    const n = nearestNeighbours(ref, input, output, { token: TOK.play, text: '▁play' }, { k: 5, tokenText: text });
    assert.equal(n.normalization, 'article');
    const q = dictionaryRows(input, TOK.play, 1);
    const qn = Math.hypot(...q);
    for (const x of n.neighbours) {
      const row = dictionaryRows(output, x.token, 1);
      assert.ok(Math.abs(x.value - row.reduce((s, v, i) => s + (v * q[i]!) / qn, 0)) < 1e-6);
    }
    const f = nearestNeighbours(compute.fast(), input, output, { token: TOK.play, text: '▁play' }, { k: 5, tokenText: text });
    assert.deepEqual(f.neighbours.slice(0, 2).map((x) => x.token), n.neighbours.slice(0, 2).map((x) => x.token));
  });

  test('tied embeddings: one dictionary; its twins (ball, game) found in Q8_0', async () => {
    const file = await open('tiny-tied-q8');
    const input = inputDictionary(file);
    const output = outputDictionary(file);
    assert.equal(input.key, output.key);
    const text = (id: number) => file.tokens[id]!;
    const n = nearestNeighbours(compute.fast(), input, output, { token: TOK.ball, text: '▁ball' }, { k: 3, tokenText: text });
    assert.equal(n.neighbours[0]!.token, TOK.game);
  });

  test('similarity matrix: normalized inner products of the chosen words', async () => {
    const file = await open('tiny-f32');
    const input = inputDictionary(file);
    const words = [TOK.red, TOK.blue, TOK.cat, TOK.dog, TOK.ball].map((token) => ({ token, text: file.tokens[token]! }));
    const m = similarityMatrix(input, words);
    assert.deepEqual(m.texts, ['▁red', '▁blue', '▁cat', '▁dog', '▁ball']);
    for (let i = 0; i < 5; i++) {
      assert.ok(Math.abs(m.matrix[i]![i]! - 1) < 1e-6);
      for (let j = 0; j < 5; j++) {
        const want = cosine(dictionaryRows(input, words[i]!.token, 1), dictionaryRows(input, words[j]!.token, 1));
        assert.ok(Math.abs(m.matrix[i]![j]! - want) < 1e-6);
        assert.equal(m.matrix[i]![j], m.matrix[j]![i]);
      }
    }
    assert.ok(m.matrix[0]![1]! > 0.99 && m.matrix[2]![3]! > 0.99, 'twins');
    assert.ok(Math.abs(m.matrix[0]![2]!) < 0.5, 'unrelated words');
    assert.throws(() => similarityMatrix(input, [{ token: 40000, text: 'x' }]), /no row/);
  });

  test('dictionary statistics: the compute.fast() engine agrees with the plain one; tied dictionaries correlate fully', async () => {
    const file = await open('tiny-f32');
    const opts = { sample: 48, tokenSample: 500, singularValues: 4, seed: 3 };
    const a = dictionaryStats(compute.fast(), inputDictionary(file), outputDictionary(file), opts);
    const b = dictionaryStats(ref, inputDictionary(file), outputDictionary(file), opts);
    assert.equal(a.pairs, 48 * 31999);
    assert.equal(a.pairs, b.pairs);
    for (const side of ['input', 'output'] as const) {
      assert.ok(Math.abs(a[side].fractionPositive - b[side].fractionPositive) < 0.01);
      assert.ok(Math.abs(a[side].meanAbsCosine - b[side].meanAbsCosine) < 0.01 * b[side].meanAbsCosine);
      assert.ok(Math.abs(a[side].rowNormSq.mean - b[side].rowNormSq.mean) < 1e-5 * b[side].rowNormSq.mean);
      assert.ok(Math.abs(a[side].sigmaOverMeanAbs - b[side].sigmaOverMeanAbs) < 1e-9);
      a[side].singularValues.forEach((s, i) => assert.ok(Math.abs(s - b[side].singularValues[i]!) < 1e-3 * s));
      // random 64-dimensional rows: about half the pairs positive, |cos| about sqrt(2/pi)/8
      assert.ok(Math.abs(b[side].fractionPositive - 0.5) < 0.02);
      assert.ok(Math.abs(b[side].meanAbsCosine - Math.sqrt(2 / Math.PI) / 8) < 0.01);
      assert.ok(Math.abs(b[side].sigmaOverMeanAbs - Math.sqrt(Math.PI / 2)) < 0.02);
    }
    assert.ok(Math.abs(a.structureCorrelation - b.structureCorrelation) < 0.02);
    assert.ok(Math.abs(b.structureCorrelation) < 0.05, 'independent random dictionaries');
    assert.equal(a.sameTokenPearson.mean, b.sameTokenPearson.mean);
    assert.ok(Math.abs(b.sameTokenPearson.rms - 1 / 8) < 0.02, 'same-token rows independent: r has sd 1/sqrt(d)');

    const tied = await open('tiny-tied-q8');
    const t = dictionaryStats(compute.fast(), inputDictionary(tied), outputDictionary(tied), { ...opts, singularValues: 0 });
    assert.equal(t.tied, true);
    assert.ok(Math.abs(t.structureCorrelation - 1) < 1e-9);
    assert.ok(Math.abs(t.sameTokenPearson.mean - 1) < 1e-9);
    assert.equal(t.input.fractionPositive, t.output.fractionPositive);
  });

  test('leading singular values: exact on a planted spectrum, and the top one of a fixture', async () => {
    // D = U diag(s) W^T with orthonormal U (2000 x 32), W (32 x 32) and s decaying
    const rng = new Rng(12);
    const n = 2000;
    const d = 32;
    const s = Array.from({ length: d }, (_, i) => 10 * 0.8 ** i);
    const orth = (rows: number, cols: number) => {
      const m = Array.from({ length: cols }, () => Float64Array.from(rng.normals(rows)));
      for (let j = 0; j < cols; j++) {
        for (let i = 0; i < j; i++) {
          let p = 0;
          for (let t = 0; t < rows; t++) p += m[i]![t]! * m[j]![t]!;
          for (let t = 0; t < rows; t++) m[j]![t]! -= p * m[i]![t]!;
        }
        const nn = Math.hypot(...m[j]!);
        for (let t = 0; t < rows; t++) m[j]![t]! /= nn;
      }
      return m; // columns
    };
    const U = orth(n, d);
    const W = orth(d, d);
    const data = new Float32Array(n * d);
    for (let r = 0; r < n; r++) for (let c = 0; c < d; c++) for (let j = 0; j < d; j++) data[r * d + c]! += U[j]![r]! * s[j]! * W[j]![c]!;
    const dict = f32Dictionary('middle', data, d, Int32Array.from({ length: n }, (_, i) => i), 'planted-spectrum');
    for (const engine of [ref, compute.fast()]) {
      const got = leadingSingularValues(engine, dict, 6, 1);
      got.forEach((v, i) => assert.ok(Math.abs(v - s[i]!) < 1e-4 * s[0]!, `${engine.label}: sigma_${i} = ${v}, planted ${s[i]}`));
    }
    // a fixture's top singular value against the exact Gram matrix
    const file = await open('tiny-f32');
    const input = inputDictionary(file);
    const D = input.dModel;
    const g = new Float64Array(D * D);
    const all = dictionaryRows(input, 0, input.nRows);
    for (let r = 0; r < input.nRows; r++) for (let i = 0; i < D; i++) { const x = all[r * D + i]!; for (let j = 0; j < D; j++) g[i * D + j]! += x * all[r * D + j]!; }
    const exact = symmetricEigenvalues(g, D).map(Math.sqrt);
    const got = leadingSingularValues(compute.fast(), input, 3, 2, 8);
    // random rows give a nearly flat spectrum (all values within ~10%), the hardest case for the
    // iteration: close, and never above the true value
    assert.ok(Math.abs(got[0]! - exact[0]!) < 0.02 * exact[0]!, `top singular value ${got[0]} vs exact ${exact[0]}`);
    assert.ok(got.every((v, i) => v <= exact[i]! * 1.001), 'Ritz values never exceed the true ones');
  });
});
