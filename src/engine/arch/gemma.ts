// gemma2 and gemma3 (src/models/gemma2.cpp, gemma3.cpp): the residual stream starts at
// W_E[token] * sqrt(d_model) (node `inp_scaled`, which is hook_embed here, the state h[0]); the
// attention and FFN outputs pass through their own RMSNorm before joining the residual; GELU
// (tanh form) gates the FFN; the output is tied to W_E. gemma2 soft-caps attention scores and the
// logits (cap * tanh(x / cap)); gemma3 normalizes each head's q and k and soft-caps the logits
// only when its file says so. Sliding-window layers alternate with global ones.
import { LLAMA_NORMS, SEPARATE_WEIGHTS } from './llama';
import { COMMON_KEYS, type ArchTable, type HookDef } from './types';

const GEMMA_GLOBAL_NODES: readonly HookDef[] = [
  { node: 'inp_scaled', hook: 'hook_embed', layout: 'pos_by_dim' }, // [pos, d_model] W_E rows * sqrt(d_model)
  { node: 'result_norm', hook: 'ln_final.hook_normalized', layout: 'pos_by_dim' }, // [pos, d_model]
];

const GEMMA2_LAYER_NODES: readonly HookDef[] = [
  { node: 'attn_norm-{l}', hook: 'blocks.{l}.ln1.hook_normalized', layout: 'pos_by_dim' }, // [pos, d_model]
  { node: 'kq_soft_max-{l}', hook: 'blocks.{l}.attn.hook_pattern', layout: 'pattern' }, // [head, query_pos, key_pos]
  { node: 'kqv_out-{l}', hook: 'blocks.{l}.attn.hook_z', layout: 'pos_by_dim', width: 'heads' }, // [pos, n_heads * d_head]
  { node: 'attn_post_norm-{l}', hook: 'blocks.{l}.hook_attn_out', layout: 'pos_by_dim' }, // [pos, d_model] after the post-attention norm
  { node: 'sa_out-{l}', hook: 'blocks.{l}.hook_resid_mid', layout: 'pos_by_dim' }, // [pos, d_model]
  { node: 'ffn_norm-{l}', hook: 'blocks.{l}.ln2.hook_normalized', layout: 'pos_by_dim' }, // [pos, d_model]
  { node: 'l_out-{l}', hook: 'blocks.{l}.hook_resid_post', layout: 'pos_by_dim' }, // [pos, d_model]
];

const GEMMA_KEYS = [
  ...COMMON_KEYS,
  'attention.sliding_window',
  'attention.sliding_window_pattern',
  'rope.freq_base_swa',
  'attn_logit_softcapping',
  'final_logit_softcapping',
];

export const gemma2: ArchTable = {
  arch: 'gemma2',
  label: 'Gemma 2',
  ropeType: 'neox',
  perLayerNodes: GEMMA2_LAYER_NODES,
  globalNodes: GEMMA_GLOBAL_NODES,
  missingHooks: {
    // gemma2.cpp names the post-FFN norm's output "ffn_post_norm" with no layer number, so the
    // layers' outputs cannot be told apart
    'blocks.{l}.hook_mlp_out': "llama.cpp's gemma2 graph gives the FFN output after its post-norm no per-layer name; hook_resid_post - hook_resid_mid is the same vector up to float32 rounding",
  },
  weights: SEPARATE_WEIGHTS,
  norms: LLAMA_NORMS,
  extra: { attnPostNorm: 'post_attention_norm', ffnPostNorm: 'post_ffw_norm' },
  ffnActivation: 'gelu',
  attnSoftcapKey: 'attn_logit_softcapping',
  attnSoftcapDefault: 50,
  lens: { embeddingScale: 'sqrt_d_model', finalSoftcapKey: 'final_logit_softcapping', finalSoftcapDefault: 30 },
  hparamKeys: GEMMA_KEYS,
};

export const gemma3: ArchTable = {
  ...gemma2,
  arch: 'gemma3',
  label: 'Gemma 3',
  perLayerNodes: [...GEMMA2_LAYER_NODES, { node: 'ffn_post_norm-{l}', hook: 'blocks.{l}.hook_mlp_out', layout: 'pos_by_dim' }], // [pos, d_model] after the post-FFN norm
  missingHooks: {},
  extra: { ...gemma2.extra, qNorm: 'attn_q_norm', kNorm: 'attn_k_norm' },
  attnSoftcapKey: undefined,
  attnSoftcapDefault: undefined,
  lens: { embeddingScale: 'sqrt_d_model', finalSoftcapKey: 'final_logit_softcapping' },
};
