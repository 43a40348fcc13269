// Analyses of an inspection, on llama.cpp's own activations: the logit lens at the last layer is
// llama.cpp's softmax(logits); the fast lens matches the plain one over every position and layer;
// the demo model's planted structure shows (its previous-token head, red -> ball / apple / car).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ensureFixture, TOK } from '../fixtures/models';
import { projectCacheDir } from '../../src/engine/assets';
import { DEMO_PREV_TOKEN_HEAD, ensureDemoModel } from '../../src/engine/demo/builder';
import { ModelSession } from '../../src/engine/llama/session';
import { getBackend } from '../../src/engine/llama/backend';
import type { ActivationCache } from '../../src/engine/activations';
import { inputDictionary, outputDictionary } from '../../src/engine/analysis/dictionary';
import { lens, type LensResult } from '../../src/engine/analysis/lens';
import { headPattern, lastQueryRow, previousTokenHeads, sinkMap } from '../../src/engine/analysis/attention';
import { layerGapSimilarity, rmsAmplitudes, sameLayerSimilarity } from '../../src/engine/analysis/states';
import { cosine } from '../../src/engine/analysis/math';
import { ReferenceEngine } from '../../src/engine/analysis/reference/projection';
import { ComputeDevice } from '../../src/engine/compute/device';
import { GgmlEngine } from '../../src/engine/compute/engine';

const PROMPT = 'I like the red ball, but my girlfriend likes the larger ball. We like to go to the basketball court to play ball together.';
const HOOKS = (n: string) => /hook_resid_post$|^hook_embed$|attn\.hook_pattern$/.test(n);

/** Same words, or where they differ, both sides' values tie within tol at the cut. */
function assertSameLens(a: LensResult, b: LensResult, tol: number): void {
  a.positions.forEach((p, i) =>
    p.layers.forEach((l, j) => {
      const other = b.positions[i]!.layers[j]!;
      l.words.forEach((w, k) => {
        assert.ok(Math.abs(w.value - other.words[k]!.value) <= tol, `pos ${p.pos} layer ${l.layer} rank ${k}: ${w.value} vs ${other.words[k]!.value}`);
        if (w.token !== other.words[k]!.token) {
          const twin = other.words.find((x) => x.token === w.token);
          const kth = other.words[other.words.length - 1]!.value;
          assert.ok(twin ? Math.abs(twin.value - w.value) <= 2 * tol : w.value <= kth + 2 * tol, `pos ${p.pos} layer ${l.layer}: ${w.text} is not a near-tie`);
        }
      });
    }),
  );
}

