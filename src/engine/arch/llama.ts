// llama (Llama 2 and 3, Mistral, TinyLlama, ...): the reference block every other table is read
// against. Node names from src/models/llama.cpp of the llama.cpp that node-llama-cpp 3.21.1 ships.
import { COMMON_KEYS, type ArchTable, type HookDef, type MatrixRole, type NormRole, type TensorRef } from './types';

export const LLAMA_LAYER_NODES: readonly HookDef[] = [
  { node: 'attn_norm-{l}', hook: 'blocks.{l}.ln1.hook_normalized', layout: 'pos_by_dim' }, // [pos, d_model]
  { node: 'kq_soft_max-{l}', hook: 'blocks.{l}.attn.hook_pattern', layout: 'pattern' }, // [head, query_pos, key_pos]
  { node: 'kqv_out-{l}', hook: 'blocks.{l}.attn.hook_z', layout: 'pos_by_dim', width: 'heads' }, // [pos, n_heads * d_head] (heads merged, before W_O)
  { node: 'attn_out-{l}', hook: 'blocks.{l}.hook_attn_out', layout: 'pos_by_dim' }, // [pos, d_model]
  { node: 'ffn_inp-{l}', hook: 'blocks.{l}.hook_resid_mid', layout: 'pos_by_dim' }, // [pos, d_model]
  { node: 'ffn_norm-{l}', hook: 'blocks.{l}.ln2.hook_normalized', layout: 'pos_by_dim' }, // [pos, d_model]
  { node: 'ffn_out-{l}', hook: 'blocks.{l}.hook_mlp_out', layout: 'pos_by_dim' }, // [pos, d_model]
  { node: 'l_out-{l}', hook: 'blocks.{l}.hook_resid_post', layout: 'pos_by_dim' }, // [pos, d_model]
];

export const LLAMA_GLOBAL_NODES: readonly HookDef[] = [
  { node: 'embd', hook: 'hook_embed', layout: 'pos_by_dim' }, // [pos, d_model]
  { node: 'result_norm', hook: 'ln_final.hook_normalized', layout: 'pos_by_dim' }, // [pos, d_model]
];

export const SEPARATE_WEIGHTS: Readonly<Record<MatrixRole, TensorRef>> = {
  W_Q: { tensor: 'attn_q' },
  W_K: { tensor: 'attn_k' },
  W_V: { tensor: 'attn_v' },
  W_O: { tensor: 'attn_output' },
  W_gate: { tensor: 'ffn_gate' },
  W_in: { tensor: 'ffn_up' },
  W_out: { tensor: 'ffn_down' },
};

export const LLAMA_NORMS: Readonly<Record<NormRole, string>> = { ln1: 'attn_norm', ln2: 'ffn_norm' };

export const llama: ArchTable = {
  arch: 'llama',
  label: 'Llama',
  ropeType: 'norm',
  perLayerNodes: LLAMA_LAYER_NODES,
  globalNodes: LLAMA_GLOBAL_NODES,
  missingHooks: {},
  weights: SEPARATE_WEIGHTS,
  norms: LLAMA_NORMS,
  extra: {},
  ffnActivation: 'silu',
  lens: { embeddingScale: 'none' },
  hparamKeys: [...COMMON_KEYS],
};
