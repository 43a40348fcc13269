// An independent forward pass in plain TypeScript, over the dequantized weights read straight from
// the GGUF file: no llama.cpp involved. It follows each supported family's block (../arch): the
// llama block, plus where the family differs the embedding scale, q/k/v biases, per-head q/k
// norms, post-attention and post-FFN norms, GELU, soft-capped scores and logits, sliding windows,
// NeoX RoPE, fused q/k/v and gate/up, a routed mixture-of-experts FFN. It returns every hook the family's graph offers under the
// same names and shapes as the instrumented decode's ActivationCache, so the two can be compared
// hook by hook. Float64 throughout; slow on purpose.
import { ActivationCache, type Tensor } from '../activations';
import { allHookNames, type HookName } from '../hookNames';
import type { MoeRecipe } from '../arch';
import type { LlamaModelFile, WeightRole } from '../gguf/llamaModel';
import { ggmlGelu } from './ggmlInput';
import { add, addBias, gelu, linear, mat, rmsNorm, rmsNormHeads, rope, silu, softcap, softmaxPrefix, toFloat32, type Mat, type RopeAngles } from './ops';

export interface ReferenceOptions {
  /** also compute logits for every position ([pos, d_vocab]); the costliest step */
  logits?: boolean;
  /** RoPE angles: exact (default) or rounded as ggml's float32 recurrence rounds them */
  ropeAngles?: RopeAngles;
  /** GELU: the exact tanh formula (default), or as ggml-cpu computes it through an F16 table */
  gelu?: 'exact' | 'ggml-f16';
  /** a mixture of experts: run every expert at equal weight instead of the router's top k (a control for tests) */
  moeAllExperts?: boolean;
}

