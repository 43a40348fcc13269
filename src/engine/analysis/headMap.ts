// What the attention heads look for (SPEC 3, article section 3): each of the d_head rows of a
// head's W_K (or W_Q) slice read through the input dictionary, S = |E_in M^T|, the best token(s)
// per row, rows sorted by value. Optionally with the layer's RMSNorm gain folded into M, since
// the head sees g * x_hat rather than x_hat.
import { InnerWorldError } from '../errors';
import type { LlamaModelFile } from '../gguf/llamaModel';
import type { ProjectionEngine } from './engine';
import { inputDictionary } from './dictionary';
import { norm } from './math';

export interface HeadMapOptions {
  layer: number;
  head: number;
  matrix: 'W_K' | 'W_Q';
  /** multiply each row by the layer's ln1 gain (the article applies none) */
  foldNorm?: boolean;
  /** tokens listed per row (default 1, the article's) */
  top?: number;
  tokenText: (id: number) => string;
}

export interface HeadMapRow {
  /** row index inside the head slice, 0..d_head-1 */
  row: number;
  /** ||M_r|| */
  norm: number;
  /** best tokens, largest |<token|M_r>| first */
  tokens: Array<{ token: number; text: string; value: number }>;
}

export interface HeadMap {
  layer: number;
  head: number;
  /** the kv head whose slice was read (grouped-query attention: W_K is shared) */
  kvHead: number;
  matrix: 'W_K' | 'W_Q';
  foldNorm: boolean;
  /** sorted by the best token's value, descending */
  rows: HeadMapRow[];
}

export function headSliceRows(file: LlamaModelFile, matrix: 'W_K' | 'W_Q', layer: number, head: number, foldNorm: boolean): Float32Array {
  const m = file.headSlice(matrix, layer, head); // [d_head, d_model]
  if (!foldNorm) return m;
  const g = file.full(file.weight('ln1', layer)); // [d_model]
  const d = g.length;
  for (let r = 0; r < m.length / d; r++) for (let i = 0; i < d; i++) m[r * d + i]! *= g[i]!;
  return m;
}

export function headWordMap(engine: ProjectionEngine, file: LlamaModelFile, opts: HeadMapOptions): HeadMap {
  const { nHeads, dHead, nLayers, dModel } = file.hparams;
  if (!Number.isInteger(opts.layer) || opts.layer < 0 || opts.layer >= nLayers) throw new InnerWorldError('bad-argument', `layer ${opts.layer} is outside 0..${nLayers - 1}`);
  if (!Number.isInteger(opts.head) || opts.head < 0 || opts.head >= nHeads) throw new InnerWorldError('bad-argument', `head ${opts.head} is outside 0..${nHeads - 1}`);
  const foldNorm = opts.foldNorm ?? false;
  const m = headSliceRows(file, opts.matrix, opts.layer, opts.head, foldNorm);
  const top = engine.topK(inputDictionary(file), m, { k: opts.top ?? 1, abs: true });
  const rows: HeadMapRow[] = [];
  for (let r = 0; r < dHead; r++) {
    const tokens = [];
    for (let j = 0; j < top.k; j++) {
      const token = top.rows[r * top.k + j]!;
      tokens.push({ token, text: opts.tokenText(token), value: top.values[r * top.k + j]! });
    }
    rows.push({ row: r, norm: norm(m, dModel, r * dModel), tokens });
  }
  rows.sort((a, b) => (b.tokens[0]?.value ?? 0) - (a.tokens[0]?.value ?? 0));
  return { layer: opts.layer, head: opts.head, kvHead: opts.matrix === 'W_Q' ? opts.head : file.kvHeadOf(opts.head), matrix: opts.matrix, foldNorm, rows };
}
