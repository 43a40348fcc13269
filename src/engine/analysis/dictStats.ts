// Dictionary statistics (SPEC 2.A, companion page "input vs output"): how the input and output
// dictionaries are built and how their structures relate. Pair statistics use L2-normalized rows
// over a seeded sample of tokens against the whole vocabulary (the companion's `mat @ mat[sample].T`),
// self pairs left out; row norms and element statistics use the raw rows.
import type { ProjectionEngine } from './engine';
import { dictionaryRows, gatherRows, type Dictionary } from './dictionary';
import { orthonormalize, symmetricEigenvalues } from './linalg';
import { meanSd, normalized, pearson, sampleIndices, sigmaOverMeanAbs } from './math';
import { Rng } from '../util/random';

export interface ElementMoments {
  n: number;
  sum: number;
  sumSq: number;
  sumAbs: number;
}

export interface DictStatsOptions {
  /** sampled tokens whose rows are paired with every row (default 256) */
  sample?: number;
  seed?: number;
  /** input cosine above which a pair counts as associated (default 0.1, the companion's) */
  threshold?: number;
  /** tokens for the same-token Pearson correlation (default 4096, or all if fewer) */
  tokenSample?: number;
  /** leading singular values to estimate (default 16; 0 skips) */
  singularValues?: number;
  /** moments of every element of a dictionary (Σx, Σx², Σ|x|); default: streamed in JavaScript */
  elementMoments?: (dict: Dictionary) => ElementMoments;
}

export interface SideStats {
  /** share of sampled pairs with a positive inner product (Llama-2-7B: 81% input, 82% output) */
  fractionPositive: number;
  /** mean |cosine| over the pairs, A (0.027 input, 0.048 output) */
  meanAbsCosine: number;
  /** 1 / A^2 (about 1,400 and 430) */
  effectiveRank: number;
  /** <v|v> of the raw rows (mean 1.1 sd 0.11 input, 1.2 sd 0.33 output) */
  rowNormSq: { mean: number; sd: number };
  /** sd / mean |x| over every element (1.2533 for a zero-centred Gaussian) */
  sigmaOverMeanAbs: number;
  /** leading singular values of the raw dictionary, largest first */
  singularValues: number[];
}

export interface DictionaryStats {
  sample: number;
  seed: number;
  pairs: number;
  tied: boolean;
  input: SideStats;
  output: SideStats;
  /** Pearson r of E_in[t] and E_out[t] over sampled tokens (Llama-2-7B: 0.016, like random vectors) */
  sameTokenPearson: { tokens: number; mean: number; meanAbs: number; rms: number; randomSd: number };
  /** corrcoef of the two dictionaries' pair cosines (0.29) */
  structureCorrelation: number;
  /** of pairs with input cosine > threshold, the share positive in the output dictionary (99.3%) */
  consistency: { threshold: number; pairsAbove: number; sharePositiveInOutput: number };
}

const QUERY_BLOCK = 64;

/** Cosines of each sampled row with every row, block by block: fn(sampleIndex, cosines [n_rows]). */
function forEachCosineRow(engine: ProjectionEngine, dict: Dictionary, sample: readonly number[], fn: (j: number, cos: Float32Array) => void): void {
  const norms = engine.rowNorms(dict);
  const d = dict.dModel;
  for (let b = 0; b < sample.length; b += QUERY_BLOCK) {
    const rows = sample.slice(b, b + QUERY_BLOCK);
    const raw = gatherRows(dict, rows);
    const q = new Float32Array(raw.length);
    rows.forEach((_, i) => q.set(normalized(raw.subarray(i * d, (i + 1) * d)), i * d));
    const s = engine.scores(dict, q); // [rows, n_rows]
    rows.forEach((_, i) => {
      const cos = s.subarray(i * dict.nRows, (i + 1) * dict.nRows);
      for (let r = 0; r < cos.length; r++) cos[r] = norms[r]! > 0 ? cos[r]! / norms[r]! : 0;
      fn(b + i, cos);
    });
  }
}

