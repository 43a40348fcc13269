// The fast reducer for the weight statistics. Types with block sums (blockSums.ts: every type
// Llama files use) are summed straight from their blocks, several times faster than any graph of
// ggml's generic ops on a CPU; other types (and every type when asked) stream through one prepared
// ggml graph a block of rows at a time. The graph dequantizes the block (get_rows), forms |x| and x^2, sums
// each row (sum_rows) and each column (out_prod with a ones vector, split over the threads), so
// every element is touched by SIMD code on every core and only the sums come back.
import type { LlamaModelFile } from '../gguf/llamaModel';
import type { TensorInfo } from '../gguf/reader';
import { GgmlType } from '../gguf/ggmlTypes';
import type { Ptr } from '../llama/native';
import type { AxisSums, TensorReducer, TensorSums } from '../analysis/weightStats';
import type { ComputeDevice } from './device';
import { fileBlockSums, hasBlockSums } from './blockSums';

export interface ReducerOptions {
  /** sum from the blocks where the type allows (default true); false: always the ggml graph */
  blockSums?: boolean;
}

/** elements per block: 16 MB of float32. Fewer, bigger graph runs: each op ends in a thread
 * barrier, which costs a scheduler slice when another process holds a core */
const BLOCK_ELEMENTS = 1 << 22;
const MAX_PART = 2048;

interface Prepared {
  key: string;
  ctx: Ptr;
  constCtx: Ptr;
  constBuf: Ptr;
  galloc: Ptr;
  graph: Ptr;
  rows: number;
  xq: Ptr; // [n0, rows] stored type
  rowOut: Ptr[]; // 3 x [rows, 1]: Σx, Σx², Σ|x|
  colOut: Ptr[]; // 3 x [n0, 1, split]: partial column sums
  split: number;
}

export class GgmlReducer implements TensorReducer {
  private readonly prepared = new Map<string, Prepared>();

  private readonly blockSums: boolean;

  constructor(
    private readonly device: ComputeDevice,
    opts: ReducerOptions = {},
  ) {
    this.blockSums = opts.blockSums ?? true;
  }

  get label(): string {
    return this.blockSums ? `block sums, else ggml (${this.device.label})` : `ggml (${this.device.label})`;
  }

  reduce(file: LlamaModelFile, t: TensorInfo): TensorSums {
    if (this.blockSums && hasBlockSums(t.type)) return fileBlockSums(file, t);
    return this.graphReduce(file, t);
  }

  /** the ggml graph: dequantize (get_rows), |x| and x², row and column sums */
  private graphReduce(file: LlamaModelFile, t: TensorInfo): TensorSums {
    const n0 = t.dims[0]!;
    const n1 = t.nElements / n0;
    const rows: AxisSums = { length: n0, sum: new Float64Array(n1), sumSq: new Float64Array(n1), sumAbs: new Float64Array(n1) };
    const cols: AxisSums = { length: n1, sum: new Float64Array(n0), sumSq: new Float64Array(n0), sumAbs: new Float64Array(n0) };
    const split = Math.max(1, this.device.isGpu ? 1 : this.device.threads);
    // at most MAX_PART rows per out_prod part: its float32 column sums stay exact to ~1e-6
    const per = Math.max(split, Math.min(Math.floor(BLOCK_ELEMENTS / n0 / split), MAX_PART) * split);
    const b = this.device.native.base;
    const rowBuf = new Float32Array(per);
    const colBuf = new Float32Array(n0 * split);
    for (let start = 0; start < n1; start += per) {
      const count = Math.min(per, n1 - start);
      const g = this.graphFor(t.type, n0, count, count % split === 0 ? split : 1);
      const bytes = file.file.readRowBytes(t, start, count);
      b.ggml_backend_tensor_set(g.xq, bytes, 0, bytes.byteLength);
      const status = b.ggml_backend_graph_compute(this.device.backend, g.graph);
      if (status !== 0) throw new Error(`ggml_backend_graph_compute failed with status ${status}`);
      const rowTargets = [rows.sum, rows.sumSq, rows.sumAbs];
      const colTargets = [cols.sum, cols.sumSq, cols.sumAbs];
      for (let s = 0; s < 3; s++) {
        b.ggml_backend_tensor_get(g.rowOut[s], rowBuf, 0, count * 4);
        for (let r = 0; r < count; r++) rowTargets[s]![start + r] = rowBuf[r]!;
        b.ggml_backend_tensor_get(g.colOut[s], colBuf, 0, n0 * g.split * 4);
        const target = colTargets[s]!;
        for (let p = 0; p < g.split; p++) for (let c = 0; c < n0; c++) target[c]! += colBuf[p * n0 + c]!;
      }
    }
    return { rows, cols };
  }

