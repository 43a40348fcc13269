// What the previous-token head adds: with the head, the logits after (prev, cur) are the bigram
// logits of cur plus code(prev) · φ(next), where code(prev) is a unit vector the head copies from
// the previous token's embedding and φ are the output rows' entries in the dimensions the head
// writes to. Both are fitted on the counted trigrams by full-batch Adam on the cross-entropy
// (least squares on log-ratios gets the direction right but wastes the small rank on unseen pairs).
import { Adam } from './adam';
import type { Counts } from './corpus';
import { mat, type Mat } from './linalg';

export interface TrigramTable {
  readonly n: number;
  /** (prev, cur) of each context pair, and how often it occurs */
  readonly prev: Int32Array;
  readonly cur: Int32Array;
  readonly count: Float64Array;
  /** continuations of pair r: entries start[r] .. start[r + 1] of next / prob */
  readonly start: Int32Array;
  readonly next: Int32Array;
  readonly prob: Float64Array;
  readonly total: number;
}

export function trigramTable(c: Counts): TrigramTable {
  const n = c.n;
  const keys = [...c.trigram.keys()].sort((x, y) => x - y);
  const pairs: number[] = [];
  for (const k of keys) {
    const pair = Math.floor(k / n);
    if (pairs[pairs.length - 1] !== pair) pairs.push(pair);
  }
  const prev = new Int32Array(pairs.length);
  const cur = new Int32Array(pairs.length);
  const count = new Float64Array(pairs.length);
  const start = new Int32Array(pairs.length + 1);
  const next = new Int32Array(keys.length);
  const prob = new Float64Array(keys.length);
  let r = -1;
  let total = 0;
  keys.forEach((k, e) => {
    const pair = Math.floor(k / n);
    if (r < 0 || pair !== prev[r]! * n + cur[r]!) {
      r++;
      prev[r] = Math.floor(pair / n);
      cur[r] = pair % n;
      start[r] = e;
    }
    const v = c.trigram.get(k)!;
    next[e] = k % n;
    prob[e] = v;
    count[r]! += v;
    total += v;
  });
  start[pairs.length] = keys.length;
  for (let q = 0; q < pairs.length; q++) for (let e = start[q]!; e < start[q + 1]!; e++) prob[e]! /= count[q]!;
  return { n, prev, cur, count, start, next, prob, total };
}

/** The table's own conditional entropy H(next | prev, cur), nats per position. */
export function trigramEntropy(t: TrigramTable): number {
  let h = 0;
  for (let r = 0; r < t.count.length; r++) for (let e = t.start[r]!; e < t.start[r + 1]!; e++) h -= t.count[r]! * t.prob[e]! * Math.log(t.prob[e]!);
  return h / t.total;
}

/**
 * Cross-entropy of logits bigram[cur][x] + extra(prev, x) against the trigram counts. `bigram` is
 * [n, n] over local tokens (-Infinity for tokens never predicted); `outsideLogMass[cur]` adds the
 * rest of the vocabulary to the normalizer (the head does not change those logits).
 */
export function trigramCrossEntropy(t: TrigramTable, bigram: Float64Array, outsideLogMass: Float64Array, extra?: Float64Array): number {
  const n = t.n;
  let ce = 0;
  for (let r = 0; r < t.count.length; r++) {
    const a = t.prev[r]!;
    const b = t.cur[r]!;
    let max = outsideLogMass[b]!;
    for (let x = 0; x < n; x++) max = Math.max(max, bigram[b * n + x]! + (extra ? extra[a * n + x]! : 0));
    let sum = Math.exp(outsideLogMass[b]! - max);
    for (let x = 0; x < n; x++) sum += Math.exp(bigram[b * n + x]! + (extra ? extra[a * n + x]! : 0) - max);
    const lz = max + Math.log(sum);
    for (let e = t.start[r]!; e < t.start[r + 1]!; e++) {
      const x = t.next[e]!;
      ce -= t.count[r]! * t.prob[e]! * (bigram[b * n + x]! + (extra ? extra[a * n + x]! : 0) - lz);
    }
  }
  return ce / t.total;
}

export interface HeadFit {
  /** [n, dims] unit code vector of each local token as a previous token */
  readonly code: Mat;
  /** [n, dims] output entries in the head's dimensions (zero for tokens never predicted) */
  readonly phi: Mat;
}

