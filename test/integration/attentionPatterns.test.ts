// A layer's attention patterns computed from its resid_pre (compute/attentionPatterns.ts) against
// llama.cpp's own kq_soft_max captured in a full decode, on every fixture whose attention is
// computed that way: f32, f16, Q8_0 and Q4_K weights, grouped-query attention, q/k/v biases (qwen2),
// per-head q/k norms (qwen3, qwen3moe), NeoX RoPE and fused q/k/v (phi3); across token and head
// chunk boundaries; and the workbench serving the attention view from it without a second decode.
// The test models' KV cache is f32 (kvType 'auto' below 256 MiB), so llama.cpp's scores are float32
// throughout, as ours: the largest difference measured on these models is 3.6e-7, asserted below
// 1e-5. With the f16 KV cache llama.cpp uses for long 7B selections its keys are rounded to f16:
// measured up to 4.9e-4 here, asserted below 2e-3.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ActivationCache } from '../../src/engine/activations';
import { lastQueryRow, sinkMap } from '../../src/engine/analysis/attention';
import { directPatternsUnsupported, layerAttention, layerPatterns } from '../../src/engine/compute/attentionPatterns';
import { ComputeDevice } from '../../src/engine/compute/device';
import { GgmlType } from '../../src/engine/gguf/ggmlTypes';
import { LlamaModelFile } from '../../src/engine/gguf/llamaModel';
import { encodeTensor, readTokenizerMetadata } from '../../src/engine/gguf/llamaWriter';
import { gguf } from '../../src/engine/gguf/values';
import { writeGguf } from '../../src/engine/gguf/writer';
import { patternHook, residPreSource, stateHook } from '../../src/engine/hookNames';
import { getBackend } from '../../src/engine/llama/backend';
import { ModelSession } from '../../src/engine/llama/session';
import { runAnalysis } from '../../src/engine/workbench/analyses';
import { Workbench } from '../../src/engine/workbench/workbench';
import { ARCH_FIXTURES, archFixtureTensors, archMetadata, ensureArchFixture, vocabFile, type ArchFixtureName } from '../fixtures/archModels';
import { maxAbsDiff } from '../fixtures/compare';
import { ensureFixture, type FixtureName } from '../fixtures/models';

/** The llama3-tied-gqa fixture with linear RoPE scaling (factor 2), which llama.cpp applies and the states path does not model. */
function ropeScaledFixture(dir: string): string {
  const spec = ARCH_FIXTURES['llama3-tied-gqa'];
  const tokenizer = readTokenizerMetadata(vocabFile(spec.vocab));
  const nVocab = (tokenizer.get('tokenizer.ggml.tokens')!.value as unknown[]).length;
  const file = path.join(dir, 'llama3-rope-linear.gguf');
  writeGguf(file, {
    metadata: [...archMetadata(spec, nVocab), ['llama.rope.scaling.type', gguf.str('linear')], ['llama.rope.scaling.factor', gguf.f32(2)], ...tokenizer],
    tensors: archFixtureTensors(spec, nVocab).map((t) => ({ name: t.name, dims: t.dims, type: GgmlType.F32, data: () => encodeTensor(GgmlType.F32, t.data, t.dims[0]!) })),
  });
  return file;
}

const PROMPT = 'The quick brown fox jumps over the lazy dog. I like the red ball, and my friend plays in the court!';
const TOLERANCE = 1e-5;
const TOLERANCE_F16_KV = 2e-3;

/** llama.cpp's patterns and the states they are computed from, in one decode. */
function capture(s: ModelSession, text: string): ActivationCache {
  const ids = s.tokenize(text).tokens.map((t) => t.id);
  const L = s.info.nLayers;
  return s.run(ids, { hooks: [...Array.from({ length: L + 1 }, (_, l) => stateHook(l)), ...Array.from({ length: L }, (_, l) => patternHook(l))] });
}

