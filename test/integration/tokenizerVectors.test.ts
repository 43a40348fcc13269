// Tokenization: llama.cpp's own test vectors for the Llama SentencePiece vocabulary (ids must match
// exactly), and the character spans the editor relies on (they must tile the text: sorted,
// contiguous, from 0 to its length in UTF-16 units). Plus BOS, leading spaces, characters split
// into byte tokens, empty text and text longer than the context.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { isInnerWorldError } from '../../src/engine/errors';
import { ModelSession } from '../../src/engine/llama/session';
import { openTokenizer, type Tokenized, type Tokenizer } from '../../src/engine/llama/tokens';
import { ensureFixture, LLAMA_SPM_VOCAB, llamaCppFile } from '../fixtures/models';

const SEP = '\n__ggml_vocab_test__\n';

/** The .inp/.out pair as llama.cpp's tests/test-tokenizer-0.cpp reads it. */
function readVectors(): Array<{ text: string; ids: number[] }> {
  const raw = fs.readFileSync(llamaCppFile(`${LLAMA_SPM_VOCAB}.inp`), 'utf8');
  const inputs: string[] = [];
  for (let pos = 0; pos < raw.length; ) {
    const next = raw.indexOf(SEP, pos);
    if (next < 0) {
      inputs.push(raw.slice(pos));
      break;
    }
    inputs.push(raw.slice(pos, next));
    pos = next + SEP.length;
  }
  const lines = fs.readFileSync(llamaCppFile(`${LLAMA_SPM_VOCAB}.out`), 'utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  assert.equal(inputs.length, lines.length, 'as many inputs as expected outputs');
  return inputs.map((text, i) => ({ text, ids: lines[i]!.trim() === '' ? [] : lines[i]!.trim().split(' ').map(Number) }));
}

/** Spans tile the text: sorted, contiguous, 0 to text.length, and slicing them rebuilds it. */
function assertTiles(text: string, tok: Tokenized, what: string): void {
  const spans = tok.tokens;
  if (spans.length === 0) {
    assert.equal(text, '', `${what}: only empty text has no tokens`);
    return;
  }
  assert.equal(spans[0]!.start, 0, `${what}: the first span starts at 0`);
  for (let i = 0; i < spans.length; i++) {
    assert.ok(spans[i]!.start <= spans[i]!.end, `${what}: span ${i} is not reversed`);
    if (i > 0) assert.equal(spans[i]!.start, spans[i - 1]!.end, `${what}: span ${i} starts where span ${i - 1} ends`);
  }
  assert.equal(spans.at(-1)!.end, text.length, `${what}: the last span ends at the text's length`);
  assert.equal(spans.map((s) => text.slice(s.start, s.end)).join(''), text, `${what}: the spans' slices rebuild the text`);
}

describe('tokenizer: llama.cpp test vectors (ggml-vocab-llama-spm)', () => {
  let tk: { tokenizer: Tokenizer; dispose(): void };
  before(async () => {
    tk = await openTokenizer(llamaCppFile(LLAMA_SPM_VOCAB));
  });
  after(() => tk.dispose());

  test('every vector: ids match exactly, spans tile the text', () => {
    const vectors = readVectors();
    assert.ok(vectors.length >= 40, `found ${vectors.length} vectors`);
    for (const { text, ids } of vectors) {
      const what = JSON.stringify(text);
      assert.deepEqual(tk.tokenizer.ids(text, false, false), ids, `${what}: ids`);
      const tok = tk.tokenizer.tokenize(text, { addBos: false });
      assert.deepEqual(tok.tokens.map((t) => t.id), ids, `${what}: tokenize() gives the same ids`);
      assertTiles(text, tok, what);
      assertTiles(text, tk.tokenizer.tokenize(text), `${what} with BOS`);
    }
  });

  test('BOS: prepended with an empty span at 0, marked special; a literal "<s>" in the text is not BOS', () => {
    const t = tk.tokenizer;
    assert.equal(t.addBos, true, 'the Llama vocabulary asks for BOS');
    const text = 'Hello <s> world';
    const withBos = t.tokenize(text);
    assert.equal(withBos.tokens[0]!.id, t.bos);
    assert.equal(withBos.tokens[0]!.special, true);
    assert.deepEqual([withBos.tokens[0]!.start, withBos.tokens[0]!.end], [0, 0]);
    assert.ok(withBos.tokens.slice(1).every((x) => x.id !== t.bos && !x.special), 'parse_special is off: "<s>" is text');
    const without = t.tokenize(text, { addBos: false });
    assert.deepEqual(without.tokens.map((x) => x.id), withBos.tokens.slice(1).map((x) => x.id));
    assertTiles(text, withBos, 'with BOS');
    assertTiles(text, without, 'without BOS');
  });

  test('leading spaces: the span of "▁Hello" holds the space that is in the text, not the one SentencePiece adds', () => {
    const cases: Array<[string, string]> = [
      ['Hello world', 'Hello'],
      [' Hello world', ' Hello'],
      ['   Hello world', ' Hello'],
      ['\tHello', 'Hello'],
      ['\n\nHello', 'Hello'],
    ];
    for (const [text, want] of cases) {
      const tok = tk.tokenizer.tokenize(text, { addBos: false });
      assertTiles(text, tok, JSON.stringify(text));
      const hello = tok.tokens.find((x) => x.text.endsWith('Hello'));
      assert.ok(hello, `${JSON.stringify(text)} has a Hello token (${tok.tokens.map((x) => x.text).join(' ')})`);
      assert.equal(text.slice(hello.start, hello.end), want, `${JSON.stringify(text)}: ${hello.text} covers ${JSON.stringify(want)}`);
    }
  });

  test('a character split into byte tokens: the first byte token covers it, the others are empty', () => {
    for (const [text, ch] of [['🦙', '🦙'], ['a 🦙 b', '🦙'], ['龘', '龘'], ['x龘y', '龘'], ['𝔘𝔫𝔦', '𝔘']] as const) {
      const tok = tk.tokenizer.tokenize(text, { addBos: false });
      assertTiles(text, tok, JSON.stringify(text));
      const bytes = tok.tokens.filter((x) => /^<0x[0-9A-F]{2}>$/.test(x.text));
      const utf8 = Buffer.byteLength(ch);
      assert.ok(bytes.length >= utf8, `${JSON.stringify(text)} falls back to byte tokens (${tok.tokens.map((x) => x.text).join(' ')})`);
      const first = tok.tokens.findIndex((x) => /^<0x[0-9A-F]{2}>$/.test(x.text));
      assert.equal(text.slice(tok.tokens[first]!.start, tok.tokens[first]!.end), ch, `the first byte token covers the whole character ${ch}`);
      for (let k = 1; k < utf8; k++) {
        const cont = tok.tokens[first + k]!;
        assert.equal(cont.start, cont.end, `continuation byte ${k} of ${ch} has an empty span`);
      }
    }
  });
});

describe('tokenizer through a session: empty text and text longer than the context', () => {
  let s: ModelSession;
  before(async () => {
    s = await ModelSession.open(await ensureFixture('tiny-f32'), { maxContext: 32, threads: 2 });
  });
  after(() => s.dispose());

  test('empty text is refused with empty-prompt', () => {
    assert.throws(() => s.tokenize(''), (e) => isInnerWorldError(e) && e.code === 'empty-prompt');
    assert.throws(() => s.run([], { hooks: [] }), (e) => isInnerWorldError(e) && e.code === 'empty-prompt');
  });

  test('longer than the context: prompt-too-long by default, the first tokens with overflow truncate', () => {
    const text = 'One two three four five six seven eight nine ten. '.repeat(8);
    assert.throws(
      () => s.tokenize(text),
      (e) => isInnerWorldError(e) && e.code === 'prompt-too-long' && /32/.test(e.message),
    );
    const cut = s.tokenize(text, { overflow: 'truncate' });
    assert.equal(cut.truncated, true);
    assert.equal(cut.tokens.length, 32);
    assert.ok(cut.totalTokens > 32);
    const full = s.tokenizer.tokenize(text);
    assert.deepEqual(cut.tokens, full.tokens.slice(0, 32), 'truncation keeps the first tokens and their spans');
    const ids = cut.tokens.map((x) => x.id);
    const cache = s.run(ids, { hooks: ['blocks.0.hook_resid_post'] });
    assert.equal(cache.nPos, 32, 'the truncated prompt runs');
    assert.throws(() => s.run([...ids, ids[1]!], { hooks: [] }), (e) => isInnerWorldError(e) && e.code === 'prompt-too-long');
  });
});