/**
 * Fit code and φ so that bigram[cur] + code[prev] · φ predicts the trigram continuations. `init`
 * gives each token's starting code (normalized here); `outputs` are the tokens ever predicted.
 */
export function fitHead(t: TrigramTable, bigram: Float64Array, outputs: readonly number[], init: Mat, iterations: number, lr: number): HeadFit {
  const n = t.n;
  const dims = init.cols;
  const no = outputs.length;
  const code = init.data.slice();
  for (let a = 0; a < n; a++) normalizeRow(code, a, dims);
  const phi = new Float64Array(no * dims); // compact: row j is outputs[j]
  const m = new Float64Array(n * no); // code[a] · φ_j
  const gm = new Float64Array(n * no);
  const gCode = new Float64Array(n * dims);
  const gPhi = new Float64Array(no * dims);
  const row = new Float64Array(no);
  const base = new Float64Array(n * no);
  for (let b = 0; b < n; b++) outputs.forEach((x, j) => (base[b * no + j] = bigram[b * n + x]!));
  const slot = new Int32Array(n).fill(-1);
  outputs.forEach((x, j) => (slot[x] = j));
  const adamCode = new Adam(n * dims, lr * 0.1);
  const adamPhi = new Adam(no * dims, lr);
  for (let it = 0; it < iterations; it++) {
    for (let a = 0; a < n; a++) {
      for (let j = 0; j < no; j++) {
        let s = 0;
        for (let k = 0; k < dims; k++) s += code[a * dims + k]! * phi[j * dims + k]!;
        m[a * no + j] = s;
      }
    }
    gm.fill(0);
    for (let r = 0; r < t.count.length; r++) {
      const a = t.prev[r]!;
      const b = t.cur[r]!;
      let max = -Infinity;
      for (let j = 0; j < no; j++) {
        const v = (row[j] = base[b * no + j]! + m[a * no + j]!);
        if (v > max) max = v;
      }
      let sum = 0;
      for (let j = 0; j < no; j++) sum += (row[j] = Math.exp(row[j]! - max));
      const w = t.count[r]! / t.total;
      for (let j = 0; j < no; j++) gm[a * no + j]! += (w * row[j]!) / sum;
      for (let e = t.start[r]!; e < t.start[r + 1]!; e++) gm[a * no + slot[t.next[e]!]!]! -= w * t.prob[e]!;
    }
    gCode.fill(0);
    gPhi.fill(0);
    for (let a = 0; a < n; a++) {
      for (let j = 0; j < no; j++) {
        const g = gm[a * no + j]!;
        if (Math.abs(g) < 1e-9) continue; // as in refineBigram: negligible pulls are skipped
        for (let k = 0; k < dims; k++) {
          gPhi[j * dims + k]! += g * code[a * dims + k]!;
          gCode[a * dims + k]! += g * phi[j * dims + k]!;
        }
      }
    }
    adamPhi.step(phi, gPhi);
    adamCode.step(code, gCode);
    for (let a = 0; a < n; a++) normalizeRow(code, a, dims);
  }
  const phiOut = mat(n, dims);
  outputs.forEach((x, j) => phiOut.data.set(phi.subarray(j * dims, (j + 1) * dims), x * dims));
  return { code: mat(n, dims, code), phi: phiOut };
}

/** code[a] · φ[x] for every pair of local tokens ([n, n]). */
export function headLogits(h: HeadFit): Float64Array {
  const n = h.code.rows;
  const d = h.code.cols;
  const out = new Float64Array(n * n);
  for (let a = 0; a < n; a++) {
    for (let x = 0; x < n; x++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += h.code.data[a * d + k]! * h.phi.data[x * d + k]!;
      out[a * n + x] = s;
    }
  }
  return out;
}

function normalizeRow(v: Float64Array, row: number, dims: number): void {
  let s = 0;
  for (let k = 0; k < dims; k++) s += v[row * dims + k]! ** 2;
  if (s === 0) {
    v[row * dims] = 1; // a token with no signal still needs a unit code
    return;
  }
  const f = 1 / Math.sqrt(s);
  for (let k = 0; k < dims; k++) v[row * dims + k]! *= f;
}
