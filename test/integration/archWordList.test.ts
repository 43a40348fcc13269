// The middle dictionary's word-list rule and the noise floor across vocabularies and widths:
// on byte-level BPE vocabularies (Llama 3: 128k tokens, Qwen: 152k, "Ġ" for the space) the rule
// still picks whole common words, as llama.cpp's own tokenizer confirms (" word" is that one
// token); on SentencePiece vocabularies it picks what rule version 1 picked; the noise floor is
// what random unit vectors show at the widths of real models.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { expectedNoiseWords, noiseFloor } from '../../src/engine/analysis/lens';
import { commonWordTokens } from '../../src/engine/analysis/wordList';
import { GgufFile } from '../../src/engine/gguf/reader';
import { ModelSession } from '../../src/engine/llama/session';
import { Rng } from '../../src/engine/util/random';
import { Workbench } from '../../src/engine/workbench/workbench';
import { ensureArchFixture, vocabFile, type ArchFixtureName } from '../fixtures/archModels';

function vocabTokens(vocab: string): string[] {
  const f = GgufFile.open(vocabFile(vocab));
  try {
    return f.get('tokenizer.ggml.tokens') as string[];
  } finally {
    f.close();
  }
}

/** The version-1 rule, written out again: "▁" and letters only. */
function versionOneRule(vocab: readonly string[], count: number): number[] {
  const short = new Set('I a A an An am Am as As at At be Be by By do Do go Go he He if If in In is Is it It me Me my My no No of Of on On or Or so So to To up Up us Us we We'.split(' '));
  const out: number[] = [];
  for (let id = 0; id < vocab.length && out.length < count; id++) {
    const m = /^▁([A-Za-z]+)$/.exec(vocab[id]!);
    if (m && (short.has(m[1]!) || /^[a-z]{3,}$/.test(m[1]!) || /^[A-Z][a-z]{2,}$/.test(m[1]!))) out.push(id);
  }
  return out;
}

const COMMON = ['the', 'and', 'that', 'with', 'for', 'this', 'from', 'have', 'not', 'are'];

describe('the word-list rule on every family\'s vocabulary', () => {
  for (const vocab of ['llama-spm', 'phi-3', 'gemma-4']) {
    test(`${vocab} (SentencePiece "▁"): the rule picks what version 1 picked, common words first`, () => {
      const tokens = vocabTokens(vocab);
      const picked = commonWordTokens(tokens, 3000);
      assert.equal(picked.length, 3000);
      assert.deepEqual(picked, versionOneRule(tokens, 3000));
      const words = new Set(picked.slice(0, 500).map((id) => tokens[id]!.slice(1)));
      for (const w of COMMON) assert.ok(words.has(w), `${w} is among the first 500`);
    });
  }

  const sessions: ModelSession[] = [];
  after(() => sessions.forEach((s) => s.dispose()));
  for (const [vocab, fixture] of [['llama-bpe', 'llama3-tied-gqa'], ['qwen2', 'qwen2-bias']] as Array<[string, ArchFixtureName]>) {
    test(`${vocab} (byte-level BPE "Ġ", ${vocabTokens(vocab).length} tokens): whole words, as llama.cpp's tokenizer reads them`, async () => {
      const tokens = vocabTokens(vocab);
      const picked = commonWordTokens(tokens, 3000);
      assert.equal(picked.length, 3000, 'the rule finds 3000 words');
      assert.ok(picked.every((id) => /^Ġ[A-Za-z]+$/.test(tokens[id]!)), 'every pick is the space marker and letters');
      const words = new Set(picked.slice(0, 500).map((id) => tokens[id]!.slice(1)));
      for (const w of COMMON) assert.ok(words.has(w), `${w} is among the first 500`);
      // the tokenizer of a model with this vocabulary reads " word" as exactly that token
      const s = await ModelSession.open(ensureArchFixture(fixture), { threads: 2 });
      sessions.push(s);
      for (const id of picked.slice(0, 300)) {
        const got = s.tokenize(` ${tokens[id]!.slice(1)}`, { addBos: false }).tokens.map((t) => t.id);
        assert.deepEqual(got, [id], `" ${tokens[id]!.slice(1)}" is token ${id} alone`);
      }
    });
  }
});

describe('the noise floor at the widths of real models', () => {
  // Qwen2.5 0.5B, Gemma 2 2B, Qwen2.5 3B / Phi-3 (3072), Llama 3 8B
  for (const d of [64, 896, 2304, 3072, 4096]) {
    test(`d_model ${d}: random unit vectors have on average one component above F`, () => {
      const f = noiseFloor(d);
      assert.ok(Math.abs(expectedNoiseWords(d, f) - 1) < 1e-9);
      const rng = new Rng(d);
      let above = 0;
      const trials = Math.max(200, Math.round(400000 / d));
      for (let t = 0; t < trials; t++) {
        const v = rng.normals(d);
        let n = 0;
        for (const x of v) n += x * x;
        n = Math.sqrt(n);
        for (const x of v) if (x / n > f) above++;
      }
      const mean = above / trials;
      assert.ok(mean > 0.85 && mean < 1.15, `mean count above F = ${f.toFixed(4)}: ${mean}`);
    });
  }
});

describe('a word given by a person on a byte-level BPE vocabulary', () => {
  for (const name of ['llama3-tied-gqa', 'qwen2-bias'] as const) {
    test(`${name}: "play" and "Ġplay" are the word Ġplay, "#id" its id, "," the comma; "▁play" is not in this vocabulary`, async () => {
      const wb = new Workbench(ensureArchFixture(name), { gpu: 'cpu' });
      try {
        const vocab = wb.file().tokens;
        const id = vocab.indexOf('Ġplay');
        assert.ok(id >= 0, 'the vocabulary spells the word with Ġ');
        assert.deepEqual(await wb.resolveWord('play'), { token: id, text: 'Ġplay' }, 'a plain word is the word, not the word-piece "play"');
        assert.notEqual(vocab.indexOf('play'), id, 'the word-piece exists and differs');
        assert.deepEqual(await wb.resolveWord('Ġplay'), { token: id, text: 'Ġplay' });
        assert.deepEqual(await wb.resolveWord(`#${id}`), { token: id, text: 'Ġplay' });
        assert.deepEqual(await wb.resolveWord(','), { token: vocab.indexOf(','), text: ',' });
        await assert.rejects(wb.resolveWord('▁play'), /is \d+ tokens .* not one/);
      } finally {
        wb.dispose();
      }
    });
  }
});
