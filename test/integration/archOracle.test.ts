// Every supported family besides Llama 2, on a tiny generated model with its real vocabulary,
// loaded by llama.cpp itself: each hook the family's table names reaches the eval callback;
// llama.cpp's activations and logits equal an independent TypeScript forward pass that follows
// the family's block (embedding scale, biases, q/k norms, post-norms, GELU, soft-caps, sliding
// windows, NeoX RoPE, fused tensors, a routed mixture of experts); the logit lens at the last layer is llama.cpp's own
// softmax(logits); attention rows are distributions over the visible past; head word maps and
// weight statistics run over every matrix; a hook the graph never names is refused with its reason.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ActivationCache } from '../../src/engine/activations';
import { inputDictionary, outputDictionary } from '../../src/engine/analysis/dictionary';
import { headWordMap } from '../../src/engine/analysis/headMap';
import { lens } from '../../src/engine/analysis/lens';
import { ReferenceEngine } from '../../src/engine/analysis/reference/projection';
import { referenceReducer } from '../../src/engine/analysis/reference/reducer';
import { expertTally } from '../../src/engine/analysis/anatomy';
import { weightStats } from '../../src/engine/analysis/weightStats';
import { ComputeDevice } from '../../src/engine/compute/device';
import { GgmlEngine } from '../../src/engine/compute/engine';
import { GgmlReducer } from '../../src/engine/compute/reducer';
import { InnerWorldError } from '../../src/engine/errors';
import { gguf, type GgufValue } from '../../src/engine/gguf/values';
import { writeGguf } from '../../src/engine/gguf/writer';
import { allHookNames, hookTable } from '../../src/engine/hookNames';
import { getBackend } from '../../src/engine/llama/backend';
import { ModelSession } from '../../src/engine/llama/session';
import { referenceForward } from '../../src/engine/reference/forward';
import { GgmlType } from '../../src/engine/gguf/ggmlTypes';
import { encodeTensor, readTokenizerMetadata } from '../../src/engine/gguf/llamaWriter';
import { validateModelPath } from '../../src/engine/gguf/validate';
import { ARCH_FIXTURE_NAMES, ARCH_FIXTURES, archFixtureTensors, archMetadata, archTensorShapes, ensureArchFixture, vocabFile, type ArchFixtureName } from '../fixtures/archModels';
import { maxAbs, maxAbsDiff } from '../fixtures/compare';

const PROMPT = 'The quick brown fox jumps over the lazy dog. I like the red ball, and my friend plays in the court!';


