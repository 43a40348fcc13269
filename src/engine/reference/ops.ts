// The building blocks of the Llama forward pass, written the plain way: float64 arithmetic, one
// loop per formula, no blocking or SIMD tricks. They are the yardstick llama.cpp's instrumented
// decode is measured against (test/integration/runtimeOracle.test.ts), so clarity beats speed.

/** Row-major matrix of float64: `rows` rows of `cols` values. */
export interface Mat {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array; // [rows, cols]
}

export function mat(rows: number, cols: number, data = new Float64Array(rows * cols)): Mat {
  if (data.length !== rows * cols) throw new RangeError(`matrix [${rows}, ${cols}] needs ${rows * cols} values, got ${data.length}`);
  return { rows, cols, data };
}

/**
 * y = x W^T with W stored as GGUF stores a 2-D weight: `dOut` rows of `x.cols` values (ggml dims
 * [d_in, d_out]), so y[r, o] = sum_i x[r, i] * W[o, i].
 */
export function linear(x: Mat, W: Float32Array, dOut: number): Mat {
  const dIn = x.cols;
  if (W.length !== dIn * dOut) throw new RangeError(`weight has ${W.length} values, expected ${dOut} x ${dIn}`);
  const y = mat(x.rows, dOut);
  for (let r = 0; r < x.rows; r++) {
    for (let o = 0; o < dOut; o++) {
      let s = 0;
      for (let i = 0; i < dIn; i++) s += x.data[r * dIn + i]! * W[o * dIn + i]!;
      y.data[r * dOut + o] = s;
    }
  }
  return y;
}

/** RMSNorm with gain, per row: x / sqrt(mean(x^2) + eps) * gain. */
export function rmsNorm(x: Mat, gain: Float32Array, eps: number): Mat {
  const d = x.cols;
  if (gain.length !== d) throw new RangeError(`norm gain has ${gain.length} values, rows have ${d}`);
  const y = mat(x.rows, d);
  for (let r = 0; r < x.rows; r++) {
    let ss = 0;
    for (let i = 0; i < d; i++) ss += x.data[r * d + i]! ** 2;
    const scale = 1 / Math.sqrt(ss / d + eps);
    for (let i = 0; i < d; i++) y.data[r * d + i] = x.data[r * d + i]! * scale * gain[i]!;
  }
  return y;
}

/**
 * How RoPE angles are computed. 'exact': theta_i = pos * base^(-2i/n_rot) in float64.
 * 'ggml-f32': as ggml's CPU rope cache does, theta_0 = pos and theta_{i+1} = theta_i * theta_scale
 * with every product rounded to float32; its error grows with the position (ulp(700) = 6e-5 rad),
 * which is what separates llama.cpp from the exact angles on long prompts.
 */
export type RopeAngles = 'exact' | 'ggml-f32';

export function ropeAngles(pos: number, nRot: number, base: number, mode: RopeAngles): Float64Array {
  const theta = new Float64Array(nRot / 2);
  if (mode === 'exact') {
    for (let i = 0; i < nRot / 2; i++) theta[i] = pos * Math.pow(base, (-2 * i) / nRot);
  } else {
    const scale = Math.fround(Math.pow(base, -2 / nRot));
    let t = Math.fround(pos);
    for (let i = 0; i < nRot / 2; i++, t = Math.fround(t * scale)) theta[i] = t;
  }
  return theta;
}

/**
 * Rotary position embedding as llama.cpp applies it. Rope type NORM (llama): within each head, the
 * ADJACENT pair (2i, 2i+1) for i < n_rot/2 is rotated by theta = pos * base^(-2i / n_rot). Rope
 * type NEOX (qwen2, qwen3, gemma, phi3): the pair (i, i + n_rot/2) is rotated by the same angle.
 * Dimensions at or past n_rot are left as they are. `x` is [pos, n_heads * d_head].
 */
export function rope(x: Mat, nHeads: number, dHead: number, nRot: number, positions: readonly number[], base: number, angles: RopeAngles = 'exact', type: 'norm' | 'neox' = 'norm'): Mat {
  if (x.cols !== nHeads * dHead) throw new RangeError(`rope input rows are ${x.cols}, expected ${nHeads} x ${dHead}`);
  const y = mat(x.rows, x.cols, x.data.slice());
  for (let r = 0; r < x.rows; r++) {
    const thetas = ropeAngles(positions[r]!, nRot, base, angles);
    for (let h = 0; h < nHeads; h++) {
      const at = r * x.cols + h * dHead;
      for (let i = 0; i < nRot / 2; i++) {
        const theta = thetas[i]!;
        const c = Math.cos(theta);
        const s = Math.sin(theta);
        const [i0, i1] = type === 'norm' ? [at + 2 * i, at + 2 * i + 1] : [at + i, at + i + nRot / 2];
        const x0 = x.data[i0]!;
        const x1 = x.data[i1]!;
        y.data[i0] = x0 * c - x1 * s;
        y.data[i1] = x0 * s + x1 * c;
      }
    }
  }
  return y;
}

/** Softmax of the first `n` entries of `row`, in place; entries past n are set to 0. */
export function softmaxPrefix(row: Float64Array, n: number): void {
  let max = -Infinity;
  for (let j = 0; j < n; j++) max = Math.max(max, row[j]!);
  let sum = 0;
  for (let j = 0; j < n; j++) sum += (row[j] = Math.exp(row[j]! - max));
  for (let j = 0; j < n; j++) row[j] = row[j]! / sum;
  row.fill(0, n);
}

/** GELU in its tanh form (gemma's FFN): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
export function gelu(v: number): number {
  return 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * v * (1 + 0.044715 * v * v)));
}

/** cap * tanh(v / cap): gemma's soft-capping of attention scores and logits. */
export function softcap(v: number, cap: number): number {
  return cap * Math.tanh(v / cap);
}

export function silu(v: number): number {
  return v / (1 + Math.exp(-v));
}

/** x + bias on every row. */
export function addBias(x: Mat, bias: Float32Array): Mat {
  if (bias.length !== x.cols) throw new RangeError(`bias has ${bias.length} values, rows have ${x.cols}`);
  return mat(x.rows, x.cols, x.data.map((v, i) => v + bias[i % x.cols]!));
}

/** RMSNorm of each d_head slice of every row (per-head q/k norm), with a [d_head] gain. */
export function rmsNormHeads(x: Mat, nHeads: number, dHead: number, gain: Float32Array, eps: number): Mat {
  const heads = rmsNorm(mat(x.rows * nHeads, dHead, x.data.slice()), gain, eps);
  return mat(x.rows, x.cols, heads.data.slice());
}

export function add(a: Mat, b: Mat): Mat {
  if (a.rows !== b.rows || a.cols !== b.cols) throw new RangeError(`cannot add [${a.rows}, ${a.cols}] and [${b.rows}, ${b.cols}]`);
  return mat(a.rows, a.cols, a.data.map((v, i) => v + b.data[i]!));
}

export function toFloat32(m: Mat): Float32Array {
  return Float32Array.from(m.data);
}
