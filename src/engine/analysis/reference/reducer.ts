// The plain reducer: dequantize a tensor a block of rows at a time in JavaScript and add every
// element into its row's and its column's sums, in float64.
import type { LlamaModelFile } from '../../gguf/llamaModel';
import type { TensorInfo } from '../../gguf/reader';
import type { TensorReducer, TensorSums } from '../weightStats';

const BLOCK_ROWS = 256;

/**
 * Sums of an [n1, n0] matrix (n1 rows, each n0 long) whose float values `rowsOf(start, count)`
 * gives a block of rows at a time ([count, n0]).
 */
export function plainSums(n0: number, n1: number, rowsOf: (start: number, count: number) => Float32Array): TensorSums {
  const rows = { length: n0, sum: new Float64Array(n1), sumSq: new Float64Array(n1), sumAbs: new Float64Array(n1) };
  const cols = { length: n1, sum: new Float64Array(n0), sumSq: new Float64Array(n0), sumAbs: new Float64Array(n0) };
  for (let start = 0; start < n1; start += BLOCK_ROWS) {
    const count = Math.min(BLOCK_ROWS, n1 - start);
    const x = rowsOf(start, count);
    for (let r = 0; r < count; r++) {
      let s = 0;
      let s2 = 0;
      let sa = 0;
      const o = r * n0;
      for (let c = 0; c < n0; c++) {
        const v = x[o + c]!;
        const a = Math.abs(v);
        s += v;
        s2 += v * v;
        sa += a;
        cols.sum[c]! += v;
        cols.sumSq[c]! += v * v;
        cols.sumAbs[c]! += a;
      }
      rows.sum[start + r] = s;
      rows.sumSq[start + r] = s2;
      rows.sumAbs[start + r] = sa;
    }
  }
  return { rows, cols };
}

export const referenceReducer: TensorReducer = {
  label: 'reference (JavaScript)',
  reduce(file: LlamaModelFile, t: TensorInfo): TensorSums {
    const n0 = t.dims[0]!;
    return plainSums(n0, t.nElements / n0, (start, count) => file.rows(t, start, count));
  },
};
