// One layer's attention patterns from the states an inspection already holds, instead of decoding
// the prompt again (minutes for 2,000 tokens of a 7B model, and a second KV cache at the peak):
// resid_pre of layer L (the embedding for L = 0, resid_post of L-1 after) through the layer's
// RMSNorm, W_Q and W_K multiplied from their stored (quantized) bytes, the biases and per-head q/k
// norms a family adds, RoPE, the scaled scores, the causal mask and the softmax, op for op as
// llama.cpp's graph computes them without flash attention. Queries and keys are made 512 tokens at
// a time and kept; a head's pattern (or one query's row) is made from them when it is read, with an
// allocator freed afterwards, so that a layer costs its queries and keys (66 MB for 2,000 tokens of
// Llama-2-7B) and one head's scores at a time, never every head's [query, key] at once (512 MB).
import type { HeadPatterns, Tensor } from '../activations';
import { GgmlType } from '../gguf/ggmlTypes';
import type { LlamaModelFile } from '../gguf/llamaModel';
import type { Ptr } from '../llama/native';
import { readTensor, type ComputeDevice } from './device';

/** Families whose attention is llama's with at most biases, q/k norms, NeoX RoPE and fused q/k/v. */
const DIRECT_ARCHS: ReadonlySet<string> = new Set(['llama', 'qwen2', 'qwen3', 'qwen3moe', 'phi3']);
/** tokens per query/key graph */
const TOKEN_CHUNK = 512;
/** scores per softmax graph: 64 MiB of float32 */
const MAX_SCORES = 1 << 24;
const ROPE_NORM = 0;
const ROPE_NEOX = 2;

/**
 * Why this model's patterns are not computed from the states (then the prompt is decoded again
 * with the pattern captured), or undefined when they are. What is not modelled here is refused:
 * sliding windows and soft-capped scores (gemma), RoPE scaling or per-frequency factors, a custom
 * attention scale.
 */
export function directPatternsUnsupported(model: LlamaModelFile): string | undefined {
  const hp = model.hparams;
  if (!model.archSupported || !DIRECT_ARCHS.has(hp.arch)) return `${model.archTable.label} attention is not computed from the states`;
  const a = model.arch;
  if (a.slidingWindow !== undefined) return 'sliding-window attention';
  if (a.attnSoftcap !== undefined) return 'soft-capped attention scores';
  const key = (k: string): unknown => model.file.get(`${hp.arch}.${k}`);
  const scaling = key('rope.scaling.type');
  if (scaling !== undefined && scaling !== 'none') return `RoPE scaling (${String(scaling)})`;
  for (const k of ['rope.scaling.factor', 'rope.scale_linear']) {
    const f = key(k);
    if (typeof f === 'number' && f !== 0 && f !== 1) return `RoPE scaling (${k} ${f})`;
  }
  if (model.file.tensors.some((t) => /rope_(freqs|factors)/.test(t.name))) return 'per-frequency RoPE factors';
  if (key('attention.scale') !== undefined) return 'a custom attention scale';
  return undefined;
}

interface LayerWeights {
  readonly ctx: Ptr;
  readonly buffer: Ptr;
  readonly gain: Ptr; // [d_model]
  readonly wq: Ptr; // [d_model, n_heads * d_head], stored type
  readonly wk: Ptr; // [d_model, n_kv_heads * d_head], stored type
  readonly bq: Ptr | undefined; // [n_heads * d_head]
  readonly bk: Ptr | undefined; // [n_kv_heads * d_head]
  readonly qNorm: Ptr | undefined; // [d_head]
  readonly kNorm: Ptr | undefined; // [d_head]
}

/** The layer's ln1 gain, W_Q, W_K (stored bytes, no dequantization) and the family's extras on the device. */
function uploadWeights(model: LlamaModelFile, device: ComputeDevice, layer: number): LayerWeights {
  const b = device.native.base;
  const extra = model.archTable.extra;
  const ctx = b.ggml_init({ mem_size: b.ggml_tensor_overhead() * 8, mem_buffer: null, no_alloc: true });
  const fills: Array<[Ptr, Uint8Array | Float32Array]> = [];
  const matrix = (role: 'W_Q' | 'W_K'): Ptr => {
    const info = model.weight(role, layer);
    const t = b.ggml_new_tensor_2d(ctx, info.type, info.dims[0]!, info.dims[1]!);
    fills.push([t, model.file.readTensorBytes(info)]);
    return t;
  };
  const vector = (name: string | undefined, kind: 'weight' | 'bias' = 'weight'): Ptr | undefined => {
    const info = name === undefined ? undefined : model.layerTensor(name, layer, kind);
    if (!info) return undefined;
    const data = model.full(info);
    const t = b.ggml_new_tensor_1d(ctx, GgmlType.F32, data.length);
    fills.push([t, data]);
    return t;
  };
  const gain = vector(model.archTable.norms.ln1)!;
  const wq = matrix('W_Q');
  const wk = matrix('W_K');
  const bq = vector(extra.qkvBias?.q ?? 'attn_q', 'bias');
  const bk = vector(extra.qkvBias?.k ?? 'attn_k', 'bias');
  const qNorm = vector(extra.qNorm);
  const kNorm = vector(extra.kNorm);
  const buffer = device.allocate(ctx);
  for (const [t, data] of fills) b.ggml_backend_tensor_set(t, data, 0, data.byteLength);
  return { ctx, buffer, gain, wq, wk, bq, bk, qNorm, kNorm };
}

