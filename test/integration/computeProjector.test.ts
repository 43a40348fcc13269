// The fast path (ggml through FFI) against the plain reference, on dictionaries of every stored
// type the fixtures have (F32, F16, Q8_0, Q6_K), computed in the stored type, in Q8_0 and in BF16.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FIXTURES, type FixtureName } from '../fixtures/models';
import { useCompute } from '../fixtures/compute';
import { GgmlType } from '../../src/engine/gguf/ggmlTypes';
import { inputDictionary, outputDictionary, dictionaryRows, type Dictionary } from '../../src/engine/analysis/dictionary';
import { ReferenceEngine } from '../../src/engine/analysis/reference/projection';
import { dot, normalized } from '../../src/engine/analysis/math';
import { GgmlEngine } from '../../src/engine/compute/engine';
import { resolveType } from '../../src/engine/compute/projector';
import type { TopKOptions } from '../../src/engine/analysis/engine';
import { Rng } from '../../src/engine/util/random';
import * as fs from 'node:fs';
import { LlamaModelFile } from '../../src/engine/gguf/llamaModel';
import { GgufFile } from '../../src/engine/gguf/reader';
import { BufferSource } from '../../src/engine/gguf/source';

const CASES: Array<[FixtureName, 'input' | 'output']> = [
  ['tiny-f32', 'input'],
  ['tiny-gqa-f16', 'output'],
  ['tiny-tied-q8', 'output'],
  ['small-q4k', 'output'], // Q6_K
];

/** Queries: random unit vectors and a few normalized dictionary rows (the row itself must come first). */
function queries(dict: Dictionary, seed: number): { q: Float32Array; rows: number[] } {
  const rng = new Rng(seed);
  const d = dict.dModel;
  const rows = [5, 2654, 31999];
  const q = new Float32Array((rows.length + 5) * d);
  rows.forEach((r, i) => q.set(normalized(dictionaryRows(dict, r, 1)), i * d));
  for (let i = rows.length; i < rows.length + 5; i++) q.set(normalized(rng.normals(d)), i * d);
  return { q, rows };
}

/** Exact scores of every row for query j, float64, from the stored rows. */
function exact(dict: Dictionary, q: Float32Array, j: number, opts: TopKOptions, norms: Float32Array): Float64Array {
  const d = dict.dModel;
  const out = new Float64Array(dict.nRows);
  const all = dictionaryRows(dict, 0, dict.nRows);
  for (let r = 0; r < dict.nRows; r++) {
    let v = dot(all, q, d, r * d, j * d);
    if (opts.rowNormalize) v /= norms[r]!;
    if (opts.abs) v = Math.abs(v);
    out[r] = v;
  }
  if (opts.softmax) {
    const m = Math.max(...out);
    let z = 0;
    for (let r = 0; r < out.length; r++) z += out[r] = Math.exp(out[r]! - m);
    for (let r = 0; r < out.length; r++) out[r]! /= z;
  }
  return out;
}

