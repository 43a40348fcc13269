// Attention (SPEC 5.A, article Fig. 10 and 11): attention to the first token (the attention sink),
// heads x query positions, with sentence ends marked; one head's full pattern; the last query's
// row across heads. Per head also the mean attention to the previous token, which finds
// previous-token heads such as Llama-2-7B's layer 5 head 15.
import { InnerWorldError } from '../errors';
import type { HeadPatterns, Tensor } from '../activations';

/** What these analyses read: an ActivationCache with the layers' attention patterns fits. */
export interface PatternSource {
  readonly tokens: readonly number[];
  /** [head, query_pos, key_pos] */
  pattern(layer: number): Tensor;
  /** the layer's patterns made head by head, when they are held that way (read before pattern()) */
  patternHeads?(layer: number): HeadPatterns | undefined;
}

export interface SinkMap {
  layer: number;
  nHeads: number;
  nPos: number;
  /** [head * nPos + q] = A[layer][head][q][0] */
  values: number[];
  /** positions whose token ends a sentence (., ?, !, a newline) */
  sentenceEnds: number[];
  /** per head, mean over queries q >= 1 of A[q][0] */
  meanSink: number[];
  /** per head, mean over queries q >= 2 of A[q][q-1] (q = 1's previous token is the first token) */
  previousToken: number[];
}

/** A token that ends a sentence, from its vocabulary text ("▁ball.", ".", "?\"", "<0x0A>"). */
export function endsSentence(text: string): boolean {
  if (text === '<0x0A>' || text.includes('\n')) return true;
  return /[.?!]["'”’)\]]*$/.test(text.replace(/▁/g, ' ').trimEnd());
}

/** The layer's patterns head by head: made on request, or views of a held [head, pos, pos] tensor. */
function check(src: PatternSource, layer: number): HeadPatterns {
  const lazy = src.patternHeads?.(layer);
  if (lazy) return lazy;
  const p = src.pattern(layer);
  if (p.shape.length !== 3 || p.shape[1] !== p.shape[2]) throw new InnerWorldError('bad-argument', `pattern of layer ${layer} has shape [${p.shape.join(', ')}], expected [head, pos, pos]`);
  const n = p.shape[1]!;
  return {
    nHeads: p.shape[0]!,
    nPos: n,
    head: (h) => p.data.subarray(h * n * n, (h + 1) * n * n),
    row: (h, q) => p.data.subarray((h * n + q) * n, (h * n + q + 1) * n),
    bytes: p.data.byteLength,
  };
}

export function sinkMap(src: PatternSource, layer: number, tokenText: (id: number) => string): SinkMap {
  const p = check(src, layer);
  const { nHeads, nPos: n } = p;
  const values: number[] = [];
  const meanSink: number[] = [];
  const previousToken: number[] = [];
  for (let h = 0; h < nHeads; h++) {
    let sink = 0;
    let prev = 0;
    const a = p.head(h); // [query_pos, key_pos]
    for (let q = 0; q < n; q++) {
      const a0 = a[q * n]!;
      values.push(a0);
      if (q >= 1) sink += a0;
      if (q >= 2) prev += a[q * n + q - 1]!;
    }
    meanSink.push(n > 1 ? sink / (n - 1) : NaN);
    previousToken.push(n > 2 ? prev / (n - 2) : NaN);
  }
  const sentenceEnds = src.tokens.flatMap((t, i) => (endsSentence(tokenText(t)) ? [i] : []));
  return { layer, nHeads, nPos: n, values, sentenceEnds, meanSink, previousToken };
}

export interface HeadPattern {
  layer: number;
  head: number;
  nPos: number;
  /** [q * nPos + k] = A[layer][head][q][k] */
  values: number[];
}

export function headPattern(src: PatternSource, layer: number, head: number): HeadPattern {
  const p = check(src, layer);
  const { nHeads, nPos: n } = p;
  if (!Number.isInteger(head) || head < 0 || head >= nHeads) throw new InnerWorldError('bad-argument', `head ${head} is outside 0..${nHeads - 1}`);
  return { layer, head, nPos: n, values: Array.from(p.head(head)) };
}

export interface LastQueryRow {
  layer: number;
  query: number;
  nHeads: number;
  nPos: number;
  /** [head * nPos + k] = A[layer][head][last][k] */
  values: number[];
}

export function lastQueryRow(src: PatternSource, layer: number): LastQueryRow {
  const p = check(src, layer);
  const { nHeads, nPos: n } = p;
  const values: number[] = [];
  for (let h = 0; h < nHeads; h++) for (const a of p.row(h, n - 1)) values.push(a);
  return { layer, query: n - 1, nHeads, nPos: n, values };
}

export interface HeadScore {
  layer: number;
  head: number;
  score: number;
}

/** Every head's mean attention to the previous token, best first: previous-token heads on top. */
export function previousTokenHeads(src: PatternSource, layers: readonly number[], tokenText: (id: number) => string): HeadScore[] {
  return layers
    .flatMap((layer) => sinkMap(src, layer, tokenText).previousToken.map((score, head) => ({ layer, head, score })))
    .sort((a, b) => b.score - a.score);
}
