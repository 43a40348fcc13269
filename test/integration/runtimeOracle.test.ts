// The instrumented decode is checked two ways.
// Oracle 1, llama.cpp against itself, on every fixture and weight type: the logits it returns are
// RMSNorm(last resid_post) . W_U (with the activation rounded as ggml rounds it for the weight's
// type), attention rows are distributions over the past, embeddings are W_E rows, and the residual
// stream adds up. Oracle 2, llama.cpp against an independent TypeScript forward pass over the
// dequantized F32 weights: every hook of every layer, short and long (stitched) prompts.
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ActivationCache } from '../../src/engine/activations';
import { projectCacheDir } from '../../src/engine/assets';
import { GgmlType, typeName } from '../../src/engine/gguf/ggmlTypes';
import { readTokenizerMetadata, writeLlamaGguf } from '../../src/engine/gguf/llamaWriter';
import { allHookNames, hookTable } from '../../src/engine/hookNames';
import { getBackend } from '../../src/engine/llama/backend';
import { cpuExtraBufferTypes } from '../../src/engine/llama/native';
import { ModelSession } from '../../src/engine/llama/session';
import { referenceForward } from '../../src/engine/reference/forward';
import { asDotInput, ggmlRmsNorm } from '../../src/engine/reference/ggmlInput';
import { ensureFixture, FIXTURE_NAMES, FIXTURES, fixtureTensors, fullShape, vocabPath, type FixtureName } from '../fixtures/models';
import { maxAbs, maxAbsDiff } from '../fixtures/compare';

const PROMPT = 'The quick brown fox jumps over the lazy dog. I like the red ball, and the 🦙 plays in the court!';

/** A fixture's float weights written as F32 throughout (the GQA fixture exists only in F16). */
async function f32Variant(name: FixtureName): Promise<string> {
  const base = path.basename(await ensureFixture(name), '.gguf'); // carries the generator's hash
  const file = path.join(projectCacheDir(), 'fixtures', `${base}-as-f32.gguf`);
  if (fs.existsSync(file)) return file;
  const spec = FIXTURES[name];
  writeLlamaGguf(file, {
    shape: fullShape(spec),
    name: `fixture ${name} in F32`,
    tokenizer: readTokenizerMetadata(vocabPath()),
    tensors: fixtureTensors(spec).map((t) => ({ ...t, type: GgmlType.F32 })),
  });
  return file;
}


/** Opens a session per model file once and disposes them all at the end. */
function sessions(): (file: string) => Promise<ModelSession> {
  const open = new Map<string, ModelSession>();
  after(() => open.forEach((s) => s.dispose()));
  return async (file) => {
    let s = open.get(file);
    if (!s) open.set(file, (s = await ModelSession.open(file, { threads: 2 })));
    return s;
  };
}

describe('Oracle 1: llama.cpp agrees with itself', () => {
  const session = sessions();
  let amx = false;
  before(async () => {
    amx = cpuExtraBufferTypes((await getBackend()).native).includes('AMX');
  });

  const cases: Array<[string, () => Promise<string>]> = [
    ...FIXTURE_NAMES.map((n): [string, () => Promise<string>] => [n, () => ensureFixture(n)]),
    ['tiny-gqa-f16 as F32', () => f32Variant('tiny-gqa-f16')],
  ];
  for (const [name, file] of cases) {
    test(name, async (t) => {
      const s = await session(await file());
      const tokens = s.tokenize(PROMPT).tokens.map((x) => x.id);
      const c = s.run(tokens, { hooks: allHookNames(s.info.nLayers), logits: true });
      checkLogits(t, s, c, amx);
      checkLayerProducts(t, s, c, amx);
      checkEmbeddings(s, c);
      checkPatterns(t, s, c);
      checkResidualSums(s, c);
      // capturing must not change the numbers: the same decode with no eval callback
      const plain = s.runPlain(tokens, { logits: true })!;
      assert.equal(maxAbsDiff(plain, c.logits!.data), 0, 'logits with and without the eval callback are identical');
    });
  }
});

