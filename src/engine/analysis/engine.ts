// The one heavy operation most analyses share: reading query vectors through a dictionary (D q for
// each query) and keeping the top k rows. Two implementations: the plain reference
// (reference/projection.ts, obviously correct, slow) and ggml through FFI (compute/, fast); the
// tests hold the fast one to the reference.
import type { Dictionary } from './dictionary';

export interface TopKOptions {
  k: number;
  /** rank by |D q| instead of D q (the head word maps) */
  abs?: boolean;
  /** divide each row's score by the row's L2 norm (the cosine lens) */
  rowNormalize?: boolean;
  /** softmax over every row before ranking: values become probabilities (the logit lens) */
  softmax?: boolean;
  /** with softmax: scores become cap * tanh(score / cap) first (gemma's final logit soft-cap) */
  softcap?: number;
  /** only these dictionary rows compete (the prompt's tokens, Fig. 8); values still index rows */
  rows?: readonly number[];
}

export interface TopKResult {
  readonly nQueries: number;
  /** per query, after clamping to the rows available */
  readonly k: number;
  /** [n_queries, k] dictionary rows, best first */
  readonly rows: Int32Array;
  /** [n_queries, k] the ranked values (|score| when abs, probability when softmax) */
  readonly values: Float32Array;
}

export interface ProjectionEngine {
  readonly label: string;
  /** queries: [n_queries, d_model] */
  topK(dict: Dictionary, queries: Float32Array, opts: TopKOptions): TopKResult;
  /** every score D q: [n_queries, n_rows] (callers keep n_queries small) */
  scores(dict: Dictionary, queries: Float32Array): Float32Array;
  /** L2 norm of every row: [n_rows] */
  rowNorms(dict: Dictionary): Float32Array;
  /** D^T y for each y: ys [m, n_rows] -> [m, d_model] (the singular-value iteration) */
  transposeTimes(dict: Dictionary, ys: Float32Array): Float32Array;
}

export function checkQueries(dict: Dictionary, queries: Float32Array): number {
  if (queries.length % dict.dModel !== 0) throw new RangeError(`queries hold ${queries.length} values, not a multiple of d_model ${dict.dModel}`);
  return queries.length / dict.dModel;
}
