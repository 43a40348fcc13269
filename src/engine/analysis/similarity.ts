// Word association in the dictionaries (SPEC 2.A, article Fig. 2): the similarity matrix of chosen
// words, and nearest neighbours within a dictionary or across two (the input row of "play" read in
// the output dictionary gives word completions: "ground", "offs").
import type { ProjectionEngine } from './engine';
import { gatherRows, requireRowOfToken, tokenOfRow, type Dictionary } from './dictionary';
import { dot, normalized } from './math';

export interface SimilarityMatrix {
  dictionary: string;
  tokens: number[];
  texts: string[];
  /** [i][j] = <v_i|v_j> / sqrt(<v_i|v_i><v_j|v_j>) */
  matrix: number[][];
}

export interface WordRef {
  token: number;
  text: string;
}

/** Normalized inner products of the chosen tokens' rows (each word must be one token). */
export function similarityMatrix(dict: Dictionary, words: readonly WordRef[]): SimilarityMatrix {
  const d = dict.dModel;
  const rows = words.map((w) => requireRowOfToken(dict, w.token, w.text));
  const raw = gatherRows(dict, rows);
  const unit = words.map((_, i) => normalized(raw.subarray(i * d, (i + 1) * d)));
  const matrix = unit.map((a) => unit.map((b) => dot(a, b)));
  return { dictionary: dict.name, tokens: words.map((w) => w.token), texts: words.map((w) => w.text), matrix };
}

export type NeighbourNormalization = 'cosine' | 'article';

export interface NeighboursOptions {
  k?: number;
  /** 'cosine' (both normalized) or 'article' (query normalized, target rows raw: a lens at layer 0) */
  normalization?: NeighbourNormalization;
  /** leave the word itself out (default: when both dictionaries are the same) */
  excludeSelf?: boolean;
  tokenText: (id: number) => string;
}

export interface Neighbours {
  from: string;
  to: string;
  token: number;
  text: string;
  normalization: NeighbourNormalization;
  neighbours: Array<{ token: number; text: string; value: number }>;
}

/** The k rows of `to` nearest to the row of `word` in `from`. */
export function nearestNeighbours(engine: ProjectionEngine, from: Dictionary, to: Dictionary, word: WordRef, opts: NeighboursOptions): Neighbours {
  const k = opts.k ?? 10;
  const normalization = opts.normalization ?? (from.key === to.key ? 'cosine' : 'article');
  const excludeSelf = opts.excludeSelf ?? from.key === to.key;
  const row = requireRowOfToken(from, word.token, word.text);
  const query = normalized(gatherRows(from, [row]));
  const top = engine.topK(to, query, { k: k + (excludeSelf ? 1 : 0), rowNormalize: normalization === 'cosine' });
  const neighbours: Neighbours['neighbours'] = [];
  for (let j = 0; j < top.k && neighbours.length < k; j++) {
    const token = tokenOfRow(to, top.rows[j]!);
    if (excludeSelf && token === word.token) continue;
    neighbours.push({ token, text: opts.tokenText(token), value: top.values[j]! });
  }
  return { from: from.name, to: to.name, token: word.token, text: word.text, normalization, neighbours };
}
