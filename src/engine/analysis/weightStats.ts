// Deep versus shallow layers (SPEC 4, article Fig. 9): for each layer and matrix, the mean over
// vectors of sd(v) / mean(|v|), once for vectors along the model dimension and once for vectors
// across the heads (attention) or the hidden units (FFN). Tensors are streamed one at a time in file
// order; a reducer turns one tensor into per-row and per-column sums. In a mixture of experts every
// expert's W_gate / W_in / W_out is a matrix of its own (a slab of the 3-D expert tensor), and the
// router W_gate_inp is one more.
import type { LlamaModelFile, WeightRole } from '../gguf/llamaModel';
import type { TensorInfo } from '../gguf/reader';
import { GAUSSIAN_SIGMA_OVER_MEAN_ABS, sigmaOverMeanAbs } from './math';
import type { WeightStatsCache } from './weightStatsCache';

/** Σv, Σv², Σ|v| for each vector along one axis. */
export interface AxisSums {
  /** elements per vector */
  readonly length: number;
  readonly sum: Float64Array;
  readonly sumSq: Float64Array;
  readonly sumAbs: Float64Array;
}

/** rows: one entry per ggml row (dims[1] of them, each dims[0] long); cols: one per column. */
export interface TensorSums {
  readonly rows: AxisSums;
  readonly cols: AxisSums;
}

export interface TensorReducer {
  readonly label: string;
  reduce(file: LlamaModelFile, t: TensorInfo): TensorSums;
}

export const STAT_ROLES: readonly WeightRole[] = ['W_Q', 'W_K', 'W_V', 'W_O', 'W_gate', 'W_in', 'W_out'];

/** Which ggml axis runs along d_model: rows are d_model long for W_Q/K/V, W_gate, W_in, W_gate_inp. */
export function modelAxis(role: WeightRole): 'rows' | 'cols' {
  return role === 'W_O' || role === 'W_out' ? 'cols' : 'rows';
}

export interface WeightStatsEntry {
  layer: number;
  role: WeightRole;
  /** the expert of a routed FFN's matrix */
  expert?: number;
  /** `blocks.3.attn.W_Q`, `blocks.3.mlp.experts.5.W_in` */
  matrix: string;
  /** mean over vectors along d_model of sd/mean|v| (orange in Fig. 9) */
  alongModel: number;
  /** mean over vectors across the heads (attention), the FFN hidden units or the experts (router) (blue in Fig. 9) */
  across: number;
  acrossAxis: 'heads' | 'ffn' | 'experts';
  /** sd/mean|v| of every element of the matrix at once */
  whole: number;
}

export interface WeightStats {
  /** sqrt(pi/2): a zero-centred Gaussian's value */
  gaussian: number;
  nLayers: number;
  roles: WeightRole[];
  entries: WeightStatsEntry[];
  reducer: string;
  /** matrices whose numbers came from the cache on disk (weightStatsCache.ts) */
  fromCache: number;
}

/** Mean over vectors of sd/mean|v|. */
export function meanSigmaOverMean(a: AxisSums): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < a.sum.length; i++) {
    const r = sigmaOverMeanAbs(a.length, a.sum[i]!, a.sumSq[i]!, a.sumAbs[i]!);
    if (Number.isFinite(r)) {
      s += r;
      n++;
    }
  }
  return n ? s / n : NaN;
}

/** Element count and sums over a whole matrix, from its per-row (or per-column) sums. */
export function matrixTotals(a: AxisSums): { n: number; sum: number; sumSq: number; sumAbs: number } {
  let sum = 0;
  let sumSq = 0;
  let sumAbs = 0;
  for (let i = 0; i < a.sum.length; i++) {
    sum += a.sum[i]!;
    sumSq += a.sumSq[i]!;
    sumAbs += a.sumAbs[i]!;
  }
  return { n: a.length * a.sum.length, sum, sumSq, sumAbs };
}

function wholeMatrix(a: AxisSums): number {
  const t = matrixTotals(a);
  return sigmaOverMeanAbs(t.n, t.sum, t.sumSq, t.sumAbs);
}

export interface WeightStatsOptions {
  roles?: readonly WeightRole[];
  layers?: readonly number[];
  /** called after each tensor (progress, cancellation by throwing) */
  onTensor?: (done: number, total: number, name: string) => void;
  /** numbers kept across sessions: matrices found there are not read; new ones are added and saved */
  cache?: WeightStatsCache;
}

/** Every matrix of the model (default roles: the seven, and the router of a mixture of experts). */
export function weightStats(file: LlamaModelFile, reducer: TensorReducer, opts: WeightStatsOptions = {}): WeightStats {
  const roles = [...(opts.roles ?? file.matrixRoles)];
  const nLayers = file.hparams.nLayers;
  const layers = opts.layers ?? Array.from({ length: nLayers }, (_, l) => l);
  const listed = layers.flatMap((layer) => file.matrices(layer, roles).map((m) => ({ layer, ...m, t: file.weight(m.role, layer, m.expert) })));
  const order = new Map(listed.map((j, i) => [j, i]));
  const jobs = [...listed].sort((a, b) => a.t.offset - b.t.offset); // file order: one sequential sweep
  const entries: Array<WeightStatsEntry & { at: number }> = [];
  const cache = opts.cache;
  let fromCache = 0;
  let added = 0;
  try {
    jobs.forEach((j, i) => {
      let e = cache?.get(j.t.name);
      if (e) fromCache++;
      else {
        const sums = reducer.reduce(file, j.t);
        const along = modelAxis(j.role) === 'rows' ? sums.rows : sums.cols;
        const across = modelAxis(j.role) === 'rows' ? sums.cols : sums.rows;
        e = { alongModel: meanSigmaOverMean(along), across: meanSigmaOverMean(across), whole: wholeMatrix(sums.rows) };
        cache?.set(j.t.name, e, reducer.label);
        added++;
      }
      entries.push({
        at: order.get(j)!,
        layer: j.layer,
        role: j.role,
        ...(j.expert === undefined ? {} : { expert: j.expert }),
        matrix: j.name,
        alongModel: e.alongModel,
        across: e.across,
        acrossAxis: j.role === 'W_gate_inp' ? 'experts' : j.role === 'W_gate' || j.role === 'W_in' || j.role === 'W_out' ? 'ffn' : 'heads',
        whole: e.whole,
      });
      opts.onTensor?.(i + 1, jobs.length, j.t.name);
    });
  } finally {
    if (cache && added) cache.save(); // a cancelled run keeps what it finished
  }
  entries.sort((a, b) => a.at - b.at);
  const label = cache && fromCache === jobs.length ? cache.reducer || reducer.label : reducer.label;
  return { gaussian: GAUSSIAN_SIGMA_OVER_MEAN_ABS, nLayers, roles, entries: entries.map(({ at: _at, ...e }) => e), reducer: label, fromCache };
}