describe('fast projection (ggml) against the plain reference', () => {
  const compute = useCompute();

  for (const [name, which] of CASES) {
    for (const computeType of ['stored', 'q8_0', 'bf16'] as const) {
      test(`${name} ${which} dictionary, computed ${computeType}`, async () => {
        const file = await compute.open(name);
        const dict = which === 'input' ? inputDictionary(file) : outputDictionary(file);
        const fast = new GgmlEngine(compute.device(), { computeType });
        const ref = new ReferenceEngine();
        try {
          const p = fast.projector(dict);
          const stored = dict.source.kind === 'tensor' ? dict.source.tensor.type : GgmlType.F32;
          assert.equal(p.type, computeType === 'stored' ? stored : computeType === 'bf16' ? GgmlType.BF16 : GgmlType.Q8_0);
          // row norms: from ggml's dequantization, equal to the JavaScript one's
          const refNorms = ref.rowNorms(dict);
          for (let r = 0; r < dict.nRows; r += 997) assert.ok(Math.abs(p.rowNorms[r]! - refNorms[r]!) <= 1e-5 * refNorms[r]!, `norm of row ${r}`);
          const { q, rows } = queries(dict, FIXTURES[name].seed);
          const nq = q.length / dict.dModel;
          // the exact path is float32 x float32; every other one rounds the query (and the Q8_0 copy the rows)
          const exactPath = computeType === 'stored' && stored === GgmlType.F32;
          for (const opts of [{ k: 10 }, { k: 10, rowNormalize: true }, { k: 7, abs: true }, { k: 5, softmax: true }] as TopKOptions[]) {
            const got = fast.topK(dict, q, opts);
            assert.equal(got.k, opts.k);
            for (let j = 0; j < nq; j++) {
              const ex = exact(dict, q, j, opts, refNorms);
              const sorted = Float64Array.from(ex).sort().reverse();
              const scale = opts.softmax ? sorted[0]! : Math.max(1e-9, Math.abs(sorted[0]!));
              const tol = (exactPath ? 2e-5 : 1.5e-2) * scale;
              for (let i = 0; i < got.k; i++) {
                const r = got.rows[j * got.k + i]!;
                const v = got.values[j * got.k + i]!;
                assert.ok(Math.abs(v - ex[r]!) <= tol, `${JSON.stringify(opts)} query ${j}: value ${v} of row ${r}, exact ${ex[r]}`);
                assert.ok(ex[r]! >= sorted[opts.k - 1]! - 2 * tol, `row ${r} (${ex[r]}) does not belong in the top ${opts.k} (k-th ${sorted[opts.k - 1]})`);
                if (i > 0) assert.ok(v <= got.values[j * got.k + i - 1]!, 'best first');
              }
              if (exactPath) assert.deepEqual(Array.from(got.rows.subarray(j * got.k, (j + 1) * got.k)), Array.from(ref.topK(dict, q.subarray(j * dict.dModel, (j + 1) * dict.dModel), opts).rows), 'same rows as the reference');
            }
            // a dictionary row read through its own dictionary, cosine-normalized, finds itself first
            // (BF16 keeps 8 bits of each element: a planted twin within its rounding may come first,
            // but then its exact cosine is within the tolerance of 1)
            if (opts.rowNormalize) {
              rows.forEach((r, j) => {
                const first = got.rows[j * got.k]!;
                if (computeType === 'bf16' && first !== r) {
                  const ex = exact(dict, q, j, opts, refNorms);
                  assert.ok(ex[first]! >= ex[r]! - 1.5e-2 * ex[r]!, `query ${j}: row ${first} (exact cosine ${ex[first]}) came before the row itself (${ex[r]})`);
                } else assert.equal(first, r);
              });
            }
          }
          // a restricted basis returns dictionary rows from the list only
          const only = [7, 2654, 100, 31000];
          const restricted = fast.topK(dict, q, { k: 3, rows: only });
          const refRestricted = ref.topK(dict, q, { k: 3, rows: only });
          assert.deepEqual(Array.from(restricted.rows), Array.from(refRestricted.rows));
          restricted.values.forEach((v, i) => assert.ok(Math.abs(v - refRestricted.values[i]!) < 1e-4));
          // dense scores
          const s = fast.scores(dict, q.subarray(0, 2 * dict.dModel));
          const sr = ref.scores(dict, q.subarray(0, 2 * dict.dModel));
          let maxErr = 0;
          for (let i = 0; i < s.length; i++) maxErr = Math.max(maxErr, Math.abs(s[i]! - sr[i]!));
          assert.ok(maxErr < (exactPath ? 1e-5 : 2e-2), `scores differ by ${maxErr}`);
        } finally {
          fast.dispose();
        }
      });
    }
  }

  test('a dictionary multiplied where it lies in the mapped file gives the same scores as its uploaded copy', async () => {
    for (const [name, which] of [['tiny-tied-q8', 'output'], ['small-q4k', 'output'], ['tiny-gqa-f16', 'output']] as const) {
      const file = await compute.open(name);
      const mapped = which === 'output' ? outputDictionary(file) : inputDictionary(file);
      // the same file's bytes held in memory: nothing to map, so its rows are uploaded as before
      const inMemory = new LlamaModelFile(GgufFile.fromSource(new BufferSource(new Uint8Array(fs.readFileSync(file.file.path)), 'in memory')));
      const copied = outputDictionary(inMemory);
      const fast = new GgmlEngine(compute.device(), { computeType: 'stored' });
      try {
        const pm = fast.projector(mapped);
        const pc = fast.projector(copied);
        assert.equal(pm.inPlace, true, `${name}: the stored rows are multiplied in place`);
        assert.equal(pc.inPlace, false, `${name}: an in-memory file is uploaded`);
        assert.equal(pm.type, pc.type);
        const { q } = queries(mapped, 11);
        // the same bytes through the same kernel: bit-identical scores and rankings
        assert.deepEqual(Array.from(fast.scores(mapped, q)), Array.from(fast.scores(copied, q)), `${name}: scores`);
        for (const opts of [{ k: 10 }, { k: 10, rowNormalize: true }] as TopKOptions[]) {
          const a = fast.topK(mapped, q, opts);
          const b = fast.topK(copied, q, opts);
          assert.deepEqual(Array.from(a.rows), Array.from(b.rows), `${name} ${JSON.stringify(opts)}: rows`);
          assert.deepEqual(Array.from(a.values), Array.from(b.values), `${name} ${JSON.stringify(opts)}: values`);
        }
        // and against the plain reference: the top row of each query is the exact one's (within rounding)
        const ref = new ReferenceEngine();
        const got = fast.topK(mapped, q, { k: 1, rowNormalize: true });
        const want = ref.topK(mapped, q, { k: 1, rowNormalize: true });
        got.values.forEach((v, j) => assert.ok(Math.abs(v - want.values[j]!) <= 1.5e-2 * Math.abs(want.values[j]!), `${name} query ${j}: ${v} against ${want.values[j]}`));
        // released: the mapping goes with the buffer, and the engine still works on a new copy
        fast.release(mapped);
        assert.deepEqual(Array.from(fast.topK(mapped, q, { k: 3 }).rows), Array.from(fast.topK(copied, q, { k: 3 }).rows));
      } finally {
        fast.dispose();
        inMemory.close();
      }
    }
  });

  test('D^T y (singular-value iteration) equals the plain product', async () => {
    const file = await compute.open('small-q4k');
    const dict = inputDictionary(file);
    const fast = new GgmlEngine(compute.device());
    const rng = new Rng(3);
    const ys = rng.normals(3 * dict.nRows);
    const got = fast.transposeTimes(dict, ys);
    const want = new ReferenceEngine().transposeTimes(dict, ys);
    let maxErr = 0;
    let maxAbs = 0;
    for (let i = 0; i < got.length; i++) {
      maxErr = Math.max(maxErr, Math.abs(got[i]! - want[i]!));
      maxAbs = Math.max(maxAbs, Math.abs(want[i]!));
    }
    assert.ok(maxErr < 1e-4 * maxAbs, `max error ${maxErr} of ${maxAbs}`);
    fast.dispose();
  });

  test("compute type 'auto': Q8_0 on a CPU when rows allow, the stored type on a GPU", () => {
    assert.equal(resolveType('auto', GgmlType.Q4_K, 4096, false), GgmlType.Q8_0);
    assert.equal(resolveType('auto', GgmlType.Q4_K, 4096, true), GgmlType.Q4_K);
    assert.equal(resolveType('auto', GgmlType.F16, 48, false), GgmlType.F16);
    assert.throws(() => resolveType('q8_0', GgmlType.F32, 48, false), /multiple of 32/);
    // a CPU that multiplies bf16 pairs (AVX512_BF16, no AMX) gets BF16 copies; the GPU still the stored type
    assert.equal(resolveType('auto', GgmlType.Q8_0, 2048, false, GgmlType.BF16), GgmlType.BF16);
    assert.equal(resolveType('auto', GgmlType.Q6_K, 4096, true, GgmlType.BF16), GgmlType.Q6_K);
    assert.equal(resolveType('stored', GgmlType.Q8_0, 2048, false, GgmlType.BF16), GgmlType.Q8_0);
  });
});
