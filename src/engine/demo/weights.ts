// From fitted factors and the depth plan (./plan.ts) to the tensors of a Llama model that
// llama.cpp runs as is. Every constructed part reads and writes its own subspace of the residual
// stream, so each can be built in closed form:
//
//   [0, dir)          the token's direction from the bigram fit (length dirLength)
//   bias              a constant slot: the output rows' column bias, and the constant query/key
//                     of the position-only heads; the FFNs' gates read it too
//   code              the token's trigram code (unit * codeLength), copied by layer 0 head 0
//   id                the token's identity code (unit * idLength), for the induction circuit
//   sink              only <s> has it: the key of the attention sinks
//   prev              layer 0 head 0 writes the previous token's code here
//   prevId            the layer-2 previous-token head writes the previous token's identity here
//   induct            the induction head writes the identity of the token it predicts here
//   y                 the prediction: a copy of [direction, bias], grown by the FFNs
//   g                 rotated copies of the direction, one rotation per block (and the previous
//                     token's block-0 copy, written by the layer-2 previous-token head)
//   spare             unused by grammar tokens
// A grammar token's embedding has length 1. The states' norms follow the plan, so every RMSNorm
// divides by a known number and the constructed weights undo it. The final norm's gain makes the
// logits equal the fitted ones. Heads and FFN units that are not constructed have random queries
// and keys (their patterns exist) and write with weights of 1e-5.
import { GgmlType } from '../gguf/ggmlTypes';
import type { FloatTensor, LlamaShape } from '../gguf/llamaWriter';
import { llamaTensorShapes } from '../gguf/llamaWriter';
import type { Rng } from '../util/random';
import type { Mat } from './linalg';
import { planNorms, type DepthPlan, type PlanNorms } from './plan';
import type { PrevTokenHead } from './prevTokenHead';

export interface DemoLayout {
  readonly dirDims: number;
  readonly codeDims: number;
  readonly idDims: number;
  /** how many leading direction dims the layer-2 previous-token head copies (it also copies the id) */
  readonly prevDirDims: number;
  /** |direction|, the bias slot, |code|, |id|: squares sum to 1 */
  readonly dirLength: number;
  readonly biasValue: number;
  readonly codeLength: number;
  readonly idLength: number;
  /** <s>'s value in the sink slot */
  readonly sinkValue: number;
}

export interface LayoutOffsets {
  bias: number;
  code: number;
  id: number;
  sink: number;
  prev: number;
  prevId: number;
  induct: number;
  y: number;
  g: number;
  spare: number;
}

export function layoutOffsets(l: DemoLayout): LayoutOffsets {
  const bias = l.dirDims;
  const code = bias + 1;
  const id = code + l.codeDims;
  const sink = id + l.idDims;
  const prev = sink + 1;
  const prevId = prev + l.codeDims;
  const induct = prevId + l.idDims;
  const y = induct + l.idDims;
  const g = y + l.dirDims + 1;
  return { bias, code, id, sink, prev, prevId, induct, y, g, spare: g + l.dirDims };
}

/** Attention scores (softmax logits) the constructed heads give. */
export interface HeadScores {
  /** per sink head of layers >= 2: the score of <s> (drawn between these) */
  readonly sinkMin: number;
  readonly sinkMax: number;
  /** the induction head: an exact identity match, and <s> */
  readonly inductionMatch: number;
  readonly inductionSink: number;
  /** logit added to the token the induction head copies (with all its attention on the match) */
  readonly inductionGain: number;
}

