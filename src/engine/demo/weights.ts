// From fitted factors to the tensors of a Llama model that llama.cpp runs as is.
//
// Residual stream layout (d_model = 128):
//   [0, dir)                 the token's direction from the bigram fit (length dirLength)
//   dir                      a constant "bias" slot: carries the output rows' column bias and
//                            gives the previous-token head its constant query and key
//   [code, code + C)         the token's code (unit vector, length codeLength) that the head copies
//   [headOut, headOut + C)   where layer 0 head 0 writes the previous token's code
//   the rest                 unused by grammar tokens (the rest of the vocabulary's output rows
//                            keep their small random entries there)
// A grammar token's embedding has length 1, so RMSNorm scales every position alike; the final norm
// gain is set so that the logits equal the fitted ones. Every other head and both FFNs write with
// weights ~1e-5: the blocks act as identity, but their attention patterns still exist (they mean
// little, which the docs say).
import { GgmlType } from '../gguf/ggmlTypes';
import type { FloatTensor, LlamaShape } from '../gguf/llamaWriter';
import { llamaTensorShapes } from '../gguf/llamaWriter';
import type { Rng } from '../util/random';
import type { Mat } from './linalg';
import type { PrevTokenHead } from './prevTokenHead';

export interface DemoLayout {
  readonly dirDims: number;
  readonly codeDims: number;
  /** |direction| and the bias slot's value; dirLength² + bias² + codeLength² = 1 */
  readonly dirLength: number;
  readonly biasValue: number;
  readonly codeLength: number;
  /** |head output| when the head attends only to the previous token */
  readonly headOutLength: number;
}

export function layoutOffsets(l: DemoLayout): { bias: number; code: number; headOut: number; spare: number } {
  const bias = l.dirDims;
  return { bias, code: bias + 1, headOut: bias + 1 + l.codeDims, spare: bias + 1 + 2 * l.codeDims };
}

export interface DemoWeightsInput {
  readonly shape: LlamaShape;
  readonly layout: DemoLayout;
  /** local index -> token id of the grammar's tokens */
  readonly tokenIds: readonly number[];
  /** [local, dirDims + 1]: the fitted input rows (direction * dirLength, bias value); zero rows for non-contexts */
  readonly design: Mat;
  /** [local, dirDims + 1]: output rows in logit units (zero rows for tokens never predicted) */
  readonly theta: Mat;
  /** [local, codeDims] unit codes and [local, codeDims] head output entries in logit units */
  readonly code: Mat;
  readonly phi: Mat;
  /** the logit every token outside the grammar (and BOS) gets after a grammar token */
  readonly outsideLogit: number;
  readonly head: PrevTokenHead;
  readonly rng: Rng;
}

const TINY = 1e-5;

export interface DemoWeights {
  readonly tensors: FloatTensor[];
  /** the logit scale: stored output rows are the fitted ones divided by it */
  readonly kappa: number;
  readonly outputNormGain: number;
}

