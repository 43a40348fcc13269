// The depth plan of the demo model: how large each part of a grammar token's state is after
// every layer. The blocks are built to follow it (./weights.ts), so the views have something to
// show at every depth, each part for a reason the docs give:
//   m  the token's own embedding, re-written by the FFNs so that it stays readable (article Fig. 4:
//      the input word's amplitude falls, then holds)
//   y  a copy of the embedding's direction and bias slot in a "prediction" subspace that the
//      output dictionary reads: the next-word prediction grows with depth (the logit lens, Fig. 5)
//   p  the previous token's code (layer 0 head 0), grown by the FFNs along with the prediction
//   g  rotated copies of the token's direction, one new rotation per block: "information loaded
//      into the state", which makes neighbouring layers' states differ by about what Fig. 12 shows
//   alpha, pid  what the layer-2 previous-token head writes: the previous token's block-0 rotated
//      direction (the middle dictionary reads it) and its identity code (the induction head's key)
//   iota  what the layer-4 induction head writes: the identity of the token it predicts
// Norms are absolute (a grammar token's embedding has length 1); parts sit in disjoint subspaces
// and the rotations are nearly orthogonal, so squared norms add.

export interface DepthPlan {
  readonly nLayers: number;
  /** states 0..nLayers: multiple of the embedding */
  readonly m: readonly number[];
  /** states 0..nLayers: multiple of the embedding's direction and bias slot copied into Y */
  readonly y: readonly number[];
  /** states 0..nLayers: |previous token's code| in P (0 before block 0) */
  readonly p: readonly number[];
  /** blocks 0..nLayers-1: each block's FFN adds g * R_l (direction part of the embedding) */
  readonly g: readonly number[];
  /** the block whose head 0 copies the previous token's direction and identity, and its norms */
  readonly prevBlock: number;
  readonly alpha: number;
  readonly pid: number;
  /** the block whose head 0 is the induction head, and |what it writes| when it finds its match
   * (the later FFNs grow it along with the prediction) */
  readonly inductionBlock: number;
  readonly iota: number;
  /** share of the final bigram logits that the embedding itself carries (the rest comes from Y) */
  readonly directShare: number;
}

export const DEMO_PLAN: DepthPlan = {
  nLayers: 8,
  m: [1, 1, 1, 1, 1.05, 1.2, 1.4, 1.6, 1.8],
  y: [0, 0.1, 0.25, 0.55, 0.95, 1.45, 2.0, 2.6, 3.3],
  p: [0, 0, 0, 0, 0, 0, 0, 0, 1.4], // only the last is used: planNorms grows p with the prediction
  g: [1.1, 0.4, 0.9, 1.1, 1.3, 1.5, 1.7, 1.9],
  prevBlock: 2,
  alpha: 1.0,
  pid: 0.6,
  inductionBlock: 4,
  iota: 0.8,
  directShare: 0.1,
};

export interface PlanNorms {
  /** the plan's m (multiple of the embedding), states 0..nLayers */
  readonly m: readonly number[];
  /** p at every state: the final p times the prediction's strength relative to the final */
  readonly p: number[];
  /** |what the induction head wrote| at every state, when it found its match (0 before it) */
  readonly iota: number[];
  /** |h_l| for a grammar token (no induction match), states 0..nLayers */
  readonly norm: number[];
  /** |h| after block l's attention, before its FFN */
  readonly mid: number[];
  /** the prediction's strength in the state, relative to the final: (λ m + μ y) / (λ m + μ y)_final */
  readonly pred: number[];
  /** the logit lens's bigram logit scale at each state, relative to the final */
  readonly lensScale: number[];
  /** the input-dictionary amplitude of the token itself, m / |h| */
  readonly amplitude: number[];
  /** expected cosine of neighbouring states */
  readonly gapCosine: number[];
  /** logit weights of the embedding's and Y's copies of the output rows: λ m_final + μ y_final = 1 */
  readonly lambda: number;
  readonly mu: number;
}

/** |design| = |direction * dirLength, bias| and |direction part| of a grammar token's embedding */
export function planNorms(plan: DepthPlan, designLength: number, dirLength: number): PlanNorms {
  const L = plan.nLayers;
  const lambda = plan.directShare / plan.m[L]!;
  const mu = (1 - plan.directShare) / plan.y[L]!;
  const pred = plan.m.map((m, l) => lambda * m + mu * plan.y[l]!);
  const p = pred.map((v, l) => (l === 0 ? 0 : plan.p[L]! * v));
  const after = plan.inductionBlock + 1;
  const iota = pred.map((v, l) => (l < after ? 0 : (plan.iota * v) / pred[after]!));
  const gSq = (l: number): number => plan.g.slice(0, l).reduce((s, g) => s + (g * dirLength) ** 2, 0);
  const late = (l: number): number => (l > plan.prevBlock ? plan.alpha ** 2 + plan.pid ** 2 : 0);
  const sq = (l: number): number => plan.m[l]! ** 2 + (plan.y[l]! * designLength) ** 2 + p[l]! ** 2 + gSq(l) + late(l);
  const norm = plan.m.map((_, l) => Math.sqrt(sq(l)));
  const mid = plan.g.map((_, l) => {
    // block 0's head writes p[1]; the previous-token head of prevBlock writes alpha and pid
    let s = sq(l);
    if (l === 0) s += p[1]! ** 2;
    if (l === plan.prevBlock) s += plan.alpha ** 2 + plan.pid ** 2;
    return Math.sqrt(s);
  });
  const lensScale = pred.map((v, l) => (v * norm[L]!) / norm[l]!);
  const amplitude = plan.m.map((m, l) => m / norm[l]!);
  const gapCosine = plan.g.map((_, l) => {
    const shared = plan.m[l]! * plan.m[l + 1]! + plan.y[l]! * plan.y[l + 1]! * designLength ** 2 + p[l]! * p[l + 1]! + gSq(l) + late(l);
    return shared / (norm[l]! * norm[l + 1]!);
  });
  return { m: plan.m, p, iota, norm, mid, pred, lensScale, amplitude, gapCosine, lambda, mu };
}
