// The fits behind the demo model's dictionaries, in the local token space of ./corpus.ts:
// - a rank-k factorization of the centred bigram log-probabilities gives each token an input
//   direction (rows of U sqrt(S)), so tokens with similar continuations point the same way;
// - input rows get one fixed length plus a constant "bias" slot (the model's RMSNorm would erase
//   any length information anyway), and the output rows are refitted by weighted least squares so
//   that these normalized inputs reproduce the factorised logits;
// - cross-entropies measure how close the result is to the counted tables.
import type { Counts } from './corpus';
import { Adam } from './adam';
import { cholesky, choleskySolve, gram, logSumExp, mat, truncatedSvd, type Mat } from './linalg';

/** log-probabilities below this are treated as this (unseen continuations). */
export const LOG_FLOOR = -12;

export interface BigramTable {
  readonly n: number;
  /** how often each local token is followed by something (its weight as a context) */
  readonly contextCount: Float64Array;
  /** local tokens that are ever predicted (every used token but BOS) */
  readonly outputs: readonly number[];
  /** [context, next] conditional probabilities, n x n */
  readonly p: Float64Array;
}

export function bigramTable(c: Counts): BigramTable {
  const { n, bigram } = c;
  const contextCount = new Float64Array(n);
  const outCount = new Float64Array(n);
  for (let a = 0; a < n; a++) {
    for (let x = 0; x < n; x++) {
      contextCount[a]! += bigram[a * n + x]!;
      outCount[x]! += bigram[a * n + x]!;
    }
  }
  const p = new Float64Array(n * n);
  for (let a = 0; a < n; a++) for (let x = 0; x < n; x++) if (contextCount[a]! > 0) p[a * n + x] = bigram[a * n + x]! / contextCount[a]!;
  const outputs = Array.from({ length: n }, (_, x) => x).filter((x) => outCount[x]! > 0);
  return { n, contextCount, outputs, p };
}

export interface Factorization {
  readonly rank: number;
  /** [token, rank] input part U sqrt(S) (zero rows for tokens never seen as a context) */
  readonly a: Mat;
  /** [token, rank] output part V sqrt(S) */
  readonly b: Mat;
  /** per-output column effect of the centring (the factorised logits add it back) */
  readonly colBias: Float64Array;
  readonly singularValues: Float64Array;
}

/**
 * Centred, floored log P(next | token) over contexts x outputs, factorised at `rank`. Row effects
 * are dropped (a softmax ignores them); column effects are kept as a bias.
 */
export function factorize(t: BigramTable, rank: number): Factorization {
  const ctx = contexts(t);
  const outs = t.outputs;
  const m = mat(ctx.length, outs.length);
  ctx.forEach((a, i) => outs.forEach((x, j) => (m.data[i * outs.length + j] = Math.max(LOG_FLOOR, Math.log(t.p[a * t.n + x]!)))));
  const rowMean = new Float64Array(ctx.length);
  const colMean = new Float64Array(outs.length);
  let grand = 0;
  for (let i = 0; i < ctx.length; i++) {
    for (let j = 0; j < outs.length; j++) {
      const v = m.data[i * outs.length + j]!;
      rowMean[i]! += v / outs.length;
      colMean[j]! += v / ctx.length;
      grand += v / (ctx.length * outs.length);
    }
  }
  for (let i = 0; i < ctx.length; i++) for (let j = 0; j < outs.length; j++) m.data[i * outs.length + j]! -= rowMean[i]! + colMean[j]! - grand;
  const { u, s, v } = truncatedSvd(m, rank);
  const a = mat(t.n, rank);
  const b = mat(t.n, rank);
  const colBias = new Float64Array(t.n);
  ctx.forEach((tok, i) => {
    for (let k = 0; k < rank; k++) a.data[tok * rank + k] = u.data[i * rank + k]! * Math.sqrt(s[k]!);
  });
  outs.forEach((tok, j) => {
    for (let k = 0; k < rank; k++) b.data[tok * rank + k] = v.data[j * rank + k]! * Math.sqrt(s[k]!);
    colBias[tok] = colMean[j]! - grand;
  });
  return { rank, a, b, colBias, singularValues: s };
}

