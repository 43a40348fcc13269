// From the grammar to token statistics: every word is spelled in real Llama-2 token ids (through
// llama.cpp's own tokenizer, so "likes" is ▁lik + es exactly as Llama 2 would see it), documents
// are sampled with a seeded Rng, and next-token counts are kept over the few hundred tokens the
// grammar uses ("local" indices 0..n-1, BOS first).
import type { Tokenizer } from '../llama/tokens';
import type { Rng } from '../util/random';
import { demoWords, documentText, PUNCTUATION, sampleDocument, type Sentence } from './grammar';

export interface GrammarSpelling {
  /** word or punctuation mark -> its token ids */
  readonly ids: ReadonlyMap<string, readonly number[]>;
  readonly bos: number;
}

/**
 * Token ids of every word and mark. A word is tokenized alone (SentencePiece then adds the "▁" a
 * word after a space has); a mark is what follows a word with no space ("ball," is ▁ball + ",").
 */
export function spellGrammar(tokenizer: Tokenizer): GrammarSpelling {
  const ids = new Map<string, readonly number[]>();
  for (const w of demoWords()) ids.set(w, tokenizer.ids(w, false));
  const a = tokenizer.ids('a', false);
  for (const p of PUNCTUATION) {
    const both = tokenizer.ids(`a${p}`, false);
    if (both.length !== a.length + 1 || both[0] !== a[0]) throw new Error(`cannot spell "${p}" on its own in this vocabulary`);
    ids.set(p, [both[both.length - 1]!]);
  }
  return { ids, bos: tokenizer.bos };
}

/** Token ids of a document, BOS first, as the concatenation of its words' spellings. */
export function documentTokens(doc: readonly Sentence[], spelling: GrammarSpelling): number[] {
  const out = [spelling.bos];
  for (const item of doc.flat()) {
    const ids = spelling.ids.get(item);
    if (!ids) throw new Error(`the grammar produced "${item}", which has no spelling`);
    out.push(...ids);
  }
  return out;
}

/**
 * The spelling is only right if tokenizing a whole document gives the same ids as concatenating
 * its words (SentencePiece could merge across a space); checked on real sampled documents.
 */
export function checkSpelling(tokenizer: Tokenizer, spelling: GrammarSpelling, rng: Rng, nDocs: number): void {
  for (let i = 0; i < nDocs; i++) {
    const doc = sampleDocument(rng);
    const want = documentTokens(doc, spelling);
    const got = [spelling.bos, ...tokenizer.ids(documentText(doc), false)];
    if (got.length !== want.length || got.some((t, k) => t !== want[k])) {
      throw new Error(`the grammar's spelling differs from llama.cpp's tokenization of "${documentText(doc)}"`);
    }
  }
}

export interface Counts {
  /** number of used tokens */
  readonly n: number;
  /** local index -> token id (BOS is local 0) */
  readonly tokenIds: readonly number[];
  /** [prev, next] bigram counts, n x n */
  readonly bigram: Float64Array;
  /** trigram counts keyed (prev * n + cur) * n + next; the first token (BOS) counts BOS as its prev */
  readonly trigram: ReadonlyMap<number, number>;
  readonly documents: number;
  readonly sentences: number;
  /** predicted positions counted (every token but the last of each document) */
  readonly positions: number;
}

/** Sample documents until `nSentences` sentences, counting bigrams and trigrams of their tokens. */
export function countCorpus(spelling: GrammarSpelling, rng: Rng, nSentences: number): Counts {
  const used = new Set<number>([spelling.bos]);
  for (const ids of spelling.ids.values()) for (const t of ids) used.add(t);
  const tokenIds = [spelling.bos, ...[...used].filter((t) => t !== spelling.bos).sort((x, y) => x - y)];
  const local = new Map(tokenIds.map((t, i) => [t, i]));
  const n = tokenIds.length;
  // each word's spelling in local indices, so sampling never touches the tokenizer
  const localIds = new Map([...spelling.ids].map(([w, ids]) => [w, ids.map((t) => local.get(t)!)]));
  const bigram = new Float64Array(n * n);
  const trigram = new Map<number, number>();
  let documents = 0;
  let sentences = 0;
  let positions = 0;
  const seq: number[] = [];
  while (sentences < nSentences) {
    const doc = sampleDocument(rng);
    documents++;
    sentences += doc.length;
    seq.length = 0;
    seq.push(0);
    for (const item of doc.flat()) seq.push(...localIds.get(item)!);
    for (let i = 0; i + 1 < seq.length; i++) {
      const prev = i === 0 ? 0 : seq[i - 1]!;
      const cur = seq[i]!;
      const next = seq[i + 1]!;
      bigram[cur * n + next]!++;
      const key = (prev * n + cur) * n + next;
      trigram.set(key, (trigram.get(key) ?? 0) + 1);
      positions++;
    }
  }
  return { n, tokenIds, bigram, trigram, documents, sentences, positions };
}