export function demoTensors(inp: DemoWeightsInput): DemoWeights {
  const { shape, layout: l, rng } = inp;
  const d = shape.dModel;
  const dHead = d / shape.nHeads;
  const off = layoutOffsets(l);
  if (off.spare > d || l.codeDims > dHead) throw new Error(`layout needs ${off.spare} dims of ${d} and a code of at most d_head = ${dHead}`);
  const nLocal = inp.tokenIds.length;
  const w = l.dirDims + 1;
  const eps = shape.rmsEps;
  // RMS of an embedding (length 1) and of the final state (embedding + head output)
  const rmsEmbed = Math.sqrt(1 / d + eps);
  const rmsFinal = Math.sqrt((1 + l.headOutLength ** 2) / d + eps);

  let kappa = 0;
  let nOut = 0;
  for (let a = 0; a < nLocal; a++) {
    let s = 0;
    for (let k = 0; k < w; k++) s += inp.theta.data[a * w + k]! ** 2;
    for (let k = 0; k < l.codeDims; k++) s += (inp.phi.data[a * l.codeDims + k]! / l.headOutLength) ** 2;
    if (s > 0) {
      kappa += Math.sqrt(s);
      nOut++;
    }
  }
  kappa /= nOut; // stored output rows of grammar tokens then average length 1

  const embd = new Float32Array(d * shape.nVocab);
  const out = new Float32Array(d * shape.nVocab);
  const local = new Int32Array(shape.nVocab).fill(-1);
  inp.tokenIds.forEach((t, i) => (local[t] = i));
  for (let t = 0; t < shape.nVocab; t++) {
    const a = local[t]!;
    const e = t * d;
    const isContext = a >= 0 && inp.design.data[a * w + l.dirDims] !== 0;
    if (isContext) {
      for (let k = 0; k < w; k++) embd[e + k] = inp.design.data[a * w + k]!;
      for (let k = 0; k < l.codeDims; k++) embd[e + off.code + k] = l.codeLength * inp.code.data[a * l.codeDims + k]!;
    } else {
      // outside the grammar: a small random row, as a model would have for a token it never saw
      for (let k = 0; k < d; k++) embd[e + k] = (0.3 / Math.sqrt(d)) * rng.normal();
    }
    const predicted = a >= 0 && inp.theta.data.subarray(a * w, (a + 1) * w).some((v) => v !== 0);
    if (predicted) {
      for (let k = 0; k < w; k++) out[e + k] = inp.theta.data[a * w + k]! / kappa;
      for (let k = 0; k < l.codeDims; k++) out[e + off.headOut + k] = inp.phi.data[a * l.codeDims + k]! / (kappa * l.headOutLength);
    } else {
      // never predicted: the bias slot puts it below every grammar continuation; the spare
      // dimensions (zero in grammar states) give it a small random row of its own
      out[e + off.bias] = inp.outsideLogit / (l.biasValue * kappa);
      for (let k = off.spare; k < d; k++) out[e + k] = (0.3 / Math.sqrt(d - off.spare)) * rng.normal();
    }
  }

  const values = new Map<string, Float32Array>();
  for (const t of llamaTensorShapes(shape, false)) {
    const n = t.dims.reduce((x, y) => x * y, 1);
    if (t.name === 'token_embd.weight') values.set(t.name, embd);
    else if (t.name === 'output.weight') values.set(t.name, out);
    else if (t.dims.length === 1) values.set(t.name, new Float32Array(n).fill(t.name === 'output_norm.weight' ? kappa * rmsFinal : 1));
    else if (/attn_output|ffn_down/.test(t.name)) values.set(t.name, rng.normals(n, TINY));
    else values.set(t.name, rng.normals(n, 1 / Math.sqrt(t.dims[0]!)));
  }

  // layer 0 head 0: constant query and key from the bias slot, value = the code, output into headOut
  const bias = l.biasValue / rmsEmbed; // the bias slot after attn_norm
  const wq = values.get('blk.0.attn_q.weight')!;
  const wk = values.get('blk.0.attn_k.weight')!;
  const wv = values.get('blk.0.attn_v.weight')!;
  const wo = values.get('blk.0.attn_output.weight')!;
  for (let r = 0; r < dHead; r++) {
    wq.fill(0, r * d, (r + 1) * d);
    wk.fill(0, r * d, (r + 1) * d);
    wv.fill(0, r * d, (r + 1) * d);
    wq[r * d + off.bias] = inp.head.q[r]! / bias;
    wk[r * d + off.bias] = inp.head.k[r]! / bias;
    if (r < l.codeDims) wv[r * d + off.code + r] = rmsEmbed / l.codeLength;
  }
  for (let row = 0; row < d; row++) for (let c = 0; c < dHead; c++) wo[row * d + c] = 0;
  for (let r = 0; r < l.codeDims; r++) wo[(off.headOut + r) * d + r] = l.headOutLength;

  const tensors = llamaTensorShapes(shape, false).map((t) => ({ name: t.name, dims: t.dims, type: GgmlType.F32, data: values.get(t.name)! }));
  return { tensors, kappa, outputNormGain: kappa * rmsFinal };
}
