// The demo model must carry the grammar's structure where the extension's views will look for it:
// in its dictionaries (read straight from the GGUF), in llama.cpp's next-token logits, and in the
// attention pattern llama.cpp computes for layer 0 head 0. It is built here, twice (fresh, and by
// ensureDemoModel over a stale file), which also checks that the build is deterministic.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LLAMA_SPM_VOCAB_FILES } from '../../src/engine/assets';
import { buildDemoModel, demoModelPath, DEMO_BUILDER_VERSION, DEMO_KEYS, DEMO_NAME, ensureDemoModel, readDemoReport, type DemoReport } from '../../src/engine/demo/builder';
import { DEMO_CATEGORIES, DEMO_CATEGORY_NAMES, documentText, sampleDocument, type DemoCategory } from '../../src/engine/demo/grammar';
import { writeGguf } from '../../src/engine/gguf/writer';
import { gguf } from '../../src/engine/gguf/values';
import { ModelSession } from '../../src/engine/llama/session';
import { Rng } from '../../src/engine/util/random';
import { vocabPath } from '../fixtures/models';

const sha256 = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

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
    assert.deepEqual([s.info.nLayers, s.info.dModel, s.info.nHeads, s.info.nVocab], [2, 128, 4, 32000]);
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
    assert.deepEqual(pattern.shape, [4, n, n]);
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
        const l = cache.logitsAt(p);
        let max = -Infinity;
        for (let j = 0; j < l.length; j++) max = Math.max(max, l[j]!);
        let z = 0;
        for (let j = 0; j < l.length; j++) z += Math.exp(l[j]! - max);
        ce -= l[toks[p + 1]!]! - max - Math.log(z);
        positions++;
      }
    }
    ce /= positions;
    assert.ok(Math.abs(ce - report.trigram.withHeadCe) < 0.12, `llama.cpp CE ${ce.toFixed(3)} over ${positions} positions vs fitted ${report.trigram.withHeadCe.toFixed(3)}`);
    assert.ok(ce < report.trigram.withoutHeadCe - 0.15, `llama.cpp CE ${ce.toFixed(3)} shows the head at work`);
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