export interface DemoWeightsInput {
  readonly shape: LlamaShape;
  readonly layout: DemoLayout;
  readonly plan: DepthPlan;
  readonly scores: HeadScores;
  /** local index -> token id of the grammar's tokens (BOS is local 0) */
  readonly tokenIds: readonly number[];
  /** [local, dirDims + 1]: the fitted input rows (direction * dirLength, bias value); zero rows for non-contexts */
  readonly design: Mat;
  /** [local, dirDims + 1]: output rows in logit units (zero rows for tokens never predicted) */
  readonly theta: Mat;
  /** [local, codeDims] unit codes and [local, codeDims] their output entries in logit units */
  readonly code: Mat;
  readonly phi: Mat;
  /** [local, idDims] unit identity codes (zero for BOS) */
  readonly ids: Mat;
  /** the logit every token outside the grammar (and BOS) gets after a grammar token */
  readonly outsideLogit: number;
  /** query and key of the previous-token heads (d_head dims): layer 0's, and the later one's
   * (a little softer, so that layer 0 head 0 stays the sharpest previous-token head) */
  readonly prevHead: PrevTokenHead;
  readonly latePrevHead: PrevTokenHead;
  readonly rng: Rng;
}

const TINY = 1e-5;
/** the FFN gates' pre-activation for grammar tokens: silu is then a constant factor */
const GATE = 3;
const silu = (z: number): number => z / (1 + Math.exp(-z));

export interface DemoWeights {
  readonly tensors: FloatTensor[];
  /** the logit scale: stored output rows are the fitted ones divided by it */
  readonly kappa: number;
  readonly norms: PlanNorms;
}

