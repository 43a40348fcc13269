// The memory check before a load, on generated fixtures' real sizes: the weights are the tensor
// bytes node-llama-cpp's own GGUF reader counts (GgufInsights.modelSize), the KV cache is what its
// estimator gives for the same context and cache type, and a model is refused (with the
// arithmetic in the message) exactly when free RAM is one byte short; with RAM enough it loads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { isInnerWorldError } from '../../src/engine/errors';
import { GgufFile } from '../../src/engine/gguf/reader';
import { LlamaModelFile } from '../../src/engine/gguf/llamaModel';
import { getBackend } from '../../src/engine/llama/backend';
import { ModelSession } from '../../src/engine/llama/session';
import { COMPUTE_RESERVE, gib, modelMemory, planFit, weightBytes } from '../../src/engine/models/memoryFit';
import { ensureFixture, FIXTURES, type FixtureName } from '../fixtures/models';

async function need(name: FixtureName, kvBytesPerValue = 4) {
  const file = await ensureFixture(name);
  const m = LlamaModelFile.open(file);
  try {
    return { file, need: modelMemory({ weightBytes: weightBytes(m.file.tensors), shape: m.hparams, kvBytesPerValue }), hp: m.hparams };
  } finally {
    m.close();
  }
}

for (const name of ['tiny-f32', 'tiny-gqa-f16', 'small-q4k'] as const) {
  test(`${name}: weights and KV cache as node-llama-cpp's own estimator counts them`, async () => {
    const { file, need: n, hp } = await need(name);
    const nlc = (await import('node-llama-cpp')) as typeof import('node-llama-cpp');
    const insights = await nlc.GgufInsights.from(await nlc.readGgufFileInfo(file), (await (await getBackend()).nodeLlama()) as import('node-llama-cpp').Llama);
    assert.equal(n.weights, insights.modelSize);
    // the weights are the file less its header and padding
    const g = GgufFile.open(file);
    try {
      assert.ok(n.weights <= fs.statSync(file).size - g.dataOffset && n.weights > 0.99 * (fs.statSync(file).size - g.dataOffset));
    } finally {
      g.close();
    }
    // the fixtures' training context (1024) is the context the extension uses for them
    assert.equal(n.context, Math.min(4096, hp.nCtxTrain));
    assert.equal(n.kvCache, 2 * hp.nLayers * n.context * hp.nKvHeads * hp.dHead * 4);
    // node-llama-cpp's estimate of a context adds the output buffers to the KV cache: the KV part
    // is what grows with the context, so compare the growth from 1024 to 2048 tokens
    const est = (contextSize: number): number => insights.estimateContextResourceRequirements({ contextSize, modelGpuLayers: 0, batchSize: 512, sequences: 1, includeGraphOverhead: false, kvCacheKeyType: nlc.GgmlType.F32, kvCacheValueType: nlc.GgmlType.F32 }).cpuRam;
    const ours = (context: number): number => modelMemory({ weightBytes: 0, shape: { ...hp, nCtxTrain: 1 << 20 }, context }).kvCache;
    assert.equal(est(2048) - est(1024), ours(2048) - ours(1024));
    // and what it counts beyond the cache fits in the compute reserve
    assert.ok(est(n.context) - n.kvCache > 0 && est(n.context) - n.kvCache < COMPUTE_RESERVE, `beyond the cache: ${est(n.context) - n.kvCache}`);
    assert.equal(n.total, n.weights + n.kvCache + COMPUTE_RESERVE);
  });
}

test('a model one byte too big for free RAM is refused with the arithmetic; with enough it loads', async () => {
  const { file, need: n } = await need('tiny-f32');
  await assert.rejects(ModelSession.open(file, { gpu: 'cpu', freeRam: n.total - 1 }), (e) => {
    assert.ok(isInnerWorldError(e) && e.code === 'out-of-memory', String(e));
    // the reason first, then the numbers the user can check
    assert.match(e.message, /^Not enough memory for fixture tiny-f32: it needs /);
    for (const part of [gib(n.total), `weights ${gib(n.weights)}`, `KV cache ${gib(n.kvCache)} for ${n.context} tokens`, `only ${gib(n.total - 1)} of RAM is free`]) assert.ok(e.message.includes(part), `${part} missing in: ${e.message}`);
    return true;
  });
  const s = await ModelSession.open(file, { gpu: 'cpu', freeRam: n.total });
  try {
    assert.equal(s.info.nLayers, FIXTURES['tiny-f32'].shape.nLayers);
  } finally {
    s.dispose();
  }
});

test('with a GPU too small: all on the GPU when it fits, else the layers that fit (asked first), else refused', () => {
  const need = modelMemory({ weightBytes: 8 * 2 ** 30, shape: { nLayers: 31, nKvHeads: 8, dHead: 128, nCtxTrain: 8192 } });
  // 31 layers + the output layer = 32 slots of (8 GiB + 2 GiB KV) / 32
  assert.equal(need.kvCache, 2 * 31 * 4096 * 8 * 128 * 4);
  const gpu = (free: number) => ({ free, label: 'Test GPU' });
  assert.deepEqual(planFit({ name: 'm', need, nLayers: 31, freeRam: 0, gpu: gpu(need.total) }), { kind: 'fits', gpuLayers: 32 });
  const perSlot = (need.weights + need.kvCache) / 32;
  const partial = planFit({ name: 'm', need, nLayers: 31, freeRam: 64 * 2 ** 30, gpu: gpu(need.compute + 10.5 * perSlot) });
  assert.equal(partial.kind, 'partial');
  assert.equal(partial.kind === 'partial' && partial.gpuLayers, 10);
  assert.match(partial.kind === 'partial' ? partial.message : '', /does not fit in GPU memory: it needs .* It can run with 10 of its 32 layers on the GPU/);
  const refused = planFit({ name: 'm', need, nLayers: 31, freeRam: 2 ** 30, gpu: gpu(2 ** 30) });
  assert.equal(refused.kind, 'refused');
  assert.equal(planFit({ name: 'm', need, nLayers: 31, freeRam: need.total }).kind, 'fits');
  assert.equal(planFit({ name: 'm', need, nLayers: 31, freeRam: need.total - 1 }).kind, 'refused');
});