describe('every supported family on a tiny model with its real vocabulary', () => {
  const sessions = new Map<ArchFixtureName, ModelSession>();
  const caches = new Map<ArchFixtureName, ActivationCache>();
  let device: ComputeDevice;
  let fast: GgmlEngine;
  const ref = new ReferenceEngine();
  before(async () => {
    device = ComputeDevice.open((await getBackend()).native, { threads: 2 });
    fast = new GgmlEngine(device);
  });
  after(() => {
    sessions.forEach((s) => s.dispose());
    fast?.dispose();
    device?.dispose();
  });
  const session = async (name: ArchFixtureName): Promise<ModelSession> => {
    let s = sessions.get(name);
    if (!s) sessions.set(name, (s = await ModelSession.open(ensureArchFixture(name), { threads: 2 })));
    return s;
  };
  /** one decode of the prompt with every hook the family offers, and the logits */
  const cache = async (name: ArchFixtureName): Promise<ActivationCache> => {
    let c = caches.get(name);
    if (!c) {
      const s = await session(name);
      c = s.run(s.tokenize(PROMPT).tokens.map((t) => t.id), { hooks: allHookNames(s.info.nLayers, s.info.arch), logits: true });
      caches.set(name, c);
    }
    return c;
  };

  for (const name of ARCH_FIXTURE_NAMES) {
    const spec = ARCH_FIXTURES[name];
    describe(`${name} (${spec.arch}, ${spec.vocab} vocabulary)`, () => {
      test('the file reads as its family: hyperparameters, vocabulary, every node of its table reaches the eval callback', async () => {
        const s = await session(name);
        assert.equal(s.info.arch, spec.arch);
        assert.deepEqual([s.info.nLayers, s.info.dModel, s.info.nHeads, s.info.nKvHeads, s.info.dFf], [spec.nLayers, spec.dModel, spec.nHeads, spec.nKvHeads, spec.dFf]);
        assert.equal(s.info.nVocab, s.file.tokens.length, 'd_vocab is the vocabulary size');
        assert.equal(s.file.tiedEmbeddings, spec.tied);
        const seen = new Set(s.graphNodes(s.tokenize('I like the red ball').tokens.map((t) => t.id)));
        const missing = [...hookTable(s.info.nLayers, s.info.arch).keys()].filter((n) => !seen.has(n));
        assert.deepEqual(missing, [], 'graph nodes of every hook');
      });

      test("every hook and the logits equal the reference forward pass of the family's block", async (t) => {
        const s = await session(name);
        const got = await cache(name);
        const want = referenceForward(s.file, got.tokens, { logits: true, gelu: 'ggml-f16' });
        assert.deepEqual(got.names().sort(), want.names().sort(), 'the same hooks');
        // ggml computes GELU through a table at F16 inputs: a gate value within float32 rounding of
        // an F16 rounding boundary takes the neighbouring entry (a step of 1e-3 of the value), which
        // befalls about one value in 10^4. Past the first GELU FFN the reference can only agree to
        // that step (observed: 1.2e-5 of the scale); everything before it must agree to float32.
        const gelu = s.file.arch.ffnActivation === 'gelu';
        const beforeFfn = (h: string): boolean => h === 'hook_embed' || /^blocks\.0\.(ln1|attn|hook_attn_out|hook_resid_mid|ln2)/.test(h);
        let worst = { rel: 0, name: '' };
        for (const h of [...want.names(), 'logits']) {
          const a = h === 'logits' ? got.logits!.data : got.get(h).data;
          const b = h === 'logits' ? want.logits!.data : want.get(h).data;
          const rel = maxAbsDiff(a, b) / Math.max(1, maxAbs(b));
          if (rel > worst.rel) worst = { rel, name: h };
          const tol = gelu && !beforeFfn(h) ? 1e-4 : 5e-6;
          assert.ok(rel <= tol, `${h}: llama.cpp and the reference differ by ${rel} of the hook's scale (tolerance ${tol})`);
        }
        t.diagnostic(`${got.nPos} tokens; worst relative difference ${worst.rel.toExponential(2)} (${worst.name})`);
        // the family's extras are really at work in this file: without them the numbers move
        if (s.file.arch.embeddingScale !== 1) assert.ok(Math.abs(got.row('hook_embed', 1)[0]! - s.file.rows(s.file.W_E, got.tokens[1]!)[0]! * s.file.arch.embeddingScale) <= 1e-6, 'hook_embed is W_E scaled by sqrt(d_model)');
      });

      test("the logit lens at the last layer is llama.cpp's own softmax(logits)", async () => {
        const s = await session(name);
        const c = await cache(name);
        const nLayers = s.info.nLayers;
        const positions = [1, 5, c.nPos - 1];
        const recipe = s.file.lensRecipe();
        for (const engine of [ref, fast]) {
          const res = lens(engine, outputDictionary(s.file), c, { positions, nLayers, layers: [nLayers], k: 5, normalization: 'logit-lens', lnFinal: recipe.lnFinal, rmsEps: recipe.rmsEps, finalSoftcap: recipe.finalSoftcap, tokenText: (id) => s.file.tokens[id]! });
          res.positions.forEach((p) => {
            const logits = c.logitsAt(p.pos);
            const m = logits.reduce((a, b) => Math.max(a, b), -Infinity);
            let z = 0;
            for (const x of logits) z += Math.exp(x - m);
            const probs = (tok: number) => Math.exp(logits[tok]! - m) / z;
            const order = Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]!);
            const words = p.layers[0]!.words;
            const tol = 1e-5 * probs(order[0]!);
            words.forEach((w) => assert.ok(Math.abs(w.value - probs(w.token)) <= tol, `${engine.label} pos ${p.pos}: ${w.text} p=${w.value}, llama.cpp ${probs(w.token)}`));
            assert.deepEqual(words.map((w) => w.token), order.slice(0, 5), `${engine.label} pos ${p.pos}: llama.cpp's top 5`);
          });
        }
      });

      test('attention rows are distributions over the keys the layer lets a query see', async () => {
        const s = await session(name);
        const c = await cache(name);
        const n = c.nPos;
        let sumErr = 0;
        for (let l = 0; l < s.info.nLayers; l++) {
          const pat = c.pattern(l);
          const window = s.file.arch.isSlidingLayer(l) ? s.file.arch.slidingWindow! : Infinity;
          assert.deepEqual(pat.shape, [s.info.nHeads, n, n]);
          for (let h = 0; h < s.info.nHeads; h++) {
            for (let q = 0; q < n; q++) {
              const row = pat.data.subarray((h * n + q) * n, (h * n + q + 1) * n);
              let sum = 0;
              for (let k = 0; k < n; k++) {
                const visible = k <= q && q - k < window;
                if (!visible) assert.equal(row[k], 0, `L${l}H${h} [${q}, ${k}] is outside what the query sees`);
                else assert.ok(row[k]! >= 0 && row[k]! <= 1, `L${l}H${h} [${q}, ${k}] is a probability`);
                sum += row[k]!;
              }
              sumErr = Math.max(sumErr, Math.abs(sum - 1));
            }
          }
        }
        assert.ok(sumErr <= 1e-6, `attention rows sum to 1 (max error ${sumErr})`);
      });

      test('head word maps and weight statistics run over every matrix', async () => {
        const s = await session(name);
        const f = s.file;
        const { nLayers, dHead, dModel } = f.hparams;
        for (let l = 0; l < nLayers; l++) {
          for (let h = 0; h < f.layerShape(l).nHeads; h++) {
            for (const matrix of ['W_K', 'W_Q'] as const) {
              const map = headWordMap(fast, f, { layer: l, head: h, matrix, tokenText: (id) => f.tokens[id]! });
              assert.equal(map.rows.length, dHead);
              assert.equal(map.kvHead, matrix === 'W_Q' ? h : f.kvHeadOf(h, l));
              // the best word of the row with the largest value is the plain argmax of |W_E m|
              const best = map.rows[0]!;
              const row = f.headSlice(matrix, l, h).subarray(best.row * dModel, (best.row + 1) * dModel);
              const plain = ref.topK(inputDictionary(f), row, { k: 1, abs: true });
              const fastPick = Math.abs(ref.scores(inputDictionary(f), row)[best.tokens[0]!.token]!);
              // the same word, or (the fast engine reads a large dictionary through a Q8_0 copy) a near-tie
              assert.ok(best.tokens[0]!.token === plain.rows[0] || fastPick >= plain.values[0]! * (1 - 2e-3), `L${l}H${h} ${matrix}: the fast engine's word ${best.tokens[0]!.text} scores ${fastPick}, the plain best ${plain.values[0]}`);
            }
          }
        }
        const stats = weightStats(f, new GgmlReducer(device));
        const plain = weightStats(f, referenceReducer);
        // seven matrices a layer; a mixture of experts: four attention matrices, the router, and W_gate, W_in, W_out of every expert
        const perLayer = 'moe' in spec ? 4 + 1 + 3 * spec.moe.nExperts : 7;
        assert.equal(stats.entries.length, nLayers * perLayer, 'an entry per layer and matrix');
        assert.equal(new Set(stats.entries.map((e) => e.matrix)).size, stats.entries.length, 'every matrix once');
        stats.entries.forEach((e, i) => {
          const p = plain.entries[i]!;
          for (const k of ['alongModel', 'across', 'whole'] as const) {
            assert.ok(Number.isFinite(e[k]) && Math.abs(e[k] - p[k]) <= 1e-4 * p[k], `L${e.layer} ${e.role} ${k}: ${e[k]} vs plain ${p[k]}`);
          }
        });
      });
    });
  }

  test('runBatch (the middle dictionary\'s decode) equals single-prompt runs in every family, hook_embed included', async () => {
    for (const name of ARCH_FIXTURE_NAMES) {
      const s = await session(name);
      const words = ['red', 'blue', 'cat', 'dog', 'ball', 'court', 'play', 'game'];
      const prompts = words.map((w, i) => s.tokenize(`${w} ${words[(i * 3) % words.length]}`).tokens.map((t) => t.id));
      for (const hook of ['hook_embed', 'blocks.0.hook_resid_post', `blocks.${s.info.nLayers - 1}.hook_resid_post`]) {
        const batch = s.runBatch(prompts, hook);
        prompts.forEach((p, i) => {
          const single = s.run(p, { hooks: [hook] }).get(hook).data;
          const rows = batch.rows.subarray(batch.offsets[i]! * batch.d, (batch.offsets[i]! + p.length) * batch.d);
          assert.ok(maxAbsDiff(rows, single) <= 1e-5, `${name} ${hook}: prompt ${i} batched equals its own run`);
        });
      }
    }
  });

  test('qwen2 and phi3: a hook the graph never names is refused with the reason, not returned empty', async () => {
    for (const [name, hook] of [['qwen2-bias', 'blocks.0.hook_attn_out'], ['phi3-fused', 'blocks.1.hook_resid_mid']] as const) {
      const s = await session(name);
      const tokens = s.tokenize('I like the red ball').tokens.map((t) => t.id);
      assert.throws(() => s.run(tokens, { hooks: [hook] }), (e: unknown) => e instanceof InnerWorldError && e.code === 'bad-argument' && e.message.startsWith(`${s.file.archTable.label} models have no ${hook}`));
    }
  });

  test('a mixture of experts and an architecture without a table are refused with the reason first', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'arch-refuse-'));
    try {
      const write = (name: string, arch: string, extra: Array<readonly [string, GgufValue]>): string => {
        const file = path.join(dir, name);
        const shape: Array<readonly [string, GgufValue]> = [
          ['general.architecture', gguf.str(arch)],
          [`${arch}.embedding_length`, gguf.u32(64)],
          [`${arch}.block_count`, gguf.u32(2)],
          [`${arch}.feed_forward_length`, gguf.u32(128)],
          [`${arch}.attention.head_count`, gguf.u32(4)],
        ];
        writeGguf(file, { metadata: [...shape, ...extra], tensors: [] });
        return file;
      };
      const refused = async (file: string, re: RegExp): Promise<void> => {
        await assert.rejects(ModelSession.open(file), (e: unknown) => e instanceof InnerWorldError && e.code === 'not-llama' && re.test(e.message));
      };
      await refused(write('mixtral.gguf', 'llama', [['llama.expert_count', gguf.u32(8)]]), /is a mixture-of-experts model \(8 experts per layer\), which LLM Inner World does not run yet/);
      await refused(write('olmoe.gguf', 'olmoe', []), /is a "olmoe" model, an architecture LLM Inner World does not run yet; it runs Llama, Qwen2, Qwen3, Qwen3-MoE, Gemma 2, Gemma 3, Phi-3 models/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('qwen3moe: the routed FFN', () => {
    const name = 'qwen3moe-experts';
    const spec = ARCH_FIXTURES[name];

    test("each expert's W_gate / W_in / W_out is its slab of the 3-D expert tensor, as the generator wrote it; the router is W_gate_inp", async () => {
      const f = (await session(name)).file;
      const { nExperts, dFfExpert } = spec.moe;
      assert.deepEqual([f.hparams.nExperts, f.hparams.nExpertsUsed, f.hparams.dFfExpert], [nExperts, spec.moe.nExpertsUsed, dFfExpert]);
      const written = new Map(archFixtureTensors(spec, f.hparams.nVocab).map((t) => [t.name, t.data]));
      const tensorOf = { W_gate: 'ffn_gate_exps', W_in: 'ffn_up_exps', W_out: 'ffn_down_exps' } as const;
      for (let l = 0; l < spec.nLayers; l++) {
        for (const [role, tensor] of Object.entries(tensorOf) as Array<[keyof typeof tensorOf, string]>) {
          const all = written.get(`blk.${l}.${tensor}.weight`)!;
          const slab = all.length / nExperts;
          for (const e of [0, 3, nExperts - 1]) {
            const t = f.weight(role, l, e);
            assert.deepEqual(t.dims, role === 'W_out' ? [dFfExpert, spec.dModel] : [spec.dModel, dFfExpert]);
            assert.deepEqual(f.full(t), all.subarray(e * slab, (e + 1) * slab), `L${l} ${role} expert ${e}`);
          }
        }
        assert.deepEqual(f.full(f.weight('W_gate_inp', l)), written.get(`blk.${l}.ffn_gate_inp.weight`));
      }
      assert.throws(() => f.weight('W_in', 0), (e: unknown) => e instanceof InnerWorldError && /layer 0 has 8 experts, each with its own W_in: name one \(0\.\.7\)/.test(e.message));
      assert.throws(() => f.weight('W_in', 0, 8), (e: unknown) => e instanceof InnerWorldError && /expert 8 is outside 0\.\.7/.test(e.message));
      assert.throws(() => f.weight('W_Q', 0, 1), (e: unknown) => e instanceof InnerWorldError && /W_Q of layer 0 is one matrix/.test(e.message));
      assert.deepEqual(f.matrices(1).slice(3, 6).map((m) => m.name), ['blocks.1.attn.W_O', 'blocks.1.mlp.experts.0.W_gate', 'blocks.1.mlp.experts.0.W_in']);
      assert.equal(f.matrices(1, f.matrixRoles)[4]!.name, 'blocks.1.mlp.W_gate_inp');
    });

    test('the tally counts total and active parameters per token from the shapes', async () => {
      const f = (await session(name)).file;
      const { nExperts, nExpertsUsed, dFfExpert } = spec.moe;
      const t = expertTally(f.hparams, f.file.tensors)!;
      const d = spec.dModel;
      const dKv = spec.nKvHeads * (d / spec.nHeads);
      // written out from the spec: per layer 2 norms, q/k norms, W_Q W_K W_V W_O, the router, every expert's three matrices
      const expertPerLayer = 3 * d * dFfExpert * nExperts;
      const layer = 2 * d + 2 * (d / spec.nHeads) + (2 * d * d + 2 * d * dKv) + d * nExperts + expertPerLayer;
      const total = f.hparams.nVocab * d + spec.nLayers * layer + d; // tied: one dictionary, and the final norm
      assert.deepEqual(t, { nExperts, nExpertsUsed, expertParams: spec.nLayers * expertPerLayer, total, activePerToken: total - (spec.nLayers * expertPerLayer * (nExperts - nExpertsUsed)) / nExperts });
    });

    test("routing is in force: tokens pick different experts, and llama.cpp's FFN output is the top-k mixture, not all experts' mean", async () => {
      const s = await session(name);
      const c = await cache(name);
      const f = s.file;
      const { nExperts, nExpertsUsed } = spec.moe;
      const ln2 = c.get('blocks.0.ln2.hook_normalized').data; // [pos, d_model]
      const router = f.full(f.weight('W_gate_inp', 0)); // [n_expert, d_model]
      const d = spec.dModel;
      const pairs = new Set<string>();
      for (let p = 0; p < c.nPos; p++) {
        const scores = Array.from({ length: nExperts }, (_, e) => {
          let z = 0;
          for (let i = 0; i < d; i++) z += router[e * d + i]! * ln2[p * d + i]!;
          return z;
        });
        const pair = Array.from(scores.keys()).sort((a, b) => scores[b]! - scores[a]!).slice(0, nExpertsUsed).sort().join(',');
        pairs.add(pair);
        // llama.cpp's router probabilities (hook_expert_weights, node ffn_moe_probs) are a distribution with the same top k
        const probs = c.row('blocks.0.mlp.hook_expert_weights', p);
        assert.equal(probs.length, nExperts);
        assert.ok(Math.abs(probs.reduce((acc, v) => acc + v, 0) - 1) <= 1e-6, `pos ${p}: router probabilities sum to 1`);
        assert.equal(Array.from(probs.keys()).sort((a, b) => probs[b]! - probs[a]!).slice(0, nExpertsUsed).sort().join(','), pair, `pos ${p}: the same experts`);
      }
      assert.ok(pairs.size >= 4, `${pairs.size} distinct expert pairs over ${c.nPos} tokens`);
      // the same reference with every expert run at equal weight lands far from llama.cpp
      const dense = referenceForward(f, c.tokens, { moeAllExperts: true }).get('blocks.0.hook_mlp_out').data;
      const got = c.get('blocks.0.hook_mlp_out').data;
      assert.ok(maxAbsDiff(dense, got) > 1e-2 * maxAbs(got), 'the mean of all experts is not what llama.cpp computes');
    });

    test('a qwen3moe hook the family does not offer is refused with its reason; hook_mlp_out is the routed sum (ffn_moe_out), hook_expert_weights the router (ffn_moe_probs)', async () => {
      const s = await session(name);
      const tokens = s.tokenize('I like the red ball').tokens.map((t) => t.id);
      assert.throws(() => s.run(tokens, { hooks: ['blocks.0.hook_attn_out'] }), (e: unknown) => e instanceof InnerWorldError && e.message.startsWith('Qwen3-MoE models have no blocks.0.hook_attn_out'));
      assert.equal(hookTable(2, 'qwen3moe').get('ffn_moe_out-1')?.hook, 'blocks.1.hook_mlp_out');
      assert.equal(hookTable(2, 'qwen3moe').get('ffn_moe_probs-0')?.hook, 'blocks.0.mlp.hook_expert_weights');
      assert.deepEqual(s.run(tokens, { hooks: ['blocks.1.mlp.hook_expert_weights'] }).get('blocks.1.mlp.hook_expert_weights').shape, [tokens.length, spec.moe.nExperts]);
    });
  });

  test('gemma2: the soft-caps and the window are in force (the numbers differ without them)', async () => {
    const s = await session('gemma2-softcap');
    const c = await cache('gemma2-softcap');
    assert.equal(s.file.arch.finalSoftcap, 3);
    assert.equal(s.file.arch.attnSoftcap, 2);
    assert.equal(s.file.arch.slidingWindow, 8);
    assert.ok(c.nPos > 8, 'the prompt crosses the window');
    // llama.cpp's logits never leave (-cap, cap): the soft-cap is applied
    assert.ok(maxAbs(c.logits!.data) < 3, 'logits are capped');
  });
});

