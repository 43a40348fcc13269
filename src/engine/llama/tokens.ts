// Tokenization with exact character offsets, so the editor can underline a token and a hover
// can find it. Token ids come from llama.cpp's own tokenizer; offsets come from aligning the
// tokens' byte pieces with the UTF-8 bytes of the text.
import { InnerWorldError } from '../errors';
import type { LlamaApi, Ptr } from './native';

export interface TokenSpan {
  /** token id */
  readonly id: number;
  /** the vocabulary's spelling: "▁like", "<0xE2>", "<s>" */
  readonly text: string;
  /** [start, end) in UTF-16 code units of the tokenized text; BOS and continuation bytes of a
   * split character get empty spans, so spans cover the text with no gap and no overlap */
  readonly start: number;
  readonly end: number;
  readonly special: boolean;
}

export interface TokenizeOptions {
  /** prepend BOS when the model asks for it (default true) */
  addBos?: boolean;
  /** at most this many tokens; over it: 'error' (default) or 'truncate' */
  maxTokens?: number;
  overflow?: 'error' | 'truncate';
}

export interface Tokenized {
  readonly tokens: TokenSpan[];
  /** true when the text was cut to maxTokens */
  readonly truncated: boolean;
  /** tokens before truncation */
  readonly totalTokens: number;
}

const encoder = new TextEncoder();

export class Tokenizer {
  private readonly vocabText: (id: number) => string;
  readonly bos: number;
  readonly eos: number;
  readonly addBos: boolean;
  readonly nVocab: number;
  private readonly pieceCache = new Map<number, Uint8Array>();

  constructor(
    private readonly api: LlamaApi,
    private readonly vocab: Ptr,
    tokenStrings: readonly string[],
  ) {
    this.vocabText = (id) => tokenStrings[id] ?? `<${id}>`;
    this.bos = api.llama_vocab_bos(vocab);
    this.eos = api.llama_vocab_eos(vocab);
    this.addBos = api.llama_vocab_get_add_bos(vocab);
    this.nVocab = api.llama_vocab_n_tokens(vocab);
  }

  /** Token ids exactly as llama.cpp produces them. */
  ids(text: string, addSpecial: boolean, parseSpecial = false): number[] {
    const bytes = encoder.encode(text);
    let cap = bytes.length + 8;
    for (;;) {
      const out = new Int32Array(cap);
      const n = this.api.llama_tokenize(this.vocab, bytes, bytes.length, out, cap, addSpecial, parseSpecial);
      if (n >= 0) return Array.from(out.subarray(0, n));
      if (n === -2147483648) throw new InnerWorldError('bad-argument', 'the text is too long to tokenize');
      cap = -n;
    }
  }

  /** The bytes a token stands for in text (SentencePiece's "▁" as a space; control tokens empty). */
  pieceBytes(id: number): Uint8Array {
    let p = this.pieceCache.get(id);
    if (!p) {
      let buf = new Uint8Array(64);
      let n = this.api.llama_token_to_piece(this.vocab, id, buf, buf.length, 0, false);
      if (n < 0) {
        buf = new Uint8Array(-n);
        n = this.api.llama_token_to_piece(this.vocab, id, buf, buf.length, 0, false);
      }
      p = buf.slice(0, Math.max(0, n));
      this.pieceCache.set(id, p);
    }
    return p;
  }

  tokenText(id: number): string {
    return this.vocabText(id);
  }

  tokenize(text: string, opts: TokenizeOptions = {}): Tokenized {
    const addBos = (opts.addBos ?? true) && this.addBos;
    const ids = this.ids(text, false);
    if (addBos) ids.unshift(this.bos);
    const spans = alignSpans(text, ids.map((id) => this.pieceBytes(id)));
    let tokens: TokenSpan[] = ids.map((id, i) => ({
      id,
      text: this.vocabText(id),
      start: spans[i]![0],
      end: spans[i]![1],
      special: addBos && i === 0,
    }));
    const max = opts.maxTokens ?? Infinity;
    const totalTokens = tokens.length;
    if (totalTokens > max) {
      if ((opts.overflow ?? 'error') === 'error') {
        throw new InnerWorldError(
          'prompt-too-long',
          `The selection is ${totalTokens} tokens long; this model's context holds ${max}. Select less text, or allow truncation in the settings.`,
        );
      }
      tokens = tokens.slice(0, max);
    }
    return { tokens, truncated: tokens.length < totalTokens, totalTokens };
  }
}