export function demoTensors(inp: DemoWeightsInput): DemoWeights {
  const { shape, layout: l, plan, rng } = inp;
  const d = shape.dModel;
  const dHead = d / shape.nHeads;
  const off = layoutOffsets(l);
  const w = l.dirDims + 1;
  if (off.spare > d) throw new Error(`layout needs ${off.spare} dims of ${d}`);
  if (plan.nLayers !== shape.nLayers) throw new Error(`plan for ${plan.nLayers} layers, model has ${shape.nLayers}`);
  if (l.prevDirDims + l.idDims > dHead || 2 * l.idDims + 4 > dHead) throw new Error(`d_head ${dHead} too small for the constructed heads`);
  const designLength = Math.sqrt(l.dirLength ** 2 + l.biasValue ** 2);
  const norms = planNorms(plan, designLength, l.dirLength);
  const L = shape.nLayers;
  const rms = (norm: number): number => Math.sqrt((norm * norm) / d + shape.rmsEps);
  const nLocal = inp.tokenIds.length;

  // per block: a random rotation of the direction (what that block's FFN adds to g)
  const rotations = Array.from({ length: L }, () => randomOrthogonal(l.dirDims, rng));

  // the logit scale: raw output rows (logit units against the final state) average length kappa
  const iota = norms.iota[L]!;
  const rawRow = (a: number): Float64Array => {
    const r = new Float64Array(d);
    for (let k = 0; k < w; k++) {
      r[k] = norms.lambda * inp.theta.data[a * w + k]!;
      r[off.y + k] = norms.mu * inp.theta.data[a * w + k]!;
    }
    for (let k = 0; k < l.codeDims; k++) r[off.prev + k] = inp.phi.data[a * l.codeDims + k]! / norms.p[L]!;
    for (let k = 0; k < l.idDims; k++) r[off.induct + k] = (inp.scores.inductionGain * inp.ids.data[a * l.idDims + k]!) / iota;
    return r;
  };
  let kappa = 0;
  let nOut = 0;
  const predicted = (a: number): boolean => inp.theta.data.subarray(a * w, (a + 1) * w).some((v) => v !== 0);
  for (let a = 0; a < nLocal; a++) {
    if (!predicted(a)) continue;
    kappa += Math.hypot(...rawRow(a));
    nOut++;
  }
  kappa /= nOut;

  const embd = new Float32Array(d * shape.nVocab);
  const out = new Float32Array(d * shape.nVocab);
  const local = new Int32Array(shape.nVocab).fill(-1);
  inp.tokenIds.forEach((t, i) => (local[t] = i));
  const outsideSpan = d - off.y;
  for (let t = 0; t < shape.nVocab; t++) {
    const a = local[t]!;
    const e = t * d;
    const isContext = a >= 0 && inp.design.data[a * w + l.dirDims] !== 0;
    if (isContext) {
      for (let k = 0; k < w; k++) embd[e + k] = inp.design.data[a * w + k]!;
      for (let k = 0; k < l.codeDims; k++) embd[e + off.code + k] = l.codeLength * inp.code.data[a * l.codeDims + k]!;
      for (let k = 0; k < l.idDims; k++) embd[e + off.id + k] = l.idLength * inp.ids.data[a * l.idDims + k]!;
      if (a === 0) embd[e + off.sink] = l.sinkValue;
    } else {
      // outside the grammar: a small random row where no constructed part reads, so such a token
      // passes through the blocks untouched (as a model would treat a token it never saw)
      for (let k = off.y; k < d; k++) embd[e + k] = (0.3 / Math.sqrt(outsideSpan)) * rng.normal();
    }
    if (a >= 0 && predicted(a)) {
      const r = rawRow(a);
      for (let k = 0; k < d; k++) out[e + k] = r[k]! / kappa;
    } else {
      // never predicted: the bias slots put it below every grammar continuation, at every depth
      // alike; the spare dimensions (zero in grammar states) give it a small random row of its own
      out[e + off.bias] = (norms.lambda * inp.outsideLogit) / (l.biasValue * kappa);
      out[e + off.y + l.dirDims] = (norms.mu * inp.outsideLogit) / (l.biasValue * kappa);
      for (let k = off.spare; k < d; k++) out[e + k] = (0.3 / Math.sqrt(d - off.spare)) * rng.normal();
    }
  }

  const values = new Map<string, Float32Array>();
  for (const t of llamaTensorShapes(shape, false)) {
    const n = t.dims.reduce((x, y) => x * y, 1);
    if (t.name === 'token_embd.weight') values.set(t.name, embd);
    else if (t.name === 'output.weight') values.set(t.name, out);
    else if (t.dims.length === 1) values.set(t.name, new Float32Array(n).fill(t.name === 'output_norm.weight' ? (kappa * norms.norm[L]!) / Math.sqrt(d) : 1));
    else if (/attn_output|ffn_down/.test(t.name)) values.set(t.name, rng.normals(n, TINY));
    else values.set(t.name, rng.normals(n, 1 / Math.sqrt(t.dims[0]!)));
  }
  const blk = (layer: number, name: string): Float32Array => values.get(`blk.${layer}.${name}.weight`)!;
  const ctx: BlockContext = { d, dHead, l, off, norms, rms };

  // layer 0 head 0: the previous token's code into `prev`
  prevTokenHead(ctx, blk, 0, 0, inp.prevHead, [{ from: off.code, to: off.prev, dims: l.codeDims, length: l.codeLength, write: norms.p[1]! }]);
  // sinks in every head of layers 2.. that is not constructed otherwise
  for (let layer = 2; layer < L; layer++) {
    for (let h = 0; h < shape.nHeads; h++) {
      if (h === 0 && (layer === plan.prevBlock || layer === plan.inductionBlock)) continue;
      const score = inp.scores.sinkMin + (inp.scores.sinkMax - inp.scores.sinkMin) * rng.uniform();
      sinkPair(ctx, blk, layer, h, dHead / 2 - 1, score, false);
    }
  }
  // layer prevBlock head 0: the previous token's leading direction dims (into g, through block 0's
  // rotation, as block 0 writes the token's own) and its identity (into prevId)
  const r0 = rotations[0]!;
  prevTokenHead(ctx, blk, plan.prevBlock, 0, inp.latePrevHead, [
    { from: 0, to: off.g, dims: l.prevDirDims, length: l.dirLength, write: plan.alpha, rotate: (r, c) => r0.data[r * l.dirDims + c]!, outDims: l.dirDims },
    { from: off.id, to: off.prevId, dims: l.idDims, length: l.idLength, write: plan.pid },
  ]);
  inductionHead(ctx, blk, plan, inp.scores);
  for (let layer = 0; layer < L; layer++) ffnBlock(ctx, blk, layer, plan, rotations[layer]!);

  const tensors = llamaTensorShapes(shape, false).map((t) => ({ name: t.name, dims: t.dims, type: GgmlType.F32, data: values.get(t.name)! }));
  return { tensors, kappa, norms };
}