export function referenceForward(model: LlamaModelFile, tokens: readonly number[], opts: ReferenceOptions = {}): ActivationCache {
  const hp = model.hparams;
  const arch = model.arch;
  const extra = model.archTable.extra;
  const { dModel: d, dHead, rmsEps: eps } = hp;
  const n = tokens.length;
  const positions = tokens.map((_, i) => i);
  const offered = new Set(allHookNames(hp.nLayers, model.archSupported ? hp.arch : 'llama'));
  const store = new Map<HookName, Tensor>();
  const keep = (name: HookName, m: Mat): void => {
    if (offered.has(name)) store.set(name, { shape: [m.rows, m.cols], data: toFloat32(m) });
  };
  const w = (role: WeightRole, l: number): Float32Array => model.full(model.weight(role, l));
  const vec = (name: string | undefined, l: number, kind: 'weight' | 'bias' = 'weight'): Float32Array | undefined => {
    const t = name ? model.layerTensor(name, l, kind) : undefined;
    return t ? model.full(t) : undefined;
  };
  const act = opts.gelu === 'ggml-f16' ? ggmlGelu : gelu;

  // [pos, d_model]: the token-embedding rows, times the family's scale (gemma: sqrt(d_model))
  let x = mat(n, d);
  tokens.forEach((t, i) => x.data.set(model.rows(model.W_E, t), i * d));
  if (arch.embeddingScale !== 1) x = mat(n, d, x.data.map((v) => v * arch.embeddingScale));
  keep('hook_embed', x);

  for (let l = 0; l < hp.nLayers; l++) {
    const b = `blocks.${l}`;
    const { nHeads, nKvHeads, dFf } = model.layerShape(l);
    const ln1 = rmsNorm(x, w('ln1', l), eps); // [pos, d_model]
    keep(`${b}.ln1.hook_normalized`, ln1);

    const angles = opts.ropeAngles ?? 'exact';
    const sliding = arch.isSlidingLayer(l);
    const base = sliding ? arch.ropeFreqBaseSwa : hp.ropeFreqBase;
    const withBias = (m: Mat, name: string | undefined): Mat => {
      const bias = vec(name, l, 'bias');
      return bias ? addBias(m, bias) : m;
    };
    const headNorm = (m: Mat, name: string | undefined, heads: number): Mat => {
      const g = vec(name, l);
      return g ? rmsNormHeads(m, heads, dHead, g, eps) : m;
    };
    let q = withBias(linear(ln1, w('W_Q', l), nHeads * dHead), 'attn_q'); // [pos, n_heads * d_head]
    let k = withBias(linear(ln1, w('W_K', l), nKvHeads * dHead), 'attn_k'); // [pos, n_kv_heads * d_head]
    const v = withBias(linear(ln1, w('W_V', l), nKvHeads * dHead), 'attn_v'); // [pos, n_kv_heads * d_head]
    q = rope(headNorm(q, extra.qNorm, nHeads), nHeads, dHead, hp.ropeDim, positions, base, angles, arch.ropeType);
    k = rope(headNorm(k, extra.kNorm, nKvHeads), nKvHeads, dHead, hp.ropeDim, positions, base, angles, arch.ropeType);
    const window = sliding ? arch.slidingWindow : undefined;
    const { pattern, z } = attention(q, k, v, nHeads, nKvHeads, dHead, arch.attnScale, arch.attnSoftcap, window);
    store.set(`${b}.attn.hook_pattern`, { shape: [nHeads, n, n], data: Float32Array.from(pattern) });
    keep(`${b}.attn.hook_z`, z);

    let attnOut = withBias(linear(z, w('W_O', l), d), 'attn_output'); // [pos, d_model]
    const postAttn = vec(extra.attnPostNorm, l);
    if (postAttn) attnOut = rmsNorm(attnOut, postAttn, eps);
    keep(`${b}.hook_attn_out`, attnOut);
    const mid = add(x, attnOut); // [pos, d_model]
    keep(`${b}.hook_resid_mid`, mid);

    const ln2 = rmsNorm(mid, w('ln2', l), eps); // [pos, d_model]
    keep(`${b}.ln2.hook_normalized`, ln2);
    const f = arch.ffnActivation === 'gelu' ? act : silu;
    /** the gated FFN W_out (f(W_gate x) * W_in x) of a width-`width` FFN, [pos, d_model] */
    const gatedFfn = (x: Mat, gateW: Float32Array, inW: Float32Array, outW: Float32Array, width: number): Mat => {
      const gate = linear(x, gateW, width); // [pos, width]
      const up = linear(x, inW, width); // [pos, width]
      return linear(mat(x.rows, width, gate.data.map((g, i) => f(g) * up.data[i]!)), outW, d);
    };
    let mlpOut = model.isMoe
      ? routedFfn(ln2, opts.moeAllExperts ? new Float32Array(hp.nExperts * d) : model.full(model.weight('W_gate_inp', l)), opts.moeAllExperts ? { ...model.archTable.moe!, normalizeTopK: true } : model.archTable.moe!, hp.nExperts, opts.moeAllExperts ? hp.nExperts : hp.nExpertsUsed, (x, e) => {
          const we = (role: WeightRole): Float32Array => model.full(model.weight(role, l, e));
          return gatedFfn(x, we('W_gate'), we('W_in'), we('W_out'), hp.dFfExpert);
        })
      : gatedFfn(ln2, w('W_gate', l), w('W_in', l), w('W_out', l), dFf); // [pos, d_model]
    if (model.isMoe) keep(`${b}.mlp.hook_expert_weights`, routerProbs(ln2, model.full(model.weight('W_gate_inp', l)), hp.nExperts));
    const postFfn = vec(extra.ffnPostNorm, l);
    if (postFfn) mlpOut = rmsNorm(mlpOut, postFfn, eps);
    keep(`${b}.hook_mlp_out`, mlpOut);

    x = add(mid, mlpOut); // [pos, d_model]
    keep(`${b}.hook_resid_post`, x);
  }

  const lnFinal = rmsNorm(x, model.full(model.lnFinal), eps); // [pos, d_model]
  keep('ln_final.hook_normalized', lnFinal);
  let logits: Tensor | undefined;
  if (opts.logits) {
    const nVocab = model.W_U.dims[1]!;
    const raw = linear(lnFinal, model.full(model.W_U), nVocab); // [pos, d_vocab]
    const cap = arch.finalSoftcap;
    logits = { shape: [n, nVocab], data: toFloat32(cap ? mat(n, nVocab, raw.data.map((s) => softcap(s, cap))) : raw) };
  }
  return new ActivationCache(tokens, store, logits);
}