/** Local tokens seen as contexts. */
export function contexts(t: BigramTable): number[] {
  return Array.from({ length: t.n }, (_, a) => a).filter((a) => t.contextCount[a]! > 0);
}

/** The factorised logit of `x` after `a`. */
export function factorisedLogit(f: Factorization, a: number, x: number): number {
  let s = f.colBias[x]!;
  for (let k = 0; k < f.rank; k++) s += f.a.data[a * f.rank + k]! * f.b.data[x * f.rank + k]!;
  return s;
}

/**
 * Output rows θ (one per local token, [n, design width]) such that design[a] · θ[x] reproduces
 * target(a, x) in weighted least squares over the contexts a (weight w[a]). Tokens that are not
 * outputs get zero rows. One Gram matrix serves every output token.
 */
export function fitOutputRows(t: BigramTable, design: Mat, target: (a: number, x: number) => number, w: Float64Array, ridge: number): Mat {
  const ctx = contexts(t);
  const width = design.cols;
  const z = mat(ctx.length, width);
  const wc = new Float64Array(ctx.length);
  ctx.forEach((a, i) => {
    z.data.set(design.data.subarray(a * width, (a + 1) * width), i * width);
    wc[i] = w[a]!;
  });
  const l = cholesky(gram(z, wc), ridge);
  const theta = mat(t.n, width);
  const rhs = new Float64Array(width);
  for (const x of t.outputs) {
    rhs.fill(0);
    ctx.forEach((a, i) => {
      const tw = wc[i]! * target(a, x);
      for (let k = 0; k < width; k++) rhs[k]! += z.data[i * width + k]! * tw;
    });
    theta.data.set(choleskySolve(l, rhs), x * width);
  }
  return theta;
}

/** design[a] · θ[x] for every output x, into `out` (indexed by local token; non-outputs -Infinity). */
export function usedLogits(t: BigramTable, design: Mat, theta: Mat, a: number, out: Float64Array): Float64Array {
  const width = design.cols;
  out.fill(-Infinity);
  for (const x of t.outputs) {
    let s = 0;
    for (let k = 0; k < width; k++) s += design.data[a * width + k]! * theta.data[x * width + k]!;
    out[x] = s;
  }
  return out;
}

export interface BigramScore {
  /** cross-entropy (nats per position) of the model against the counted table */
  readonly modelCe: number;
  /** the table's own conditional entropy: the best any bigram model can do on these counts */
  readonly tableCe: number;
  /** share of positions whose context has the same most likely next token in model and table */
  readonly top1: number;
}

/**
 * Score logits (a function filling the used tokens' logits for a context) against the table.
 * `extraLogMass(a)` is log Σ exp over the tokens outside the grammar (the rest of the vocabulary).
 */
export function scoreBigram(t: BigramTable, logits: (a: number, out: Float64Array) => void, extraLogMass: (a: number) => number): BigramScore {
  const row = new Float64Array(t.n + 1);
  let total = 0;
  let model = 0;
  let table = 0;
  let agree = 0;
  for (const a of contexts(t)) {
    const ca = t.contextCount[a]!;
    logits(a, row);
    row[t.n] = extraLogMass(a);
    const lz = logSumExp(row);
    let bestModel = -1;
    let bestTable = -1;
    for (const x of t.outputs) {
      const p = t.p[a * t.n + x]!;
      if (p > 0) {
        model -= ca * p * (row[x]! - lz);
        table -= ca * p * Math.log(p);
      }
      if (bestModel < 0 || row[x]! > row[bestModel]!) bestModel = x;
      if (bestTable < 0 || p > t.p[a * t.n + bestTable]!) bestTable = x;
    }
    if (bestModel === bestTable) agree += ca;
    total += ca;
  }
  return { modelCe: model / total, tableCe: table / total, top1: agree / total };
}