interface BlockContext {
  d: number;
  dHead: number;
  l: DemoLayout;
  off: LayoutOffsets;
  norms: PlanNorms;
  rms: (norm: number) => number;
}
type Blk = (layer: number, name: string) => Float32Array;

/** Zero head h's rows of W_Q, W_K, W_V and its columns of W_O. */
function clearHead(c: BlockContext, blk: Blk, layer: number, h: number, which: ReadonlyArray<'q' | 'k' | 'v' | 'o'>): void {
  const { d, dHead } = c;
  for (const m of which) {
    if (m === 'o') {
      const wo = blk(layer, 'attn_output');
      for (let row = 0; row < d; row++) wo.fill(0, row * d + h * dHead, row * d + (h + 1) * dHead);
    } else {
      blk(layer, `attn_${m}`).fill(0, h * dHead * d, (h + 1) * dHead * d);
    }
  }
}

interface Copy {
  /** first residual dim read, where it goes, how many dims */
  from: number;
  to: number;
  dims: number;
  /** |what is read| in the embedding (the source is m * length * unit vector) */
  length: number;
  /** |what is written| */
  write: number;
  /** optional map of the copied dims into outDims dims: row r, column c */
  rotate?: (r: number, c: number) => number;
  outDims?: number;
}

/** A previous-token head (RoPE only, ./prevTokenHead.ts) whose value copies parts of the previous token's embedding. */
function prevTokenHead(c: BlockContext, blk: Blk, layer: number, h: number, head: PrevTokenHead, copies: readonly Copy[]): void {
  const { d, dHead, l, off, norms } = c;
  clearHead(c, blk, layer, h, ['q', 'k', 'v', 'o']);
  const m = norms.m[layer]!;
  const scale = c.rms(norms.norm[layer]!);
  const bias = (m * l.biasValue) / scale; // the bias slot after attn_norm
  const wq = blk(layer, 'attn_q');
  const wk = blk(layer, 'attn_k');
  const wv = blk(layer, 'attn_v');
  const wo = blk(layer, 'attn_output');
  for (let r = 0; r < dHead; r++) {
    wq[(h * dHead + r) * d + off.bias] = head.q[r]! / bias;
    wk[(h * dHead + r) * d + off.bias] = head.k[r]! / bias;
  }
  let slot = 0;
  for (const cp of copies) {
    // value: the source as a unit vector; output: `write` times it (or its map)
    for (let k = 0; k < cp.dims; k++) wv[(h * dHead + slot + k) * d + cp.from + k] = scale / (m * cp.length);
    const outDims = cp.outDims ?? cp.dims;
    for (let r = 0; r < outDims; r++) {
      for (let k = 0; k < cp.dims; k++) {
        const v = cp.rotate ? cp.rotate(r, k) : r === k ? 1 : 0;
        if (v !== 0) wo[(cp.to + r) * d + h * dHead + slot + k] = cp.write * v;
      }
    }
    slot += cp.dims;
  }
}

/**
 * Put an attention sink into rotary pair `pair` of head h: the query reads the bias slot (every
 * grammar token has it), the key reads the sink slot (only <s> has it), so <s> gets `score` on top
 * of whatever the rest of the head gives. A low-frequency pair keeps it nearly position-free.
 * `clear`: the head's other dims are left to the caller (else they keep their random weights).
 */
