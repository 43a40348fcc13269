// Weight views read from the file alone: anatomy of real files, weight statistics (fast reducer
// against the plain one, and planted distributions found on the right axis), heatmaps.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fixtureTensors, FIXTURES, FIXTURE_NAMES, fullShape, vocabPath } from '../fixtures/models';
import { useCompute } from '../fixtures/compute';
import { projectCacheDir } from '../../src/engine/assets';
import { readTokenizerMetadata, writeLlamaGguf } from '../../src/engine/gguf/llamaWriter';
import { parameterTally, tensorTable } from '../../src/engine/analysis/anatomy';
import { meanSigmaOverMean, weightStats } from '../../src/engine/analysis/weightStats';
import { referenceReducer } from '../../src/engine/analysis/reference/reducer';
import { weightHeatmap } from '../../src/engine/analysis/heatmap';
import { GgmlReducer } from '../../src/engine/compute/reducer';
import { blockSumsReducer } from '../../src/engine/compute/blockSums';
import type { TensorReducer } from '../../src/engine/analysis/weightStats';
import { Rng } from '../../src/engine/util/random';

const PLANTED_VERSION = 1;
const HEAD_SCALES = [0.2, 1, 3, 0.6];

/**
 * tiny-f32's weights with two planted distributions: layer 0 W_Q is Laplace (sd/mean|x| = sqrt 2
 * along every axis); layer 1 W_K's heads have very different loudness (rows are Gaussian, so the
 * vectors along d_model stay at 1.2533, but a column crosses quiet and loud heads: fat-tailed).
 */
function plantedWeightsFile(): string {
  const file = path.join(projectCacheDir(), 'analysis', `planted-weights-v${PLANTED_VERSION}.gguf`);
  if (fs.existsSync(file)) return file;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const spec = FIXTURES['tiny-f32'];
  const tensors = fixtureTensors(spec);
  const rng = new Rng(99);
  const q = tensors.find((t) => t.name === 'blk.0.attn_q.weight')!;
  const qd = q.data as Float32Array;
  for (let i = 0; i < qd.length; i++) qd[i] = 0.1 * Math.log(rng.uniform() + 1e-12) * (rng.uniform() < 0.5 ? -1 : 1); // Laplace
  const k = tensors.find((t) => t.name === 'blk.1.attn_k.weight')!;
  const kd = k.data as Float32Array;
  const d = spec.shape.dModel;
  const dHead = d / spec.shape.nHeads;
  for (let r = 0; r < kd.length / d; r++) for (let i = 0; i < d; i++) kd[r * d + i] = HEAD_SCALES[Math.floor(r / dHead)]! * rng.normal();
  writeLlamaGguf(file, { shape: fullShape(spec), name: 'planted weights', tokenizer: readTokenizerMetadata(vocabPath()), tensors });
  return file;
}