describe('lens, attention and states on llama.cpp activations', () => {
  let device: ComputeDevice;
  let fast: GgmlEngine;
  const ref = new ReferenceEngine();
  const sessions: ModelSession[] = [];
  before(async () => {
    const s = await ModelSession.open(await ensureFixture('tiny-f32'), { threads: 2 });
    sessions.push(s);
    device = ComputeDevice.open((await getBackend()).native, { threads: 2 });
    fast = new GgmlEngine(device);
  });
  after(() => {
    fast?.dispose();
    device?.dispose();
    sessions.forEach((s) => s.dispose());
  });

  const run = (s: ModelSession): ActivationCache => s.run(s.tokenize(PROMPT).tokens.map((t) => t.id), { hooks: HOOKS, logits: true });

  for (const fixture of ['tiny-f32', 'small-q4k'] as const) test(`the logit lens at the last layer is llama.cpp's own softmax(logits): ${fixture}`, async () => {
    const s = fixture === 'tiny-f32' ? sessions[0]! : await ModelSession.open(await ensureFixture(fixture), { threads: 2 });
    if (s !== sessions[0]) sessions.push(s);
    const cache = run(s);
    const text = (id: number) => s.file.tokens[id]!;
    const nLayers = s.info.nLayers;
    const positions = [1, 5, cache.nPos - 1];
    for (const engine of [ref, fast]) {
      const res = lens(engine, outputDictionary(s.file), cache, { positions, nLayers, layers: [nLayers], k: 5, normalization: 'logit-lens', lnFinal: s.file.full(s.file.lnFinal), rmsEps: s.file.hparams.rmsEps, tokenText: text });
      res.positions.forEach((p) => {
        const logits = cache.logitsAt(p.pos);
        const m = Math.max(...logits);
        let z = 0;
        for (const x of logits) z += Math.exp(x - m);
        const probs = (t: number) => Math.exp(logits[t]! - m) / z;
        const order = Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]!);
        const words = p.layers[0]!.words;
        // the fast engine multiplies in the stored type for probabilities, as llama.cpp does
        // F32 weights: exact. Quantized: llama.cpp rounds the activation to Q8_K before the product;
        // the fast engine does the same (2e-3), the float64 reference does not (a few percent).
        const tol = (fixture === 'tiny-f32' ? 1e-5 : engine === ref ? 4e-2 : 2e-3) * probs(order[0]!);
        words.forEach((w) => assert.ok(Math.abs(w.value - probs(w.token)) <= tol, `${engine.label} pos ${p.pos}: ${w.text} p=${w.value} llama.cpp ${probs(w.token)}`));
        if (engine === fast || fixture === 'tiny-f32') assert.deepEqual(words.map((w) => w.token), order.slice(0, 5));
        else assert.equal(words[0]!.token, order[0]);
      });
    }
  });

  test('layer 0 is the input row: the cosine input lens reads the token itself at 1', () => {
    const s = sessions[0]!;
    const cache = run(s);
    const res = lens(fast, inputDictionary(s.file), cache, { positions: [4], nLayers: s.info.nLayers, layers: [0], k: 3, normalization: 'cosine', tokenText: (id) => s.file.tokens[id]! });
    assert.equal(res.positions[0]!.token, TOK.red);
    assert.equal(res.positions[0]!.layers[0]!.words[0]!.token, TOK.red);
    assert.ok(Math.abs(res.positions[0]!.layers[0]!.words[0]!.value - 1) < 5e-3);
    assert.equal(res.positions[0]!.layers[0]!.words[1]!.token, TOK.blue, 'then its planted twin');
  });

  test('the full lens (every position, every layer, both dictionaries): fast equals plain', () => {
    const s = sessions[0]!;
    const cache = run(s);
    const positions = Array.from({ length: cache.nPos }, (_, i) => i);
    const text = (id: number) => s.file.tokens[id]!;
    for (const dict of [inputDictionary(s.file), outputDictionary(s.file)]) {
      for (const normalization of ['article', 'cosine'] as const) {
        const opts = { positions, nLayers: s.info.nLayers, k: 5, normalization, tokenText: text };
        assertSameLens(lens(fast, dict, cache, opts), lens(ref, dict, cache, opts), 0.02);
      }
      const opts = { positions, nLayers: s.info.nLayers, k: 8, basis: 'prompt' as const, excludeBos: true, bos: 1, tokenText: text };
      const a = lens(fast, dict, cache, opts);
      assertSameLens(a, lens(ref, dict, cache, opts), 1e-4);
      assert.ok(a.positions.every((p) => p.layers.every((l) => l.words.every((w) => w.token !== 1 && cache.tokens.includes(w.token)))));
    }
  });

  test('states: layer-gap and same-layer similarity, RMS amplitude, against plain cosines', () => {
    const s = sessions[0]!;
    const cache = run(s);
    const L = s.info.nLayers;
    const gaps = layerGapSimilarity(cache, L, [1, 2]);
    const g2 = gaps.curves[1]!;
    const n = cache.nPos;
    for (let l = 0; l + 2 <= L; l++) {
      let sum = 0;
      for (let t = 1; t < n; t++) sum += cosine(cache.state(l, t), cache.state(l + 2, t));
      assert.ok(Math.abs(g2.mean[l]! - sum / (n - 1)) < 1e-9);
      assert.ok(Math.abs(g2.last[l]! - cosine(cache.state(l, n - 1), cache.state(l + 2, n - 1))) < 1e-12);
    }
    const same = sameLayerSimilarity(cache, L);
    assert.equal(same.layers.length, L + 1);
    let nb = 0;
    for (let t = 1; t + 1 < n; t++) nb += cosine(cache.state(3, t), cache.state(3, t + 1));
    assert.ok(Math.abs(same.neighbour[3]! - nb / (n - 2)) < 1e-9);
    const amp = rmsAmplitudes(cache, s.file);
    const h = cache.state(L, n - 1);
    let ss = 0;
    for (let t = 1; t < n; t++) for (const x of cache.state(L, t)) ss += x * x;
    assert.ok(Math.abs(amp.rms[L]! - Math.sqrt(ss / ((n - 1) * h.length))) < 1e-9);
    const g0 = s.file.full(s.file.weight('ln1', 0));
    assert.ok(Math.abs(amp.attnNormGain[0]! - g0.reduce((a, b) => a + b) / g0.length) < 1e-9);
    assert.equal(amp.ffnNormGain.length, L);
  });

  test('demo model: the previous-token head of layer 0 is found; the sink map is the pattern itself', async () => {
    const s = await ModelSession.open(await ensureDemoModel(projectCacheDir()), { threads: 2 });
    sessions.push(s);
    const cache = run(s);
    const text = (id: number) => s.file.tokens[id]!;
    const ranked = previousTokenHeads(cache, [0, 1], text);
    assert.deepEqual([ranked[0]!.layer, ranked[0]!.head], [DEMO_PREV_TOKEN_HEAD.layer, DEMO_PREV_TOKEN_HEAD.head]);
    assert.ok(ranked[0]!.score > 0.9, `previous-token score ${ranked[0]!.score}`);
    assert.ok(ranked[1]!.score < 0.5, 'no other head attends to the previous token');
    const map = sinkMap(cache, 1, text);
    const p = cache.pattern(1);
    const n = cache.nPos;
    for (let h = 0; h < map.nHeads; h++) for (let q = 0; q < n; q++) assert.equal(map.values[h * n + q], p.data[(h * n + q) * n]);
    assert.deepEqual(map.sentenceEnds.map((i) => text(cache.tokens[i]!)), ['.', '.']);
    const one = headPattern(cache, 0, 0);
    for (let q = 2; q < n; q++) assert.ok(one.values[q * n + q - 1]! > 0.9);
    const last = lastQueryRow(cache, 0);
    assert.equal(last.values[n - 2], one.values[(n - 1) * n + n - 2]);
    // red, read through the output dictionary at layer 0, suggests what follows it in the grammar
    const red = cache.tokens.indexOf(TOK.red);
    const res = lens(fast, outputDictionary(s.file), cache, { positions: [red], nLayers: s.info.nLayers, layers: [0], k: 5, tokenText: text });
    const words = res.positions[0]!.layers[0]!.words.map((w) => w.text);
    for (const w of ['▁ball', '▁apple', '▁car']) assert.ok(words.includes(w), `red -> ${words.join(', ')}`);
  });
});
