// A previous-token head built from RoPE alone. The head's query and key are the same for every
// token (they read only the constant "bias" slot of the embeddings), so its score depends only on
// the distance Δ = q - k. llama.cpp's "normal" RoPE turns each pair (2i, 2i+1) of a head by
// pos * base^(-2i/d_head); with the key's pair i given a phase of +θ_i, the score is
// S * Σ_i w_i cos((Δ - 1) θ_i): largest at Δ = 1. The weights w_i are chosen to keep every other
// distance up to the context length as far below that peak as possible (a small zero-sum game
// solved by multiplicative weights), so the head stays sharp on long prompts too.

export interface PrevTokenHead {
  /** [d_head] query and key before RoPE */
  readonly q: Float64Array;
  readonly k: Float64Array;
  /** normalized weight of each rotary pair */
  readonly weights: Float64Array;
  /** 1 - (largest score at Δ != 1) / (score at Δ = 1), over Δ in 0..horizon */
  readonly margin: number;
  /** score at Δ = 1 (the softmax logit the head gives the previous token) */
  readonly peakScore: number;
}

export function rotaryFrequencies(dHead: number, base: number): Float64Array {
  return Float64Array.from({ length: dHead / 2 }, (_, i) => Math.pow(base, (-2 * i) / dHead));
}

/** Score profile f(Δ) = Σ w_i cos((Δ - 1) θ_i), with Σ w = 1 (so f(1) = 1). */
export function scoreProfile(weights: Float64Array, theta: Float64Array, delta: number): number {
  let f = 0;
  for (let i = 0; i < weights.length; i++) f += weights[i]! * Math.cos((delta - 1) * theta[i]!);
  return f;
}

/**
 * Rotary weights maximizing min over Δ ≠ 1 of 1 - f(Δ): the pair player and the distance player
 * of the game both update multiplicatively; the pair player's average play converges to the optimum.
 */
function solveWeights(theta: Float64Array, horizon: number, rounds = 400, eta = 0.1): Float64Array {
  const n = theta.length;
  const deltas: number[] = [];
  for (let d = 0; d <= horizon; d++) if (d !== 1) deltas.push(d);
  const gain = deltas.map((d) => Float64Array.from(theta, (t) => 1 - Math.cos((d - 1) * t))); // [delta][pair]
  let w: Float64Array = new Float64Array(n).fill(1 / n);
  let p: Float64Array = new Float64Array(deltas.length).fill(1 / deltas.length);
  const avg = new Float64Array(n);
  for (let r = 0; r < rounds; r++) {
    const payPair = new Float64Array(n);
    const payDelta = new Float64Array(deltas.length);
    gain.forEach((g, j) => {
      for (let i = 0; i < n; i++) {
        payPair[i]! += p[j]! * g[i]!;
        payDelta[j]! += w[i]! * g[i]!;
      }
    });
    w = normalize(w.map((x, i) => x * Math.exp(eta * payPair[i]!)));
    p = normalize(p.map((x, j) => x * Math.exp(-eta * payDelta[j]!)));
    for (let i = 0; i < n; i++) avg[i]! += w[i]! / rounds;
  }
  return normalize(avg);
}

function normalize(v: Float64Array): Float64Array {
  const s = v.reduce((a, b) => a + b, 0);
  return v.map((x) => x / s);
}

/**
 * Query and key of a head of `dHead` dims whose attention peaks at the previous token, with
 * softmax logit `peakScore` there (scores include llama.cpp's 1/sqrt(d_head)).
 */
export function buildPrevTokenHead(dHead: number, ropeBase: number, horizon: number, peakScore: number): PrevTokenHead {
  const theta = rotaryFrequencies(dHead, ropeBase);
  const weights = solveWeights(theta, horizon);
  let worst = -Infinity;
  for (let d = 0; d <= horizon; d++) if (d !== 1) worst = Math.max(worst, scoreProfile(weights, theta, d));
  const q = new Float64Array(dHead);
  const k = new Float64Array(dHead);
  weights.forEach((w, i) => {
    // q_i · R(Δθ_i) k_i / sqrt(d_head) = w_i * peakScore * cos((Δ - 1) θ_i)
    const amp = Math.sqrt(w * peakScore * Math.sqrt(dHead));
    q[2 * i] = amp;
    k[2 * i] = amp * Math.cos(theta[i]!);
    k[2 * i + 1] = amp * Math.sin(theta[i]!);
  });
  return { q, k, weights, margin: 1 - worst, peakScore };
}

/**
 * The head's attention on the previous token at every query position 1..horizon when every key is
 * a grammar token (all keys equal before RoPE): softmax over Δ = 0..q of peakScore * f(Δ).
 */
export function prevTokenWeights(h: PrevTokenHead, dHead: number, ropeBase: number, horizon: number): Float64Array {
  const theta = rotaryFrequencies(dHead, ropeBase);
  const out = new Float64Array(horizon);
  const peak = h.peakScore;
  let denom = Math.exp(peak * scoreProfile(h.weights, theta, 0) - peak);
  for (let q = 1; q <= horizon; q++) {
    denom += Math.exp(peak * scoreProfile(h.weights, theta, q) - peak);
    out[q - 1] = 1 / denom; // exp(peak * f(1) - peak) = 1
  }
  return out;
}
