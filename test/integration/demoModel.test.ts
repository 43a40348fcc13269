// The demo model must carry the grammar's structure where the extension's views will look for it:
// in its dictionaries (read straight from the GGUF), in llama.cpp's next-token logits, and in what
// the analyses find in llama.cpp's activations: the input word readable at every depth, predictions
// that form over depth (the logit lens), attention sinks and a late previous-token head, an induction
// head, a middle dictionary that reads the previous word, neighbouring states with cosine about 0.9.
// It is built here, twice (fresh, and by ensureDemoModel over a stale file), which also checks that
// the build is deterministic.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LLAMA_SPM_VOCAB_FILES } from '../../src/engine/assets';
import {
  buildDemoModel,
  demoModelPath,
  DEMO_BUILDER_VERSION,
  DEMO_FIRST_SINK_LAYER,
  DEMO_INDUCTION_HEAD,
  DEMO_KEYS,
  DEMO_LATE_PREV_TOKEN_HEAD,
  DEMO_NAME,
  DEMO_PREV_TOKEN_HEAD,
  ensureDemoModel,
  readDemoReport,
  type DemoReport,
} from '../../src/engine/demo/builder';
import { DEMO_CATEGORIES, DEMO_CATEGORY_NAMES, documentText, sampleDocument, type DemoCategory } from '../../src/engine/demo/grammar';
import { writeGguf } from '../../src/engine/gguf/writer';
import { gguf } from '../../src/engine/gguf/values';
import { ModelSession } from '../../src/engine/llama/session';
import type { ActivationCache } from '../../src/engine/activations';
import { inputDictionary } from '../../src/engine/analysis/dictionary';
import { lens, lensQuery } from '../../src/engine/analysis/lens';
import { previousTokenHeads, sinkMap } from '../../src/engine/analysis/attention';
import { layerGapSimilarity } from '../../src/engine/analysis/states';
import { MiddleDictionary } from '../../src/engine/analysis/middle';
import { ReferenceEngine } from '../../src/engine/analysis/reference/projection';
import { Rng } from '../../src/engine/util/random';
import { vocabPath } from '../fixtures/models';

const sha256 = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
/** the article's prompt (section 2.B) */
const ARTICLE = 'I like the red ball, but my girlfriend likes the larger ball. We like to go to the basketball court to play ball together. It is a lot of fun.';
const HOOKS = (h: string): boolean => /hook_resid_post$|^hook_embed$|attn\.hook_pattern$/.test(h);

