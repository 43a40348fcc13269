// qwen2 (Qwen 2 and 2.5) and qwen3: the llama block with NeoX RoPE. qwen2 adds biases to q, k, v;
// qwen3 RMS-normalizes each head's q and k (gain [d_head]) before RoPE. Neither graph names the
// attention output before the residual add (src/models/qwen2.cpp, qwen3.cpp): no hook_attn_out.
import { LLAMA_GLOBAL_NODES, LLAMA_LAYER_NODES, LLAMA_NORMS, SEPARATE_WEIGHTS } from './llama';
import { COMMON_KEYS, type ArchTable } from './types';

const NO_ATTN_OUT = {
  'blocks.{l}.hook_attn_out': 'the graph adds the attention output to the residual without naming it; hook_resid_mid - hook_resid_pre is the same vector up to float32 rounding',
};

export const qwen2: ArchTable = {
  arch: 'qwen2',
  label: 'Qwen2',
  ropeType: 'neox',
  perLayerNodes: LLAMA_LAYER_NODES.filter((n) => n.node !== 'attn_out-{l}'),
  globalNodes: LLAMA_GLOBAL_NODES,
  missingHooks: NO_ATTN_OUT,
  weights: SEPARATE_WEIGHTS,
  norms: LLAMA_NORMS,
  extra: { qkvBias: { q: 'attn_q', k: 'attn_k', v: 'attn_v' } },
  ffnActivation: 'silu',
  lens: { embeddingScale: 'none' },
  hparamKeys: [...COMMON_KEYS],
};

export const qwen3: ArchTable = {
  ...qwen2,
  arch: 'qwen3',
  label: 'Qwen3',
  extra: { qNorm: 'attn_q_norm', kNorm: 'attn_k_norm' },
};

/**
 * qwen3moe (Qwen3-30B-A3B, Qwen3-235B-A22B; src/models/qwen3moe.cpp): qwen3's attention, and in
 * place of the FFN a router over n_expert experts of which n_expert_used run per token (softmax
 * over all experts, the top k kept, their weights renormalized to sum 1). Each expert's W_gate,
 * W_in, W_out are slabs of the 3-D tensors ffn_gate_exps, ffn_up_exps, ffn_down_exps; the router is
 * W_gate_inp (ffn_gate_inp). The routed FFN's sum is named `ffn_moe_out`, not `ffn_out`.
 */
export const qwen3moe: ArchTable = {
  ...qwen3,
  arch: 'qwen3moe',
  label: 'Qwen3-MoE',
  perLayerNodes: [
    ...qwen3.perLayerNodes.map((n) => (n.node === 'ffn_out-{l}' ? { ...n, node: 'ffn_moe_out-{l}' } : n)),
    // the router's softmax over every expert, before the top k are picked (TransformerLens's name)
    { node: 'ffn_moe_probs-{l}', hook: 'blocks.{l}.mlp.hook_expert_weights', layout: 'pos_by_dim', width: 'experts' }, // [pos, n_experts]
  ],
  weights: {
    ...SEPARATE_WEIGHTS,
    W_gate: { tensor: 'ffn_gate_exps', experts: true },
    W_in: { tensor: 'ffn_up_exps', experts: true },
    W_out: { tensor: 'ffn_down_exps', experts: true },
  },
  moe: { router: 'ffn_gate_inp', gating: 'softmax', normalizeTopK: true },
  hparamKeys: [...COMMON_KEYS, 'expert_count', 'expert_used_count', 'expert_feed_forward_length'],
};
