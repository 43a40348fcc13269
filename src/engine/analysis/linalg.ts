// Small dense linear algebra for the singular-value iteration: Gram-Schmidt on a handful of long
// vectors and the Jacobi eigenvalue method on a matrix of a few dozen rows. Float64 throughout.

/** Orthonormalize the m vectors of length n stored back to back (modified Gram-Schmidt, twice). */
export function orthonormalize(v: Float64Array, m: number, n: number): void {
  for (let pass = 0; pass < 2; pass++) {
    for (let j = 0; j < m; j++) {
      const oj = j * n;
      for (let i = 0; i < j; i++) {
        const oi = i * n;
        let p = 0;
        for (let t = 0; t < n; t++) p += v[oi + t]! * v[oj + t]!;
        for (let t = 0; t < n; t++) v[oj + t]! -= p * v[oi + t]!;
      }
      let s = 0;
      for (let t = 0; t < n; t++) s += v[oj + t]! ** 2;
      const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
      for (let t = 0; t < n; t++) v[oj + t]! *= inv;
    }
  }
}

/** Eigenvalues of a symmetric m x m matrix (row-major), descending, by cyclic Jacobi rotations. */
export function symmetricEigenvalues(a: Float64Array, m: number): number[] {
  const x = Float64Array.from(a);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let i = 0; i < m; i++) for (let j = i + 1; j < m; j++) off += x[i * m + j]! ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < m; p++) {
      for (let q = p + 1; q < m; q++) {
        const apq = x[p * m + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (x[q * m + q]! - x[p * m + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < m; k++) {
          const akp = x[k * m + p]!;
          const akq = x[k * m + q]!;
          x[k * m + p] = c * akp - s * akq;
          x[k * m + q] = s * akp + c * akq;
        }
        for (let k = 0; k < m; k++) {
          const apk = x[p * m + k]!;
          const aqk = x[q * m + k]!;
          x[p * m + k] = c * apk - s * aqk;
          x[q * m + k] = s * apk + c * aqk;
        }
      }
    }
  }
  return Array.from({ length: m }, (_, i) => x[i * m + i]!).sort((u, w) => w - u);
}
