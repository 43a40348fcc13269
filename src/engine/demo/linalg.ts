// The little dense linear algebra the demo builder needs, in float64 on row-major arrays: a
// symmetric eigendecomposition (for a truncated SVD through the Gram matrix) and Cholesky solves
// (for the least-squares fits). Matrices are a few hundred rows, so plain loops are fast enough
// and the results are the same on every machine (no threads, no BLAS).

/** Row-major matrix. */
export interface Mat {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array;
}

export function mat(rows: number, cols: number, data = new Float64Array(rows * cols)): Mat {
  if (data.length !== rows * cols) throw new Error(`matrix ${rows}x${cols} needs ${rows * cols} values, got ${data.length}`);
  return { rows, cols, data };
}

/** AᵀA (cols x cols), rows of A weighted by w when given: Σ_r w_r a_r a_rᵀ. */
export function gram(a: Mat, w?: Float64Array): Mat {
  const { rows, cols, data } = a;
  const g = new Float64Array(cols * cols);
  for (let r = 0; r < rows; r++) {
    const wr = w ? w[r]! : 1;
    if (wr === 0) continue;
    const off = r * cols;
    for (let i = 0; i < cols; i++) {
      const ai = data[off + i]! * wr;
      if (ai === 0) continue;
      const gi = i * cols;
      for (let j = i; j < cols; j++) g[gi + j]! += ai * data[off + j]!;
    }
  }
  for (let i = 0; i < cols; i++) for (let j = 0; j < i; j++) g[i * cols + j] = g[j * cols + i]!;
  return mat(cols, cols, g);
}

/**
 * Eigenvalues (descending) and eigenvectors (columns of `vectors`) of a symmetric matrix:
 * Householder reduction to tridiagonal form, then implicit QR steps with Wilkinson shifts
 * (Golub & Van Loan, ch. 8), both accumulated into the eigenvectors. O(n³), a few hundred
 * milliseconds at n = 400.
 */
export function symmetricEigen(s: Mat): { values: Float64Array; vectors: Mat } {
  const n = s.rows;
  const a = s.data.slice();
  const qt = new Float64Array(n * n); // Qᵀ: row i is eigenvector i
  for (let i = 0; i < n; i++) qt[i * n + i] = 1;
  const d = new Float64Array(n);
  const e = new Float64Array(Math.max(0, n - 1));
  householderTridiagonal(n, a, qt, d, e);
  tridiagonalQr(n, d, e, qt);
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => d[j]! - d[i]! || i - j);
  const values = new Float64Array(order.map((i) => d[i]!));
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    // fix each vector's sign (largest component positive) so the factorization is reproducible
    let big = 0;
    for (let k = 0; k < n; k++) if (Math.abs(qt[src * n + k]!) > Math.abs(big)) big = qt[src * n + k]!;
    const sign = big < 0 ? -1 : 1;
    for (let k = 0; k < n; k++) vectors[k * n + dst] = sign * qt[src * n + k]!;
  });
  return { values, vectors: mat(n, n, vectors) };
}

/** A = Q T Qᵀ: reflect column k below the diagonal onto one entry, for k = 0 .. n-3. */
function householderTridiagonal(n: number, a: Float64Array, qt: Float64Array, d: Float64Array, e: Float64Array): void {
  const v = new Float64Array(n);
  const p = new Float64Array(n);
  for (let k = 0; k + 2 < n; k++) {
    const lo = k + 1;
    let norm = 0;
    for (let i = lo; i < n; i++) norm += a[i * n + k]! * a[i * n + k]!;
    norm = Math.sqrt(norm);
    if (norm === 0) continue;
    const alpha = a[lo * n + k]! > 0 ? -norm : norm;
    // v = x - alpha e1, normalized; H = I - 2 v vᵀ maps x to alpha e1
    let vn = 0;
    for (let i = lo; i < n; i++) {
      v[i] = a[i * n + k]! - (i === lo ? alpha : 0);
      vn += v[i]! * v[i]!;
    }
    vn = Math.sqrt(vn);
    if (vn === 0) continue;
    for (let i = lo; i < n; i++) v[i]! /= vn;
    // trailing block A ← H A H = A - 2 v wᵀ - 2 w vᵀ with p = A v, w = p - (vᵀp) v
    let beta = 0;
    for (let i = lo; i < n; i++) {
      let acc = 0;
      for (let j = lo; j < n; j++) acc += a[i * n + j]! * v[j]!;
      p[i] = acc;
      beta += v[i]! * acc;
    }
    for (let i = lo; i < n; i++) p[i] = p[i]! - beta * v[i]!;
    for (let i = lo; i < n; i++) {
      const vi = 2 * v[i]!;
      const wi = 2 * p[i]!;
      for (let j = lo; j < n; j++) a[i * n + j] = a[i * n + j]! - vi * p[j]! - wi * v[j]!;
    }
    a[lo * n + k] = a[k * n + lo] = alpha;
    for (let i = lo + 1; i < n; i++) a[i * n + k] = a[k * n + i] = 0;
    // Q ← Q H, kept transposed (qt = Qᵀ ← H Qᵀ) so rows are contiguous
    p.fill(0);
    for (let j = lo; j < n; j++) {
      const vj = v[j]!;
      for (let r = 0; r < n; r++) p[r]! += vj * qt[j * n + r]!;
    }
    for (let j = lo; j < n; j++) {
      const vj = 2 * v[j]!;
      for (let r = 0; r < n; r++) qt[j * n + r] = qt[j * n + r]! - vj * p[r]!;
    }
  }
  for (let i = 0; i < n; i++) d[i] = a[i * n + i]!;
  for (let i = 0; i + 1 < n; i++) e[i] = a[(i + 1) * n + i]!;
}