function sinkPair(c: BlockContext, blk: Blk, layer: number, h: number, pair: number, score: number, clear: boolean): void {
  const { d, dHead, l, off, norms } = c;
  if (clear) clearHead(c, blk, layer, h, ['q', 'k']);
  const wq = blk(layer, 'attn_q');
  const wk = blk(layer, 'attn_k');
  for (const r of [2 * pair, 2 * pair + 1]) {
    wq.fill(0, (h * dHead + r) * d, (h * dHead + r + 1) * d);
    wk.fill(0, (h * dHead + r) * d, (h * dHead + r + 1) * d);
  }
  const bias = (norms.m[layer]! * l.biasValue) / c.rms(norms.norm[layer]!);
  const sink = l.sinkValue / c.rms(norms.norm[layer]!); // <s>'s state grows like the others'
  const qk = Math.sqrt(score * Math.sqrt(dHead));
  wq[(h * dHead + 2 * pair) * d + off.bias] = qk / bias;
  wk[(h * dHead + 2 * pair) * d + off.sink] = qk / sink;
}

/**
 * The induction head: its query is the current token's identity, its key the identity the
 * previous-token head wrote (the previous token's), both in the lowest-frequency rotary pairs so
 * that RoPE barely turns them over a prompt; its value is the key token's own identity, written
 * into `induct`. With no match it rests on <s> (its own sink pair), whose identity is zero.
 */
function inductionHead(c: BlockContext, blk: Blk, plan: DepthPlan, s: HeadScores): void {
  const { d, dHead, l, off, norms } = c;
  const layer = plan.inductionBlock;
  const h = 0;
  clearHead(c, blk, layer, h, ['q', 'k', 'v', 'o']);
  const scale = c.rms(norms.norm[layer]!);
  const m = norms.m[layer]!;
  const wq = blk(layer, 'attn_q');
  const wk = blk(layer, 'attn_k');
  const wv = blk(layer, 'attn_v');
  const wo = blk(layer, 'attn_output');
  const first = dHead - l.idDims; // the id sits in the top pairs (lowest frequencies)
  const qk = Math.sqrt(s.inductionMatch * Math.sqrt(dHead));
  for (let k = 0; k < l.idDims; k++) {
    wq[(h * dHead + first + k) * d + off.id + k] = qk / ((m * l.idLength) / scale);
    wk[(h * dHead + first + k) * d + off.prevId + k] = qk / (plan.pid / scale);
    wv[(h * dHead + k) * d + off.id + k] = scale / (m * l.idLength);
    wo[(off.induct + k) * d + h * dHead + k] = plan.iota;
  }
  sinkPair(c, blk, layer, h, first / 2 - 1, s.inductionSink, false);
}

/**
 * Block `layer`'s FFN, linear for grammar tokens: each used unit's gate reads the bias slot (a
 * constant, so silu(gate) is a constant factor) and its up-projection one dim of the embedding or
 * of `prev`. Its down-projection writes what the plan adds: more of the embedding (m), more of the
 * prediction copy (y), a new rotation of the direction (g), a larger previous-token code (p) and,
 * from the induction block on, a larger induction output.
 */