/** logits[pos] = W_U . RMSNorm(resid_post[last layer][pos]), the activation rounded as ggml does. */
function checkLogits(t: TestContext, s: ModelSession, c: ActivationCache, amx: boolean): void {
  const f = s.file;
  const last = `blocks.${s.info.nLayers - 1}.hook_resid_post`;
  const gain = f.full(f.lnFinal);
  const WU = f.full(f.W_U); // [d_vocab, d_model]
  const d = s.info.dModel;
  let normErr = 0;
  let logitErr = 0;
  for (let p = 0; p < c.nPos; p++) {
    const ln = ggmlRmsNorm(c.row(last, p), gain, f.hparams.rmsEps);
    normErr = Math.max(normErr, maxAbsDiff(ln, c.row('ln_final.hook_normalized', p)));
    const x = asDotInput(f.W_U.type, ln, { amx });
    const got = c.logitsAt(p);
    for (let v = 0; v < s.info.nVocab; v++) {
      let dot = 0;
      for (let i = 0; i < d; i++) dot += WU[v * d + i]! * x[i]!;
      logitErr = Math.max(logitErr, Math.abs(dot - got[v]!));
    }
  }
  t.diagnostic(`W_U ${typeName(f.W_U.type)}${amx ? ' (CPU with AMX buffers)' : ''}: max |logit error| ${logitErr.toExponential(2)} over ${c.nPos} x ${s.info.nVocab}; RMSNorm vs ln_final ${normErr.toExponential(2)}`);
  assert.ok(normErr <= 1e-6, `RMSNorm of the last resid_post matches ln_final.hook_normalized (max error ${normErr})`);
  assert.ok(logitErr <= 5e-6, `logits match RMSNorm(resid_post) . W_U within 5e-6 (max error ${logitErr})`);
}

/**
 * Per layer: ln1 / ln2 are RMSNorm of resid_pre / resid_mid with their gains, and
 * attn_out = W_O . hook_z with hook_z rounded as ggml rounds it for W_O's type (Q8_K for Q4_K).
 */
function checkLayerProducts(t: TestContext, s: ModelSession, c: ActivationCache, amx: boolean): void {
  const f = s.file;
  const { dModel: d, nHeads, dHead, rmsEps } = f.hparams;
  const dz = nHeads * dHead;
  let normErr = 0;
  let woErr = 0;
  for (let l = 0; l < s.info.nLayers; l++) {
    const b = `blocks.${l}`;
    const g1 = f.full(f.weight('ln1', l));
    const g2 = f.full(f.weight('ln2', l));
    const WO = f.weight('W_O', l);
    const W = f.full(WO); // [d_model, n_heads * d_head]
    for (let p = 0; p < c.nPos; p++) {
      normErr = Math.max(normErr, maxAbsDiff(ggmlRmsNorm(c.row(`${b}.hook_resid_pre`, p), g1, rmsEps), c.row(`${b}.ln1.hook_normalized`, p)));
      normErr = Math.max(normErr, maxAbsDiff(ggmlRmsNorm(c.row(`${b}.hook_resid_mid`, p), g2, rmsEps), c.row(`${b}.ln2.hook_normalized`, p)));
      const z = asDotInput(WO.type, c.row(`${b}.attn.hook_z`, p), { amx });
      const out = c.row(`${b}.hook_attn_out`, p);
      for (let o = 0; o < d; o++) {
        let dot = 0;
        for (let i = 0; i < dz; i++) dot += W[o * dz + i]! * z[i]!;
        woErr = Math.max(woErr, Math.abs(dot - out[o]!));
      }
    }
  }
  const woType = typeName(f.weight('W_O', 0).type);
  t.diagnostic(`W_O ${woType}: max |attn_out - W_O . hook_z| ${woErr.toExponential(2)}; ln1/ln2 vs RMSNorm ${normErr.toExponential(2)}`);
  assert.ok(normErr <= 1e-6, `ln1 / ln2 are RMSNorm of resid_pre / resid_mid (max error ${normErr})`);
  assert.ok(woErr <= 2e-6, `attn_out = W_O . hook_z within 2e-6 (max error ${woErr})`);
}

function checkEmbeddings(s: ModelSession, c: ActivationCache): void {
  const f = s.file;
  c.tokens.forEach((tok, p) => {
    assert.deepEqual(c.row('hook_embed', p), f.rows(f.W_E, tok), `hook_embed row ${p} is W_E[${tok}]`);
  });
  assert.equal(c.get('blocks.0.hook_resid_pre'), c.get('hook_embed'), 'resid_pre of block 0 is the embedding');
}

