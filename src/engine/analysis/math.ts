// Small numeric helpers shared by the analyses and their reference implementations. Sums are
// accumulated in float64 (JS numbers) so that the reference side is the more precise one.
import { Rng } from '../util/random';

/** <a|b> over n elements starting at the given offsets. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>, n = a.length, aOff = 0, bOff = 0): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[aOff + i]! * b[bOff + i]!;
  return s;
}

export function norm(a: ArrayLike<number>, n = a.length, off = 0): number {
  return Math.sqrt(dot(a, a, n, off, off));
}

/** A copy of `a` scaled to unit L2 norm (all zeros stays all zeros). */
export function normalized(a: ArrayLike<number>): Float32Array {
  const n = norm(a);
  const out = new Float32Array(a.length);
  if (n > 0) for (let i = 0; i < a.length; i++) out[i] = a[i]! / n;
  return out;
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const na = norm(a);
  const nb = norm(b);
  return na > 0 && nb > 0 ? dot(a, b) / (na * nb) : 0;
}

/** Pearson correlation: the cosine of the two mean-centred vectors. */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const x = a[i]! - ma;
    const y = b[i]! - mb;
    sab += x * y;
    saa += x * x;
    sbb += y * y;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}

/** Mean and population standard deviation. */
export function meanSd(xs: ArrayLike<number>): { mean: number; sd: number } {
  const n = xs.length;
  if (n === 0) return { mean: NaN, sd: NaN };
  let s = 0;
  for (let i = 0; i < n; i++) s += xs[i]!;
  const mean = s / n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (xs[i]! - mean) ** 2;
  return { mean, sd: Math.sqrt(v / n) };
}

/**
 * sd(v) / mean(|v|) of a vector from its sums: n elements, sum, sum of squares, sum of |v|.
 * A zero-centred Gaussian gives sqrt(pi/2) = 1.2533; fat tails give more.
 */
export function sigmaOverMeanAbs(n: number, sum: number, sumSq: number, sumAbs: number): number {
  const mean = sum / n;
  const variance = Math.max(0, sumSq / n - mean * mean);
  return sumAbs > 0 ? Math.sqrt(variance) / (sumAbs / n) : NaN;
}

export const GAUSSIAN_SIGMA_OVER_MEAN_ABS = Math.sqrt(Math.PI / 2);

/**
 * erfc(x) for x >= 0 with relative error below 1.2e-7 everywhere (Numerical Recipes' Chebyshev
 * fit), which keeps its precision in the far tail where 1 - erf(x) would cancel to zero.
 */
export function erfc(x: number): number {
  if (x < 0) return 2 - erfc(-x);
  const t = 1 / (1 + 0.5 * x);
  const y =
    t *
    Math.exp(
      -x * x -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return y;
}

export function erf(x: number): number {
  return 1 - erfc(x);
}

/** `count` distinct integers from [0, n), seeded (Floyd's algorithm), in ascending order. */
export function sampleIndices(n: number, count: number, seed: number): number[] {
  const rng = new Rng(seed);
  const k = Math.min(count, n);
  const chosen = new Set<number>();
  for (let j = n - k; j < n; j++) {
    const t = rng.int(j + 1);
    chosen.add(chosen.has(t) ? j : t);
  }
  return [...chosen].sort((a, b) => a - b);
}

/** Indices of the k largest values, largest first (ties: lower index first). */
export function topKIndices(values: ArrayLike<number>, k: number, exclude?: ReadonlySet<number>): number[] {
  const heap: number[] = []; // min-heap of indices by value, size <= k
  const less = (a: number, b: number): boolean => values[a]! < values[b]! || (values[a] === values[b] && a > b);
  const up = (i: number): void => {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(heap[i]!, heap[p]!)) break;
      [heap[i], heap[p]] = [heap[p]!, heap[i]!];
      i = p;
    }
  };
  const down = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && less(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && less(heap[r]!, heap[m]!)) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  };
  for (let i = 0; i < values.length; i++) {
    if (exclude?.has(i) || Number.isNaN(values[i])) continue;
    if (heap.length < k) {
      heap.push(i);
      up(heap.length - 1);
    } else if (k > 0 && less(heap[0]!, i)) {
      heap[0] = i;
      down(0);
    }
  }
  return heap.sort((a, b) => (less(a, b) ? 1 : less(b, a) ? -1 : 0));
}

/** Round for JSON output (results stay small and readable; the computation keeps full precision). */
export function round(x: number, digits = 6): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