/**
 * One layer's queries and keys after RoPE, from its resid_pre ([pos, d_model], float32); its
 * patterns are made head by head on request (LayerAttention). Call only when
 * directPatternsUnsupported(model) is undefined.
 */
export function layerAttention(model: LlamaModelFile, device: ComputeDevice, layer: number, residPre: Tensor, sizes: { tokenChunk?: number } = {}): LayerAttention {
  const tokenChunk = sizes.tokenChunk ?? TOKEN_CHUNK;
  const hp = model.hparams;
  const { nHeads, nKvHeads } = model.layerShape(layer);
  const { dModel: d, dHead } = hp;
  const n = residPre.shape[0]!;
  if (residPre.shape[1] !== d) throw new RangeError(`resid_pre has rows of ${residPre.shape[1]}, not d_model ${d}`);
  const b = device.native.base;
  const arch = model.arch;
  const q = new Float32Array(nHeads * n * dHead); // [head, pos, d_head] after RoPE
  const k = new Float32Array(nKvHeads * n * dHead); // [kv_head, pos, d_head] after RoPE
  device.withOwnAllocator(() => {
    const w = uploadWeights(model, device, layer);
    try {
      for (let p0 = 0; p0 < n; p0 += tokenChunk) {
        const t = Math.min(tokenChunk, n - p0);
        const pos = Int32Array.from({ length: t }, (_, i) => p0 + i);
        const qc = new Float32Array(nHeads * t * dHead);
        const kc = new Float32Array(nKvHeads * t * dHead);
        let outs: [Ptr, Ptr] = [null, null];
        device.run(
          48,
          (ctx) => {
            const x = b.ggml_new_tensor_2d(ctx, GgmlType.F32, d, t);
            const p = b.ggml_new_tensor_1d(ctx, GgmlType.I32, t);
            b.ggml_set_input(x);
            b.ggml_set_input(p);
            const xn = b.ggml_mul(ctx, b.ggml_rms_norm(ctx, x, hp.rmsEps), w.gain); // [d_model, t]
            const project = (wt: Ptr, bias: Ptr | undefined, norm: Ptr | undefined, heads: number): Ptr => {
              let y = b.ggml_mul_mat(ctx, wt, xn); // [heads * d_head, t]
              if (bias) y = b.ggml_add(ctx, y, bias);
              y = b.ggml_reshape_3d(ctx, y, dHead, heads, t);
              if (norm) y = b.ggml_mul(ctx, b.ggml_rms_norm(ctx, y, hp.rmsEps), norm);
              y = b.ggml_rope_ext(ctx, y, p, null, hp.ropeDim, arch.ropeType === 'neox' ? ROPE_NEOX : ROPE_NORM, hp.nCtxTrain, hp.ropeFreqBase, 1, 0, 1, 32, 1);
              return b.ggml_cont(ctx, b.ggml_permute(ctx, y, 0, 2, 1, 3)); // [d_head, t, heads]
            };
            outs = [project(w.wq, w.bq, w.qNorm, nHeads), project(w.wk, w.bk, w.kNorm, nKvHeads)];
            return { inputs: [[x, residPre.data.subarray(p0 * d, (p0 + t) * d)], [p, pos]], outputs: outs };
          },
          () => {
            readTensor(device.native, outs[0], qc);
            readTensor(device.native, outs[1], kc);
          },
        );
        for (let h = 0; h < nHeads; h++) q.set(qc.subarray(h * t * dHead, (h + 1) * t * dHead), (h * n + p0) * dHead);
        for (let h = 0; h < nKvHeads; h++) k.set(kc.subarray(h * t * dHead, (h + 1) * t * dHead), (h * n + p0) * dHead);
      }
    } finally {
      b.ggml_backend_buffer_free(w.buffer);
      b.ggml_free(w.ctx);
    }
  });
  return new LayerAttention(device, q, k, nHeads, nKvHeads, n, dHead, arch.attnScale);
}

