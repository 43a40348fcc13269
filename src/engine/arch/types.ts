// What one llama.cpp architecture looks like to the analyses: its graph's node names in hook terms,
// its weights in TransformerLens roles (fused tensors split by rows), the norms, biases and
// activation its block applies, and what the logit lens must apply on top of the final RMSNorm.
// One table per family (llama.ts, qwen2.ts, ...), gathered in index.ts.

/** How a captured tensor is laid out, in hook terms. */
export type HookLayout = 'pos_by_dim' | 'pattern';

export interface HookDef {
  /** llama.cpp node name; `{l}` is the layer */
  readonly node: string;
  /** hook name; `{l}` is the layer */
  readonly hook: string;
  readonly layout: HookLayout;
  /** row width of a pos_by_dim hook: d_model, the heads side by side (n_heads * d_head), or one value per expert */
  readonly width?: 'd_model' | 'heads' | 'experts';
}

/** Which rows of a fused tensor a role owns. */
export type FusedPart = 'q' | 'k' | 'v' | 'gate' | 'up';

/**
 * Where a role's matrix lives: its own tensor `blk.{l}.<tensor>.weight`, rows of a fused one, or
 * one expert's slab of a 3-D expert tensor ([d_in, d_out, n_expert]: expert e is the e-th run of
 * d_out rows, contiguous in the file).
 */
export interface TensorRef {
  readonly tensor: string;
  readonly part?: FusedPart;
  readonly experts?: true;
}

export type MatrixRole = 'W_Q' | 'W_K' | 'W_V' | 'W_O' | 'W_gate' | 'W_in' | 'W_out';
export type NormRole = 'ln1' | 'ln2';

/** Per-layer vectors some families add to the llama block (all [d_model] unless noted). */
export interface ExtraTensors {
  /** RMSNorm of the attention output before it joins the residual (gemma2/3) */
  readonly attnPostNorm?: string;
  /** RMSNorm of the FFN output before it joins the residual (gemma2/3) */
  readonly ffnPostNorm?: string;
  /** per-head RMSNorm of q and k before RoPE ([d_head]; qwen3, gemma3) */
  readonly qNorm?: string;
  readonly kNorm?: string;
  /** biases of q, k, v ([rows of the matrix]; qwen2) */
  readonly qkvBias?: { readonly q: string; readonly k: string; readonly v: string };
}

/**
 * A routed (mixture-of-experts) FFN as llama.cpp's build_moe_ffn computes it: router logits
 * W_gate_inp . x ([n_expert]), probabilities by the gating function, the n_expert_used largest
 * picked, their weights renormalized to sum 1 when `normalizeTopK`, and the FFN output the weighted
 * sum of the picked experts' gated FFNs (each expert has its own W_gate, W_in, W_out).
 */
export interface MoeRecipe {
  /** the router, [d_model] rows, one per expert: `blk.{l}.<router>.weight` */
  readonly router: string;
  readonly gating: 'softmax';
  readonly normalizeTopK: boolean;
}

export interface LensRecipe {
  /** the residual stream starts as W_E[token] times this (gemma: sqrt(d_model)) */
  readonly embeddingScale: 'none' | 'sqrt_d_model';
  /** logits = cap * tanh(logits / cap) after W_U, from this `<arch>.` key (gemma2, some gemma3) */
  readonly finalSoftcapKey?: string;
  /** the cap when the key is absent (llama.cpp's default for the family), or none */
  readonly finalSoftcapDefault?: number;
}

export interface ArchTable {
  /** `general.architecture` */
  readonly arch: string;
  /** for messages: "Qwen2" */
  readonly label: string;
  /** RoPE pairs: 'norm' rotates (2i, 2i+1), 'neox' rotates (i, i + n_rot/2) */
  readonly ropeType: 'norm' | 'neox';
  readonly perLayerNodes: readonly HookDef[];
  readonly globalNodes: readonly HookDef[];
  /** hooks (with `{l}`) this family's graph never names, and why: captures of them are refused */
  readonly missingHooks: Readonly<Record<string, string>>;
  readonly weights: Readonly<Record<MatrixRole, TensorRef>>;
  readonly norms: Readonly<Record<NormRole, string>>;
  readonly extra: ExtraTensors;
  /** gated FFN: act(gate) * up */
  readonly ffnActivation: 'silu' | 'gelu';
  /** a routed FFN: W_gate / W_in / W_out are per expert (TensorRef.experts) */
  readonly moe?: MoeRecipe;
  /** attention scores = cap * tanh(scores / cap) before the softmax, from this key (gemma2) */
  readonly attnSoftcapKey?: string;
  readonly attnSoftcapDefault?: number;
  readonly lens: LensRecipe;
  /** `<arch>.` keys the analyses read (suffixes after the architecture name) */
  readonly hparamKeys: readonly string[];
}

/** Hyperparameter keys every family reads. */
export const COMMON_KEYS = [
  'block_count',
  'embedding_length',
  'feed_forward_length',
  'attention.head_count',
  'attention.head_count_kv',
  'attention.key_length',
  'attention.layer_norm_rms_epsilon',
  'context_length',
  'vocab_size',
  'rope.freq_base',
  'rope.dimension_count',
] as const;
