// phi3 (Phi-3, Phi-3.5, Phi-4 mini; src/models/phi3.cpp): the llama block with NeoX RoPE, q, k and v
// as one fused `attn_qkv` (rows: q of every head, then k, then v) and gate and up as one fused
// `ffn_up` (rows: gate, then up; llama.cpp's swiglu takes silu of the first half). The graph names
// neither the attention output nor the residual between attention and FFN.
import { LLAMA_GLOBAL_NODES, LLAMA_LAYER_NODES, LLAMA_NORMS } from './llama';
import { COMMON_KEYS, type ArchTable } from './types';

export const phi3: ArchTable = {
  arch: 'phi3',
  label: 'Phi-3',
  ropeType: 'neox',
  perLayerNodes: LLAMA_LAYER_NODES.filter((n) => n.node !== 'attn_out-{l}' && n.node !== 'ffn_inp-{l}'),
  globalNodes: LLAMA_GLOBAL_NODES,
  missingHooks: {
    'blocks.{l}.hook_attn_out': 'the graph adds the attention output to the residual without naming it',
    'blocks.{l}.hook_resid_mid': 'the graph does not name the residual between attention and FFN; hook_resid_post - hook_mlp_out is the same vector up to float32 rounding',
  },
  weights: {
    W_Q: { tensor: 'attn_qkv', part: 'q' },
    W_K: { tensor: 'attn_qkv', part: 'k' },
    W_V: { tensor: 'attn_qkv', part: 'v' },
    W_O: { tensor: 'attn_output' },
    W_gate: { tensor: 'ffn_up', part: 'gate' },
    W_in: { tensor: 'ffn_up', part: 'up' },
    W_out: { tensor: 'ffn_down' },
  },
  norms: LLAMA_NORMS,
  extra: {},
  ffnActivation: 'silu',
  lens: { embeddingScale: 'none' },
  hparamKeys: [...COMMON_KEYS, 'rope.scaling.original_context_length'],
};