describe('demo model', () => {
  let dir: string;
  let file: string;
  let report: DemoReport;
  let s: ModelSession;
  // [d_vocab, d_model] dictionaries, read once
  let E: Float32Array;
  let U: Float32Array;
  let d: number;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iw-demo-'));
    file = path.join(dir, 'built.gguf');
    report = await buildDemoModel(file, { vocabPath: vocabPath() });
    s = await ModelSession.open(file);
    d = s.info.dModel;
    E = s.file.rows(s.file.W_E, 0, s.info.nVocab);
    U = s.file.rows(s.file.W_U, 0, s.info.nVocab);
  });
  after(() => {
    s?.dispose();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const ids = (w: string): number[] => s.tokenizer.ids(w, false);
  const text = (id: number): string => s.tokenizer.tokenText(id);
  /** every token of the words of some categories (word pieces included) */
  const tokensOf = (...cats: DemoCategory[]): Set<number> => new Set(cats.flatMap((c) => DEMO_CATEGORIES[c].flatMap((w) => ids(w))));
  const firstTokensOf = (...cats: DemoCategory[]): Set<number> => new Set(cats.flatMap((c) => DEMO_CATEGORIES[c].map((w) => ids(w)[0]!)));
  const dotRows = (A: Float32Array, i: number, B: Float32Array, j: number): number => {
    let x = 0;
    for (let k = 0; k < d; k++) x += A[i * d + k]! * B[j * d + k]!;
    return x;
  };
  const cosine = (i: number, j: number): number => dotRows(E, i, E, j) / Math.sqrt(dotRows(E, i, E, i) * dotRows(E, j, E, j));
  const topK = (scores: Float32Array | Float64Array, k: number, skip = -1): number[] =>
    Array.from(scores.keys()).filter((i) => i !== skip).sort((a, b) => scores[b]! - scores[a]! || a - b).slice(0, k);
  const nextTokens = (prompt: string, k: number): Array<{ id: number; p: number }> => {
    const toks = s.tokenize(prompt).tokens.map((t) => t.id);
    const logits = s.run(toks, { hooks: [], logits: true }).logitsAt(toks.length - 1);
    const max = logits.reduce((m, v) => Math.max(m, v), -Infinity);
    const z = logits.reduce((acc, v) => acc + Math.exp(v - max), 0);
    return topK(logits, k).map((id) => ({ id, p: Math.exp(logits[id]! - max) / z }));
  };

  test('is a synthetic Llama model that says so', () => {
    assert.equal(s.info.name, DEMO_NAME);
    assert.match(s.info.description ?? '', /synthetic/i);
    assert.match(s.info.description ?? '', /grammar/);
    assert.deepEqual([s.info.nLayers, s.info.dModel, s.info.nHeads, s.info.nVocab], [8, 320, 5, 32000]);
    assert.match(s.info.description ?? '', /not trained/);
    assert.equal(s.file.file.get(DEMO_KEYS.version), DEMO_BUILDER_VERSION);
    const { fileBytes: _f, buildSeconds: _b, ...fit } = report;
    assert.deepEqual(readDemoReport(file), fit);
  });

  test('(a) the input dictionary clusters words by category', () => {
    const words = DEMO_CATEGORY_NAMES.flatMap((c) => DEMO_CATEGORIES[c].filter((w) => ids(w).length === 1).map((w) => ({ w, id: ids(w)[0]!, c })));
    assert.ok(words.length > 150, `${words.length} single-token category words`);
    let within = 0;
    let nWithin = 0;
    let across = 0;
    let nAcross = 0;
    let sameNeighbour = 0;
    for (const a of words) {
      let best: (typeof words)[number] | undefined;
      let bestCos = -Infinity;
      for (const b of words) {
        if (a === b) continue;
        const c = cosine(a.id, b.id);
        if (a.c === b.c) {
          within += c;
          nWithin++;
        } else {
          across += c;
          nAcross++;
        }
        if (c > bestCos) {
          bestCos = c;
          best = b;
        }
      }
      if (best!.c === a.c) sameNeighbour++;
    }
    within /= nWithin;
    across /= nAcross;
    const share = sameNeighbour / words.length;
    assert.ok(within > 0.6 && across < 0.2 && within - across > 0.5, `mean cosine within ${within.toFixed(3)}, across ${across.toFixed(3)}`);
    assert.ok(share > 0.9, `${(100 * share).toFixed(1)}% of words have their nearest neighbour in their own category`);

    // over the whole vocabulary, word pieces of the same category included
    for (const [word, cat] of [['red', 'colours'], ['big', 'sizes'], ['mother', 'people'], ['park', 'places']] as const) {
      const id = ids(word)[0]!;
      const scores = new Float64Array(s.info.nVocab);
      for (let j = 0; j < scores.length; j++) scores[j] = cosine(id, j);
      const near = topK(scores, 5, id);
      const inCat = tokensOf(cat);
      assert.ok(near.every((j) => inCat.has(j)), `${word}'s neighbours ${near.map(text).join(' ')} are ${cat}`);
    }
  });

  test('(b) llama.cpp predicts what the grammar allows', () => {
    const red = nextTokens('I like the red', 5);
    assert.ok(red.slice(0, 3).some((t) => text(t.id) === '▁ball'), `after "I like the red": ${red.map((t) => text(t.id)).join(' ')}`);
    assert.ok(firstTokensOf('objects', 'foods').has(red[0]!.id));

    const go = nextTokens('We like to go to the', 5);
    const placeOrSport = firstTokensOf('places', 'sports');
    assert.ok(go.every((t) => placeOrSport.has(t.id)), `after "We like to go to the": ${go.map((t) => text(t.id)).join(' ')}`);

    assert.equal(text(nextTokens('We like to go to the basketball', 1)[0]!.id), '▁court');
    const fun = nextTokens('It is a lot of', 1)[0]!;
    assert.equal(text(fun.id), '▁fun');
    assert.ok(fun.p > 0.9, `p(fun) = ${fun.p}`);
    // "likes" is two tokens; the second is certain after the first
    const es = nextTokens('My girlfriend lik', 1)[0]!;
    assert.equal(text(es.id), 'es');
  });

  test('(c) a word read through the output dictionary shows its continuations', () => {
    const lens = (word: string, k: number): number[] => {
      const id = ids(word).at(-1)!;
      const norm = Math.sqrt(dotRows(E, id, E, id));
      const scores = new Float64Array(s.info.nVocab);
      for (let j = 0; j < scores.length; j++) scores[j] = dotRows(E, id, U, j) / norm;
      return topK(scores, k);
    };
    const red = lens('red', 5);
    const objects = firstTokensOf('objects', 'foods');
    assert.ok(objects.has(red[0]!), `red -> ${red.map(text).join(' ')}`);
    for (const w of ['▁ball', '▁car', '▁apple']) assert.ok(red.map(text).includes(w), `red -> ${red.map(text).join(' ')} lacks ${w}`);
    assert.equal(text(lens('basketball', 1)[0]!), '▁court');
    assert.equal(text(lens('go', 1)[0]!), '▁to');
  });

  test('(d) layer 0 head 0 attends to the previous token', () => {
    const prompt =
      'I like the red ball, but my girlfriend likes the larger ball. We like to go to the basketball court to play ball together. ' +
      documentText(sampleDocument(new Rng(5))) +
      ' ' +
      documentText(sampleDocument(new Rng(6)));
    const toks = s.tokenize(prompt).tokens.map((t) => t.id);
    const n = toks.length;
    const pattern = s.run(toks, { hooks: ['blocks.0.attn.hook_pattern'] }).pattern(0); // [head, q, k]
    assert.deepEqual(pattern.shape, [s.info.nHeads, n, n]);
    const prevIsMax = (h: number): number => {
      let hits = 0;
      for (let q = 1; q < n; q++) {
        const row = pattern.data.subarray((h * n + q) * n, (h * n + q + 1) * n);
        if (topK(row.subarray(0, q + 1), 1)[0] === q - 1) hits++;
      }
      return hits / (n - 1);
    };
    assert.ok(n > 40);
    assert.ok(prevIsMax(0) > 0.95, `head 0 peaks at q-1 for ${(100 * prevIsMax(0)).toFixed(0)}% of queries`);
    let mean = 0;
    for (let q = 1; q < n; q++) mean += pattern.data[q * n + q - 1]! / (n - 1);
    assert.ok(mean > 0.9, `head 0's mean weight on the previous token ${mean}`);
    // the other heads are random: none of them is a previous-token head
    for (const h of [1, 2, 3]) assert.ok(prevIsMax(h) < 0.6, `head ${h} peaks at q-1 for ${(100 * prevIsMax(h)).toFixed(0)}% of queries`);
  });

  test('(e) the fit is close to the counted tables, and llama.cpp reproduces it', () => {
    assert.ok(report.bigram.modelCe - report.bigram.tableCe < 0.02, `bigram CE ${report.bigram.modelCe} vs table ${report.bigram.tableCe}`);
    assert.ok(report.bigram.modelCe >= report.bigram.tableCe - 1e-9, 'no bigram model beats the table it was fitted to');
    assert.ok(report.bigram.top1Agreement > 0.9);
    assert.ok(report.trigram.withHeadCe < report.trigram.withoutHeadCe - 0.2, `the head lowers trigram CE: ${JSON.stringify(report.trigram)}`);
    assert.ok(report.trigram.withHeadCe - report.trigram.tableCe < 0.05);
    assert.ok(report.head.prevWeightMin > 0.99);
    assert.ok(report.outsideMassMax < 1e-4);

    // cross-entropy of llama.cpp's own logits on fresh grammar documents, a few hundred tokens
    // per run (sentences follow each other within documents too, so joining them changes no statistic)
    const rng = new Rng(77);
    let ce = 0;
    let positions = 0;
    for (let run = 0; run < 3; run++) {
      const prompt = Array.from({ length: 16 }, () => documentText(sampleDocument(rng))).join(' ');
      const toks = s.tokenize(prompt).tokens.map((t) => t.id);
      const cache = s.run(toks, { hooks: [], logits: true });
      for (let p = 0; p + 1 < toks.length; p++) {
        ce += nextTokenLoss(cache.logitsAt(p), toks[p + 1]!);
        positions++;
      }
    }
    ce /= positions;
    // the fit knows no induction head; in the grammar's documents a repeated word says nothing about
    // what follows it, so the head's copies cost a little here (about 0.15 nats; 1.36 without it)
    const excess = ce - report.trigram.withHeadCe;
    assert.ok(excess > -0.12 && excess < 0.2, `llama.cpp CE ${ce.toFixed(3)} over ${positions} positions vs fitted ${report.trigram.withHeadCe.toFixed(3)}`);
    assert.ok(ce < report.trigram.withoutHeadCe - 0.15, `llama.cpp CE ${ce.toFixed(3)} shows the head at work`);
  });

  // one run of the article's prompt with states and attention patterns, shared by the depth tests
  let articleCache: ActivationCache | undefined;
  const article = (): ActivationCache => (articleCache ??= s.run(s.tokenize(ARTICLE).tokens.map((t) => t.id), { hooks: HOOKS, logits: true }));
  const ref = new ReferenceEngine();
  const afterBos = (n: number): number[] => Array.from({ length: n - 1 }, (_, i) => i + 1);

  test('(f) eight layers; the input word is the top input-dictionary word at every layer, its amplitude falls then holds', () => {
    const cache = article();
    const L = s.info.nLayers;
    assert.ok(L >= 8, `${L} layers`);
    const res = lens(ref, inputDictionary(s.file), cache, { positions: afterBos(cache.nPos), nLayers: L, k: 2, tokenText: text });
    const amp = new Array<number>(L + 1).fill(0);
    for (const p of res.positions) {
      for (const l of p.layers) {
        assert.equal(l.words[0]!.token, p.token, `position ${p.pos} "${p.text}" layer ${l.layer}: top word ${l.words[0]!.text}`);
        amp[l.layer]! += l.words[0]!.value / res.positions.length;
      }
    }
    const shown = amp.map((a) => a.toFixed(3)).join(' ');
    for (let l = 0; l < L / 2; l++) assert.ok(amp[l + 1]! < amp[l]!, `the amplitude falls over the first layers: ${shown}`);
    assert.ok(amp[0]! - amp[L / 2]! > 0.4, shown);
    // then holds: the second half of the stack loses less than a quarter of what the first half lost
    assert.ok(amp[L / 2]! - amp[L]! < 0.25 * (amp[0]! - amp[L / 2]!), `the amplitude holds in the second half: ${shown}`);
    assert.ok(amp[L]! > 0.25 && amp[L]! < 0.5, `plateau ${amp[L]!.toFixed(3)}`);
  });

  test('(g) predictions form over depth: the logit lens gives the final top-1 more probability layer by layer', () => {
    const cache = article();
    const L = s.info.nLayers;
    const positions = afterBos(cache.nPos);
    const gain = s.file.full(s.file.lnFinal);
    /** full logit-lens distribution of a state: final RMSNorm with its gain, the whole output dictionary, softmax */
    const probs = (h: Float32Array): Float64Array => {
      const q = lensQuery(h, 'logit-lens', gain, s.file.hparams.rmsEps);
      const logits = new Float64Array(s.info.nVocab);
      let max = -Infinity;
      for (let j = 0; j < logits.length; j++) max = Math.max(max, (logits[j] = dotRows(U, j, q as Float32Array, 0)));
      let z = 0;
      for (let j = 0; j < logits.length; j++) z += logits[j] = Math.exp(logits[j]! - max);
      for (let j = 0; j < logits.length; j++) logits[j]! /= z;
      return logits;
    };
    const mean = new Array<number>(L + 1).fill(0);
    const agree = new Array<number>(L + 1).fill(0);
    for (const pos of positions) {
      const final = probs(cache.state(L, pos));
      const top = topK(final, 1)[0]!;
      // the lens at the last layer is llama.cpp's own next-token distribution
      const own = cache.logitsAt(pos);
      assert.equal(topK(own, 1)[0], top, `position ${pos}: the lens's top-1 is llama.cpp's`);
      for (let l = 0; l <= L; l++) {
        const p = l === L ? final : probs(cache.state(l, pos));
        mean[l]! += p[top]! / positions.length;
        if (topK(p, 1)[0] === top) agree[l]! += 1 / positions.length;
      }
    }
    const shown = mean.map((p) => p.toFixed(3)).join(' ');
    for (let l = 0; l < L; l++) assert.ok(mean[l + 1]! > mean[l]!, `mean probability of the final top-1 by layer: ${shown}`);
    assert.ok(mean[L]! > 4 * mean[0]!, shown);
    // the top-1 settles several layers before the end (the article's reading of Fig. 12)
    assert.ok(agree[0]! < 0.85 && agree[L - 3]! > 0.999, `share of positions whose top-1 is already the final one: ${agree.map((a) => a.toFixed(2)).join(' ')}`);

    // layer 0 reads the input word's completions; the last layers the grammar's next word in context
    const toks = cache.tokens;
    const at = (piece: string, from = 0): number => toks.findIndex((t, i) => i >= from && text(t) === piece);
    assert.equal(text(topK(probs(cache.state(0, at('▁lik'))), 1)[0]!), 'es');
    const red0 = topK(probs(cache.state(0, at('▁red'))), 3).map(text);
    assert.ok(red0.includes('▁ball'), `red at layer 0 -> ${red0.join(' ')}`);
    const the = at('▁the', at('▁lik'));
    const sizes = firstTokensOf('sizes', 'comparatives', 'colours');
    assert.ok(sizes.has(topK(probs(cache.state(L, the)), 1)[0]!), 'after "my girlfriend likes the": a size or a colour');
  });

  test('(h) attention sinks from layer 2 on, and a previous-token head among them', () => {
    const cache = article();
    const L = s.info.nLayers;
    const n = cache.nPos;
    for (let layer = 0; layer < L; layer++) {
      const map = sinkMap(cache, layer, text);
      // a head is a sink when more than half of its queries put more than half their attention on <s>
      const sinks = Array.from({ length: map.nHeads }, (_, h) => afterBos(n).filter((q) => map.values[h * n + q]! > 0.5).length / (n - 1)).filter((share) => share > 0.5).length;
      if (layer < DEMO_FIRST_SINK_LAYER) assert.equal(sinks, 0, `layer ${layer}: ${map.meanSink.map((v) => v.toFixed(2)).join(' ')}`);
      else assert.ok(sinks > map.nHeads / 2, `layer ${layer}: ${sinks} of ${map.nHeads} heads are sinks (${map.meanSink.map((v) => v.toFixed(2)).join(' ')})`);
    }
    const late = previousTokenHeads(cache, Array.from({ length: L - DEMO_FIRST_SINK_LAYER }, (_, i) => DEMO_FIRST_SINK_LAYER + i), text);
    assert.deepEqual([late[0]!.layer, late[0]!.head], [DEMO_LATE_PREV_TOKEN_HEAD.layer, DEMO_LATE_PREV_TOKEN_HEAD.head]);
    assert.ok(late[0]!.score > 0.9, `late previous-token head: ${late[0]!.score}`);
    assert.ok(sinkMap(cache, late[0]!.layer, text).meanSink[late[0]!.head]! < 0.1, 'it does not sink');
    assert.ok(late[1]!.score < 0.3, `no other late head attends to the previous token (${late[1]!.score})`);
    // over all layers, layer 0 head 0 stays the sharpest previous-token head
    const all = previousTokenHeads(cache, Array.from({ length: L }, (_, i) => i), text);
    assert.deepEqual([all[0]!.layer, all[0]!.head], [DEMO_PREV_TOKEN_HEAD.layer, DEMO_PREV_TOKEN_HEAD.head]);
  });

  test('(i) an induction head: random grammar words repeated, it attends to what followed their first occurrence', () => {
    // the most frequent tokens (the, to, ".", go, play...) carry weakened identities on purpose (the
    // builder's weakenFrequentIdentities): words spelled with them are left out
    const weak = new Set(report.circuits.weakIdentityTokens);
    assert.ok(weak.size > 5 && weak.size < 40, `${weak.size} weakened identities`);
    for (const w of ['the', 'to']) assert.ok(weak.has(ids(w)[0]!), w);
    const words = DEMO_CATEGORY_NAMES.flatMap((c) => DEMO_CATEGORIES[c]).filter((w) => !ids(w).some((t) => weak.has(t)));
    assert.ok(words.length > 200, `${words.length} words`);
    const rng = new Rng(11);
    for (let trial = 0; trial < 3; trial++) {
      // distinct tokens, so each has one first occurrence
      const seq: number[] = [];
      const used = new Set<number>();
      while (seq.length < 30) {
        const w = ids(words[rng.int(words.length)]!);
        if (w.some((t) => used.has(t))) continue;
        w.forEach((t) => used.add(t));
        seq.push(...w);
      }
      const k = seq.length;
      const toks = [s.file.specialTokens.bos!, ...seq, ...seq];
      const n = toks.length;
      const cache = s.run(toks, { hooks: (h) => /attn\.hook_pattern$/.test(h), logits: true });
      // the head whose attention from the second copy goes to the token after the first occurrence
      const score = (layer: number, h: number): number[] => {
        const p = cache.pattern(layer);
        return Array.from({ length: k }, (_, i) => p.data[(h * n + k + 1 + i) * n + i + 2]!);
      };
      let best = { layer: -1, head: -1, mean: 0 };
      for (let layer = 0; layer < s.info.nLayers; layer++) {
        for (let h = 0; h < s.info.nHeads; h++) {
          const m = score(layer, h).reduce((a, b) => a + b, 0) / k;
          if (m > best.mean) best = { layer, head: h, mean: m };
        }
      }
      assert.deepEqual([best.layer, best.head], [DEMO_INDUCTION_HEAD.layer, DEMO_INDUCTION_HEAD.head]);
      const weights = score(best.layer, best.head);
      assert.ok(Math.min(...weights) > 0.5, `trial ${trial}: smallest weight on the match ${Math.min(...weights).toFixed(3)} (mean ${best.mean.toFixed(3)})`);
      const loss = (from: number, to: number): number => {
        let ce = 0;
        for (let p = from; p < to; p++) ce += nextTokenLoss(cache.logitsAt(p), toks[p + 1]!);
        return ce / (to - from);
      };
      // predicting tokens 2..k of the first copy, and 2..k of the second (the first of each is a new start)
      const first = loss(1, k);
      const second = loss(k + 1, n - 1);
      assert.ok(second < 0.5 * first, `trial ${trial}: loss ${first.toFixed(2)} on the first copy, ${second.toFixed(2)} on the second`);
    }
  });

  test('(j) the middle dictionary (layer 2) reads the previous word: "like" in "I like the red ball" shows "I"', () => {
    const toks = s.tokenize('I like the red ball').tokens.map((t) => t.id);
    const mid = MiddleDictionary.open(s, { extraTokens: toks });
    assert.equal(mid.recipe.layer, 2);
    const cache = s.run(toks, { hooks: HOOKS });
    const like = toks.indexOf(ids('like')[0]!);
    const res = lens(ref, mid.dictionary(), cache, { positions: [like], nLayers: s.info.nLayers, k: 3, tokenText: text });
    const I = ids('I')[0]!;
    const rows = res.positions[0]!.layers.map((l) => `${l.layer}: ${l.words.map((w) => `${w.text} ${w.value.toFixed(2)}`).join(', ')}`).join(' | ');
    for (const layer of [3, 4, 5]) assert.ok(res.positions[0]!.layers[layer]!.words.some((w) => w.token === I), `"I" in the top 3 at layer ${layer}: ${rows}`);
    // like the article's Fig. 7, layer 0 (the input vectors) barely overlaps the middle dictionary
    assert.ok(res.positions[0]!.layers[0]!.words[0]!.value < 0.1, rows);
  });

  test("(k) neighbouring layers' states of a token have cosine about 0.9 in the middle of the stack", () => {
    const L = s.info.nLayers;
    const gap = layerGapSimilarity(article(), L, [1, 4]);
    const one = gap.curves[0]!.mean;
    const middle = one.slice(3, L - 1);
    const shown = one.map((c) => c.toFixed(3)).join(' ');
    assert.ok(middle.every((c) => c > 0.85 && c < 0.97), `cosine of h[l] and h[l+1], l = 0..${L - 1}: ${shown}`);
    const meanMiddle = middle.reduce((a, b) => a + b, 0) / middle.length;
    assert.ok(Math.abs(meanMiddle - 0.92) < 0.04, `middle mean ${meanMiddle.toFixed(3)}`);
    // the first layers change the state more (the article's Fig. 12)
    assert.ok(one[0]! < 0.85, shown);
  });

  test('(e) builds are deterministic; ensureDemoModel rebuilds stale files only', async () => {
    const cache = path.join(dir, 'cache');
    // the vocabulary is already extracted for the project: copy it rather than extract it again
    for (const f of LLAMA_SPM_VOCAB_FILES) {
      fs.mkdirSync(path.join(cache, 'llama.cpp', path.dirname(f)), { recursive: true });
      fs.copyFileSync(path.join(path.dirname(vocabPath()), path.basename(f)), path.join(cache, 'llama.cpp', f));
    }
    const target = demoModelPath(cache);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    writeGguf(target, { metadata: [['general.architecture', gguf.str('llama')], [DEMO_KEYS.version, gguf.u32(0)]], tensors: [] });
    let builds = 0;
    assert.equal(await ensureDemoModel(cache, { onBuilt: () => builds++ }), target);
    assert.equal(builds, 1, 'a file from builder version 0 is rebuilt');
    assert.equal(sha256(target), sha256(file), 'same seed, same bytes');
    const mtime = fs.statSync(target).mtimeMs;
    await ensureDemoModel(cache, { onBuilt: () => builds++ });
    assert.equal(builds, 1, 'a current file is kept');
    assert.equal(fs.statSync(target).mtimeMs, mtime);
  });
});

/** -ln softmax(logits)[next], in nats. */
function nextTokenLoss(logits: Float32Array, next: number): number {
  let max = -Infinity;
  for (let j = 0; j < logits.length; j++) max = Math.max(max, logits[j]!);
  let z = 0;
  for (let j = 0; j < logits.length; j++) z += Math.exp(logits[j]! - max);
  return -(logits[next]! - max - Math.log(z));
}