/**
 * [start, end) UTF-16 offsets of each token, from the tokens' byte pieces. The pieces concatenate to
 * the text's UTF-8 bytes, possibly with one leading space SentencePiece added; bytes are mapped to
 * character offsets so that a byte in the middle of a character belongs to the next boundary.
 */
export function alignSpans(text: string, pieces: readonly Uint8Array[]): Array<[number, number]> {
  const bytes = encoder.encode(text);
  // utf16At[b]: the UTF-16 offset of the first character boundary at or after byte b
  const utf16At = new Int32Array(bytes.length + 1);
  let b = 0;
  let u = 0;
  for (const ch of text) {
    const nb = encoder.encode(ch).length;
    utf16At[b] = u;
    u += ch.length;
    for (let k = 1; k < nb; k++) utf16At[b + k] = u;
    b += nb;
  }
  utf16At[bytes.length] = u;

  const total = pieces.reduce((s, p) => s + p.length, 0);
  // bytes of the pieces that are not in the text: SentencePiece's prefix space (or nothing)
  let skip = total - bytes.length;
  if (skip < 0 || skip > 1 || (skip === 1 && firstByte(pieces) !== 0x20)) skip = -1;

  const spans: Array<[number, number]> = [];
  if (skip >= 0) {
    let pos = -skip; // byte position in the text of the next piece byte
    for (const p of pieces) {
      const s = Math.max(0, pos);
      const e = Math.max(0, pos + p.length);
      spans.push([utf16At[s]!, utf16At[e]!]);
      pos += p.length;
    }
    return spans;
  }
  // The pieces do not spell the text (a normalizing tokenizer): match greedily, never going back.
  let pos = 0;
  for (const p of pieces) {
    const found = p.length === 0 ? -1 : indexOfBytes(bytes, trimLeadingSpace(p), pos);
    if (found < 0) {
      spans.push([utf16At[pos]!, utf16At[pos]!]);
      continue;
    }
    const end = found + trimLeadingSpace(p).length;
    spans.push([utf16At[pos]!, utf16At[end]!]);
    pos = end;
  }
  if (spans.length) spans[spans.length - 1]![1] = utf16At[bytes.length]!;
  return spans;
}

function firstByte(pieces: readonly Uint8Array[]): number | undefined {
  for (const p of pieces) if (p.length) return p[0];
  return undefined;
}

function trimLeadingSpace(p: Uint8Array): Uint8Array {
  return p[0] === 0x20 ? p.subarray(1) : p;
}

function indexOfBytes(hay: Uint8Array, needle: Uint8Array, from: number): number {
  if (needle.length === 0) return from;
  outer: for (let i = from; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/**
 * A tokenizer without weights: llama.cpp loads only the vocabulary of a GGUF (e.g. the Llama-2
 * vocabulary file), for building models and for tokenizer tests.
 */
export async function openTokenizer(vocabPath: string): Promise<{ tokenizer: Tokenizer; dispose(): void }> {
  const { getBackend } = await import('./backend');
  const { GgufFile } = await import('../gguf/reader');
  const { validateModelPath } = await import('../gguf/validate');
  validateModelPath(vocabPath); // llama.cpp aborts on some broken vocabularies: refuse them first
  const backend = await getBackend();
  const api = backend.native.llama;
  const model = api.llama_model_load_from_file(vocabPath, { ...api.llama_model_default_params(), vocab_only: true, n_gpu_layers: 0 });
  if (!model) throw new InnerWorldError('model-load-failed', `llama.cpp could not load the vocabulary in ${vocabPath}`);
  const f = GgufFile.open(vocabPath);
  const strings = (f.get('tokenizer.ggml.tokens') as string[] | undefined) ?? [];
  f.close();
  return { tokenizer: new Tokenizer(api, api.llama_model_get_vocab(model), strings), dispose: () => api.llama_model_free(model) };
}