describe('weight views', () => {
  const compute = useCompute();
  let reducer: GgmlReducer;
  before(() => {
    reducer = new GgmlReducer(compute.device(), { blockSums: false }); // the graph itself: block sums are tested on their own
  });
  after(() => reducer?.dispose());
  const open = compute.open;

  for (const name of FIXTURE_NAMES) {
    test(`${name}: the fast reducers' sums and statistics equal the plain ones`, async () => {
      const file = await open(name);
      const fast: [string, TensorReducer, number][] = [
        ['ggml', reducer, 2e-6], // float32 partial sums
        ['block sums', blockSumsReducer, 1e-6], // ggml's values exactly; float32 partial sums of at most 16 (SIMD kernels)
      ];
      for (const t of [file.weight('W_Q', 0), file.weight('W_K', 1), file.weight('W_out', 0), file.W_E]) {
        const ref = referenceReducer.reduce(file, t);
        for (const [label, r, tol] of fast) {
          const got = r.reduce(file, t);
          for (const axis of ['rows', 'cols'] as const) {
            assert.equal(got[axis].length, ref[axis].length);
            for (const s of ['sum', 'sumSq', 'sumAbs'] as const) {
              const a = got[axis][s];
              const b = ref[axis][s];
              assert.equal(a.length, b.length);
              let scale = 0;
              for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(ref[axis].sumAbs[i]!));
              for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol * scale + 1e-12, `${label} ${t.name} ${axis}.${s}[${i}]: ${a[i]} vs ${b[i]}`);
            }
            const dm = Math.abs(meanSigmaOverMean(got[axis]) - meanSigmaOverMean(ref[axis]));
            assert.ok(dm < (label === 'ggml' ? 1e-5 : 1e-6), `${label} ${t.name} ${axis}: mean sd/mean differs by ${dm}`);
          }
        }
      }
      const fromBlocks = weightStats(file, blockSumsReducer).entries;
      weightStats(file, referenceReducer).entries.forEach((y, i) => {
        const x = fromBlocks[i]!;
        assert.deepEqual([x.layer, x.role], [y.layer, y.role]);
        for (const k of ['alongModel', 'across', 'whole'] as const) assert.ok(Math.abs(x[k] - y[k]) < 1e-6, `block sums ${y.role} ${y.layer} ${k}: ${x[k]} vs ${y[k]}`);
      });
      const stats = weightStats(file, reducer);
      assert.equal(stats.entries.length, FIXTURES[name].shape.nLayers * 7);
      // random Gaussian weights (quantized or not): every matrix near the Gaussian 1.2533, except
      // the planted key head's W_K, whose rows are 3 x input rows: louder rows, a fat-tailed mixture
      const spec = FIXTURES[name] as { keyHead?: { layer: number } };
      for (const e of stats.entries) {
        if (spec.keyHead && e.layer === spec.keyHead.layer && e.role === 'W_K') {
          assert.ok(e.whole > stats.gaussian + 0.1, `planted key head: whole ${e.whole}`);
          assert.ok(e.across > stats.gaussian + 0.1, `planted key head: across ${e.across}`);
          continue;
        }
        assert.ok(Math.abs(e.whole - stats.gaussian) < 0.05, `${e.role} layer ${e.layer}: whole ${e.whole}`);
        assert.ok(Math.abs(e.alongModel - stats.gaussian) < 0.12, `${e.role} layer ${e.layer}: along ${e.alongModel}`);
      }
    });
  }

  test('planted distributions are found on the right axis', async () => {
    const file = await open(plantedWeightsFile());
    const stats = weightStats(file, reducer, { roles: ['W_Q', 'W_K', 'W_O'] });
    const ref = weightStats(file, referenceReducer, { roles: ['W_Q', 'W_K', 'W_O'] });
    const blocks = weightStats(file, blockSumsReducer, { roles: ['W_Q', 'W_K', 'W_O'] });
    const e = (l: number, r: string) => stats.entries.find((x) => x.layer === l && x.role === r)!;
    // Laplace: sd / mean|x| = sqrt(2)
    assert.ok(Math.abs(e(0, 'W_Q').whole - Math.SQRT2) < 0.03, `Laplace whole ${e(0, 'W_Q').whole}`);
    assert.ok(e(0, 'W_Q').alongModel > 1.33 && e(0, 'W_Q').across > 1.33);
    // loud and quiet heads: rows (along d_model) Gaussian, columns (across heads) fat-tailed
    assert.ok(Math.abs(e(1, 'W_K').alongModel - stats.gaussian) < 0.06, `along ${e(1, 'W_K').alongModel}`);
    // a column is a scale mixture of the four head scales: sd/mean = sqrt(mean s^2) / (mean s * sqrt(2/pi))
    const ms2 = HEAD_SCALES.reduce((a, s) => a + s * s, 0) / 4;
    const ms = HEAD_SCALES.reduce((a, s) => a + s, 0) / 4;
    const mixture = Math.sqrt(ms2) / (ms * Math.sqrt(2 / Math.PI));
    assert.ok(Math.abs(e(1, 'W_K').across - mixture) < 0.1, `across ${e(1, 'W_K').across} vs mixture ${mixture}`);
    assert.ok(e(1, 'W_K').across > 1.6);
    assert.equal(e(1, 'W_K').acrossAxis, 'heads');
    stats.entries.forEach((x, i) => {
      assert.ok(Math.abs(x.alongModel - ref.entries[i]!.alongModel) < 1e-6);
      assert.ok(Math.abs(x.across - ref.entries[i]!.across) < 1e-6);
    });
    blocks.entries.forEach((x, i) => {
      const y = ref.entries[i]!;
      assert.deepEqual([x.layer, x.role], [y.layer, y.role]);
      for (const k of ['alongModel', 'across', 'whole'] as const) assert.ok(Math.abs(x[k] - y[k]) < 1e-12, `block sums ${x.role} ${x.layer} ${k}: ${x[k]} vs ${y[k]}`);
    });
  });

  test('heatmap: zoom window and d_head tiles equal plain sums; the loud head shows as a stripe', async () => {
    const file = await open(plantedWeightsFile());
    const t = file.weight('W_K', 1);
    const x = file.full(t); // [rows, 64]
    const h = weightHeatmap(file, 'W_K', 1, { row0: 10, col0: 5, size: 20 });
    assert.deepEqual(h.shape, [64, 64]);
    assert.equal(h.zoom.rows, 20);
    assert.equal(h.zoom.cols, 20);
    for (let r = 0; r < 20; r++) for (let c = 0; c < 20; c++) assert.equal(h.zoom.values[r * 20 + c], Math.abs(x[(10 + r) * 64 + 5 + c]!));
    assert.equal(h.blocks.block, 16);
    assert.deepEqual([h.blocks.rows, h.blocks.cols], [4, 4]);
    for (let br = 0; br < 4; br++) {
      for (let bc = 0; bc < 4; bc++) {
        let s = 0;
        for (let r = br * 16; r < br * 16 + 16; r++) for (let c = bc * 16; c < bc * 16 + 16; c++) s += Math.abs(x[r * 64 + c]!);
        assert.ok(Math.abs(h.blocks.values[br * 4 + bc]! - s) < 1e-6 * s);
      }
    }
    const rowTotals = [0, 1, 2, 3].map((br) => h.blocks.values.slice(br * 4, br * 4 + 4).reduce((a, b) => a + b));
    assert.equal(rowTotals.indexOf(Math.max(...rowTotals)), 2, 'head 2 (scale 3) is the loud stripe');
    assert.equal(rowTotals.indexOf(Math.min(...rowTotals)), 0, 'head 0 (scale 0.2) is the quiet one');
    // a window at the edge is clipped
    const edge = weightHeatmap(file, 'W_K', 1, { row0: 60, col0: 60, size: 360 });
    assert.deepEqual([edge.zoom.rows, edge.zoom.cols], [4, 4]);
    assert.throws(() => weightHeatmap(file, 'W_K', 1, { row0: 64 }), /outside/);
  });

  test('anatomy of a real fixture file', async () => {
    const file = await open('tiny-gqa-f16');
    const table = tensorTable(file.file.tensors);
    assert.equal(table.length, file.file.tensors.length);
    const k = table.find((r) => r.name === 'blk.1.attn_k.weight')!;
    assert.deepEqual(k.shape, [16, 64]); // 2 kv heads of d_head 8
    assert.equal(k.type, 'F16');
    assert.equal(k.bytes, 16 * 64 * 2);
    const tally = parameterTally(file.hparams, file.file.tensors);
    assert.equal(tally.file.total, file.file.tensors.reduce((a, t) => a + t.nElements, 0));
    assert.equal(tally.difference, 4); // d_head 8: 4 rotary frequencies not stored
    assert.equal(tally.file.attentionPerLayer, 64 * 64 * 2 + 2 * 64 * 16);
  });
});
