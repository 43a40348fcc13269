// An independent forward pass of a Llama-architecture model in plain TypeScript, over the
// dequantized weights read straight from the GGUF file: no llama.cpp involved. It returns every
// hook of every layer under the same names and shapes as the instrumented decode's
// ActivationCache, so the two can be compared hook by hook. Float64 throughout; slow on purpose.
import { ActivationCache, type Tensor } from '../activations';
import type { HookName } from '../hookNames';
import type { LlamaModelFile, WeightRole } from '../gguf/llamaModel';
import { add, linear, mat, rmsNorm, rope, silu, softmaxPrefix, toFloat32, type Mat, type RopeAngles } from './ops';

export interface ReferenceOptions {
  /** also compute logits for every position ([pos, d_vocab]); the costliest step */
  logits?: boolean;
  /** RoPE angles: exact (default) or rounded as ggml's float32 recurrence rounds them */
  ropeAngles?: RopeAngles;
}

export function referenceForward(model: LlamaModelFile, tokens: readonly number[], opts: ReferenceOptions = {}): ActivationCache {
  const hp = model.hparams;
  const { dModel: d, nHeads, nKvHeads, dHead, dFf, rmsEps: eps } = hp;
  const n = tokens.length;
  const positions = tokens.map((_, i) => i);
  const store = new Map<HookName, Tensor>();
  const keep = (name: HookName, m: Mat): void => {
    store.set(name, { shape: [m.rows, m.cols], data: toFloat32(m) });
  };
  const w = (role: WeightRole, l: number): Float32Array => model.full(model.weight(role, l));

  // [pos, d_model]: the token-embedding rows
  let x = mat(n, d);
  tokens.forEach((t, i) => x.data.set(model.rows(model.W_E, t), i * d));
  keep('hook_embed', x);

  for (let l = 0; l < hp.nLayers; l++) {
    const b = `blocks.${l}`;
    const ln1 = rmsNorm(x, w('ln1', l), eps); // [pos, d_model]
    keep(`${b}.ln1.hook_normalized`, ln1);

    const angles = opts.ropeAngles ?? 'exact';
    const q = rope(linear(ln1, w('W_Q', l), nHeads * dHead), nHeads, dHead, hp.ropeDim, positions, hp.ropeFreqBase, angles); // [pos, n_heads * d_head]
    const k = rope(linear(ln1, w('W_K', l), nKvHeads * dHead), nKvHeads, dHead, hp.ropeDim, positions, hp.ropeFreqBase, angles); // [pos, n_kv_heads * d_head]
    const v = linear(ln1, w('W_V', l), nKvHeads * dHead); // [pos, n_kv_heads * d_head]
    const { pattern, z } = attention(q, k, v, nHeads, nKvHeads, dHead);
    store.set(`${b}.attn.hook_pattern`, { shape: [nHeads, n, n], data: Float32Array.from(pattern) });
    keep(`${b}.attn.hook_z`, z);

    const attnOut = linear(z, w('W_O', l), d); // [pos, d_model]
    keep(`${b}.hook_attn_out`, attnOut);
    const mid = add(x, attnOut); // [pos, d_model]
    keep(`${b}.hook_resid_mid`, mid);

    const ln2 = rmsNorm(mid, w('ln2', l), eps); // [pos, d_model]
    keep(`${b}.ln2.hook_normalized`, ln2);
    const gate = linear(ln2, w('W_gate', l), dFf); // [pos, d_ff]
    const up = linear(ln2, w('W_in', l), dFf); // [pos, d_ff]
    const act = mat(n, dFf, gate.data.map((g, i) => silu(g) * up.data[i]!)); // SwiGLU, [pos, d_ff]
    const mlpOut = linear(act, w('W_out', l), d); // [pos, d_model]
    keep(`${b}.hook_mlp_out`, mlpOut);

    x = add(mid, mlpOut); // [pos, d_model]
    keep(`${b}.hook_resid_post`, x);
  }

  const lnFinal = rmsNorm(x, model.full(model.lnFinal), eps); // [pos, d_model]
  keep('ln_final.hook_normalized', lnFinal);
  let logits: Tensor | undefined;
  if (opts.logits) {
    const nVocab = model.W_U.dims[1]!;
    logits = { shape: [n, nVocab], data: toFloat32(linear(lnFinal, model.full(model.W_U), nVocab)) }; // [pos, d_vocab]
  }
  return new ActivationCache(tokens, store, logits);
}

/**
 * Causal grouped-query attention: query head h reads kv head h / (n_heads / n_kv_heads);
 * pattern = softmax(q k^T / sqrt(d_head)) over keys 0..i, exactly 0 above the diagonal.
 */
function attention(q: Mat, k: Mat, v: Mat, nHeads: number, nKvHeads: number, dHead: number): { pattern: Float64Array; z: Mat } {
  const n = q.rows;
  const group = nHeads / nKvHeads;
  const pattern = new Float64Array(nHeads * n * n); // [head, query_pos, key_pos]
  const z = mat(n, nHeads * dHead); // [pos, n_heads * d_head], heads side by side
  const scale = 1 / Math.sqrt(dHead);
  for (let h = 0; h < nHeads; h++) {
    const kvh = Math.floor(h / group);
    for (let i = 0; i < n; i++) {
      const row = new Float64Array(n);
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let c = 0; c < dHead; c++) s += q.data[i * q.cols + h * dHead + c]! * k.data[j * k.cols + kvh * dHead + c]!;
        row[j] = s * scale;
      }
      softmaxPrefix(row, i + 1);
      pattern.set(row, (h * n + i) * n);
      for (let c = 0; c < dHead; c++) {
        let s = 0;
        for (let j = 0; j <= i; j++) s += row[j]! * v.data[j * v.cols + kvh * dHead + c]!;
        z.data[i * z.cols + h * dHead + c] = s;
      }
    }
  }
  return { pattern, z };
}