export function dictionaryStats(engine: ProjectionEngine, input: Dictionary, output: Dictionary, opts: DictStatsOptions = {}): DictionaryStats {
  const seed = opts.seed ?? 1;
  const threshold = opts.threshold ?? 0.1;
  const n = Math.min(input.nRows, output.nRows);
  const sample = sampleIndices(n, opts.sample ?? 256, seed);
  // pair statistics: both dictionaries' cosine rows for the same sampled token, side by side
  const inRows: Float32Array[] = [];
  forEachCosineRow(engine, input, sample, (_, cos) => inRows.push(cos.slice(0, n)));
  const acc = { pairs: 0, posIn: 0, posOut: 0, absIn: 0, absOut: 0, sa: 0, sb: 0, saa: 0, sbb: 0, sab: 0, above: 0, aboveConsistent: 0 };
  forEachCosineRow(engine, output, sample, (j, cosOut) => {
    const cosIn = inRows[j]!;
    const self = sample[j]!;
    for (let r = 0; r < n; r++) {
      if (r === self) continue;
      const a = cosIn[r]!;
      const b = cosOut[r]!;
      acc.pairs++;
      if (a > 0) acc.posIn++;
      if (b > 0) acc.posOut++;
      acc.absIn += Math.abs(a);
      acc.absOut += Math.abs(b);
      acc.sa += a;
      acc.sb += b;
      acc.saa += a * a;
      acc.sbb += b * b;
      acc.sab += a * b;
      if (a > threshold) {
        acc.above++;
        if (b > 0) acc.aboveConsistent++;
      }
    }
    inRows[j] = new Float32Array(0); // done with it
  });
  const p = acc.pairs;
  const cov = acc.sab / p - (acc.sa / p) * (acc.sb / p);
  const va = acc.saa / p - (acc.sa / p) ** 2;
  const vb = acc.sbb / p - (acc.sb / p) ** 2;

  // same-token Pearson correlation
  const tokens = sampleIndices(n, opts.tokenSample ?? 4096, seed + 1);
  const rs: number[] = [];
  const d = input.dModel;
  const a = gatherRows(input, tokens);
  const b = gatherRows(output, tokens);
  tokens.forEach((_, i) => rs.push(pearson(a.subarray(i * d, (i + 1) * d), b.subarray(i * d, (i + 1) * d))));
  const mean = rs.reduce((s, r) => s + r, 0) / rs.length;

  const side = (dict: Dictionary, pos: number, abs: number): SideStats => {
    const A = abs / p;
    const norms = engine.rowNorms(dict);
    const moments = (opts.elementMoments ?? jsElementMoments)(dict);
    return {
      fractionPositive: pos / p,
      meanAbsCosine: A,
      effectiveRank: A > 0 ? 1 / (A * A) : Infinity,
      rowNormSq: meanSd(Float64Array.from(norms, (x) => x * x)),
      sigmaOverMeanAbs: sigmaOverMeanAbs(moments.n, moments.sum, moments.sumSq, moments.sumAbs),
      singularValues: leadingSingularValues(engine, dict, opts.singularValues ?? 16, seed),
    };
  };
  return {
    sample: sample.length,
    seed,
    pairs: p,
    tied: input.key === output.key,
    input: side(input, acc.posIn, acc.absIn),
    output: side(output, acc.posOut, acc.absOut),
    sameTokenPearson: {
      tokens: rs.length,
      mean,
      meanAbs: rs.reduce((s, r) => s + Math.abs(r), 0) / rs.length,
      rms: Math.sqrt(rs.reduce((s, r) => s + r * r, 0) / rs.length),
      randomSd: 1 / Math.sqrt(d),
    },
    structureCorrelation: va > 0 && vb > 0 ? cov / Math.sqrt(va * vb) : NaN,
    consistency: { threshold, pairsAbove: acc.above, sharePositiveInOutput: acc.above ? acc.aboveConsistent / acc.above : NaN },
  };
}

/** Σx, Σx², Σ|x| over every element, streamed block by block in JavaScript. */
export function jsElementMoments(dict: Dictionary): ElementMoments {
  const m: ElementMoments = { n: 0, sum: 0, sumSq: 0, sumAbs: 0 };
  for (let start = 0; start < dict.nRows; start += 1024) {
    const rows = dictionaryRows(dict, start, Math.min(1024, dict.nRows - start));
    for (let i = 0; i < rows.length; i++) {
      const x = rows[i]!;
      m.sum += x;
      m.sumSq += x * x;
      m.sumAbs += Math.abs(x);
    }
    m.n += rows.length;
  }
  return m;
}

/**
 * The leading singular values of a dictionary by randomized subspace iteration (Halko, Martinsson
 * and Tropp 2011): Y = D Omega, then power steps Y = D (D^T Y), each orthonormalized; the values
 * are the square roots of the eigenvalues of B B^T with B = Q^T D. Eight extra vectors and four
 * power steps make the leading values accurate even for a slowly decaying spectrum.
 */
export function leadingSingularValues(engine: ProjectionEngine, dict: Dictionary, m: number, seed: number, powerSteps = 4): number[] {
  if (m <= 0) return [];
  const d = dict.dModel;
  const V = dict.nRows;
  const l = Math.min(m + 8, d, V);
  const rng = new Rng(seed + 7);
  let z = new Float64Array(l * d); // [l, d_model]
  for (let i = 0; i < z.length; i++) z[i] = rng.normal();
  orthonormalize(z, l, d);
  let q = new Float64Array(l * V); // [l, n_rows]
  for (let step = 0; step <= powerSteps; step++) {
    const y = engine.scores(dict, Float32Array.from(z)); // D z_j for each j: [l, n_rows]
    q = Float64Array.from(y);
    orthonormalize(q, l, V);
    z = Float64Array.from(engine.transposeTimes(dict, Float32Array.from(q))); // B^T = D^T Q: [l, d_model]
    if (step < powerSteps) orthonormalize(z, l, d);
  }
  // B B^T (l x l) with B = Q^T D, i.e. rows of z are B's rows
  const g = new Float64Array(l * l);
  for (let i = 0; i < l; i++) {
    for (let j = i; j < l; j++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += z[i * d + t]! * z[j * d + t]!;
      g[i * l + j] = g[j * l + i] = s;
    }
  }
  return symmetricEigenvalues(g, l)
    .slice(0, Math.min(m, l))
    .map((e) => Math.sqrt(Math.max(0, e)));
}