describe('the preflight checks every supported family (SUPPORTED_ARCHS), not only llama', () => {
  /** a family fixture's file with one tensor's shape replaced (zeros: the preflight reads no data) */
  const writeWith = (dir: string, name: ArchFixtureName, tensor: string, dims: number[] | undefined): string => {
    const spec = ARCH_FIXTURES[name];
    const tokenizer = readTokenizerMetadata(vocabFile(spec.vocab));
    const nVocab = (tokenizer.get('tokenizer.ggml.tokens')!.value as unknown[]).length;
    const file = path.join(dir, `${name}-${tensor}.gguf`);
    const tensors = archTensorShapes(spec, nVocab).map((t) => (t.name === tensor && dims ? { ...t, dims } : t));
    writeGguf(file, {
      metadata: [...archMetadata(spec, nVocab), ...tokenizer],
      tensors: tensors.map((t) => ({ name: t.name, dims: t.dims, type: GgmlType.F32, data: () => encodeTensor(GgmlType.F32, new Float32Array(t.dims.reduce((a, b) => a * b, 1)), t.dims[0]!) })),
    });
    return file;
  };

  test('a qwen2 attn_k and a phi3 fused attn_qkv of the wrong shape are refused before llama.cpp sees them; the sound files pass, phi3\'s fused gate/up included', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'arch-preflight-'));
    try {
      validateModelPath(writeWith(dir, 'phi3-fused', 'none', undefined));
      validateModelPath(writeWith(dir, 'qwen3moe-experts', 'none', undefined));
      assert.throws(() => validateModelPath(writeWith(dir, 'qwen2-bias', 'blk.1.attn_k.weight', [64, 48])), (e: unknown) => e instanceof InnerWorldError && e.code === 'bad-gguf' && /tensor blk\.1\.attn_k\.weight is \[64, 48\] but the hyperparameters say \[64, 32\]/.test(e.message));
      assert.throws(() => validateModelPath(writeWith(dir, 'phi3-fused', 'blk.0.attn_qkv.weight', [64, 64 * 2])), (e: unknown) => e instanceof InnerWorldError && /tensor blk\.0\.attn_qkv\.weight is \[64, 128\] but the hyperparameters say \[64, 192\]/.test(e.message));
      assert.throws(() => validateModelPath(writeWith(dir, 'phi3-fused', 'blk.1.ffn_up.weight', [64, 128])), (e: unknown) => e instanceof InnerWorldError && /tensor blk\.1\.ffn_up\.weight is \[64, 128\] but the hyperparameters say \[64, 256\]/.test(e.message));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