function checkPatterns(t: TestContext, s: ModelSession, c: ActivationCache): void {
  const n = c.nPos;
  let sumErr = 0;
  for (let l = 0; l < s.info.nLayers; l++) {
    const pat = c.pattern(l);
    assert.deepEqual(pat.shape, [s.info.nHeads, n, n]);
    for (let h = 0; h < s.info.nHeads; h++) {
      for (let q = 0; q < n; q++) {
        const row = pat.data.subarray((h * n + q) * n, (h * n + q + 1) * n);
        let sum = 0;
        for (let k = 0; k <= q; k++) {
          assert.ok(row[k]! >= 0 && row[k]! <= 1, `L${l}H${h} [${q}, ${k}] is a probability`);
          sum += row[k]!;
        }
        sumErr = Math.max(sumErr, Math.abs(sum - 1));
        for (let k = q + 1; k < n; k++) assert.equal(row[k], 0, `L${l}H${h} attends nowhere above the diagonal [${q}, ${k}]`);
      }
    }
  }
  t.diagnostic(`attention rows sum to 1 within ${sumErr.toExponential(2)}`);
  assert.ok(sumErr <= 1e-6, `attention rows sum to 1 (max error ${sumErr})`);
}

/** ggml adds float32 tensors: the sums must hold to the last bit. */
function checkResidualSums(s: ModelSession, c: ActivationCache): void {
  for (let l = 0; l < s.info.nLayers; l++) {
    const b = `blocks.${l}`;
    const pre = c.get(`${b}.hook_resid_pre`).data;
    const attn = c.get(`${b}.hook_attn_out`).data;
    const mid = c.get(`${b}.hook_resid_mid`).data;
    const mlp = c.get(`${b}.hook_mlp_out`).data;
    const post = c.get(`${b}.hook_resid_post`).data;
    assert.equal(maxAbsDiff(mid, pre.map((v, i) => v + attn[i]!)), 0, `${b}: resid_mid = resid_pre + attn_out`);
    assert.equal(maxAbsDiff(post, mid.map((v, i) => v + mlp[i]!)), 0, `${b}: resid_post = resid_mid + mlp_out`);
  }
}

describe('Oracle 2: llama.cpp against the TypeScript reference forward pass (F32 weights)', () => {
  const session = sessions();
  const models: Array<[string, () => Promise<string>]> = [
    ['tiny-f32', () => ensureFixture('tiny-f32')],
    ['tiny-gqa-f16 as F32 (grouped-query)', () => f32Variant('tiny-gqa-f16')],
  ];
  for (const [name, file] of models) {
    test(`${name}: every hook of every layer, and the logits`, async (t) => {
      const s = await session(await file());
      const tokens = s.tokenize(PROMPT).tokens.map((x) => x.id);
      const got = s.run(tokens, { hooks: allHookNames(s.info.nLayers), logits: true });
      const want = referenceForward(s.file, tokens, { logits: true });
      assert.deepEqual(got.names().sort(), want.names().sort(), 'the same hooks');
      const worst = compareAll(got, want, [...want.names(), 'logits'], 2e-6);
      t.diagnostic(`max |error| ${worst.err.toExponential(2)} (${worst.name}); worst relative to the hook's scale ${worst.rel.toExponential(2)} (${worst.relName})`);
    });
  }

  test('tiny-f32: a 700-token prompt, decoded in two micro-batches of 512 and 188, is stitched correctly', async (t) => {
    const s = await session(await ensureFixture('tiny-f32'));
    const text = Array.from({ length: 70 }, (_, i) => `Sentence ${i} says that the ${['red', 'blue', 'green'][i % 3]} ball rolls.`).join(' ');
    const tokens = s.tokenize(text).tokens.map((x) => x.id).slice(0, 700);
    assert.equal(tokens.length, 700, 'the text is long enough');
    const hooks = allHookNames(s.info.nLayers);
    const got = s.run(tokens, { hooks });
    for (const name of hooks) assert.equal(got.get(name).shape[got.get(name).shape.length - 2], 700, `${name} holds all 700 positions`);
    // ggml computes RoPE angles as float32 products (theta *= theta_scale), whose rounding grows
    // with the position: against the exact angles the error grows to ~1e-5 by position 700; with
    // the angles rounded as ggml rounds them it stays at the short-prompt level.
    const asGgml = compareAll(got, referenceForward(s.file, tokens, { ropeAngles: 'ggml-f32' }), hooks, 2e-6);
    const exact = compareAll(got, referenceForward(s.file, tokens), hooks, 2e-5);
    t.diagnostic(`700 tokens, ggml's float32 RoPE angles: max |error| ${asGgml.err.toExponential(2)} (${asGgml.name}); relative ${asGgml.rel.toExponential(2)} (${asGgml.relName})`);
    t.diagnostic(`700 tokens, exact RoPE angles: max |error| ${exact.err.toExponential(2)} (${exact.name}); relative ${exact.rel.toExponential(2)} (${exact.relName})`);

    // the first micro-batch is a decode of the first 512 tokens on their own
    const first = s.run(tokens.slice(0, 512), { hooks: ['blocks.3.hook_resid_post', 'blocks.3.attn.hook_pattern'] });
    const d = s.info.dModel;
    assert.ok(maxAbsDiff(first.get('blocks.3.hook_resid_post').data, got.get('blocks.3.hook_resid_post').data.subarray(0, 512 * d)) <= 1e-6);
    const p700 = got.pattern(3).data;
    const p512 = first.pattern(3).data;
    for (let h = 0; h < s.info.nHeads; h++) {
      for (const q of [0, 200, 511]) {
        const a = p700.subarray((h * 700 + q) * 700, (h * 700 + q) * 700 + 512);
        const b = p512.subarray((h * 512 + q) * 512, (h * 512 + q + 1) * 512);
        assert.ok(maxAbsDiff(a, b) <= 1e-6, `pattern row ${q} of head ${h} is the same in both decodes`);
      }
    }
  });

  test('tiny-f32: a decode that changes the sequence length is unaffected by the previous one', async () => {
    const s = await session(await ensureFixture('tiny-f32'));
    const tokens = s.tokenize(PROMPT).tokens.map((x) => x.id);
    const a = s.run(tokens, { hooks: ['blocks.2.hook_resid_post'], logits: true });
    s.run(tokens.slice(0, 5), { hooks: allHookNames(s.info.nLayers) });
    const b = s.run(tokens, { hooks: ['blocks.2.hook_resid_post'], logits: true });
    assert.equal(maxAbsDiff(a.get('blocks.2.hook_resid_post').data, b.get('blocks.2.hook_resid_post').data), 0);
    assert.equal(maxAbsDiff(a.logits!.data, b.logits!.data), 0);
  });
});

