// Weight heatmaps (companion page "Weight-matrix-heatmap"): |W| in a zoom window of about 360 x 360
// elements, and |W| summed over block x block tiles (d_head x d_head by default) for the whole
// matrix, where quiet and loud heads show as stripes. Rows are the tensor's rows (the output units:
// for W_Q, head h owns rows h*d_head .. (h+1)*d_head - 1).
import { InnerWorldError } from '../errors';
import type { LlamaModelFile, WeightRole } from '../gguf/llamaModel';
import type { TensorInfo } from '../gguf/reader';

export interface HeatmapOptions {
  row0?: number;
  col0?: number;
  /** zoom window side (default 360) */
  size?: number;
  /** tile side of the binned view (default d_head) */
  block?: number;
}

export interface Heatmap {
  name: string;
  /** [rows, cols] of the matrix */
  shape: [number, number];
  zoom: { row0: number; col0: number; rows: number; cols: number; /** [rows * cols] |W| */ values: number[] };
  blocks: { block: number; rows: number; cols: number; /** [rows * cols] sum of |W| per tile */ values: number[] };
}

const READ_ROWS = 256;

export function tensorHeatmap(file: LlamaModelFile, t: TensorInfo, opts: HeatmapOptions = {}): Heatmap {
  const nCols = t.dims[0]!;
  const nRows = t.nElements / nCols;
  const size = opts.size ?? 360;
  const block = opts.block ?? file.hparams.dHead;
  const row0 = opts.row0 ?? 0;
  const col0 = opts.col0 ?? 0;
  if (!(size > 0 && block > 0)) throw new InnerWorldError('bad-argument', 'size and block must be positive');
  if (row0 < 0 || row0 >= nRows || col0 < 0 || col0 >= nCols) throw new InnerWorldError('bad-argument', `window origin (${row0}, ${col0}) is outside the ${nRows} x ${nCols} matrix`);
  const zr = Math.min(size, nRows - row0);
  const zc = Math.min(size, nCols - col0);
  const zoom = new Array<number>(zr * zc).fill(0);
  const br = Math.ceil(nRows / block);
  const bc = Math.ceil(nCols / block);
  const tiles = new Float64Array(br * bc);
  for (let start = 0; start < nRows; start += READ_ROWS) {
    const count = Math.min(READ_ROWS, nRows - start);
    const x = file.rows(t, start, count);
    for (let r = 0; r < count; r++) {
      const row = start + r;
      const tileRow = Math.floor(row / block) * bc;
      const o = r * nCols;
      for (let c = 0; c < nCols; c++) tiles[tileRow + Math.floor(c / block)]! += Math.abs(x[o + c]!);
      if (row >= row0 && row < row0 + zr) for (let c = 0; c < zc; c++) zoom[(row - row0) * zc + c] = Math.abs(x[o + col0 + c]!);
    }
  }
  return { name: t.name, shape: [nRows, nCols], zoom: { row0, col0, rows: zr, cols: zc, values: zoom }, blocks: { block, rows: br, cols: bc, values: Array.from(tiles) } };
}

/** A layer's matrix; `expert` picks one expert's W_gate / W_in / W_out in a mixture of experts. */
export function weightHeatmap(file: LlamaModelFile, role: WeightRole, layer: number, opts: HeatmapOptions & { expert?: number } = {}): Heatmap {
  return tensorHeatmap(file, file.weight(role, layer, opts.expert), opts);
}