function ffnBlock(c: BlockContext, blk: Blk, layer: number, plan: DepthPlan, rot: Mat): void {
  const { d, l, off, norms } = c;
  const gate = blk(layer, 'ffn_gate');
  const up = blk(layer, 'ffn_up');
  const down = blk(layer, 'ffn_down');
  const dFf = gate.length / d;
  const embDims = off.sink; // [0, sink): direction, bias, code, id
  const grows = layer >= plan.inductionBlock; // the induction head's output grows from its block on
  const units = embDims + l.codeDims + (grows ? l.idDims : 0);
  if (units > dFf) throw new Error(`d_ff ${dFf} < ${units} units the FFN needs`);
  const scale = c.rms(norms.mid[layer]!);
  const m = norms.m[layer]!;
  const bias = (m * l.biasValue) / scale;
  const f = silu(GATE);
  const pMid = norms.p[Math.max(layer, 1)]!;
  for (let u = 0; u < units; u++) {
    gate.fill(0, u * d, (u + 1) * d);
    up.fill(0, u * d, (u + 1) * d);
    for (let r = 0; r < d; r++) down[r * dFf + u] = 0;
    gate[u * d + off.bias] = GATE / bias;
  }
  // unit i < embDims: reads m * e_i (scaled by 1 / scale); writes e, y and g
  const perE = scale / (m * f); // down weight that turns the unit's output into 1 * e_i
  for (let i = 0; i < embDims; i++) {
    up[i * d + i] = 1;
    down[i * dFf + i] = (norms.m[layer + 1]! - m) * perE;
    if (i <= l.dirDims) down[(off.y + i) * dFf + i] = (plan.y[layer + 1]! - plan.y[layer]!) * perE;
    if (i < l.dirDims) for (let r = 0; r < l.dirDims; r++) down[(off.g + r) * dFf + i] = plan.g[layer]! * rot.data[r * l.dirDims + i]! * perE;
  }
  // units for prev: grow the previous token's code from pMid to p[layer + 1]
  for (let k = 0; k < l.codeDims; k++) {
    const u = embDims + k;
    up[u * d + off.prev + k] = 1;
    down[(off.prev + k) * dFf + u] = ((norms.p[layer + 1]! - pMid) / pMid) * (scale / f);
  }
  if (!grows) return;
  const iMid = layer === plan.inductionBlock ? plan.iota : norms.iota[layer]!;
  for (let k = 0; k < l.idDims; k++) {
    const u = embDims + l.codeDims + k;
    up[u * d + off.induct + k] = 1;
    down[(off.induct + k) * dFf + u] = ((norms.iota[layer + 1]! - iMid) / iMid) * (scale / f);
  }
}

/** A random orthogonal n x n matrix (Gram-Schmidt on Gaussian columns). */
export function randomOrthogonal(n: number, rng: Rng): Mat {
  const a = new Float64Array(n * n);
  for (let i = 0; i < a.length; i++) a[i] = rng.normal();
  for (let j = 0; j < n; j++) {
    for (let k = 0; k < j; k++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += a[i * n + j]! * a[i * n + k]!;
      for (let i = 0; i < n; i++) a[i * n + j]! -= s * a[i * n + k]!;
    }
    let s = 0;
    for (let i = 0; i < n; i++) s += a[i * n + j]! ** 2;
    const inv = 1 / Math.sqrt(s);
    for (let i = 0; i < n; i++) a[i * n + j]! *= inv;
  }
  return { rows: n, cols: n, data: a };
}

/**
 * n unit identity codes of `dims` dims, spread apart (a few steps that lower the largest
 * overlaps), so that the induction head tells tokens apart; row 0 (BOS) is zero.
 */
export function identityCodes(n: number, dims: number, rng: Rng, steps = 60): Mat {
  const v = new Float64Array(n * dims);
  for (let i = dims; i < v.length; i++) v[i] = rng.normal();
  const normalize = (a: number): void => {
    let s = 0;
    for (let k = 0; k < dims; k++) s += v[a * dims + k]! ** 2;
    const inv = 1 / Math.sqrt(s);
    for (let k = 0; k < dims; k++) v[a * dims + k]! *= inv;
  };
  for (let a = 1; a < n; a++) normalize(a);
  const grad = new Float64Array(n * dims);
  for (let step = 0; step < steps; step++) {
    grad.fill(0);
    for (let a = 1; a < n; a++) {
      for (let b = a + 1; b < n; b++) {
        let c = 0;
        for (let k = 0; k < dims; k++) c += v[a * dims + k]! * v[b * dims + k]!;
        const g = c * c * c; // d/dc of c^4 / 4
        for (let k = 0; k < dims; k++) {
          grad[a * dims + k]! += g * v[b * dims + k]!;
          grad[b * dims + k]! += g * v[a * dims + k]!;
        }
      }
    }
    for (let a = 1; a < n; a++) {
      for (let k = 0; k < dims; k++) v[a * dims + k]! -= 0.05 * grad[a * dims + k]!;
      normalize(a);
    }
  }
  return { rows: n, cols: dims, data: v };
}