/** Every named hook within `tol` x max(1, scale of the reference hook); returns the worst seen. */
function compareAll(got: ActivationCache, want: ActivationCache, names: readonly string[], tol: number) {
  const worst = { err: 0, name: '', rel: 0, relName: '' };
  for (const name of names) {
    const a = name === 'logits' ? got.logits!.data : got.get(name).data;
    const b = name === 'logits' ? want.logits!.data : want.get(name).data;
    if (name !== 'logits') assert.deepEqual(got.get(name).shape, want.get(name).shape, `${name} has the reference's shape`);
    const err = maxAbsDiff(a, b);
    const rel = err / Math.max(1, maxAbs(b));
    if (err > worst.err) Object.assign(worst, { err, name });
    if (rel > worst.rel) Object.assign(worst, { rel, relName: name });
    assert.ok(rel <= tol, `${name}: max |llama.cpp - reference| = ${err} (${rel} of its scale) exceeds ${tol}`);
  }
  return worst;
}

describe('capture plumbing', () => {
  const session = sessions();

  for (const name of FIXTURE_NAMES) {
    test(`${name}: every node in hookNames.ts reaches the eval callback`, async () => {
      const s = await session(await ensureFixture(name));
      const seen = new Set(s.graphNodes(s.tokenize('I like the red ball').tokens.map((x) => x.id)));
      const missing = [...hookTable(s.info.nLayers).keys()].filter((node) => !seen.has(node));
      assert.deepEqual(missing, [], 'graph nodes of every hook');
    });
  }

  for (const name of ['tiny-f32', 'tiny-gqa-f16'] as const) {
    test(`${name}: runBatch rows equal single-prompt runs`, async () => {
      const s = await session(await ensureFixture(name));
      const words = ['red', 'blue', 'cat', 'dog', 'ball', 'court', 'play', 'game', 'house', 'river'];
      // 300 prompts: more than one micro-batch's 256 sequences, of uneven lengths
      const prompts = Array.from({ length: 300 }, (_, i) => {
        const ids = s.tokenize(`${words[i % words.length]} ${words[(i * 7) % words.length]}`.slice(0, 3 + (i % 11))).tokens.map((x) => x.id);
        return ids;
      });
      for (const hook of ['hook_embed', `blocks.${s.info.nLayers - 1}.hook_resid_post`, 'blocks.0.hook_resid_post']) {
        const batch = s.runBatch(prompts, hook);
        assert.equal(batch.offsets.length, prompts.length);
        assert.equal(batch.d, s.info.dModel);
        for (const i of [0, 1, 17, 255, 256, 299]) {
          const single = s.run(prompts[i]!, { hooks: [hook] }).get(hook).data;
          const rows = batch.rows.subarray(batch.offsets[i]! * batch.d, (batch.offsets[i]! + prompts[i]!.length) * batch.d);
          assert.ok(maxAbsDiff(rows, single) <= 1e-5, `${hook}: prompt ${i} batched equals its own run`);
        }
      }
    });
  }
});