export interface RefineOptions {
  readonly iterations: number;
  /** Adam step for the output rows */
  readonly lrOut: number;
  /** Adam step for the input directions (0 keeps them) */
  readonly lrIn: number;
  /** the input rows' first `dirDims` entries are a direction of length `dirLength`; the rest stay fixed */
  readonly dirDims: number;
  readonly dirLength: number;
}

/**
 * Full-batch Adam on the bigram cross-entropy, starting from the least-squares fit: the output rows
 * move freely, the input directions move on their sphere (renormalized after each step). This is
 * what brings the fixed-length rows to within a few thousandths of a nat of the counted table;
 * least squares on log-probabilities alone spends the rank on unseen pairs that only need to be
 * "low enough". Returns new matrices.
 */
export function refineBigram(t: BigramTable, design: Mat, theta: Mat, o: RefineOptions): { design: Mat; theta: Mat } {
  const ctx = contexts(t);
  const outs = t.outputs;
  const nc = ctx.length;
  const no = outs.length;
  const w = design.cols;
  const z = new Float64Array(nc * w);
  const th = new Float64Array(no * w);
  ctx.forEach((a, i) => z.set(design.data.subarray(a * w, (a + 1) * w), i * w));
  outs.forEach((x, j) => th.set(theta.data.subarray(x * w, (x + 1) * w), j * w));
  const p = new Float64Array(nc * no);
  const cw = new Float64Array(nc);
  let total = 0;
  ctx.forEach((a, i) => {
    cw[i] = t.contextCount[a]!;
    total += cw[i]!;
    outs.forEach((x, j) => (p[i * no + j] = t.p[a * t.n + x]!));
  });
  const gz = new Float64Array(nc * w);
  const gth = new Float64Array(no * w);
  const logits = new Float64Array(no);
  const adamOut = new Adam(no * w, o.lrOut);
  const adamIn = new Adam(nc * w, o.lrIn);
  for (let it = 0; it < o.iterations; it++) {
    gz.fill(0);
    gth.fill(0);
    for (let i = 0; i < nc; i++) {
      const zi = i * w;
      let max = -Infinity;
      for (let j = 0; j < no; j++) {
        const tj = j * w;
        let s = 0;
        for (let k = 0; k < w; k++) s += z[zi + k]! * th[tj + k]!;
        logits[j] = s;
        if (s > max) max = s;
      }
      let sum = 0;
      for (let j = 0; j < no; j++) sum += (logits[j] = Math.exp(logits[j]! - max));
      const scale = cw[i]! / total;
      for (let j = 0; j < no; j++) {
        // d CE / d logit = weight * (q - p)
        const g = scale * (logits[j]! / sum - p[i * no + j]!);
        // most pairs are far below any continuation: their pull is negligible and skipping them
        // makes a step several times cheaper
        if (Math.abs(g) < 1e-9) continue;
        const tj = j * w;
        for (let k = 0; k < w; k++) {
          gth[tj + k]! += g * z[zi + k]!;
          gz[zi + k]! += g * th[tj + k]!;
        }
      }
    }
    adamOut.step(th, gth);
    if (o.lrIn > 0) {
      for (let i = 0; i < nc; i++) for (let k = o.dirDims; k < w; k++) gz[i * w + k] = 0;
      adamIn.step(z, gz);
      for (let i = 0; i < nc; i++) {
        let nn = 0;
        for (let k = 0; k < o.dirDims; k++) nn += z[i * w + k]! ** 2;
        const f = o.dirLength / Math.sqrt(nn);
        for (let k = 0; k < o.dirDims; k++) z[i * w + k]! *= f;
      }
    }
  }
  const outDesign = mat(design.rows, w, design.data.slice());
  const outTheta = mat(theta.rows, w, theta.data.slice());
  ctx.forEach((a, i) => outDesign.data.set(z.subarray(i * w, (i + 1) * w), a * w));
  outs.forEach((x, j) => outTheta.data.set(th.subarray(j * w, (j + 1) * w), x * w));
  return { design: outDesign, theta: outTheta };
}