describe('attention patterns from the states equal llama.cpp decoding the prompt', () => {
  let device: ComputeDevice;
  before(async () => {
    device = ComputeDevice.open((await getBackend('cpu')).native, { gpu: false, threads: 2 });
  });
  after(() => device?.dispose());

  const cases: Array<[string, () => Promise<string> | string]> = [
    ...(['tiny-f32', 'tiny-gqa-f16', 'tiny-tied-q8', 'small-q4k'] as FixtureName[]).map((n): [string, () => Promise<string>] => [n, () => ensureFixture(n)]),
    ...(['llama3-tied-gqa', 'qwen2-bias', 'qwen3-qknorm', 'qwen3moe-experts', 'phi3-fused'] as ArchFixtureName[]).map((n): [string, () => string] => [n, () => ensureArchFixture(n)]),
  ];
  for (const [name, path] of cases) {
    test(`${name}: every layer, every head`, async () => {
      const s = await ModelSession.open(await path(), { threads: 2, gpu: 'cpu' });
      try {
        assert.equal(directPatternsUnsupported(s.file), undefined);
        const cache = capture(s, PROMPT);
        let worst = 0;
        for (let l = 0; l < s.info.nLayers; l++) {
          const expected = cache.get(patternHook(l));
          const got = layerPatterns(s.file, device, l, cache.get(residPreSource(l)));
          assert.deepEqual(got.shape, expected.shape);
          worst = Math.max(worst, maxAbsDiff(got.data, expected.data));
        }
        assert.ok(worst < TOLERANCE, `largest difference ${worst}`);
        // the patterns are not trivially equal: some head attends away from the first token
        const p = cache.get(patternHook(0));
        const n = p.shape[1]!;
        assert.ok(p.data[(n - 1) * n]! < 0.9, 'the last query of head 0 does not attend only to the first token');
      } finally {
        s.dispose();
      }
    });
  }

  test('against llama.cpp with an f16 KV cache (as for long 7B selections): within f16 rounding', async () => {
    for (const path of [await ensureFixture('small-q4k'), ensureArchFixture('llama3-tied-gqa')]) {
      const s = await ModelSession.open(path, { threads: 2, gpu: 'cpu', kvType: 'f16' });
      try {
        const cache = capture(s, PROMPT);
        let worst = 0;
        for (let l = 0; l < s.info.nLayers; l++) worst = Math.max(worst, maxAbsDiff(layerPatterns(s.file, device, l, cache.get(residPreSource(l))).data, cache.get(patternHook(l)).data));
        assert.ok(worst < TOLERANCE_F16_KV, `largest difference ${worst}`);
        assert.ok(worst > 0, 'the f16 keys do round');
      } finally {
        s.dispose();
      }
    }
  });

  test('token and head chunks: 600 tokens in 128-token graphs, one head per softmax graph', async () => {
    const s = await ModelSession.open(await ensureFixture('tiny-gqa-f16'), { threads: 2, gpu: 'cpu' });
    try {
      const text = Array.from({ length: 60 }, () => 'I like the red ball. We play.').join(' ');
      const cache = capture(s, text);
      const layer = 1;
      const expected = cache.get(patternHook(layer));
      const n = expected.shape[1]!;
      assert.ok(n > 512, `${n} tokens`);
      const got = layerPatterns(s.file, device, layer, cache.get(residPreSource(layer)), { tokenChunk: 128, maxScores: n * n });
      const diff = maxAbsDiff(got.data, expected.data);
      assert.ok(diff < TOLERANCE, `largest difference ${diff}`);
    } finally {
      s.dispose();
    }
  });

  test('one query row and one head, made on request, equal the whole layer', async () => {
    const s = await ModelSession.open(await ensureFixture('tiny-gqa-f16'), { threads: 2, gpu: 'cpu' });
    try {
      const cache = capture(s, PROMPT);
      const layer = 1;
      const expected = cache.get(patternHook(layer));
      const [nHeads, n] = [expected.shape[0]!, expected.shape[1]!];
      const att = layerAttention(s.file, device, layer, cache.get(residPreSource(layer)));
      assert.equal(att.bytes, (nHeads + s.info.nKvHeads) * n * s.info.dHead * 4, 'queries and keys, not n_heads x n^2');
      for (const h of [0, 5, nHeads - 1]) {
        const head = expected.data.subarray(h * n * n, (h + 1) * n * n);
        assert.ok(maxAbsDiff(att.head(h), head) < TOLERANCE, `head ${h}`);
        for (const q of [0, 7, n - 1]) assert.ok(maxAbsDiff(att.row(h, q), head.subarray(q * n, (q + 1) * n)) < TOLERANCE, `head ${h}, query ${q}`);
      }
      assert.throws(() => att.head(nHeads), /outside/);
    } finally {
      s.dispose();
    }
  });

  test('gemma (sliding windows, soft-capped scores) is left to the decode, with its reason', () => {
    for (const name of ['gemma2-softcap', 'gemma3-qknorm'] as ArchFixtureName[]) {
      const file = LlamaModelFile.open(ensureArchFixture(name));
      try {
        assert.match(directPatternsUnsupported(file) ?? '', /^Gemma \d attention is not computed from the states$/);
      } finally {
        file.close();
      }
    }
  });
});

