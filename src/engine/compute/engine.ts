// The fast projection engine: each dictionary uploaded once to a ggml backend (a Projector), the
// products and the top-k done there. Implements the same interface as the plain reference engine
// and is tested against it.
import { checkQueries, type ProjectionEngine, type TopKOptions, type TopKResult } from '../analysis/engine';
import { f32Dictionary, gatherRows, type Dictionary } from '../analysis/dictionary';
import { ggmlToFloat } from '../llama/native';
import { GgmlType } from '../gguf/ggmlTypes';
import { readTensor, type ComputeDevice } from './device';
import { CopyCache } from './copyCache';
import { Projector, type ComputeType } from './projector';

const TRANSPOSE_ROWS = 4096;

export interface GgmlEngineOptions {
  /** the type products are computed in (default 'auto': stored on a GPU, Q8_0 on a CPU) */
  computeType?: ComputeType;
  /** where converted dictionary copies are kept between sessions (none: converted every session) */
  copyCacheDir?: string;
}

export class GgmlEngine implements ProjectionEngine {
  private readonly projectors = new Map<string, Projector>();
  readonly computeType: ComputeType;
  private readonly copyCache: CopyCache | undefined;

  constructor(
    readonly device: ComputeDevice,
    opts: GgmlEngineOptions = {},
  ) {
    this.computeType = opts.computeType ?? 'auto';
    this.copyCache = opts.copyCacheDir === undefined ? undefined : new CopyCache(opts.copyCacheDir);
  }

  get label(): string {
    return `ggml (${this.device.label}, ${this.computeType})`;
  }

  /** The dictionary's projector in the engine's compute type (or another), uploading it on first use. */
  projector(dict: Dictionary, computeType: ComputeType = this.computeType): Projector {
    const key = `${dict.key}|${computeType}`;
    let p = this.projectors.get(key);
    if (!p) {
      p = new Projector(this.device, dict, computeType, this.copyCache);
      this.projectors.set(key, p);
    }
    return p;
  }

  /** Free a dictionary's device copy (the middle dictionary grows; stale copies go). */
  release(dict: Dictionary): void {
    for (const [key, p] of this.projectors) {
      if (!key.startsWith(`${dict.key}|`)) continue;
      p.dispose();
      this.projectors.delete(key);
    }
  }

  topK(dict: Dictionary, queries: Float32Array, opts: TopKOptions): TopKResult {
    const nQueries = checkQueries(dict, queries);
    if (opts.rows) {
      // a small basis (the prompt's tokens): its rows in float32, uploaded for this call only
      const only = opts.rows;
      const sub = new Projector(this.device, f32Dictionary(dict.name, gatherRows(dict, only), dict.dModel, Int32Array.from(only), `${dict.key}:rows`), 'f32');
      try {
        const r = sub.topK(queries, opts);
        return { nQueries, k: r.k, rows: r.rows.map((i) => only[i]!), values: r.values };
      } finally {
        sub.dispose();
      }
    }
    // Probabilities (the logit lens) are computed in the stored type, as llama.cpp computes its
    // logits: a softmax turns the Q8_0 copy's small score errors into percent-size ones.
    const r = this.projector(dict, opts.softmax ? 'stored' : this.computeType).topK(queries, opts);
    return { nQueries, ...r };
  }

  scores(dict: Dictionary, queries: Float32Array): Float32Array {
    checkQueries(dict, queries);
    return this.projector(dict).scores(queries);
  }

  rowNorms(dict: Dictionary): Float32Array {
    return this.projector(dict).rowNorms;
  }

  /** D^T y for each y, as ggml_out_prod over float32 blocks of rows (exact stored values). */
  transposeTimes(dict: Dictionary, ys: Float32Array): Float32Array {
    const V = dict.nRows;
    const d = dict.dModel;
    const m = ys.length / V;
    if (!Number.isInteger(m)) throw new RangeError(`ys hold ${ys.length} values, not a multiple of n_rows ${V}`);
    const acc = new Float64Array(m * d);
    const b = this.device.native.base;
    for (let start = 0; start < V; start += TRANSPOSE_ROWS) {
      const count = Math.min(TRANSPOSE_ROWS, V - start);
      const rows = rowsF32(this.device, dict, start, count); // [count, d]
      const yT = new Float32Array(count * m); // [count, m]
      for (let j = 0; j < m; j++) for (let r = 0; r < count; r++) yT[r * m + j] = ys[j * V + start + r]!;
      const out = new Float32Array(m * d);
      let dst: unknown;
      this.device.run(
        4,
        (ctx) => {
          const x = b.ggml_new_tensor_2d(ctx, GgmlType.F32, d, count);
          const y = b.ggml_new_tensor_2d(ctx, GgmlType.F32, m, count);
          b.ggml_set_input(x);
          b.ggml_set_input(y);
          dst = b.ggml_out_prod(ctx, x, y); // [d, m] = sum over rows of x_r y_r^T
          return { inputs: [[x, rows], [y, yT]], outputs: [dst] };
        },
        () => readTensor(this.device.native, dst, out),
      );
      for (let i = 0; i < out.length; i++) acc[i]! += out[i]!;
    }
    return Float32Array.from(acc);
  }

  dispose(): void {
    for (const p of this.projectors.values()) p.dispose();
    this.projectors.clear();
  }
}

/** Rows of a dictionary as float32, dequantized by ggml's own to_float (fast, exact). */
export function rowsF32(device: ComputeDevice, dict: Dictionary, start: number, count: number): Float32Array {
  const s = dict.source;
  if (s.kind === 'f32') return s.data.slice(start * dict.dModel, (start + count) * dict.dModel);
  const raw = s.file.file.readRowBytes(s.tensor, start, count);
  if (s.tensor.type === GgmlType.F32) return new Float32Array(raw.slice().buffer);
  return ggmlToFloat(device.native, s.tensor.type, raw, count * dict.dModel);
}