/**
 * A layer's queries and keys, and its patterns made from them on request: softmax(scale * K^T q +
 * causal mask) for one head, or one query row of it. Holds n_pos * (n_heads + n_kv_heads) * d_head
 * floats (66 MB for 2,000 tokens of Llama-2-7B) where the patterns of every head take n_heads *
 * n_pos^2 (512 MB); one head's pattern exists only while it is read.
 */
export class LayerAttention implements HeadPatterns {
  constructor(
    private readonly device: ComputeDevice,
    private readonly q: Float32Array, // [head, pos, d_head]
    private readonly k: Float32Array, // [kv_head, pos, d_head]
    readonly nHeads: number,
    private readonly nKvHeads: number,
    readonly nPos: number,
    private readonly dHead: number,
    private readonly scale: number,
  ) {}

  get bytes(): number {
    return this.q.byteLength + this.k.byteLength;
  }

  head(h: number): Float32Array {
    return this.heads(h, 1);
  }

  row(h: number, query: number): Float32Array {
    const { nPos: n, dHead } = this;
    this.checkHead(h);
    const out = new Float32Array(n);
    this.softmax(this.q.subarray((h * n + query) * dHead, (h * n + query + 1) * dHead), this.keysOf(h, 1), 1, 1, query, out);
    return out;
  }

  /** [head, query_pos, key_pos] of heads h0 .. h0 + count - 1 (every head: the whole layer). */
  heads(h0: number, count: number): Float32Array {
    const { nPos: n, dHead } = this;
    this.checkHead(h0);
    this.checkHead(h0 + count - 1);
    const out = new Float32Array(count * n * n);
    this.softmax(this.q.subarray(h0 * n * dHead, (h0 + count) * n * dHead), this.keysOf(h0, count), n, count, 0, out);
    return out;
  }

  /** Each query head's kv head, side by side: [count, pos, d_head]. */
  private keysOf(h0: number, count: number): Float32Array {
    const { nPos: n, dHead } = this;
    const group = this.nHeads / this.nKvHeads;
    const out = new Float32Array(count * n * dHead);
    for (let h = 0; h < count; h++) {
      const kv = Math.floor((h0 + h) / group);
      out.set(this.k.subarray(kv * n * dHead, (kv + 1) * n * dHead), h * n * dHead);
    }
    return out;
  }

  /** softmax(scale * K^T q) with keys after query nPast + i masked, for nq queries of `heads` heads. */
  private softmax(q: Float32Array, keys: Float32Array, nq: number, heads: number, nPast: number, out: Float32Array): void {
    const b = this.device.native.base;
    const { nPos: n, dHead } = this;
    let scores: Ptr = null;
    this.device.withOwnAllocator(() =>
      this.device.run(
        16,
        (ctx) => {
          const qt = b.ggml_new_tensor_3d(ctx, GgmlType.F32, dHead, nq, heads);
          const kt = b.ggml_new_tensor_3d(ctx, GgmlType.F32, dHead, n, heads);
          b.ggml_set_input(qt);
          b.ggml_set_input(kt);
          const kq = b.ggml_mul_mat(ctx, kt, qt); // [key, query, head]
          scores = b.ggml_soft_max(ctx, b.ggml_diag_mask_inf(ctx, b.ggml_scale(ctx, kq, this.scale), nPast));
          return { inputs: [[qt, q], [kt, keys]], outputs: [scores] };
        },
        () => readTensor(this.device.native, scores, out),
      ),
    );
  }

  private checkHead(h: number): void {
    if (!Number.isInteger(h) || h < 0 || h >= this.nHeads) throw new RangeError(`head ${h} is outside 0..${this.nHeads - 1}`);
  }
}

/**
 * The attention pattern of `layer` for every head, [head, query_pos, key_pos], from the layer's
 * resid_pre: the whole layer at once, a few heads per graph (at most `maxScores` scores each).
 */
export function layerPatterns(model: LlamaModelFile, device: ComputeDevice, layer: number, residPre: Tensor, sizes: { tokenChunk?: number; maxScores?: number } = {}): Tensor {
  const att = layerAttention(model, device, layer, residPre, sizes);
  const n = att.nPos;
  const per = Math.max(1, Math.min(att.nHeads, Math.floor((sizes.maxScores ?? MAX_SCORES) / (n * n))));
  const out = new Float32Array(att.nHeads * n * n);
  for (let h0 = 0; h0 < att.nHeads; h0 += per) {
    const count = Math.min(per, att.nHeads - h0);
    out.set(att.heads(h0, count), h0 * n * n);
  }
  return { shape: [att.nHeads, n, n], data: out };
}
