// The only table from llama.cpp graph node names to hook names (TransformerLens vocabulary).
// Node names are those of the llama architecture's graph in the llama.cpp build node-llama-cpp
// 3.21.1 ships; test/integration/capture.test.ts checks each one reaches the eval callback.

export type HookName = string;

interface HookDef {
  /** llama.cpp node name; `{l}` is the layer */
  readonly node: string;
  /** hook name; `{l}` is the layer */
  readonly hook: string;
  /** how the captured tensor is laid out, in hook terms */
  readonly layout: 'pos_by_dim' | 'pattern';
  /** row width of a pos_by_dim hook: d_model, or the heads side by side (n_heads * d_head) */
  readonly width?: 'd_model' | 'heads';
}

const PER_LAYER: readonly HookDef[] = [
  { node: 'attn_norm-{l}', hook: 'blocks.{l}.ln1.hook_normalized', layout: 'pos_by_dim' }, // [pos, d_model]
  { node: 'kq_soft_max-{l}', hook: 'blocks.{l}.attn.hook_pattern', layout: 'pattern' }, // [head, query_pos, key_pos]
  { node: 'kqv_out-{l}', hook: 'blocks.{l}.attn.hook_z', layout: 'pos_by_dim', width: 'heads' }, // [pos, n_heads * d_head] (heads merged, before W_O)
  { node: 'attn_out-{l}', hook: 'blocks.{l}.hook_attn_out', layout: 'pos_by_dim' }, // [pos, d_model]
  { node: 'ffn_inp-{l}', hook: 'blocks.{l}.hook_resid_mid', layout: 'pos_by_dim' }, // [pos, d_model]
  { node: 'ffn_norm-{l}', hook: 'blocks.{l}.ln2.hook_normalized', layout: 'pos_by_dim' }, // [pos, d_model]
  { node: 'ffn_out-{l}', hook: 'blocks.{l}.hook_mlp_out', layout: 'pos_by_dim' }, // [pos, d_model]
  { node: 'l_out-{l}', hook: 'blocks.{l}.hook_resid_post', layout: 'pos_by_dim' }, // [pos, d_model]
];

const GLOBAL: readonly HookDef[] = [
  { node: 'embd', hook: 'hook_embed', layout: 'pos_by_dim' }, // [pos, d_model]
  { node: 'result_norm', hook: 'ln_final.hook_normalized', layout: 'pos_by_dim' }, // [pos, d_model]
];

export interface ResolvedHook {
  readonly hook: HookName;
  readonly node: string;
  readonly layer: number | undefined;
  readonly layout: HookDef['layout'];
  readonly width: NonNullable<HookDef['width']>;
}

/** Every hook a model with `nLayers` blocks offers, keyed by llama.cpp node name. */
export function hookTable(nLayers: number): Map<string, ResolvedHook> {
  const table = new Map<string, ResolvedHook>();
  for (const d of GLOBAL) table.set(d.node, { hook: d.hook, node: d.node, layer: undefined, layout: d.layout, width: d.width ?? 'd_model' });
  for (let l = 0; l < nLayers; l++) {
    for (const d of PER_LAYER) {
      const node = d.node.replace('{l}', String(l));
      table.set(node, { hook: d.hook.replace('{l}', String(l)), node, layer: l, layout: d.layout, width: d.width ?? 'd_model' });
    }
  }
  return table;
}

/** Every hook name a model offers. */
export function allHookNames(nLayers: number): HookName[] {
  return [...hookTable(nLayers).values()].map((h) => h.hook);
}

/**
 * `resid_pre` of block l is `resid_post` of block l-1 (and `hook_embed` for l = 0): it is served
 * from those captures instead of being a graph node of its own.
 */
export function residPreSource(layer: number): HookName {
  return layer === 0 ? 'hook_embed' : `blocks.${layer - 1}.hook_resid_post`;
}

/** The state vector h[l] of the article: l = 0 is the embedding, l >= 1 the output of block l-1. */
export function stateHook(l: number): HookName {
  return l === 0 ? 'hook_embed' : `blocks.${l - 1}.hook_resid_post`;
}

export function patternHook(layer: number): HookName {
  return `blocks.${layer}.attn.hook_pattern`;
}

export type HookFilter = readonly HookName[] | ((name: HookName) => boolean);

export function matchesFilter(filter: HookFilter, name: HookName): boolean {
  return typeof filter === 'function' ? filter(name) : filter.includes(name);
}

/** Expand `blocks.{l}.hook_resid_pre` requests into the hooks that serve them. */
export function expandFilter(filter: HookFilter, nLayers: number): HookFilter {
  if (typeof filter === 'function') {
    return (name) => filter(name) || Array.from({ length: nLayers }, (_, l) => l).some((l) => filter(`blocks.${l}.hook_resid_pre`) && residPreSource(l) === name);
  }
  const out = new Set(filter);
  for (const name of filter) {
    const m = /^blocks\.(\d+)\.hook_resid_pre$/.exec(name);
    if (m) out.add(residPreSource(Number(m[1])));
  }
  return [...out];
}
