// From llama.cpp graph node names to hook names (TransformerLens vocabulary). Each architecture's
// nodes live in its table under ./arch (llama.ts, qwen.ts, gemma.ts, phi3.ts); node names are those
// of the llama.cpp build node-llama-cpp 3.21.1 ships, and test/integration/runtimeOracle.test.ts
// and arch*.test.ts check each one reaches the eval callback.
import { archTable, type HookDef } from './arch';

export type HookName = string;

export type { HookDef };

export interface ResolvedHook {
  readonly hook: HookName;
  readonly node: string;
  readonly layer: number | undefined;
  readonly layout: HookDef['layout'];
  readonly width: NonNullable<HookDef['width']>;
}

/** Every hook a model of `arch` (default llama) with `nLayers` blocks offers, keyed by llama.cpp node name. */
export function hookTable(nLayers: number, arch = 'llama'): Map<string, ResolvedHook> {
  const { globalNodes: GLOBAL, perLayerNodes: PER_LAYER } = archTable(arch);
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
export function allHookNames(nLayers: number, arch = 'llama'): HookName[] {
  return [...hookTable(nLayers, arch).values()].map((h) => h.hook);
}

/**
 * Why a hook is not offered by an architecture (its graph never names that vector), or undefined
 * when it is offered or unknown.
 */
export function missingHookReason(hook: HookName, arch = 'llama'): string | undefined {
  const t = archTable(arch);
  const generic = hook.replace(/^blocks\.\d+\./, 'blocks.{l}.');
  const why = t.missingHooks[generic];
  return why === undefined ? undefined : `${t.label} models have no ${hook}: ${why}.`;
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