  private graphFor(type: number, n0: number, rows: number, split: number): Prepared {
    const key = `${type}:${n0}:${rows}:${split}`;
    let g = this.prepared.get(key);
    if (g) return g;
    const b = this.device.native.base;
    const ctx = b.ggml_init({ mem_size: b.ggml_tensor_overhead() * 48 + b.ggml_graph_overhead_custom(64, false), mem_buffer: null, no_alloc: true });
    // constants live in their own buffer: the graph allocator may reuse an input's memory once
    // its last reader has run, which would corrupt them for the next block
    const constCtx = b.ggml_init({ mem_size: b.ggml_tensor_overhead() * 6, mem_buffer: null, no_alloc: true });
    const idx = b.ggml_new_tensor_1d(constCtx, GgmlType.I32, rows);
    const ones = b.ggml_new_tensor_2d(constCtx, GgmlType.F32, 1, rows);
    const onesRow = b.ggml_new_tensor_2d(constCtx, GgmlType.F32, n0, 1);
    const constBuf = this.device.allocate(constCtx);
    b.ggml_backend_tensor_set(idx, Int32Array.from({ length: rows }, (_, i) => i), 0, rows * 4);
    b.ggml_backend_tensor_set(ones, new Float32Array(rows).fill(1), 0, rows * 4);
    b.ggml_backend_tensor_set(onesRow, new Float32Array(n0).fill(1), 0, n0 * 4);
    const xq = b.ggml_new_tensor_2d(ctx, type, n0, rows);
    b.ggml_set_input(xq);
    const x = type === GgmlType.F32 ? xq : b.ggml_get_rows(ctx, xq, idx); // [n0, rows] float32
    const parts = [x, b.ggml_sqr(ctx, x), b.ggml_abs(ctx, x)];
    // row sums as a product with a ones vector: SIMD, where sum_rows adds one double at a time
    const rowOut = parts.map((p) => b.ggml_mul_mat(ctx, p, onesRow));
    // out_prod parallelizes over its output rows: split the block so each thread sums a part
    const ones3 = b.ggml_reshape_3d(ctx, ones, 1, rows / split, split);
    const colOut = parts.map((p) => b.ggml_out_prod(ctx, b.ggml_reshape_3d(ctx, p, n0, rows / split, split), ones3));
    const graph = b.ggml_new_graph_custom(ctx, 64, false);
    for (const o of [...rowOut, ...colOut]) {
      b.ggml_set_output(o);
      b.ggml_build_forward_expand(graph, o);
    }
    const galloc = b.ggml_gallocr_new(b.ggml_backend_get_default_buffer_type(this.device.backend));
    if (!b.ggml_gallocr_alloc_graph(galloc, graph)) throw new Error('not enough memory for the weight-statistics graph');
    g = { key, ctx, constCtx, constBuf, galloc, graph, rows, xq, rowOut, colOut, split };
    this.prepared.set(key, g);
    return g;
  }

  dispose(): void {
    const b = this.device.native.base;
    for (const g of this.prepared.values()) {
      b.ggml_gallocr_free(g.galloc);
      b.ggml_backend_buffer_free(g.constBuf);
      b.ggml_free(g.ctx);
      b.ggml_free(g.constCtx);
    }
    this.prepared.clear();
  }
}