/** Diagonalize the tridiagonal (d, e) in place, rotating the rows of qt (= Qᵀ) along. */
function tridiagonalQr(n: number, d: Float64Array, e: Float64Array, qt: Float64Array): void {
  const eps = 2.220446049250313e-16;
  for (let iter = 0; iter < 60 * n; iter++) {
    for (let i = 0; i + 1 < n; i++) if (Math.abs(e[i]!) <= eps * (Math.abs(d[i]!) + Math.abs(d[i + 1]!))) e[i] = 0;
    // the last unreduced block [l, m]
    let m = n - 1;
    while (m > 0 && e[m - 1] === 0) m--;
    if (m === 0) return;
    let l = m - 1;
    while (l > 0 && e[l - 1] !== 0) l--;
    // Wilkinson shift: the eigenvalue of the trailing 2x2 nearer d[m]
    const delta = (d[m - 1]! - d[m]!) / 2;
    const es = e[m - 1]! * e[m - 1]!;
    const mu = d[m]! - es / (delta + (delta >= 0 ? 1 : -1) * Math.sqrt(delta * delta + es));
    let x = d[l]! - mu;
    let z = e[l]!;
    for (let k = l; k < m; k++) {
      // rotation G = [[c, s], [-s, c]] on (k, k+1) with Gᵀ [x, z] = [r, 0]
      const r = Math.hypot(x, z);
      const c = r === 0 ? 1 : x / r;
      const s = r === 0 ? 0 : -z / r;
      if (k > l) e[k - 1] = r;
      const dk = d[k]!;
      const dk1 = d[k + 1]!;
      const ek = e[k]!;
      d[k] = c * c * dk - 2 * c * s * ek + s * s * dk1;
      d[k + 1] = s * s * dk + 2 * c * s * ek + c * c * dk1;
      e[k] = c * s * (dk - dk1) + (c * c - s * s) * ek;
      if (k + 1 < m) {
        z = -s * e[k + 1]!; // the bulge at (k, k + 2)
        e[k + 1] = c * e[k + 1]!;
        x = e[k]!;
      }
      const rk = k * n;
      const rk1 = rk + n;
      for (let col = 0; col < n; col++) {
        const qk = qt[rk + col]!;
        const qk1 = qt[rk1 + col]!;
        qt[rk + col] = c * qk - s * qk1;
        qt[rk1 + col] = s * qk + c * qk1;
      }
    }
  }
  throw new Error('symmetric eigendecomposition did not converge');
}

/**
 * Rank-k SVD of A (rows x cols) through the eigenvectors of AᵀA: A ≈ U diag(s) Vᵀ. Fine for the
 * well-conditioned top of the spectrum, which is all the builder keeps.
 */
export function truncatedSvd(a: Mat, k: number): { u: Mat; s: Float64Array; v: Mat } {
  const { values, vectors } = symmetricEigen(gram(a));
  const n = a.cols;
  const s = new Float64Array(k);
  const v = new Float64Array(n * k);
  const u = new Float64Array(a.rows * k);
  for (let j = 0; j < k; j++) {
    s[j] = Math.sqrt(Math.max(0, values[j]!));
    for (let i = 0; i < n; i++) v[i * k + j] = vectors.data[i * n + j]!;
    if (s[j]! === 0) continue;
    for (let r = 0; r < a.rows; r++) {
      let acc = 0;
      for (let i = 0; i < n; i++) acc += a.data[r * n + i]! * vectors.data[i * n + j]!;
      u[r * k + j] = acc / s[j]!;
    }
  }
  return { u: mat(a.rows, k, u), s, v: mat(n, k, v) };
}

/** Lower-triangular Cholesky factor of a symmetric positive definite matrix (ridge added first). */
export function cholesky(s: Mat, ridge = 0): Mat {
  const n = s.rows;
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = s.data[i * n + j]! + (i === j ? ridge : 0);
      for (let k = 0; k < j; k++) sum -= l[i * n + k]! * l[j * n + k]!;
      if (i === j) {
        if (!(sum > 0)) throw new Error(`matrix is not positive definite (pivot ${i}: ${sum})`);
        l[i * n + i] = Math.sqrt(sum);
      } else {
        l[i * n + j] = sum / l[j * n + j]!;
      }
    }
  }
  return mat(n, n, l);
}

/** Solve (L Lᵀ) x = b in place of a copy of b. */
export function choleskySolve(l: Mat, b: Float64Array): Float64Array {
  const n = l.rows;
  const x = b.slice();
  for (let i = 0; i < n; i++) {
    let sum = x[i]!;
    for (let k = 0; k < i; k++) sum -= l.data[i * n + k]! * x[k]!;
    x[i] = sum / l.data[i * n + i]!;
  }
  for (let i = n - 1; i >= 0; i--) {
    let sum = x[i]!;
    for (let k = i + 1; k < n; k++) sum -= l.data[k * n + i]! * x[k]!;
    x[i] = sum / l.data[i * n + i]!;
  }
  return x;
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>, n = a.length, ao = 0, bo = 0): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[ao + i]! * b[bo + i]!;
  return s;
}

/** log Σ exp(x) over the first n values, without overflow. */
export function logSumExp(x: ArrayLike<number>, n = x.length): number {
  let m = -Infinity;
  for (let i = 0; i < n; i++) if (x[i]! > m) m = x[i]!;
  if (m === -Infinity) return m;
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.exp(x[i]! - m);
  return m + Math.log(s);
}