test('RoPE scaling is left to the decode: the view still shows what llama.cpp computes', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attn-rope-'));
  const wb = new Workbench(ropeScaledFixture(dir), { gpu: 'cpu', threads: 2 });
  try {
    assert.match(directPatternsUnsupported(wb.file()) ?? '', /^RoPE scaling \(linear\)$/);
    const s = await wb.session();
    const insp = await wb.inspections.inspect(PROMPT, { hooks: Array.from({ length: s.info.nLayers + 1 }, (_, l) => stateHook(l)) });
    const messages: string[] = [];
    const r = await runAnalysis(wb, 'attention-layer', { inspectionId: insp.summary.id, layer: 1 }, (m) => messages.push(m));
    assert.deepEqual(messages, ['Capturing attention patterns of layer 1']);
    const decoded = sinkMap(s.run(insp.ids, { hooks: [patternHook(1)] }), 1, (id) => wb.tokenText(id));
    assert.ok(maxAbsDiff(Float32Array.from(r.sink.values), Float32Array.from(decoded.values)) < 1e-6);
    // and computing it from the states without the scaling would differ: the refusal matters
    const unscaled = layerPatterns(wb.file(), await wb.computeDevice(), 1, insp.cache.get(residPreSource(1)));
    const n = insp.ids.length;
    const sinkUnscaled = Float32Array.from({ length: r.sink.values.length }, (_, i) => unscaled.data[i * n]!);
    assert.ok(maxAbsDiff(sinkUnscaled, Float32Array.from(r.sink.values)) > 1e-4);
  } finally {
    wb.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

describe('the workbench serves the attention view from the states', () => {
  let wb: Workbench;
  before(async () => {
    wb = new Workbench(await ensureArchFixture('llama3-tied-gqa'), { gpu: 'cpu', threads: 2 });
  });
  after(() => wb.dispose());

  test('no second decode, and the same numbers as one', async () => {
    const s = await wb.session();
    const states = Array.from({ length: s.info.nLayers + 1 }, (_, l) => stateHook(l));
    const insp = await wb.inspections.inspect(PROMPT, { hooks: states });
    const messages: string[] = [];
    const r = await runAnalysis(wb, 'head-pattern', { inspectionId: insp.summary.id, layer: 1, head: 3 }, (m) => messages.push(m));
    // no "Capturing ..." step: the prompt was not decoded again
    assert.deepEqual(messages, ['Computing the attention patterns of layer 1']);
    const decoded = s.run(insp.ids, { hooks: [patternHook(1)] }).get(patternHook(1));
    const n = decoded.shape[1]!;
    const head = decoded.data.subarray(3 * n * n, 4 * n * n);
    assert.equal(r.values.length, n * n);
    let diff = 0;
    for (let q = 0; q < n; q++) {
      for (let k = 0; k < n; k++) {
        if (k > q) assert.ok(Number.isNaN(r.values[q * n + k]), 'no cell above the diagonal');
        else diff = Math.max(diff, Math.abs(r.values[q * n + k]! - head[q * n + k]!));
      }
    }
    assert.ok(diff < TOLERANCE, `largest difference ${diff}`);
    // the sink map and the last query row read the same numbers
    const layer = await runAnalysis(wb, 'attention-layer', { inspectionId: insp.summary.id, layer: 1 });
    const decodedCache = s.run(insp.ids, { hooks: [patternHook(1)] });
    const sink = sinkMap(decodedCache, 1, (id) => wb.tokenText(id));
    const last = lastQueryRow(decodedCache, 1);
    assert.ok(maxAbsDiff(Float32Array.from(layer.sink.values), Float32Array.from(sink.values)) < TOLERANCE);
    assert.ok(maxAbsDiff(Float32Array.from(layer.sink.previousToken), Float32Array.from(sink.previousToken)) < TOLERANCE);
    assert.ok(maxAbsDiff(Float32Array.from(layer.lastQuery.values), Float32Array.from(last.values)) < TOLERANCE);
    // held: the layer's queries and keys, a fraction of its patterns
    assert.ok(insp.bytes < insp.summary.tokens.length ** 2 * s.info.nHeads * 4 + (s.info.nLayers + 1) * insp.ids.length * s.info.dModel * 4 + insp.lastLogits.byteLength);
  });
});