/**
 * A mixture of experts' FFN, token by token: router probabilities softmax(W_gate_inp x) over the
 * n_expert experts, the n_used most probable kept, their probabilities divided by their sum (as
 * llama.cpp does, never by less than 6.1e-5) when the recipe says so, and the output the weighted
 * sum of the kept experts' FFNs. `expert(x, e)` runs expert e's FFN on rows x. [pos, d_model]
 */
export function routedFfn(x: Mat, router: Float32Array, recipe: MoeRecipe, nExperts: number, nUsed: number, expert: (x: Mat, e: number) => Mat): Mat {
  const probs = routerProbs(x, router, nExperts); // [pos, n_expert]
  const out = mat(x.rows, x.cols); // [pos, d_model]
  const d = out.cols;
  for (let r = 0; r < x.rows; r++) {
    const p = probs.data.subarray(r * nExperts, (r + 1) * nExperts);
    const picked = Array.from(p.keys()).sort((a, b) => p[b]! - p[a]!).slice(0, nUsed);
    let sum = picked.reduce((acc, e) => acc + p[e]!, 0);
    if (!recipe.normalizeTopK) sum = 1;
    const row = mat(1, x.cols, x.data.slice(r * x.cols, (r + 1) * x.cols));
    for (const e of picked) {
      const y = expert(row, e); // [1, d_model]
      const weight = p[e]! / Math.max(sum, 6.103515625e-5);
      for (let c = 0; c < d; c++) out.data[r * d + c]! += weight * y.data[c]!;
    }
  }
  return out;
}

/** softmax(W_gate_inp x) per row: the router's probability of every expert, [pos, n_expert]. */
export function routerProbs(x: Mat, router: Float32Array, nExperts: number): Mat {
  const probs = linear(x, router, nExperts); // router logits
  for (let r = 0; r < x.rows; r++) softmaxPrefix(probs.data.subarray(r * nExperts, (r + 1) * nExperts), nExperts);
  return probs;
}

/**
 * Causal grouped-query attention: query head h reads kv head h / (n_heads / n_kv_heads);
 * pattern = softmax(softcap(scale * q k^T)) over the keys a query may see (0..i, or its last
 * `window` positions on a sliding-window layer), exactly 0 elsewhere.
 */
function attention(q: Mat, k: Mat, v: Mat, nHeads: number, nKvHeads: number, dHead: number, scale: number, cap: number | undefined, window: number | undefined): { pattern: Float64Array; z: Mat } {
  const n = q.rows;
  const group = nHeads / nKvHeads;
  const pattern = new Float64Array(nHeads * n * n); // [head, query_pos, key_pos]
  const z = mat(n, nHeads * dHead); // [pos, n_heads * d_head], heads side by side
  for (let h = 0; h < nHeads; h++) {
    const kvh = Math.floor(h / group);
    for (let i = 0; i < n; i++) {
      const first = window === undefined ? 0 : Math.max(0, i - window + 1); // llama.cpp masks keys with i - j >= window
      const row = new Float64Array(n);
      for (let j = 0; j <= i; j++) {
        if (j < first) {
          row[j] = -Infinity;
          continue;
        }
        let s = 0;
        for (let c = 0; c < dHead; c++) s += q.data[i * q.cols + h * dHead + c]! * k.data[j * k.cols + kvh * dHead + c]!;
        row[j] = cap ? softcap(s * scale, cap) : s * scale;
      }
      softmaxPrefix(row, i + 1);
      pattern.set(row, (h * n + i) * n);
      for (let c = 0; c < dHead; c++) {
        let s = 0;
        for (let j = first; j <= i; j++) s += row[j]! * v.data[j * v.cols + kvh * dHead + c]!;
        z.data[i * z.cols + h * dHead + c] = s;
      }
    }
  }
  return { pattern, z };
}
