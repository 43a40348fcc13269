// The plain, obviously correct projection: dequantize the dictionary block by block in
// JavaScript, take float64 dot products, keep the top k with a heap. The fast path is tested
// against this one.
import { checkQueries, type ProjectionEngine, type TopKOptions, type TopKResult } from '../engine';
import { dictionaryRows, type Dictionary } from '../dictionary';
import { dot, topKIndices } from '../math';

const BLOCK_ROWS = 1024;

export class ReferenceEngine implements ProjectionEngine {
  readonly label = 'reference (JavaScript)';
  private readonly norms = new Map<string, Float32Array>();

  /** Visit every row once, block by block: fn(rowIndex, rowsBlock, offsetInBlock). */
  private forEachRow(dict: Dictionary, only: readonly number[] | undefined, fn: (row: number, block: Float32Array, off: number) => void): void {
    const d = dict.dModel;
    if (only) {
      for (const r of only) fn(r, dictionaryRows(dict, r, 1), 0);
      return;
    }
    for (let start = 0; start < dict.nRows; start += BLOCK_ROWS) {
      const count = Math.min(BLOCK_ROWS, dict.nRows - start);
      const block = dictionaryRows(dict, start, count);
      for (let i = 0; i < count; i++) fn(start + i, block, i * d);
    }
  }

  scores(dict: Dictionary, queries: Float32Array): Float32Array {
    const nq = checkQueries(dict, queries);
    const d = dict.dModel;
    const out = new Float32Array(nq * dict.nRows);
    this.forEachRow(dict, undefined, (r, block, off) => {
      for (let q = 0; q < nq; q++) out[q * dict.nRows + r] = dot(block, queries, d, off, q * d);
    });
    return out;
  }

  transposeTimes(dict: Dictionary, ys: Float32Array): Float32Array {
    const d = dict.dModel;
    const m = ys.length / dict.nRows;
    if (!Number.isInteger(m)) throw new RangeError(`ys hold ${ys.length} values, not a multiple of n_rows ${dict.nRows}`);
    const acc = new Float64Array(m * d);
    this.forEachRow(dict, undefined, (r, block, off) => {
      for (let j = 0; j < m; j++) {
        const y = ys[j * dict.nRows + r]!;
        if (y === 0) continue;
        for (let i = 0; i < d; i++) acc[j * d + i]! += y * block[off + i]!;
      }
    });
    return Float32Array.from(acc);
  }

  rowNorms(dict: Dictionary): Float32Array {
    let n = this.norms.get(dict.key);
    if (!n) {
      const out = new Float32Array(dict.nRows);
      this.forEachRow(dict, undefined, (r, block, off) => (out[r] = Math.sqrt(dot(block, block, dict.dModel, off, off))));
      this.norms.set(dict.key, (n = out));
    }
    return n;
  }

  topK(dict: Dictionary, queries: Float32Array, opts: TopKOptions): TopKResult {
    const nq = checkQueries(dict, queries);
    const d = dict.dModel;
    const candidates = opts.rows ?? null;
    const nCand = candidates ? candidates.length : dict.nRows;
    const k = Math.max(0, Math.min(opts.k, nCand));
    const norms = opts.rowNormalize ? this.rowNorms(dict) : undefined;
    // scores of every candidate row for every query, float64
    const s = Array.from({ length: nq }, () => new Float64Array(nCand));
    let c = 0;
    this.forEachRow(dict, candidates ?? undefined, (r, block, off) => {
      for (let q = 0; q < nq; q++) {
        let v = dot(block, queries, d, off, q * d);
        if (norms) v = norms[r]! > 0 ? v / norms[r]! : 0;
        if (opts.abs) v = Math.abs(v);
        s[q]![c] = v;
      }
      c++;
    });
    const rows = new Int32Array(nq * k);
    const values = new Float32Array(nq * k);
    for (let q = 0; q < nq; q++) {
      const sq = s[q]!;
      if (opts.softmax && opts.softcap) for (let i = 0; i < sq.length; i++) sq[i] = opts.softcap * Math.tanh(sq[i]! / opts.softcap);
      if (opts.softmax) softmaxInPlace(sq);
      topKIndices(sq, k).forEach((ci, j) => {
        rows[q * k + j] = candidates ? candidates[ci]! : ci;
        values[q * k + j] = sq[ci]!;
      });
    }
    return { nQueries: nq, k, rows, values };
  }
}

export function softmaxInPlace(x: Float64Array | Float32Array): void {
  let m = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i]! > m) m = x[i]!;
  let z = 0;
  for (let i = 0; i < x.length; i++) z += x[i] = Math.exp(x[i]! - m);
  for (let i = 0; i < x.length; i++) x[i] = x[i]! / z;
}
